"""The z-factor rules (z spacing / xy spacing): what a valid factor is, when two factors are the same, and the
factor a voxel size implies. Imported by the settings and the geometry alike."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import IsoReconError


def check_z_factor(z_factor) -> float:
    """Return ``z_factor`` as a float, or raise a clear error when it is not a real number > 1."""
    try:
        value = float(z_factor)
    except (TypeError, ValueError):
        raise IsoReconError(f"z-factor must be a number > 1, got {z_factor!r}.") from None
    if not math.isfinite(value) or value <= 1.0:
        raise IsoReconError(
            f"z-factor must be a finite number > 1 (z spacing / xy spacing), got {z_factor!r}."
        )
    if value > 100:
        raise IsoReconError(f"z-factor {value:g} is larger than 100: check the voxel sizes.")
    return value


# Two z-factors are "the same" when they differ by at most this share of the larger one, so that a factor
# typed with three decimals (the Train widget's field) or derived from voxel sizes rounded in a file header
# matches the model's. A model is always applied with its own factor: this only decides whether a factor
# given by the user or read from a layer is the model's (else the job is refused, or a warning is given).
Z_FACTOR_RTOL = 1e-3


def same_z_factor(a: float, b: float) -> bool:
    """True when ``a`` and ``b`` name the same z-factor (relative tolerance :data:`Z_FACTOR_RTOL`)."""
    a, b = float(a), float(b)
    return abs(a - b) <= Z_FACTOR_RTOL * max(abs(a), abs(b))


def z_spacing_ratio(scale: Sequence[float], advice: str = "give the z-factor instead") -> float:
    """z spacing / mean lateral spacing of a (..., z, y, x) voxel size, whatever it is (1 when isotropic); a
    clear error, ending with ``advice``, when ``scale`` is not three positive numbers."""
    if scale is None or len(scale) < 3:
        raise IsoReconError(f"Need a voxel size for (z, y, x) to derive the z-factor; {advice}.")
    sz, sy, sx = (float(s) for s in scale[-3:])
    if not all(math.isfinite(s) and s > 0 for s in (sz, sy, sx)):
        raise IsoReconError(f"Voxel size {tuple(scale[-3:])} is not positive; {advice}.")
    return sz / ((sy + sx) / 2)


def z_factor_from_scale(scale: Sequence[float]) -> float:
    """z spacing / mean lateral spacing, from a (..., z, y, x) voxel size. Raises when it is not > 1 (a ratio
    that is :func:`same_z_factor` as 1 counts as isotropic)."""
    factor = z_spacing_ratio(scale)
    if factor < 1.0 or same_z_factor(factor, 1.0):
        raise IsoReconError(
            f"Voxel size {tuple(scale[-3:])} is isotropic or finer in z (factor {factor:.3g}); "
            "set the layer's scale to its voxel size (z, y, x) or give the z-factor."
        )
    return check_z_factor(factor)
