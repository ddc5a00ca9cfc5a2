"""Least-squares adversarial losses and L1 cycle losses (the paper's eqs. 1-5)."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def generator_adversarial(fake_scores: torch.Tensor) -> torch.Tensor:
    """E ||D(G(x)) - 1||^2: the generator wants its output judged real."""
    return F.mse_loss(fake_scores, torch.ones_like(fake_scores))


def discriminator_adversarial(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E ||D(real) - 1||^2 + E ||D(fake)||^2."""
    return (F.mse_loss(real_scores, torch.ones_like(real_scores))
            + F.mse_loss(fake_scores, torch.zeros_like(fake_scores)))


def cycle(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(reconstructed, original)


def mean_preservation(output: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """|mean(output) - mean(source)| per patch: changing resolution must not shift grey levels."""
    return (output.mean(dim=(-2, -1)) - source.mean(dim=(-2, -1))).abs().mean()


def kernel_roughness(kernel: torch.Tensor, z_factor: float) -> torch.Tensor:
    """Roughness of a 1D axial kernel: f^5 * sum of squared second differences.

    For a kernel that is a shape g(t / f) / f sampled at unit taps this is the integral of g''(u)^2,
    so a shape costs the same at every z-factor (16 for Keys' cubic, 0 for a straight line) while the
    f-row box's edges and tap-to-tap zigzags cost a lot. The prior: a physical or antialiasing axial
    kernel is smooth; the adversarial game alone leaves the box's edges in place.
    """
    return z_factor ** 5 * ((kernel[2:] - 2 * kernel[1:-1] + kernel[:-2]) ** 2).sum()
