"""Tiny synthetic section stacks for the tests of artefacts set aside (training) and filled (reconstruction)."""

import numpy as np
from scipy import ndimage


def tissue(z=24, size=96, seed=0, even=False):
    """Blobby structures (smoothed noise), uint8 in [10, 250]; with ``even`` every value is even, so that a
    planted section of odd values shows wherever a patch of it lands."""
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=(z, size, size)), (1.0, 3, 3), mode="wrap")
    field = field / field.std() + 0.1 * rng.normal(size=field.shape)
    vol = np.clip(128 + 35 * field, 10, 250).astype(np.uint8)
    return (vol // 2 * 2).astype(np.uint8) if even else vol
