"""G_hl's section kernel (a box of learnable thickness blurred by a Gaussian) and the matched noise."""

import numpy as np
import pytest
import torch
from old_checkpoints import load_version_1_config, version_1_config

from napari_isorecon.core.checks.kernel_summary import kernel_summary
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.networks.generators import AxialDegradation, section_kernel
from napari_isorecon.core.settings.config import TrainConfig
from napari_isorecon.core.training.noise import (
    PixelNoise,
    add_missing_noise,
    image_noise_sigma,
    volume_noise_sigma,
)
from napari_isorecon.core.training.train import train_to_end

TAPS = torch.arange(-25, 26, dtype=torch.float32)


@pytest.mark.parametrize("thickness", [5.0, 10.0, 15.0])
def test_a_sharp_section_is_a_box_of_its_thickness(thickness):
    k = section_kernel(TAPS, torch.tensor(thickness), torch.tensor(0.05)).numpy()
    s = kernel_summary(k, 10)
    assert k.sum() == pytest.approx(1, abs=1e-6) and s["centroid_px"] == pytest.approx(0, abs=1e-6)
    assert s["equivalent_thickness_px"] == pytest.approx(thickness, rel=0.03)
    assert (k > 1e-4).sum() in (int(thickness), int(thickness) + 1, int(thickness) + 2)


def test_a_thin_section_blurred_is_a_gaussian():
    sigma = 4.0
    k = section_kernel(TAPS, torch.tensor(1e-3), torch.tensor(sigma)).numpy()
    g = np.exp(-0.5 * (TAPS.numpy() / sigma) ** 2)
    assert np.allclose(k, g / g.sum(), atol=2e-3)


def test_the_section_model_has_two_parameters_with_gradients_and_stays_centred():
    g = AxialDegradation(10, blocks=0, kernel_model="section")
    assert g.kernel.numel() == 2
    g.axial_kernel()[20].backward()
    assert torch.all(g.kernel.grad != 0)
    with torch.no_grad():
        g.kernel.copy_(torch.tensor([np.log(1.5), np.log(0.3)]))
    s = kernel_summary(g.axial_kernel().detach().numpy(), 10)
    assert s["centroid_px"] == pytest.approx(0, abs=1e-5)
    with pytest.raises(ValueError, match="kernel_model"):
        AxialDegradation(10, kernel_model="spline")


def test_noise_is_measured_on_textured_images():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:128, :128]
    clean = 100 + 40 * np.sin(xx / 9.0) * np.cos(yy / 7.0) + 0.3 * xx
    assert image_noise_sigma(clean) < 0.5
    for sigma in (2.0, 10.0):
        assert image_noise_sigma(clean + rng.normal(0, sigma, clean.shape)) == pytest.approx(sigma, rel=0.1)


def test_a_volumes_noise_is_read_in_grey_levels_or_in_the_normalisers_units():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:128, :128]
    clean = 100 + 40 * np.sin(xx / 9.0) * np.cos(yy / 7.0)
    volume = np.clip(np.rint(clean + rng.normal(0, 6.0, (5, 128, 128))), 0, 255).astype(np.uint8)
    assert volume_noise_sigma(volume) == pytest.approx(6.0, rel=0.1)  # grey levels, nothing clipped
    unit = volume_noise_sigma(volume, Normalizer(50.0, 150.0, volume.dtype.str))
    assert unit == pytest.approx(volume_noise_sigma(volume) / 100.0, rel=1e-4)


def test_the_missing_noise_is_what_the_kernel_averaged_away():
    torch.manual_seed(0)
    kernel = torch.full((10,), 0.1)  # a box of 10 rows keeps 1/sqrt(10) of the noise
    out = add_missing_noise(torch.zeros(20000), 0.2, kernel)
    assert out.std().item() == pytest.approx(0.2 * np.sqrt(1 - 0.1), rel=0.03)
    assert torch.equal(add_missing_noise(torch.zeros(5), 0.0, kernel), torch.zeros(5))


def test_a_steps_noise_is_drawn_from_the_seed_and_step_alone():
    kernel = torch.full((10,), 0.1)
    zeros = torch.zeros(64)
    first = PixelNoise(0.2, seed=3, step=7).add_missing(zeros, kernel)
    torch.manual_seed(123)  # the global generator does not matter: a resumed run draws the same
    assert torch.equal(PixelNoise(0.2, seed=3, step=7).add_missing(zeros, kernel), first)
    assert not torch.equal(PixelNoise(0.2, seed=3, step=8).add_missing(zeros, kernel), first)
    assert not torch.equal(PixelNoise(0.2, seed=4, step=7).add_missing(zeros, kernel), first)


def test_training_with_the_section_model_and_matched_noise_runs_and_old_configs_keep_theirs():
    rng = np.random.default_rng(1)
    vol = (rng.random((8, 48, 48)) * 200).astype(np.uint8)
    cfg = TrainConfig(z_factor=3, steps=4, channels=8, blocks=1, ghl_channels=4, ghl_blocks=1, disc_channels=8,
                      lr_rows=3, patch_width=16, batch_size=2, kernel_model="section", match_noise=True)
    model = train_to_end(vol, cfg)
    assert model.g_hl.kernel_model == "section" and model.reconstructor is not None
    old = version_1_config(TrainConfig().to_dict())
    del old["kernel_model"], old["match_noise"], old["stage2_loss"]
    restored = load_version_1_config(old)
    assert restored.kernel_model == "free" and restored.match_noise is False and restored.stage2_loss == "l1"
    assert TrainConfig().match_noise is True and TrainConfig().stage2_loss == "l2"  # new runs: docs/method.md


def test_the_section_kernel_starts_at_the_sections_thickness_and_free_taps_at_one_z_step():
    free = [AxialDegradation(10, thickness=t).axial_kernel().detach().numpy() for t in (0.5, 1.5)]
    np.testing.assert_array_equal(free[0], free[1])
    thin = AxialDegradation(10, kernel_model="section", thickness=0.5).axial_kernel().detach().numpy()
    thick = AxialDegradation(10, kernel_model="section", thickness=1.5).axial_kernel().detach().numpy()
    assert thin.sum() == pytest.approx(1.0, abs=1e-5) and thick.sum() == pytest.approx(1.0, abs=1e-5)
    widths = [kernel_summary(k, 10)["equivalent_thickness_px"] for k in (thin, thick)]
    assert widths[0] == pytest.approx(5, abs=1.2) and widths[1] == pytest.approx(15, abs=1.2)
    plane = AxialDegradation(10, kernel_model="section", thickness=0).axial_kernel().detach().numpy()
    assert np.isfinite(plane).all() and kernel_summary(plane, 10)["equivalent_thickness_px"] < widths[0] - 1
    with pytest.raises(IsoReconError, match="section_thickness"):
        TrainConfig(section_thickness=-0.1)


def test_the_hidden_section_check_trains_with_half_the_thickness(monkeypatch):
    from napari_isorecon.core.checks.hidden_sections import run_hidden_section_check
    from napari_isorecon.core.training import train as train_module

    seen = {}

    def fake_train(volume, cfg, **kwargs):
        seen["cfg"] = cfg
        return iter(())

    monkeypatch.setattr(train_module, "train", fake_train)
    yy, xx = np.mgrid[:40, :40]  # real-looking sections (a blank stack is refused as all artefacts)
    vol = np.stack([120 + 60 * np.sin((xx + 3 * k) / 4.0) * np.cos(yy / 5.0) for k in range(12)]).astype(np.uint8)
    run_hidden_section_check(vol, TrainConfig(z_factor=3, steps=2, section_thickness=1.5))
    assert seen["cfg"].z_factor == 6 and seen["cfg"].section_thickness == pytest.approx(0.75)
    run_hidden_section_check(vol, TrainConfig(z_factor=3, steps=2), thickness=0.5)
    assert seen["cfg"].section_thickness == pytest.approx(0.25)
