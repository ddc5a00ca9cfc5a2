"""Tiny synthetic section stacks: for the tests of artefacts found, set aside (training) and filled
(reconstruction), and of the hidden-section check."""

import numpy as np
from scipy import ndimage


def tissue(z=24, size=96, seed=0, even=False, z_smooth=1.0, noise=0.1):
    """Blobby structures (smoothed noise), uint8 in [10, 250], sections ``z_smooth`` apart in units of the
    structure scale (periodic in z: a reflecting edge would make the first two sections equal when z_smooth is
    large); with ``even`` every value is even, so that a planted section of odd values shows wherever a patch of
    it lands."""
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=(z, size, size)), (z_smooth, 3, 3), mode="wrap")
    field = field / field.std() + noise * rng.normal(size=field.shape)
    vol = np.clip(128 + 35 * field, 10, 250).astype(np.uint8)
    return (vol // 2 * 2).astype(np.uint8) if even else vol


def check_stack(depth=9, size=48, seed=0):
    """A tiny noisy stack of sinusoids for the hidden-section check's tests."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    vol = np.stack([120 + 60 * np.sin((xx + 3 * k) / 4.0) * np.cos(yy / 5.0) for k in range(depth)])
    return np.clip(vol + rng.normal(0, 4, vol.shape), 0, 255).astype(np.uint8)


def check_config(**kw):
    """A training config for the check's tests: a few steps of tiny networks at z-factor 3."""
    from napari_isorecon.core.settings.config import TrainConfig

    return TrainConfig(z_factor=3, steps=4, channels=8, blocks=1, ghl_channels=4, ghl_blocks=1, disc_channels=8,
                       lr_rows=3, patch_width=16, batch_size=2, **kw)
