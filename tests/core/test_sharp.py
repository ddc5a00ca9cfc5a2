"""The sharp output's pieces: the z-spectrum equaliser, the projection onto the sections, the consistency and the
section-pulse measures, each on a planted volume with a known answer."""

import numpy as np
import pytest
from scipy import ndimage

from napari_isorecon.core.inference.sharp import (
    equalise_z,
    equaliser_gain,
    project_onto_sections,
    section_consistency,
    section_pulse,
    sharpen,
    z_and_x_power,
)


def isotropic_field(shape=(96, 48, 96), sigma=2.0, seed=0):
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=shape), sigma, mode="wrap")
    return 128 + 30 * field / field.std()


def band_ratio(volume, lo, hi):
    """z power over x power summed over frequencies in [lo, hi) cycles per pixel."""
    freqs, z_power, x_power = z_and_x_power(volume)
    band = (freqs >= lo) & (freqs < hi)
    return z_power[band].sum() / x_power[band].sum()


def test_an_isotropic_volume_has_equal_z_and_x_power_and_unit_gain():
    volume = isotropic_field()
    assert band_ratio(volume, 0.05, 0.2) == pytest.approx(1.0, abs=0.15)
    _, gain = equaliser_gain(volume)
    assert np.all(gain >= 1.0) and np.median(gain) < 1.2


def test_the_equaliser_restores_a_planted_z_blur_within_its_cap():
    truth = isotropic_field()
    blurred = ndimage.gaussian_filter1d(truth, 1.5, axis=0, mode="reflect")  # z alone loses its fine detail
    # in the band 0.05-0.12 cycles/px the blur keeps exp(-(2 pi f 1.5)^2) of the power, 0.36 ... 0.90 of it
    # (0.81 of the band's power: the field's own spectrum falls across the band)
    assert band_ratio(blurred, 0.05, 0.12) < 0.85
    freqs, gain = equaliser_gain(blurred, cap=4.0)
    restored = equalise_z(blurred, freqs, gain)
    assert band_ratio(restored, 0.05, 0.12) == pytest.approx(1.0, abs=0.05)
    # where the planted loss exceeds the cap (power x 1/16), the gain stops at it
    assert gain.max() == pytest.approx(4.0)
    # the equalised volume is closer to the truth than the blurred one
    assert np.mean((restored - truth) ** 2) < 0.7 * np.mean((blurred - truth) ** 2)


@pytest.mark.parametrize("z_factor, thickness", [(5, 1.0), (4, 0.5), (3.5, 1.0), (6.25, 0.0)])
def test_the_projection_makes_a_planted_output_consistent(z_factor, thickness):
    """A volume perturbed away from its sections comes back to them to < 0.1 grey level, by the least change."""
    truth = isotropic_field(shape=(100, 16, 24))
    n = int(100 // z_factor)
    depth = int(round(n * z_factor))
    truth = truth[:depth]
    from napari_isorecon.core.training.sections import box_weights

    sections = np.tensordot(box_weights(depth, n, z_factor, thickness), truth, axes=(1, 0))
    perturbed = truth + np.random.default_rng(1).normal(0, 5, truth.shape)
    assert section_consistency(perturbed, sections, z_factor, thickness) > 0.5
    projected = project_onto_sections(perturbed, sections, z_factor, thickness)
    assert section_consistency(projected, sections, z_factor, thickness) < 0.1
    assert section_consistency(truth, sections, z_factor, thickness) < 1e-9
    # with no smoothing the change is the least in L2: less than going back to the truth would be
    plain = project_onto_sections(perturbed, sections, z_factor, thickness, smooth=0)
    assert section_consistency(plain, sections, z_factor, thickness) < 0.1
    assert np.sum((plain - perturbed) ** 2) <= np.sum((truth - perturbed) ** 2)


def test_box_sections_one_z_step_thick_get_their_residual_on_their_own_rows_without_smoothing():
    volume = np.zeros((6, 1, 1))
    sections = np.array([1.0, 3.0]).reshape(2, 1, 1)
    projected = project_onto_sections(volume, sections, 3, 1.0, smooth=0)
    np.testing.assert_allclose(projected[:, 0, 0], [1, 1, 1, 3, 3, 3])


def test_the_default_correction_is_smooth_across_section_edges():
    """A residual on one section spreads over its neighbourhood without a step at its edges, and the sections
    still come back exactly."""
    volume = np.zeros((50, 1, 1))
    sections = np.zeros((5, 1, 1))
    sections[2] = 10.0
    projected = project_onto_sections(volume, sections, 10, 1.0)[:, 0, 0]
    np.testing.assert_allclose(projected.reshape(5, 10).mean(axis=1), sections[:, 0, 0], atol=1e-5)  # float32
    assert np.abs(np.diff(projected)).max() < 0.35 * 10  # a step would be 10 (without smoothing: 10)
    step = project_onto_sections(volume, sections, 10, 1.0, smooth=0)[:, 0, 0]
    assert np.abs(np.diff(step)).max() == pytest.approx(10.0)


def _sections_of(truth, z_factor, thickness=1.0):
    from napari_isorecon.core.training.sections import box_weights

    n = truth.shape[0] // z_factor
    sections = np.tensordot(box_weights(truth.shape[0], n, z_factor, thickness), truth, axes=(1, 0))
    return np.clip(np.rint(sections), 0, 255).astype(np.uint8)


def test_sharpen_evens_a_planted_detail_pulse_and_stays_consistent():
    """A soft output whose fine detail is weaker midway between sections (as an L2 network's is): the sharp output
    holds as much detail midway as at the sections, and still returns the sections."""
    truth = isotropic_field(shape=(100, 48, 96), sigma=1.0)
    z_factor = 5
    sections = _sections_of(truth, z_factor)
    phase = ((np.arange(100) + 0.5) / z_factor) % 1.0
    keep = (0.4 + 0.6 * np.sin(np.pi * phase) ** 2)[:, None, None]  # detail 1 at the sections, 0.4 midway
    smooth = ndimage.uniform_filter(truth, (1, 9, 9), mode="reflect")
    soft = smooth + keep * (truth - smooth)
    before = section_pulse(soft, z_factor)["modulation"]
    sharp, info = sharpen(soft.astype(np.float32), sections, z_factor, 1.0, cap=4.0)
    assert sharp.dtype == np.uint8 and sharp.shape == truth.shape
    assert before > 0.5 and section_pulse(sharp, z_factor)["modulation"] < 0.3 * before
    assert info["largest_detail_gain"] == pytest.approx(1 / 0.4, rel=0.25)
    assert info["consistency_sharp"] < 0.5  # rounding to uint8 leaves at most half a grey level per row


def test_sharpen_with_the_isotropic_assumption_restores_z_power():
    truth = isotropic_field(shape=(100, 48, 96))
    z_factor = 5
    sections = _sections_of(truth, z_factor)
    soft = ndimage.gaussian_filter1d(truth, 2.0, axis=0, mode="reflect")  # a stationary z blur: no pulse
    plain, _ = sharpen(soft.astype(np.float32), sections, z_factor, 1.0)
    equalised, info = sharpen(soft.astype(np.float32), sections, z_factor, 1.0, isotropic=True)
    assert info["isotropic"] and info["consistency_sharp"] < 0.5
    # above the sections' Nyquist frequency (0.1 cycles/px at x5) only the equaliser adds z power
    assert band_ratio(equalised, 0.1, 0.2) > band_ratio(plain, 0.1, 0.2) + 0.2


def test_section_pulse_reads_a_planted_contrast_modulation():
    rng = np.random.default_rng(0)
    depth, z_factor = 120, 10
    base = rng.normal(0, 1, (depth, 8, 200))
    phase = ((np.arange(depth) + 0.5) / z_factor) % 1.0
    amplitude = 1 + 0.5 * np.cos(2 * np.pi * (phase - 0.5))  # 1.5 at the sections, 0.5 midway
    pulse = section_pulse(128 + 10 * base * amplitude[:, None, None], z_factor)
    # rows fall at phases 0.05, 0.15, ..., 0.95 (one per bin): max 1 + 0.5 cos(pi / 10), min 1 - 0.5 cos(pi / 10)
    expected = 2 * 0.5 * np.cos(np.pi / 10)
    assert pulse["modulation"] == pytest.approx(expected, rel=0.1)
    flat = section_pulse(128 + 10 * base, z_factor)
    assert flat["modulation"] < 0.1


def test_the_command_line_and_the_api_make_the_same_sharp_output(tmp_path, tiny_model_file, em_volume, capsys):
    """`isorecon reconstruct --sharp` writes <out>_sharp.tif beside the result, the same volume as
    sharpen_volume(result), says how it agrees with the sections, and refuses a .zarr result."""
    import tifffile

    from napari_isorecon.cli import main
    from napari_isorecon.core import IsoReconError, load_model, sharpen_volume

    source = tmp_path / "stack.tif"
    tifffile.imwrite(source, em_volume)
    out = tmp_path / "iso.tif"
    main(["reconstruct", str(source), "--model", str(tiny_model_file), "--z-factor", "5", "--out", str(out),
          "--sharp", "--device", "cpu"])
    err = capsys.readouterr().err
    assert "Sharp output:" in err and "grey levels" in err
    result, sharp = tifffile.imread(out), tifffile.imread(tmp_path / "iso_sharp.tif")
    model = load_model(tiny_model_file)
    np.testing.assert_array_equal(sharp, sharpen_volume(result, em_volume, model))
    with pytest.raises(IsoReconError, match="not the reconstruction of a volume"):
        sharpen_volume(result[:-1], em_volume, model)
    assert main(["reconstruct", str(source), "--model", str(tiny_model_file), "--out", str(tmp_path / "iso.zarr"),
                 "--sharp"]) == 2
    assert "isorecon: error: The sharp output is made in memory from the whole result" in capsys.readouterr().err
    assert not (tmp_path / "iso.zarr").exists()


def test_the_section_model_of_declared_and_learned_pairs():
    """Declared pairs: the declared thickness. A learned kernel started as the f-tap box (f = 5: variance 2 taps^2)
    has the equivalent thickness sqrt(12 * 2) / 5 z-steps."""
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.inference.sharp import model_section_thickness
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel

    normalizer = Normalizer(0.0, 255.0, "|u1")
    declared = IsoModel(TrainConfig(z_factor=5, steps=1, minutes=None, section_thickness=0.5), normalizer)
    learned = IsoModel(TrainConfig(z_factor=5, steps=1, minutes=None, stage2_pairs="kernel"), normalizer)
    assert model_section_thickness(declared) == 0.5
    assert model_section_thickness(learned) == pytest.approx(np.sqrt(24) / 5, rel=1e-6)
