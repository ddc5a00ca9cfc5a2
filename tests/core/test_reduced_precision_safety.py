"""The default path never fails where float32 would not: bfloat16 at large z-factors, and the guard that moves a
run to float32 when a reduced-precision step gives a NaN or Inf."""

import math

import numpy as np
import pytest
import torch
from planted import tissue

from napari_isorecon.core import IsoReconError, TrainConfig
from napari_isorecon.core.events import PrecisionFellBack, StageStarted, TrainFinished, TrainStep
from napari_isorecon.core.networks.resample import overlap_add_rows
from napari_isorecon.core.settings import precision as precision_module
from napari_isorecon.core.training.train import TrainingSteps, _supervised_step, train


@pytest.mark.parametrize("window", ["cosine", "triangle"])
@pytest.mark.parametrize("sub_rows", [10, 13, 25, 26, 40, 64, 100])
def test_the_cross_fade_has_finite_gradients_and_unit_cover_in_bfloat16(sub_rows, window):
    """In bfloat16, cos(pi t / r) near 2 pi rounded to 1 for r >= 25: a window weight became exactly 0 and the
    backward pass of the cover's division gave 0/0 (training at x25 diverged at its second step)."""
    blocks = torch.randn(2, 2 * sub_rows, 6, 5, dtype=torch.bfloat16, requires_grad=True)
    out = overlap_add_rows(blocks, sub_rows, window)
    out.float().square().sum().backward()
    assert torch.isfinite(blocks.grad).all()
    ones = overlap_add_rows(torch.ones(1, 2 * sub_rows, 6, 5, dtype=torch.bfloat16), sub_rows, window)
    assert ones.shape == (1, 1, 6 * sub_rows, 5)
    assert torch.equal(ones, torch.ones_like(ones))  # a constant passes through: the window sums to one


def test_the_cosine_window_is_the_raised_cosine():
    """The window's values, from its definition 0.5 - 0.5 cos(pi t / r) at t = i + 0.5, through a constant
    block of zeros but one: a single block's weight shows where no other block overlaps it."""
    r = 4
    blocks = torch.zeros(1, 2 * r, 3, 1, dtype=torch.float64)
    blocks[0, :, 1, 0] = 1.0  # the middle row's block: ones, weighted by the window
    out = overlap_add_rows(blocks, r)[0, 0, :, 0].numpy()
    weights = 0.5 - 0.5 * np.cos(np.pi * (np.arange(2 * r) + 0.5) / r)
    # output rows of the middle input row's block: it starts r // 2 rows before row 1's r rows
    start = r - r // 2
    # where blocks 0 and 1 overlap, row 1's share is its weight over the cover (which is 1)
    np.testing.assert_allclose(out[start:start + r], weights[:r], atol=1e-12)
    np.testing.assert_allclose(out[start + r:start + 2 * r], weights[r:], atol=1e-12)


def _large_factor_config(**kw):
    return TrainConfig(z_factor=25, steps=4, minutes=None, channels=8, blocks=1, lr_rows=2, patch_width=32,
                       batch_size=2, device="cpu", **kw)


def test_bfloat16_trains_at_z_factor_25_on_few_sections(monkeypatch):
    """The case met outside (15 sections, x25, auto precision = bfloat16 on an AVX512-BF16 CPU): the run completes
    in bfloat16, every loss finite, without falling back."""
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)  # emulated where missing
    volume = tissue(z=15, size=112, seed=3)
    events = list(train(volume, _large_factor_config(precision="auto")))
    (started,) = [e for e in events if isinstance(e, StageStarted)]
    assert started.precision == "bfloat16"
    assert not [e for e in events if isinstance(e, PrecisionFellBack)]
    steps = [e for e in events if isinstance(e, TrainStep)]
    assert len(steps) == 4 and all(math.isfinite(v) for e in steps for v in e.losses.values())
    model = events[-1].model
    assert all(torch.isfinite(p).all() for p in model.reconstructor.parameters())


def _poisoned_at(bad_step: int):
    """Stage-2 steps whose loss turns NaN at ``bad_step`` while the run is in reduced precision (as a bfloat16
    overflow would), and are plain steps otherwise. Records each call's precision, and the weights each call
    of ``bad_step`` starts from."""
    seen, weights = [], []

    def supervised(model, opts, hr, lr_rows, degrade, noise, updates):
        seen.append(updates.precision.name)
        if model.state.step == bad_step:
            weights.append({k: v.detach().clone() for k, v in model.reconstructor.state_dict().items()})
            if updates.precision.reduced:
                hr = hr.clone()
                hr[0, 0, 0, 0] = float("nan")
        return _supervised_step(model, opts, hr, lr_rows, degrade, noise, updates)

    return TrainingSteps(supervised=supervised), seen, weights


def test_a_non_finite_step_in_bfloat16_falls_back_to_float32_once_and_goes_on(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    volume = tissue(z=12, size=64, seed=1)
    cfg = TrainConfig(z_factor=4, steps=6, minutes=None, channels=8, blocks=1, lr_rows=3, patch_width=32,
                      batch_size=2, device="cpu", precision="bfloat16")
    steps, seen, weights = _poisoned_at(2)
    events = list(train(volume, cfg, steps=steps))
    fell_back = [e for e in events if isinstance(e, PrecisionFellBack)]
    assert len(fell_back) == 1
    assert (fell_back[0].step, fell_back[0].was, fell_back[0].to) == (2, "bfloat16", "float32")
    assert "float32" in fell_back[0].describe() and "bfloat16" in fell_back[0].describe()
    # steps 0, 1 in bfloat16, step 2 tried in bfloat16, then done again with steps 3-5 in float32
    assert seen == ["bfloat16", "bfloat16", "bfloat16", "float32", "float32", "float32", "float32"]
    # the failed step changed nothing: its float32 retry starts from the same weights
    failed, retried = weights
    assert all(torch.equal(failed[k], retried[k]) for k in failed)
    finished = events[-1]
    assert isinstance(finished, TrainFinished) and finished.steps == 6 and not finished.stopped
    losses = [v for e in events if isinstance(e, TrainStep) for v in e.losses.values()]
    assert len(losses) == 6 and all(math.isfinite(v) for v in losses)
    assert all(torch.isfinite(p).all() for p in finished.model.reconstructor.parameters())


def test_in_float32_a_non_finite_loss_is_still_a_clear_error():
    volume = tissue(z=12, size=64, seed=1)
    cfg = TrainConfig(z_factor=4, steps=6, minutes=None, channels=8, blocks=1, lr_rows=3, patch_width=32,
                      batch_size=2, device="cpu", precision="float32")

    def supervised(model, opts, hr, lr_rows, degrade, noise, updates):
        if model.state.step == 2:
            hr = hr.clone()
            hr[0, 0, 0, 0] = float("nan")
        return _supervised_step(model, opts, hr, lr_rows, degrade, noise, updates)

    with pytest.raises(IsoReconError, match="Training diverged"):
        list(train(volume, cfg, steps=TrainingSteps(supervised=supervised)))
