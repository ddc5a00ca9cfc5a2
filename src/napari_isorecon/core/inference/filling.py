"""Sections that are not real images, treated as missing before a reconstruction.

A duplicated, blank or saturated section (``core.checks.artefacts``) is no image of the tissue at its place: a
network would print it through the volume as a dark band or a step that repeats a neighbour. Each is replaced,
before the network runs, by linear interpolation in z between the nearest usable sections on each side (the
nearest one at the stack's ends), as a lost section is filled from its neighbours.

The replacement is lazy: :func:`fill_not_real` returns a view of the volume (:class:`FilledSections`, for numpy
and zarr inputs) that computes a filled section when it is read, or a lazy dask array for a dask input, so a
volume larger than memory is never loaded whole and blockwise runs read it block by block.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..events import SectionsFilled
from ..model.intensity import as_dtype

FillPlan = dict  # section -> (section below, section above, weight of the one above)


def fill_plan(n_sections: int, not_real: Iterable[int]) -> FillPlan:
    """How to fill each of ``not_real``: ``{k: (below, above, w)}``, section k = (1 - w) * below + w * above,
    from the nearest usable sections on each side (both the nearest one, w = 0, at an end). Empty when no
    section is usable (nothing to fill from)."""
    bad = sorted({int(k) for k in not_real})
    usable = np.array(sorted(set(range(n_sections)) - set(bad)), dtype=int)
    if not usable.size:
        return {}
    plan = {}
    for k in bad:
        below, above = usable[usable < k], usable[usable > k]
        if below.size and above.size:
            lo, hi = int(below[-1]), int(above[0])
            plan[k] = (lo, hi, (k - lo) / (hi - lo))
        else:
            nearest = int(below[-1]) if below.size else int(above[0])
            plan[k] = (nearest, nearest, 0.0)
    return plan


def _blend(below, above, w: float, dtype: np.dtype) -> np.ndarray:
    values = (1 - w) * np.asarray(below, dtype=np.float64) + w * np.asarray(above, dtype=np.float64)
    return as_dtype(values, dtype)


def _runs(indices: list[int]) -> list[list[int]]:
    """Sorted indices cut into runs of consecutive ones (each read with one slice)."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


class FilledSections:
    """A (Z, Y, X) volume whose sections in ``plan`` (:func:`fill_plan`) read as filled from their neighbours;
    every other section reads as it is. Indexing: an int, a slice or a list in z, then basic indices in y and x
    (what the reconstruction passes and the blockwise engine use)."""

    def __init__(self, volume, plan: FillPlan):
        self.volume = volume
        self.plan = dict(plan)
        self.shape = tuple(int(s) for s in volume.shape)
        self.dtype = np.dtype(volume.dtype)
        self.ndim = len(self.shape)

    @property
    def filled(self) -> tuple[int, ...]:
        return tuple(sorted(self.plan))

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)

    def _sources(self, k: int) -> tuple[int, ...]:
        return self.plan[k][:2] if k in self.plan else (k,)

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        if any(part is Ellipsis for part in key):
            at = key.index(Ellipsis)
            key = key[:at] + (slice(None),) * (self.ndim - len(key) + 1) + key[at + 1:]
        z_key, rest = key[0], tuple(key[1:])
        wanted = np.arange(self.shape[0])[z_key]
        scalar = np.ndim(wanted) == 0
        wanted = np.atleast_1d(wanted)
        if not set(wanted.tolist()) & set(self.plan):
            return np.asarray(self.volume[key])
        needed = sorted({j for k in wanted.tolist() for j in self._sources(k)})
        read = {}
        for run in _runs(needed):
            block = np.asarray(self.volume[(slice(run[0], run[-1] + 1),) + rest])
            read.update(zip(run, block, strict=True))
        sections = []
        for k in wanted.tolist():
            if k in self.plan:
                below, above, w = self.plan[k]
                sections.append(_blend(read[below], read[above], w, self.dtype))
            else:
                sections.append(read[k])
        out = np.stack(sections) if sections else np.asarray(self.volume[key])
        return out[0] if scalar else out


def _filled_dask(volume, plan: FillPlan):
    """A lazy dask array: the volume's runs of real sections as they are, each planned section blended from
    its neighbours, in the volume's chunks."""
    import dask.array as da

    dtype = np.dtype(volume.dtype)
    pieces, start = [], 0
    for k in sorted(plan):
        if start < k:
            pieces.append(volume[start:k])
        below, above, w = plan[k]
        blended = (1 - w) * volume[below].astype(np.float64) + w * volume[above].astype(np.float64)
        if dtype.kind in "ui":
            info = np.iinfo(dtype)
            blended = da.clip(da.rint(blended), info.min, info.max)
        pieces.append(blended.astype(dtype)[None])
        start = k + 1
    if start < volume.shape[0]:
        pieces.append(volume[start:])
    return da.concatenate(pieces, axis=0).rechunk(volume.chunks)


def fill_not_real(volume, artefacts=None):
    """``(volume, event)``: the volume with its duplicated, blank and saturated sections filled from their
    neighbours (lazily, see the module docstring) and the :class:`~..events.SectionsFilled` that says which;
    ``(volume, None)`` unchanged when there is nothing to fill. ``artefacts``: a scan already made
    (``find_section_artefacts``); by default the volume is scanned here (without the registration, which
    fills nothing)."""
    if artefacts is None:
        from ..checks.artefacts import find_section_artefacts

        artefacts = find_section_artefacts(volume, misalignment=False)
    plan = fill_plan(volume.shape[0], artefacts.not_real)
    if not plan:
        return volume, None
    try:
        import dask.array as da

        lazy = isinstance(volume, da.Array)
    except ImportError:  # dask is a dependency; a numpy-only install never holds a dask array
        lazy = False
    filled = _filled_dask(volume, plan) if lazy else FilledSections(volume, plan)
    return filled, SectionsFilled(artefacts, tuple(sorted(plan)))
