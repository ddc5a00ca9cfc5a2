"""core.checks.spectra: band power share and correlation against a truth, the section-period peak, and the
z-vs-x power share, on volumes whose answer is known."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from napari_isorecon.core.checks.spectra import (
    band_label,
    period_bands,
    section_period_peak,
    y_step_for,
    z_band_power,
    z_vs_x_spectrum,
)
from napari_isorecon.core.errors import IsoReconError

NO_PERIOD = (0.85, 1.15)  # a volume with no period: its peak over 3 seeds of smoothed noise stays in here


def _noise(shape=(160, 64, 64), sigma=0.7, seed=0):
    """Isotropic texture: white noise smoothed alike along z, y and x."""
    return gaussian_filter(np.random.default_rng(seed).normal(size=shape), sigma)


def _with_grid(volume, period, amplitude=1.0, seed=1):
    """``volume`` plus a row of blobs every ``period`` rows (one random strength per column): a printed grid."""
    z = np.arange(volume.shape[0])
    phase = (z % period) - period / 2
    grid = np.exp(-0.5 * (phase / 1.0) ** 2)
    strength = np.random.default_rng(seed).normal(size=(1,) + volume.shape[1:])
    return volume + amplitude * volume.std() * grid[:, None, None] * strength


def test_bands_are_drawn_from_the_z_factor():
    assert period_bands(10) == ((20, 40), (10, 20), (5, 10), (2.5, 5))
    assert [band_label(b) for b in period_bands(12.5)] == ["25-50", "12.5-25", "6.25-12.5", "3.125-6.25"]
    with pytest.raises(IsoReconError, match="z-factor"):
        period_bands(0)


@pytest.mark.parametrize("z_factor", [10, 12.5])
def test_a_planted_section_grid_is_found_at_1_over_f_and_2_over_f(z_factor):
    clean = _noise()
    plain = section_period_peak(clean, z_factor)
    printed = section_period_peak(_with_grid(clean, z_factor, amplitude=2), z_factor)
    assert printed["note"] == "" and printed["z_factor"] == z_factor and printed["rows"] == 160
    assert printed["1/F"] > 5 and printed["2/F"] > 3  # narrow blobs: the harmonic is strong too
    assert NO_PERIOD[0] < plain["1/F"] < NO_PERIOD[1] and NO_PERIOD[0] < plain["2/F"] < NO_PERIOD[1]


def test_a_grid_at_another_period_is_not_a_peak_at_this_one():
    printed = _with_grid(_noise(), 3)  # 1/3 and 2/3 (aliased to 1/3) lie far from 1/10 and 2/10
    other = section_period_peak(printed, 10)
    assert NO_PERIOD[0] < other["1/F"] < NO_PERIOD[1] and NO_PERIOD[0] < other["2/F"] < NO_PERIOD[1]
    assert section_period_peak(printed, 3)["1/F"] > 5


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("z_factor", [5, 10, 12.5])
def test_a_volume_with_no_period_reads_about_one(seed, z_factor):
    peak = section_period_peak(_noise(seed=seed), z_factor)
    for label in ("1/F", "2/F"):
        assert NO_PERIOD[0] < peak[label] < NO_PERIOD[1], (label, peak)


def test_an_interpolation_is_a_notch():
    from napari_isorecon.core.inference.reconstruct import interpolate, run_to_end

    truth = _noise(shape=(160, 48, 48), sigma=2.0).astype(np.float32)
    cubic = run_to_end(interpolate(truth[5::10], 10, "cubic")).volume  # 16 sections, one every 10 rows
    peak = section_period_peak(cubic, 10)
    assert peak["1/F"] < 0.5 and peak["2/F"] < 0.5


def test_a_short_volume_gives_none_with_the_reason():
    peak = section_period_peak(_noise(shape=(40, 16, 16)), 10)  # 1/F is 4 bins of 1/40 from zero
    assert peak["1/F"] is None and peak["2/F"] is not None
    assert "1/F" in peak["note"] and "40 rows" in peak["note"]
    too_fine = section_period_peak(_noise(shape=(64, 16, 16)), 3)  # 2/3 cycles per row: past Nyquist
    assert too_fine["2/F"] is None and too_fine["1/F"] is not None


def test_an_output_equal_to_the_truth_has_share_one_and_correlation_one():
    truth = _noise(shape=(120, 40, 40))
    bands = z_band_power(truth.copy(), truth, z_factor=10)
    assert list(bands) == ["20-40", "10-20", "5-10", "2.5-5"]
    for entry in bands.values():
        assert entry["bins"] > 0
        assert entry["power_share"] == pytest.approx(1, abs=1e-12)
        assert entry["correlation"] == pytest.approx(1, abs=1e-12)
    scaled = z_band_power(2 * truth + 7, truth, z_factor=10)  # gain and offset: 4x the power, same shape
    for entry in scaled.values():
        assert entry["power_share"] == pytest.approx(4) and entry["correlation"] == pytest.approx(1)


def test_the_correlation_is_the_band_passed_columns_correlation():
    """Recomputed apart from the estimator: Hann-window each column, zero the bins outside the band, invert,
    and correlate everything pooled."""
    rng = np.random.default_rng(3)
    truth = _noise(shape=(80, 16, 18))
    output = truth + gaussian_filter(rng.normal(size=truth.shape), 1.0)
    band = (5, 10)
    got = z_band_power(output, truth, [band], y_step=1)["5-10"]
    n = truth.shape[0]
    window = np.sin(np.pi * np.arange(n) / n) ** 2
    k = np.arange(n // 2 + 1)
    keep = np.zeros(k.size, bool)
    keep[1:] = (n / k[1:] >= band[0]) & (n / k[1:] < band[1])

    def band_passed(v):
        cols = v.reshape(n, -1)
        spec = np.fft.rfft((cols - cols.mean(axis=0)) * window[:, None], axis=0)
        spec[~keep] = 0
        return np.fft.irfft(spec, n=n, axis=0)

    a, b = band_passed(output), band_passed(truth)
    assert got["bins"] == keep.sum()
    assert got["correlation"] == pytest.approx((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()), rel=1e-9)
    assert got["power_share"] == pytest.approx((a * a).sum() / (b * b).sum(), rel=1e-9)


def test_a_blurred_output_has_less_power_in_the_fine_bands():
    truth = _noise(shape=(120, 40, 40))
    blurred = gaussian_filter(truth, (2.5, 0, 0))  # along z only
    bands = z_band_power(blurred, truth, z_factor=10)
    shares = [bands[label]["power_share"] for label in ("20-40", "10-20", "5-10", "2.5-5")]
    assert shares[1] < 0.8 and shares[2] < 0.1 and shares[3] < 0.01
    assert shares == sorted(shares, reverse=True)
    assert bands["20-40"]["correlation"] > 0.95  # what is left of the coarse detail is the truth's


def test_z_vs_x_is_about_one_for_isotropic_noise_and_low_in_fine_bands_for_a_z_blur():
    volume = _noise(shape=(96, 64, 96))
    iso = z_vs_x_spectrum(volume, z_factor=10)
    assert iso["segment_rows"] == 96
    for label, entry in iso["bands"].items():
        assert 0.85 < entry["power_share"] < 1.15, label
    blurred = z_vs_x_spectrum(gaussian_filter(volume, (2.5, 0, 0)), z_factor=10)["bands"]
    assert blurred["5-10"]["power_share"] < 0.1 and blurred["2.5-5"]["power_share"] < 0.01
    lateral = z_vs_x_spectrum(gaussian_filter(volume, (0, 0, 2.5)), z_factor=10)["bands"]  # blurred along x
    assert lateral["2.5-5"]["power_share"] > 10


def test_non_integer_factors_and_short_segments():
    volume = _noise(shape=(150, 48, 24))
    bands = z_band_power(volume, volume, z_factor=12.5)
    assert list(bands) == ["25-50", "12.5-25", "6.25-12.5", "3.125-6.25"]
    assert all(e["power_share"] == pytest.approx(1) for e in bands.values())
    spectrum = z_vs_x_spectrum(volume, z_factor=12.5)
    assert spectrum["segment_rows"] == 24  # the shorter axis; z is cut into overlapping segments
    assert spectrum["bands"]["25-50"]["bins"] == 0 and spectrum["bands"]["25-50"]["power_share"] is None
    assert spectrum["bands"]["3.125-6.25"]["bins"] == 4
    assert spectrum["bands"]["3.125-6.25"]["power_share"] == pytest.approx(1, abs=0.15)


def test_bad_input_is_refused_in_one_line():
    volume = np.zeros((20, 16, 16))
    with pytest.raises(IsoReconError, match="differ in shape"):
        z_band_power(volume, np.zeros((20, 16, 17)), z_factor=4)
    with pytest.raises(IsoReconError, match="bands of periods or the z-factor"):
        z_band_power(volume, volume)
    with pytest.raises(IsoReconError, match="0 < lo < hi"):
        z_vs_x_spectrum(volume, [(5, 2)])
    with pytest.raises(IsoReconError, match="2D"):
        section_period_peak(np.zeros((20, 16)), 4)
    with pytest.raises(IsoReconError, match="z-factor"):
        section_period_peak(volume, float("nan"))


def test_y_step_keeps_the_number_of_columns_bounded():
    assert y_step_for((100, 64, 64)) == 2
    assert y_step_for((100, 1000, 1000), max_columns=100_000) == 10


def test_without_a_window_the_ends_of_the_columns_leak_into_the_fine_bands():
    volume = _noise(shape=(96, 32, 96))
    ramp = volume + 0.2 * np.arange(96)[:, None, None] * volume.std()  # a slow trend along z: a step at the ends
    hann = z_vs_x_spectrum(ramp, z_factor=10)["bands"]["2.5-5"]["power_share"]
    plain = z_vs_x_spectrum(ramp, z_factor=10, window="none")["bands"]["2.5-5"]["power_share"]
    assert 0.85 < hann < 1.15 and plain > 2
    with pytest.raises(IsoReconError, match="Unknown window"):
        section_period_peak(volume, 10, window="hamming")


def test_reconstruction_spectra_and_their_markdown():
    from napari_isorecon.core.checks.spectra import reconstruction_spectra, spectra_markdown

    volume = _noise(shape=(120, 32, 48))
    printed = _with_grid(volume, 10, amplitude=2)
    spectra = reconstruction_spectra({"ours": printed, "cubic": volume[:60]}, 10)
    assert spectra["section_peak"]["ours"] == {k: section_period_peak(printed, 10)[k] for k in ("1/F", "2/F")}
    assert spectra["section_peak"]["cubic"]["1/F"] is None  # 60 rows: 1/10 is 6 bins from zero
    assert spectra["z_vs_x"]["cubic"] == z_vs_x_spectrum(volume[:60], z_factor=10)["bands"]
    md = "\n".join(spectra_markdown(spectra, what="At 2F. "))
    ours_peak = spectra["section_peak"]["ours"]
    assert "| method | peak at 1/10 | peak at 2/10 | z/x 20-40 rows |" in md and "At 2F. " in md
    assert f"| ours | {ours_peak['1/F']:.2f} | {ours_peak['2/F']:.2f} |" in md
    assert "| cubic | - |" in md and "not resolved in 60 rows" in md
    assert spectra_markdown({}) == []


def test_the_hidden_section_check_reports_the_peak_and_z_vs_x_of_ours_cubic_and_sharp():
    from napari_isorecon.core.checks.hidden_sections import run_hidden_section_check
    from napari_isorecon.core.checks.spectra import reconstruction_spectra
    from napari_isorecon.core.inference.reconstruct import interpolate, run_to_end
    from napari_isorecon.core.settings.config import TrainConfig

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:48, :48]
    stack = np.stack([120 + 60 * np.sin((xx + 3 * k) / 4.0) * np.cos(yy / 5.0) for k in range(17)])
    stack = np.clip(stack + rng.normal(0, 4, stack.shape), 0, 255).astype(np.uint8)
    cfg = TrainConfig(z_factor=3, steps=4, channels=8, blocks=1, ghl_channels=4, ghl_blocks=1, disc_channels=8,
                      lr_rows=3, patch_width=16, batch_size=2)
    report = list(run_hidden_section_check(stack, cfg))[-1].report
    spectra = report.spectra
    assert spectra["z_factor"] == 6 and set(spectra["section_peak"]) == {"ours", "cubic", "sharp"}  # at 2F
    cubic = run_to_end(interpolate(stack[0::2], 6, "cubic")).volume  # 9 kept sections -> 54 rows
    expected = reconstruction_spectra({"cubic": cubic}, 6)
    assert spectra["section_peak"]["cubic"] == expected["section_peak"]["cubic"]
    assert spectra["z_vs_x"]["cubic"] == expected["z_vs_x"]["cubic"]
    assert spectra["section_peak"]["cubic"]["1/F"] < 1  # an interpolation: a notch at the kept sections' period
    assert all(v is not None for v in spectra["section_peak"]["ours"].values())
    md = report.to_markdown().split("## Per section")[0]  # what 'isorecon validate' prints
    assert "## Axial spectra" in md and "| method | peak at 1/6 | peak at 2/6 |" in md
    assert f"| cubic | {spectra['section_peak']['cubic']['1/F']:.2f} |" in md
    assert report.to_dict()["spectra"] == spectra
