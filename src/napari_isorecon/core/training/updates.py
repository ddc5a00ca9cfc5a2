"""The backward pass and optimiser step of a training run, in its precision (plain, or with a loss scaler per
optimiser in float16)."""

from __future__ import annotations

import torch

from ..settings.precision import FLOAT32, Precision


class Updates:
    """Backward pass and optimiser step for one training run in its :class:`~.precision.Precision`: plain,
    or with a loss scaler per optimiser in float16 (whose range underflows small gradients)."""

    def __init__(self, precision: Precision = FLOAT32):
        self.precision = precision
        self._scalers = {}

    def forward(self):
        """The context for the networks' forward passes (autocast; nothing in float32)."""
        return self.precision.autocast()

    def step(self, optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        scaler = self._scalers.get(id(optimizer))
        if scaler is None and self.precision.name == "float16":
            scaler = self._scalers[id(optimizer)] = self.precision.grad_scaler()
        if scaler is None:
            loss.backward()
            optimizer.step()
            return
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
