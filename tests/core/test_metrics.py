"""Scores: the no-reference consistency check separates a real reconstruction from results that drifted."""

import numpy as np
import pytest

from napari_isorecon.core.checks.metrics import input_consistency
from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
from napari_isorecon.core.training.train import train_to_end


def test_input_consistency_flags_results_that_do_not_match_the_data(em_volume, tiny_config):
    model = train_to_end(em_volume, tiny_config.replace(steps=4))
    ours = run_to_end(reconstruct(em_volume, model)).volume
    cubic = run_to_end(interpolate(em_volume, 5, "cubic")).volume
    good = input_consistency(model, ours, em_volume)
    assert good["psnr"] > 25 and 0.8 < good["ssim"] <= 1
    assert input_consistency(model, cubic, em_volume)["psnr"] > 20
    upside_down = input_consistency(model, ours[::-1], em_volume)  # another volume's content
    noise = np.random.default_rng(0).integers(0, 256, ours.shape).astype(np.uint8)
    assert upside_down["psnr"] < good["psnr"] - 5
    assert input_consistency(model, noise, em_volume)["psnr"] < good["psnr"] - 10
    few = input_consistency(model, ours, em_volume, max_slices=5)
    assert abs(few["psnr"] - good["psnr"]) < 3  # a handful of slices gives the same picture


def test_input_consistency_degrades_with_what_made_the_stage_two_pairs(em_volume, tiny_config):
    """The check re-degrades with the degradation the reconstruction network learned to invert: G_hl's
    kernel path by default, the whole G_hl for models trained on full pairs."""
    import copy

    import torch

    model = train_to_end(em_volume, tiny_config.replace(steps=2))
    torch.nn.init.normal_(model.g_hl.residual[-1].weight)  # a residual branch that does something
    result = run_to_end(interpolate(em_volume, 5, "cubic")).volume
    kernel_pairs = input_consistency(model, result, em_volume)
    full = copy.copy(model)
    full.config = model.config.replace(stage2_pairs="full")
    whole = input_consistency(full, result, em_volume)
    assert kernel_pairs["psnr"] != whole["psnr"]
    model.g_hl.residual = None  # the kernel path alone
    assert input_consistency(full, result, em_volume) == kernel_pairs


def test_psnr_and_ssim_agree_with_scikit_image():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from napari_isorecon.core.checks.metrics import psnr_ssim_2d

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:64, :80]
    reference = (120 + 80 * np.sin(xx / 6.0) * np.cos(yy / 4.0)).astype(np.float64)
    tests = [reference + rng.normal(0, s, reference.shape) for s in (2.0, 10.0, 30.0)]
    psnr, ssim = psnr_ssim_2d(np.stack(tests), np.stack([reference] * 3), data_range=255.0)
    for t, p, s in zip(tests, psnr, ssim, strict=True):
        assert p == pytest.approx(peak_signal_noise_ratio(reference, t, data_range=255.0), abs=1e-6)
        expected = structural_similarity(reference, t, data_range=255.0, gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False)
        assert s == pytest.approx(expected, abs=1e-9)
