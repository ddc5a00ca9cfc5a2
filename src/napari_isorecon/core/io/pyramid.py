"""OME-Zarr multiscale levels; their metadata is :mod:`.ngff`'s, written through ome-zarr-py (the OME reference
implementation).

Level "0" is the full-resolution volume (written by :func:`zarr.write_zarr` or block by block by
:mod:`..inference.blockwise`); :func:`add_levels` then builds levels "1", "2", ... from it, each the 2x2x2 (or 2x2 where
z is much coarser) local mean of the one above, read back from the store and written chunk by chunk with
dask, so memory stays flat. It stops once the coarsest level fits ``top`` voxels along every halved axis:
napari shows that level in 3D and the finer ones as one zooms in while slicing.

Metadata (axes, units, per-level ``scale`` and ``translation``; the OME-NGFF 0.4 layout on zarr v2 or the
0.5 one on zarr v3) is written and validated by ``ome_zarr.writer.write_multiscales_metadata`` (in :mod:`.ngff`). The
transforms are exact: a level-``k`` voxel is the mean of ``2**k`` level-0 voxels along a halved axis, so its
scale is ``2**k`` times level 0's and its centre is shifted by ``(2**k - 1) / 2`` level-0 voxels.
(ome-zarr-py's own generator and napari place levels by the shape ratio ``shape_0 / shape_k`` instead,
which is the same when the size divides by ``2**k``; otherwise napari draws a coarse level stretched by
less than one of its voxels at the far edge, only while zoomed out far enough to show that level.)
"""

from __future__ import annotations

import numpy as np

from ..errors import IsoReconError
from .ngff import OME_VERSIONS, array_kwargs, level_scale, ome_entry, ome_version_of, write_metadata

PYRAMID_TOP = 256  # the coarsest level fits this many voxels along every axis that can still be halved
MAX_LEVELS = 12


def level_factors(shape, voxel_size=None, top: int | None = None) -> list[tuple[int, int, int]]:
    """Halving factors of each level after the first, relative to the level above: an axis is halved while
    it has at least 2 voxels and its spacing is under 1.5 x the finest (so a coarse z is left alone until
    y and x catch up); levels are added until every halvable axis fits ``top`` voxels."""
    top = PYRAMID_TOP if top is None else int(top)
    shape = [int(n) for n in shape]
    spacing = [1.0, 1.0, 1.0] if voxel_size is None else [float(v) for v in voxel_size]
    factors = []
    while len(factors) < MAX_LEVELS:
        finest = min(spacing)
        halve = [n >= 2 and s < 1.5 * finest for n, s in zip(shape, spacing, strict=True)]
        if not any(h and n > top for h, n in zip(halve, shape, strict=True)):
            break
        factor = tuple(2 if h else 1 for h in halve)
        factors.append(factor)
        shape = [n // f for n, f in zip(shape, factor, strict=True)]
        spacing = [s * f for s, f in zip(spacing, factor, strict=True)]
    return factors


def downsample(level, factor):
    """Lazy local mean of ``level`` (a dask array) over ``factor`` voxels per axis, in its dtype (integers
    rounded); the trailing voxel of an odd axis is left out."""
    import dask.array as da

    trimmed = level[tuple(slice(0, (n // f) * f) for n, f in zip(level.shape, factor, strict=True))]
    mean = da.coarsen(np.mean, trimmed.astype(np.float32), dict(enumerate(factor)), trim_excess=True)
    dtype = np.dtype(level.dtype)
    if dtype.kind in "iub":
        info = np.iinfo(dtype) if dtype.kind != "b" else None
        mean = da.round(mean)
        if info is not None:
            mean = da.clip(mean, info.min, info.max)
    return mean.astype(dtype)


def add_levels(path, top: int | None = None, num_workers: int | None = None, progress=None) -> int:
    """Build the downsampled levels of the OME-Zarr at ``path`` from its level "0" (replacing any other
    levels a previous attempt left) and rewrite its metadata to list them all. Returns the number of levels.
    ``progress(level, levels)`` is called after each level is written."""
    try:
        return _add_levels(path, top, num_workers, progress)
    except OSError as exc:  # disk full, permissions, storage gone: level 0 is untouched
        raise IsoReconError(f"Could not write the downsampled levels of {path}: {exc.strerror or exc}. Level 0 is "
                            "complete; fix the cause and run the same command again.") from exc


def _add_levels(path, top, num_workers, progress) -> int:
    import dask
    import dask.array as da
    import zarr

    group = zarr.open_group(store=str(path), mode="r+")
    version = ome_version_of(group)
    entry = ome_entry(group)
    if entry is None or version not in OME_VERSIONS:
        raise IsoReconError(f"{path} is not an OME-Zarr image written by isorecon; cannot add levels.")
    base = group["0"]
    spacing = level_scale(entry, 0)
    units = {a.get("unit") if isinstance(a, dict) else None for a in entry.get("axes") or [{}]}
    unit = units.pop() if len(units) == 1 else None
    factors = level_factors(base.shape, spacing, top)
    for name in list(group.array_keys()):
        if name != "0" and name.isdigit():
            del group[name]
    for level, factor in enumerate(factors, start=1):
        above = da.from_zarr(group[str(level - 1)])
        lower = downsample(above, factor)
        chunks = tuple(max(1, min(c, n)) for c, n in zip(base.chunks, lower.shape, strict=True))
        target = group.create_array(str(level), shape=lower.shape, chunks=chunks, dtype=base.dtype, fill_value=0,
                                    **array_kwargs(version))
        with dask.config.set(scheduler="threads", num_workers=num_workers or 2):
            da.store(lower.rechunk(chunks), target, lock=False)
        if progress is not None:
            progress(level, len(factors) + 1)
    write_metadata(group, version, factors, spacing, entry.get("name") or "isotropic", unit)
    return len(factors) + 1
