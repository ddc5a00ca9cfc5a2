"""The acquisition's pixel noise, measured on the volume's own lateral (xy) images.

Every section image carries noise, independent from pixel to pixel and from section to section. The real
axial slices therefore carry it at full strength in every row, while a lateral patch blurred along one axis
by an axial kernel k carries only sigma * ||k||_2 of it. Degraded patches that should look like the real
axial slices (stage 1's fakes, stage 2's inputs) get the missing part back: Gaussian noise of
sigma * sqrt(1 - ||k||^2), with sigma measured here.
"""

from __future__ import annotations

import math

import numpy as np
import torch

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


def volume_noise_sigma(volume, normalizer, max_slices: int = 8) -> float:
    """The median of ``image_noise_sigma`` over up to ``max_slices`` evenly spaced xy sections, in the
    normaliser's unit scale."""
    z = volume.shape[0]
    picks = np.unique(np.linspace(0, z - 1, min(max_slices, z)).round().astype(int))
    return float(np.median([image_noise_sigma(normalizer.to_unit(np.asarray(volume[k]))) for k in picks]))


def add_missing_noise(degraded: torch.Tensor, sigma: float, kernel: torch.Tensor) -> torch.Tensor:
    """``degraded`` plus Gaussian noise of ``sigma * sqrt(1 - ||kernel||^2)``: what the axial kernel averaged
    away from a lateral patch's own noise, put back so that it matches the real axial slices."""
    if sigma <= 0:
        return degraded
    missing = sigma * torch.sqrt((1 - (kernel.detach() ** 2).sum()).clamp(min=0))
    return degraded + missing * torch.randn_like(degraded)
