"""The backward pass and optimiser step of a training run, in its precision (plain, or with a loss scaler per
optimiser in float16), with a guard for reduced precision: a step whose loss or gradients are not finite is not
applied (:class:`NonFiniteStep`), and :meth:`Updates.fall_back` moves the run to float32."""

from __future__ import annotations

import torch

from ..settings.precision import FLOAT32, Precision


class NonFiniteStep(Exception):
    """A step in reduced precision gave a NaN or Inf loss or gradient; the parameters were left as they were."""


def _gradients_finite(optimizer) -> bool:
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    return all(bool(torch.isfinite(g).all()) for g in grads)


class Updates:
    """Backward pass and optimiser step for one training run in its :class:`~.precision.Precision`: plain,
    or with a loss scaler per optimiser in float16 (whose range underflows small gradients)."""

    def __init__(self, precision: Precision = FLOAT32):
        self.precision = precision
        self._scalers = {}

    def forward(self):
        """The context for the networks' forward passes (autocast; nothing in float32)."""
        return self.precision.autocast()

    def fall_back(self) -> None:
        """Run the rest of training in float32 (after a :class:`NonFiniteStep`)."""
        self.precision = Precision("float32", self.precision.device_type)
        self._scalers = {}

    def step(self, optimizer, loss: torch.Tensor) -> None:
        """Backward and step. In bfloat16 a step whose loss or gradients are NaN or Inf raises
        :class:`NonFiniteStep` before the optimiser moves (float16's loss scaler skips such steps itself;
        float32 lets them through, for training's own divergence check)."""
        optimizer.zero_grad(set_to_none=True)
        scaler = self._scalers.get(id(optimizer))
        if scaler is None and self.precision.name == "float16":
            scaler = self._scalers[id(optimizer)] = self.precision.grad_scaler()
        if scaler is None:
            guarded = self.precision.reduced
            if guarded and not bool(torch.isfinite(loss)):
                raise NonFiniteStep
            loss.backward()
            if guarded and not _gradients_finite(optimizer):
                optimizer.zero_grad(set_to_none=True)
                raise NonFiniteStep
            optimizer.step()
            return
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
