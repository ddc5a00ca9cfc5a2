"""Geometry shared by every method: volume checks, output depth, slice conventions, layer placement.

Conventions: volumes are (Z, Y, X). In every 2D patch or slice handed to a network the low-resolution
(z) axis is vertical: an xz slice of a volume ``v`` at row ``y`` is ``v[:, y, :]`` (Z rows, X columns).
Input slice ``k`` covers output rows ``[k*f, (k+1)*f)`` and sits at their centre, the ``align_corners=False``
convention of torch's interpolation, so reconstruction, interpolation and simulated degradation all
agree on where each slice lies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import IsoReconError
from .settings.zfactor import check_z_factor

MIN_WIDTH = 16  # the discriminators stride x four times by 2


def output_depth(n_slices: int, z_factor: float) -> int:
    """Depth of the isotropic output: round(Z * f)."""
    return max(1, int(round(n_slices * check_z_factor(z_factor))))


def linear_read_weights(rows: np.ndarray, depth: int) -> np.ndarray:
    """(len(rows), depth) weights that read a stack of ``depth`` rows at fractional row indices ``rows``,
    linearly between neighbouring rows (clamped at the ends); each row of weights sums to 1."""
    pos = np.clip(np.asarray(rows, dtype=np.float64), 0, depth - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, depth - 1)
    weights = np.zeros((len(pos), depth))
    index = np.arange(len(pos))
    np.add.at(weights, (index, lo), 1 - (pos - lo))
    np.add.at(weights, (index, hi), pos - lo)
    return weights


def isotropic_placement(scale: Sequence[float], translate: Sequence[float], n_slices: int,
                        z_factor: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Scale and translate for the output layer so that it overlays the input exactly.

    Output row ``j`` lies at input index ``(j + 0.5) * Z / D - 0.5`` (D = output depth).
    """
    depth = output_depth(n_slices, z_factor)
    step = n_slices / depth
    scale = tuple(float(s) for s in scale)
    translate = tuple(float(t) for t in translate)
    new_scale = scale[:-3] + (scale[-3] * step,) + scale[-2:]
    new_translate = translate[:-3] + (translate[-3] + scale[-3] * (0.5 * step - 0.5),) + translate[-2:]
    return new_scale, new_translate


def check_volume(volume, *, what: str = "volume"):
    """Check that ``volume`` is a 3D (Z, Y, X) array of real numbers; return it unchanged.

    Accepts numpy, dask and zarr arrays (anything with shape, ndim, dtype and slicing).
    """
    shape = getattr(volume, "shape", None)
    dtype = getattr(volume, "dtype", None)
    if shape is None or dtype is None:
        raise IsoReconError(f"The {what} must be an array, got {type(volume).__name__}.")
    ndim = len(shape)
    if ndim == 2:
        raise IsoReconError(f"The {what} is 2D {tuple(shape)}; a 3D volume (z, y, x) is needed.")
    if ndim == 3 and shape[-1] in (3, 4) and min(shape[:2]) > 4 * shape[-1]:
        raise IsoReconError(
            f"The {what} of shape {tuple(shape)} looks like an RGB(A) image; a single-channel 3D volume "
            "(z, y, x) is needed: convert it to greyscale first."
        )
    if ndim != 3:
        raise IsoReconError(
            f"The {what} has {ndim} axes {tuple(shape)}; a 3D volume (z, y, x) is needed: pick one "
            "channel or time point first (e.g. volume[0])."
        )
    kind = np.dtype(dtype).kind
    if kind == "b":
        raise IsoReconError(f"The {what} is boolean (a mask?); an intensity image is needed.")
    if kind not in "uif":
        raise IsoReconError(f"The {what} has dtype {dtype}; integer or floating-point intensities are needed.")
    z, y, x = shape
    if z < 2:
        raise IsoReconError(f"The {what} has {z} z slice(s); at least 2 are needed.")
    if min(y, x) < MIN_WIDTH:
        raise IsoReconError(
            f"The {what} is {y} x {x} in (y, x); at least {MIN_WIDTH} x {MIN_WIDTH} pixels are needed."
        )
    return volume


def patch_geometry(shape: Sequence[int], z_factor: float, lr_rows: int, patch_width: int) -> tuple[int, int, int]:
    """(LR rows, HR rows, width) of training patches, shrunk to fit ``shape``; a clear error if impossible."""
    z, y, x = (int(s) for s in shape)
    f = check_z_factor(z_factor)
    rows = min(int(lr_rows), z)
    while rows >= 2 and int(round(rows * f)) > max(y, x):
        rows -= 1
    if rows < 2:
        raise IsoReconError(
            f"Volume {tuple(shape)} is too small for z-factor {f:g}: training needs 2 z slices whose "
            f"isotropic height ({int(round(2 * f))} px) fits in y or x."
        )
    hr_rows = int(round(rows * f))
    long_side, short_side = max(y, x), min(y, x)
    width = min(int(patch_width), short_side if hr_rows > short_side else long_side, y, x)
    width = (width // MIN_WIDTH) * MIN_WIDTH
    if width < MIN_WIDTH:
        raise IsoReconError(f"Volume {tuple(shape)} is too narrow: patches need {MIN_WIDTH} px in y and x.")
    return rows, hr_rows, width
