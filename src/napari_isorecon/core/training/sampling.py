"""Training patches: HR from xy slices, LR from xz/yz slices, the low-resolution axis vertical in both.

HR patches are ``hr_rows x width`` crops of xy slices; either y or x may be the vertical axis, and
flips in both directions are fair since the lateral plane has no preferred direction. LR patches are
``lr_rows x width`` crops of xz or yz slices with z vertical; they are flipped only horizontally, since
the real axial degradation need not be symmetric in z. Patches are read from the (possibly lazy)
volume one at a time and normalised on the fly, so a zarr volume is never loaded whole.

Sections that are not real images (``core.checks.artefacts``: duplicates, blank or saturated sections) are set
aside: HR patches come only from the ``sections`` given, LR patches only from the z windows ``lr_starts``
(:func:`axial_windows`: those without such a section), so that a duplicated pair never shows the networks a z
that does not change and a blank band is never a real axial example.
"""

from __future__ import annotations

import numpy as np

from ..model.intensity import Normalizer


def axial_windows(n_sections: int, rows: int, not_real=()) -> tuple[np.ndarray, bool]:
    """The first sections of the ``rows``-deep z windows for LR patches that hold none of ``not_real``, and
    True; when every window holds one, those that hold the fewest, and False."""
    starts = np.arange(max(1, n_sections - rows + 1))
    bad = np.zeros(n_sections + 1, dtype=int)
    bad[1:] = np.cumsum(np.isin(np.arange(n_sections), list(not_real)))
    counts = bad[np.minimum(starts + rows, n_sections)] - bad[starts]
    fewest = int(counts.min())
    return starts[counts == fewest], fewest == 0


class PatchSampler:
    def __init__(self, volume, normalizer: Normalizer, lr_rows: int, hr_rows: int, width: int,
                 rng: np.random.Generator, sections=None, lr_starts=None):
        """``sections``: the z indices HR patches may come from (default all); ``lr_starts``: the first
        sections of the z windows LR patches may come from (default every window)."""
        self.volume = volume
        self.normalizer = normalizer
        self.lr_rows, self.hr_rows, self.width = lr_rows, hr_rows, width
        self.rng = rng
        z, y, x = volume.shape
        self.sections = np.arange(z) if sections is None else np.asarray(sections, dtype=int)
        self.lr_starts = np.arange(z - lr_rows + 1) if lr_starts is None else np.asarray(lr_starts, dtype=int)
        if not self.sections.size or not self.lr_starts.size:
            raise ValueError("no section or z window to draw patches from")
        # lateral orientations in which an hr_rows x width patch fits: vertical axis y (0) or x (1)
        self._hr_orientations = [o for o, (rows, cols) in enumerate(((y, x), (x, y)))
                                 if rows >= hr_rows and cols >= width]
        if not self._hr_orientations:
            raise ValueError("HR patch does not fit the volume; use geometry.patch_geometry first")

    def _read(self, index) -> np.ndarray:
        return self.normalizer.to_unit(self.volume[index])

    def hr_patch(self) -> np.ndarray:
        rng = self.rng
        _, y, x = self.volume.shape
        vertical_is_x = bool(self._hr_orientations[rng.integers(len(self._hr_orientations))])
        rows_len, cols_len = (x, y) if vertical_is_x else (y, x)
        k = int(self.sections[rng.integers(self.sections.size)])
        r0 = int(rng.integers(rows_len - self.hr_rows + 1))
        c0 = int(rng.integers(cols_len - self.width + 1))
        rows, cols = slice(r0, r0 + self.hr_rows), slice(c0, c0 + self.width)
        patch = self._read((k, cols, rows)).T if vertical_is_x else self._read((k, rows, cols))
        if rng.random() < 0.5:
            patch = patch[::-1]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        return patch

    def lr_patch(self) -> np.ndarray:
        rng = self.rng
        _, y, x = self.volume.shape
        z0 = int(self.lr_starts[rng.integers(self.lr_starts.size)])
        rows = slice(z0, z0 + self.lr_rows)
        if rng.random() < 0.5 and x >= self.width:  # xz slice at a fixed y
            c0 = int(rng.integers(x - self.width + 1))
            patch = self._read((rows, int(rng.integers(y)), slice(c0, c0 + self.width)))
        else:  # yz slice at a fixed x
            c0 = int(rng.integers(y - self.width + 1))
            patch = self._read((rows, slice(c0, c0 + self.width), int(rng.integers(x))))
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        return patch

    def hr_batch(self, n: int) -> np.ndarray:
        return np.stack([self.hr_patch() for _ in range(n)])[:, None].copy()

    def lr_batch(self, n: int) -> np.ndarray:
        return np.stack([self.lr_patch() for _ in range(n)])[:, None].copy()
