"""Robust percentile normalisation to [0, 1] and the way back to the input's dtype and range."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import IsoReconError

_SAMPLE_VOXELS = 2_000_000


def as_dtype(values, dtype) -> np.ndarray:
    """``values`` as data of ``dtype`` would store them: integers rounded and clipped to the dtype's range."""
    dtype = np.dtype(dtype)
    values = np.asarray(values)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        top = float(info.max)
        if top > info.max:  # 64-bit: the float above the largest integer would wrap round when cast
            top = np.nextafter(top, -np.inf)
        return np.clip(np.rint(values), float(info.min), top).astype(dtype)
    return values.astype(dtype)


def _subsample(volume) -> np.ndarray:
    """A strided subset of at most ~2 M voxels, read without loading a large (lazy) volume."""
    shape = volume.shape
    total = int(np.prod(shape))
    stride = max(1, int(np.ceil((total / _SAMPLE_VOXELS) ** (1 / 3))))
    return np.asarray(volume[::stride, ::stride, ::stride])


@dataclass(frozen=True)
class Normalizer:
    """Maps intensities ``low -> 0`` and ``high -> 1``; remembers the input dtype for the way back."""

    low: float
    high: float
    dtype: str

    @classmethod
    def fit(cls, volume, percentiles=(0.5, 99.5), allow_constant: bool = False) -> Normalizer:
        """Fit to (a subsample of) ``volume``; a constant volume is refused (nothing to learn from)
        unless ``allow_constant`` (interpolation), which gets a range around its value."""
        sample = _subsample(volume).astype(np.float64, copy=False)
        finite = sample[np.isfinite(sample)]
        if finite.size == 0:
            raise IsoReconError("The volume has no finite values (all NaN or Inf): nothing to learn from.")
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing range is refused below
            low, high = np.percentile(finite, percentiles)
        if not high > low:  # the bulk is one value: fall back to the full range
            low, high = float(finite.min()), float(finite.max())
        if not high > low and allow_constant:
            span = max(1.0, 1e-6 * abs(float(low)))  # small: float32 keeps the value to ~1e-13 of it
            low, high = float(low) - span, float(low) + span
        if not high > low:
            raise IsoReconError(f"The volume is constant (every value is {low:g}): nothing to learn from.")
        if not np.isfinite(float(high) - float(low)):
            raise IsoReconError("The volume's intensity range overflows float64; rescale it first.")
        return cls(float(low), float(high), np.dtype(volume.dtype).str)

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype).newbyteorder("=")

    def to_unit(self, array) -> np.ndarray:
        """float32 in units of the [low, high] range; NaN and Inf become the nearest finite level."""
        out = (np.asarray(array, dtype=np.float64) - self.low) / (self.high - self.low)
        out = np.nan_to_num(out, nan=0.0, posinf=2.0, neginf=-1.0)
        return np.clip(out, -1.0, 2.0).astype(np.float32)

    def from_unit(self, array) -> np.ndarray:
        """Back to the input dtype: integers are rounded and clipped to the dtype's range."""
        return as_dtype(np.asarray(array, dtype=np.float64) * (self.high - self.low) + self.low, self.np_dtype)

    def unit_data_range(self) -> float:
        """PSNR's peak for data in unit scale (``to_unit``): the dtype's full range for integers, the
        normalised range (1) for floats."""
        dtype = self.np_dtype
        if dtype.kind in "ui":
            info = np.iinfo(dtype)
            return (float(info.max) - float(info.min)) / (self.high - self.low)
        return 1.0

    def to_dict(self) -> dict:
        return asdict(self)
