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

