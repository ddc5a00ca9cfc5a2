"""The degradation preview shows what makes the stage-2 pairs and carries the learned kernel; the reference
kernels drawn beside it are the ones the code applies."""

import numpy as np
import pytest
import torch

from napari_isorecon.core.events import DegradationPreview
from napari_isorecon.core.training.reference_kernels import (
    bicubic_antialias_density,
    box_density,
    tap_offsets,
)
from napari_isorecon.core.training.sections import degrade_slices
from napari_isorecon.core.training.train import train


def _impulse_response(z_factor: float, rows: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from the centre of a middle output row, weights) of degrade_slices(..., 'cubic')."""
    eye = torch.eye(rows, dtype=torch.float64).view(rows, 1, rows, 1).expand(rows, 1, rows, 4).contiguous()
    out = degrade_slices(eye, z_factor, "cubic")[:, 0, :, 1].numpy()  # (input row, output row)
    k = out.shape[1] // 2
    step = rows / out.shape[1]
    return np.arange(rows) - ((k + 0.5) * step - 0.5), out[:, k]


@pytest.mark.parametrize("z_factor", [2.5, 4, 7.5, 10])
def test_bicubic_reference_is_the_impulse_response_of_the_cubic_degradation(z_factor):
    offsets, weights = _impulse_response(z_factor)
    step = 240 / round(240 / z_factor)  # the exact factor degrade_slices used
    assert np.allclose(bicubic_antialias_density(offsets, step), weights, atol=1e-12)
    assert weights.min() < 0  # the negative lobes are drawn too


def test_box_is_one_z_step_wide_and_sums_to_one():
    t = np.linspace(-20, 20, 40001)
    density = box_density(t, 10)
    assert density.max() == pytest.approx(0.1)
    assert np.trapezoid(density, t) == pytest.approx(1.0, abs=1e-3)
    assert np.trapezoid(bicubic_antialias_density(t, 10), t) == pytest.approx(1.0, abs=1e-6)
    assert list(tap_offsets(np.ones(5))) == [-2, -1, 0, 1, 2]


def _offset_residual(model, offset: float) -> None:
    """Make G_hl's residual branch add a constant: a test that the preview leaves it out."""
    tail = model.g_hl.residual[-1]
    with torch.no_grad():
        tail.weight.zero_()
        tail.bias.fill_(offset)


@pytest.mark.parametrize("pairs", ["kernel", "full"])
def test_preview_shows_the_pair_degradation_and_the_kernel(em_volume, tiny_config, pairs, monkeypatch):
    from napari_isorecon.core.training import train as train_module

    cfg = tiny_config.replace(steps=2, stage2_fraction=0.0, stage2_pairs=pairs)
    original = train_module._preview
    previews = []

    def preview_with_offset(model, sampler, step):
        _offset_residual(model, 0.3)  # 0.3 of the unit range: far above the preview's noise
        previews.append(original(model, sampler, step))
        return previews[-1]

    monkeypatch.setattr(train_module, "_preview", preview_with_offset)
    events = list(train(em_volume, cfg, preview_every=1))
    model = events[-1].model
    assert [e.step for e in events if isinstance(e, DegradationPreview)] == [1, 2, 2]
    last = previews[-1]
    kernel = model.g_hl.axial_kernel().detach().numpy()
    assert isinstance(last.kernel, np.ndarray) and np.array_equal(last.kernel, kernel)
    assert last.kernel.sum() == pytest.approx(1.0, abs=1e-5)
    x = torch.from_numpy(model.normalizer.to_unit(last.lateral))[None, None]
    with torch.no_grad():
        kernel_path = model.normalizer.from_unit(model.g_hl.kernel_path(x, last.degraded.shape[0])[0, 0].numpy())
    gap = np.abs(last.degraded.astype(np.float64) - kernel_path).mean()
    if pairs == "kernel":
        assert gap < 1e-3  # the residual branch's offset is not in the preview
    else:
        assert gap > 0.1 * (model.normalizer.high - model.normalizer.low)  # the whole G_hl: offset shown


def test_degrade_applies_the_whole_g_hl_unless_asked_for_the_pair_path(tiny_config):
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel

    model = IsoModel(tiny_config, Normalizer(0.0, 255.0, "uint8"))
    _offset_residual(model, 0.5)
    image = np.full((40, 32), 100.0, np.float32)
    whole, pair = model.degrade(image), model.degrade(image, pairs=True)
    assert np.all(pair == 100)  # a flat image stays flat through the kernel (uint8 out, like the input)
    assert np.all(np.abs(whole.astype(float) - pair - 0.5 * 255.0) <= 0.5)  # the offset, rounded
