"""The simulated acquisition of the bench: an isotropic volume degraded along z, with optional noise.

The noise is Gaussian, in the input's grey levels, drawn once (seeded) for the simulated acquisition; the
oracle's training pairs get the same kernel and the same noise level (fresh noise for every pair). The
truth, the isotropic volume, is never touched.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import IsoReconError

ISOTROPIC_SAMPLE = "sample-isotropic"  # --volume: the 10 nm crop the anisotropic sample is made from
ISOTROPY_TOLERANCE = 1.05  # a z spacing above 1.05 x the lateral one is anisotropic for the bench


def exact_crop_depth(depth: int, z_factor: float) -> int:
    """Largest n_slices * f <= depth that is a whole number of rows (so simulation and scoring align)."""
    n = int(depth // z_factor)
    while n > 1 and abs(n * z_factor - round(n * z_factor)) > 1e-6:
        n -= 1
    if n < 2:
        raise IsoReconError(f"The volume is too shallow ({depth} slices) for z-factor {z_factor:g}.")
    return int(round(n * z_factor))


def check_isotropic_voxel(voxel, name: str = "the volume") -> None:
    """Refuse a voxel size whose z spacing is coarser than the lateral one (None: unknown, accepted)."""
    if voxel is None:
        return
    z, y, x = (float(v) for v in voxel[-3:])
    if z > ISOTROPY_TOLERANCE * (y + x) / 2:
        raise IsoReconError(
            f"The bench needs an isotropic volume, but {name} has voxels of {z:g} x {y:g} x {x:g} (z, y, x; z is "
            f"{2 * z / (y + x):.3g}x coarser): give an isotropic volume (or sample-isotropic).")


def simulate_acquisition(truth: np.ndarray, z_factor: float, kind: str, noise: float = 0.0,
                         seed: int = 0) -> np.ndarray:
    """``truth`` degraded along z by ``kind`` (core.training.sections), plus Gaussian noise of std ``noise`` grey
    levels drawn with ``seed``; rounded and clipped to the truth's dtype once, after the noise."""
    from ..core.training.sections import degrade_volume

    if not (np.isfinite(noise) and noise >= 0):
        raise IsoReconError(f"The noise level must be a finite number of grey levels >= 0, got {noise}.")
    truth = np.asarray(truth)
    if noise == 0:
        return degrade_volume(truth, z_factor, kind)
    acquired = degrade_volume(truth.astype(np.float32), z_factor, kind)
    acquired += np.random.default_rng(seed).normal(0.0, noise, acquired.shape).astype(np.float32)
    if np.issubdtype(truth.dtype, np.integer):
        info = np.iinfo(truth.dtype)
        acquired = np.clip(np.rint(acquired), info.min, info.max)
    return acquired.astype(truth.dtype)


def noisy_degradation(kind: str, z_factor: float, noise_unit: float, seed: int):
    """``(hr, rows) -> lr`` for training pairs: the kernel ``kind`` plus Gaussian noise of std ``noise_unit``
    (in the unit scale of the training data: grey levels / (high - low) of its normaliser), seeded."""
    import torch

    from ..core.training.sections import degrade_slices

    generator = torch.Generator().manual_seed(int(seed))

    def degrade(hr, rows):
        lr = degrade_slices(hr, z_factor, kind, rows)
        noise = torch.randn(lr.shape, generator=generator, dtype=lr.dtype)
        return lr + noise_unit * noise.to(lr.device)

    return degrade
