"""The uncertainty (core.inference.error_model): its calibration arithmetic on planted errors of a known size, and an
error model fitted on a planted volume that must rank the hard region (texture that changes between sections)
above the easy one (flat)."""

import numpy as np
import pytest
from scipy import ndimage

from napari_isorecon.core.inference.error_model import (
    Z90,
    calibration_scale,
    fit_error_model,
    hidden_section_calibration,
    interval_coverage,
    rank_ceiling,
    row_phase_distance,
)


def test_row_phases_are_zero_at_the_sections_and_half_midway():
    phase = row_phase_distance(40, 4)  # z-factor 10: section k's centre lies between rows 10k + 4 and 10k + 5
    assert phase[4] == pytest.approx(0.05) and phase[5] == pytest.approx(0.05)
    assert phase[9] == pytest.approx(0.45) and phase[10] == pytest.approx(0.45)
    assert phase.min() >= 0 and phase.max() <= 0.5


def test_the_scale_makes_the_interval_hold_90_percent_of_errors_three_times_the_raw_sigma():
    rng = np.random.default_rng(0)
    raw = np.exp(rng.uniform(-1, 1, 200_000))
    errors = rng.normal(size=raw.shape) * 3 * raw
    scale = calibration_scale(errors, raw)
    assert scale == pytest.approx(3.0, rel=0.03)
    assert interval_coverage(errors, scale * raw) == pytest.approx(0.90, abs=0.005)
    assert interval_coverage(errors, raw) < 0.5  # uncalibrated, the interval is far too narrow
    assert pytest.approx(1.6449, abs=1e-4) == Z90


def test_the_rank_ceiling_is_nil_for_a_constant_map_and_high_for_a_wide_one():
    assert abs(rank_ceiling(np.full(50_000, 2.0))) < 0.02
    wide = np.exp(np.random.default_rng(1).uniform(-3, 3, 50_000))
    assert rank_ceiling(wide) > 0.7


def test_the_hidden_section_coverage_is_counted_on_sections_the_scale_was_not_fitted_on():
    rng = np.random.default_rng(2)
    sigma = np.exp(rng.uniform(-1, 1, (8, 32, 32)))
    errors = rng.normal(size=sigma.shape) * 2 * sigma
    errors[1::2] *= 2  # the odd sections err twice as much: a scale fitted on the even ones misses them
    scored = np.ones(8, bool)
    scored[3] = False
    result = hidden_section_calibration(sigma, errors, scored)
    assert result["sections"] == 7
    assert result["coverage"] < 0.85  # the honest split sees the mismatch; a scale fitted on all would not
    assert interval_coverage(errors[scored], result["scale"] * sigma[scored]) == pytest.approx(0.9, abs=0.01)
    assert result["spearman"] > 0.2  # the map carries the planted sizes


def planted_volume(seed=0, z=12, size=64):
    """Left half flat (a constant with faint noise), right half blobs that change from section to section."""
    rng = np.random.default_rng(seed)
    texture = ndimage.gaussian_filter(rng.normal(size=(z * 5, size, size)), (3, 1.5, 1.5))
    texture = texture.reshape(z, 5, size, size).mean(axis=1)  # box sections of an isotropic field, z-factor 5
    volume = np.full((z, size, size), 128.0)
    volume[:, :, size // 2:] += 60 * texture[:, :, size // 2:] / texture.std()
    volume += rng.normal(scale=1.0, size=volume.shape)
    return np.clip(np.rint(volume), 0, 255).astype(np.uint8)


def test_the_error_model_ranks_a_planted_hard_region_above_an_easy_one():
    from napari_isorecon.core import TrainConfig, interpolate_volume, reconstruct_volume
    from napari_isorecon.core.training.train import train_to_end

    volume = planted_volume()
    model = train_to_end(volume, TrainConfig(z_factor=5, steps=40, minutes=None, channels=8, blocks=1, lr_rows=4,
                                             patch_width=32, batch_size=4, device="cpu", early_stop=False))
    events = list(fit_error_model(volume, model, steps=150))
    assert events[-1].model.info["steps"] == 150 and not events[-1].stopped
    faithful = reconstruct_volume(volume, model, device="cpu")
    cubic = interpolate_volume(volume, 5)
    sigma = events[-1].model.sigma(faithful, cubic, volume.shape[0])
    assert sigma.shape == faithful.shape and sigma.dtype == np.float32 and np.all(sigma > 0)
    inner = (slice(None), slice(8, -8))
    flat, hard = sigma[inner][..., 4:24], sigma[inner][..., 40:60]
    assert np.median(hard) > 3 * np.median(flat)
    assert 1 < np.median(hard) < 100  # grey levels, not the unit scale


def test_a_stopped_fit_says_so_and_keeps_the_model_so_far(tiny_model_file):
    from napari_isorecon.core import load_model
    from napari_isorecon.sample import anisotropic_sample

    volume, _ = anisotropic_sample()
    calls = iter([False] * 10 + [True] * 1000)
    events = list(fit_error_model(volume, load_model(tiny_model_file), steps=500, stop=lambda: next(calls)))
    assert events[-1].stopped and events[-1].model.info["steps"] < 500
