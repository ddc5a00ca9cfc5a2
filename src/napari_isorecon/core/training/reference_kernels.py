"""Reference axial kernels to read the learned one against, as weights per lateral pixel along z.

G_hl's learned kernel has one tap per lateral (xy) pixel along the isotropic z axis, centred on the sampled
row, and sums to 1. The references here are densities on the same axis (they integrate to 1, so their
height compares with the taps):

- the *box* of one z-step: a section that integrates the tissue evenly over its spacing, width f;
- the *antialiased bicubic* kernel that ``sections.degrade_slices(..., "cubic")`` applies (torch's
  ``interpolate(mode="bicubic", antialias=True)``, the paper's simulation protocol): Keys' cubic with
  a = -0.5 stretched by f, ``keys(t / f) / f`` (checked against the impulse response of ``degrade_slices``
  in the tests).
"""

from __future__ import annotations

import numpy as np

KEYS_A = -0.5  # torch's antialiased bicubic (as Pillow); plain bicubic upsampling uses -0.75


def _keys_cubic(x: np.ndarray, a: float = KEYS_A) -> np.ndarray:
    x = np.abs(x)
    near = (a + 2) * x**3 - (a + 3) * x**2 + 1
    far = a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def box_density(offsets, z_factor: float) -> np.ndarray:
    """The box of one z-step (width ``z_factor`` lateral pixels, centred), as a density: 1/f inside."""
    t = np.asarray(offsets, dtype=np.float64)
    return np.where(np.abs(t) <= z_factor / 2, 1.0 / z_factor, 0.0)


def bicubic_antialias_density(offsets, z_factor: float) -> np.ndarray:
    """The antialiased bicubic downsampling kernel at ``z_factor`` (support +-2f), as a density."""
    t = np.asarray(offsets, dtype=np.float64)
    return _keys_cubic(t / z_factor) / z_factor


def tap_offsets(taps) -> np.ndarray:
    """Offsets (lateral pixels from the centre) of a centred kernel's taps."""
    n = len(taps)
    return np.arange(n, dtype=np.float64) - (n - 1) / 2
