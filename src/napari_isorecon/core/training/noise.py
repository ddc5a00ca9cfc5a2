"""The acquisition's pixel noise, measured on the volume's own lateral (xy) images.

Every section image carries noise, independent from pixel to pixel and from section to section. The real
axial slices therefore carry it at full strength in every row, while a lateral patch blurred along one axis
by an axial kernel k carries only sigma * ||k||_2 of it. Degraded patches that should look like the real
axial slices (stage 1's fakes, stage 2's inputs) get the missing part back: Gaussian noise of
sigma * sqrt(1 - ||k||^2), with sigma measured here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

NOISE_CROP = 128  # the side of the xy window the noise is measured on
_LAPLACIAN_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def image_noise_sigma(image: np.ndarray) -> float:
    """Immerkaer's estimate (1996) of the standard deviation of white Gaussian noise in a 2D image: the mean
    absolute response to a mask that cancels planes and (mostly) edges, scaled to sigma."""
    img = np.asarray(image, dtype=np.float64)
    h, w = img.shape
    if h < 3 or w < 3:
        return 0.0
    response = sum(_LAPLACIAN_MASK[i, j] * img[i:h - 2 + i, j:w - 2 + j] for i in range(3) for j in range(3))
    return float(math.sqrt(math.pi / 2) * np.abs(response).mean() / 6)


def volume_noise_sigma(volume, normalizer=None, max_slices: int = 8, crop: int = NOISE_CROP) -> float:
    """The median of ``image_noise_sigma`` over up to ``max_slices`` evenly spaced xy sections, each read as
    a centred ``crop`` x ``crop`` window (a volume larger than memory is never read whole), in the
    normaliser's unit scale (``normalizer`` None: in the volume's own grey levels)."""
    z, h, w = volume.shape[:3]
    picks = np.unique(np.linspace(0, z - 1, min(max_slices, z)).round().astype(int))
    rows, cols = _centred_window(h, crop), _centred_window(w, crop)

    def window(k):
        image = np.asarray(volume[k, rows, cols])
        return image if normalizer is None else normalizer.to_unit(image)

    return float(np.median([image_noise_sigma(window(k)) for k in picks]))


def _centred_window(size: int, crop: int) -> slice:
    start = max(0, (size - crop) // 2)
    return slice(start, start + crop)


def add_missing_noise(degraded: torch.Tensor, sigma: float, kernel: torch.Tensor,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """``degraded`` plus Gaussian noise of ``sigma * sqrt(1 - ||kernel||^2)``: what the axial kernel averaged
    away from a lateral patch's own noise, put back so that it matches the real axial slices. ``kernel``: the
    taps, or (N, taps) with one kernel per patch of an (N, ...) batch. ``generator``: a CPU
    ``torch.Generator`` to draw from (default torch's global one)."""
    if sigma <= 0:
        return degraded
    kept = (kernel.detach() ** 2).sum(dim=-1)
    if kept.ndim:  # one kernel per patch
        kept = kept.reshape((-1,) + (1,) * (degraded.ndim - 1)).to(degraded.device)
    missing = sigma * torch.sqrt((1 - kept).clamp(min=0))
    noise = torch.randn(degraded.shape, generator=generator, dtype=degraded.dtype)
    return degraded + missing * noise.to(degraded.device)


@dataclass(frozen=True)
class PixelNoise:
    """The volume's pixel noise for one training step: ``sigma`` (unit scale) and a generator seeded by the
    run's seed and the step, so that a resumed run draws exactly what an uninterrupted one would."""

    sigma: float
    seed: int
    step: int

    def add_missing(self, degraded: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.step)
        return add_missing_noise(degraded, self.sigma, kernel, generator)
