"""`isorecon bench` on a tiny isotropic volume: report structure, scores recomputed apart from the bench
(scikit-image), repeatability."""

import json
import math

import numpy as np
import pytest

from napari_isorecon.bench import METHODS, exact_crop_depth, run_bench
from napari_isorecon.cli import main
from napari_isorecon.core.errors import IsoReconError


@pytest.fixture(scope="module")
def iso_volume():
    from napari_isorecon.sample import isotropic_sample

    return isotropic_sample("b")[:40, :64, :96]


def _all_scores(report):
    for name, method in report["methods"].items():
        for axis in ("xz", "yz"):
            yield f"{name} {axis} psnr", method[axis]["psnr"]
            yield f"{name} {axis} ssim", method[axis]["ssim"]
    for name, fid in report["degradation_fidelity"].items():
        yield f"fidelity {name} psnr", fid["psnr"]
        yield f"fidelity {name} ssim", fid["ssim"]


@pytest.mark.slow
def test_cli_bench_writes_report_table_and_figure(iso_volume, tmp_path):
    from napari_isorecon.core.io import write_volume

    src = write_volume(tmp_path / "iso.tif", iso_volume)
    out = tmp_path / "bench"
    argv = ["bench", "--volume", str(src), "--z-factor", "4", "--steps", "3", "--out", str(out)]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["methods"]) == set(METHODS)
    assert report["z_factor"] == 4 and report["degradation"] == "cubic" and report["machine"]
    assert set(report["degradation_fidelity"]) == {"take", "take_centred", "gaussian", "gaussian_centred",
                                                   "ours_g_lh", "ours_stage2", "ours_learned"}
    assert report["methods"]["cubic"]["train_seconds"] == 0
    assert report["methods"]["cubic"]["train_steps"] == 0
    assert report["methods"]["oracle"]["train_steps"] == 3
    assert report["methods"]["oracle"]["stage_steps"] == [0, 3]  # supervised only
    assert report["methods"]["ours_stage2"]["stage_steps"] == [0, 3]  # the default: stage 2 on sections
    assert report["methods"]["ours_learned"]["stage_steps"][0] > 0  # the paper's pipeline learns first
    assert report["methods"]["ours_g_lh"]["stage_steps"] == [3, 0]  # G_lh alone
    assert report["methods"]["ours_stage2"]["train_steps"] == 3
    for what, value in _all_scores(report):
        assert math.isfinite(value), what
    _assert_scores(report["methods"]["cubic"], _interpolation_scores(iso_volume[:40], 4, "cubic"))
    assert "| oracle |" in (out / "report.md").read_text()
    assert (out / "xz_compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(argv) == 2  # a non-empty output folder is not overwritten


@pytest.mark.slow
def test_seeded_bench_repeats(iso_volume):
    kwargs = dict(z_factor=2.5, methods=("cubic", "oracle", "ours_stage2"), steps=3, seed=7, log=lambda m: None)
    a = run_bench(iso_volume, **kwargs)
    b = run_bench(iso_volume, **kwargs)
    assert a["methods"].keys() == b["methods"].keys()
    for name in a["methods"]:
        assert a["methods"][name]["xz"] == b["methods"][name]["xz"]
        assert a["methods"][name]["yz"] == b["methods"][name]["yz"]
    assert a["degradation_fidelity"] == b["degradation_fidelity"]


def _skimage_scores(result, truth) -> dict:
    """The bench's scores computed apart from it, with scikit-image: the mean PSNR and SSIM (Gaussian window,
    sigma 1.5, the paper's) over every xz and every yz slice, on the dtype's range."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    info = np.iinfo(truth.dtype)
    data_range = float(info.max) - float(info.min)
    scores = {}
    for axis, name in ((1, "xz"), (2, "yz")):
        pairs = [(np.take(truth, i, axis=axis), np.take(result, i, axis=axis)) for i in range(truth.shape[axis])]
        scores[name] = {
            "psnr": float(np.mean([peak_signal_noise_ratio(t, r, data_range=data_range) for t, r in pairs])),
            "ssim": float(np.mean([structural_similarity(t, r, data_range=data_range, gaussian_weights=True,
                                                         sigma=1.5, use_sample_covariance=False)
                                   for t, r in pairs]))}
    return scores


def _interpolation_scores(truth, z_factor, order) -> dict:
    from napari_isorecon.bench import simulate_acquisition
    from napari_isorecon.core.inference.reconstruct import interpolate, run_to_end

    result = run_to_end(interpolate(simulate_acquisition(truth, z_factor, "cubic"), z_factor, order)).volume
    assert result.shape == truth.shape
    return _skimage_scores(result, truth)


def _assert_scores(reported, expected):
    for axis in ("xz", "yz"):
        for score in ("psnr", "ssim"):
            assert reported[axis][score] == pytest.approx(expected[axis][score], rel=1e-9, abs=1e-12), (axis, score)


@pytest.mark.slow
def test_interpolation_scores_are_the_interpolations_scores(iso_volume):
    report = run_bench(iso_volume, 4, methods=("linear", "cubic"), log=lambda m: None)
    truth = np.asarray(iso_volume[:exact_crop_depth(iso_volume.shape[0], 4)])
    assert truth.dtype == np.uint8 and truth.shape[0] == 40
    totals = {}
    for method in ("linear", "cubic"):
        expected = _interpolation_scores(truth, 4, method)
        _assert_scores(report["methods"][method], expected)
        totals[method] = expected["xz"]["psnr"] + expected["yz"]["psnr"]
    assert report["summary"]["best_interpolation"] == max(totals, key=totals.get)


def test_crop_keeps_whole_rows():
    assert exact_crop_depth(250, 10) == 250
    assert exact_crop_depth(250, 7.5) == 240
    assert exact_crop_depth(50, 4) == 48
    with pytest.raises(IsoReconError):
        exact_crop_depth(10, 8)


def test_bad_bench_arguments(iso_volume):
    with pytest.raises(IsoReconError, match="Unknown methods"):
        run_bench(iso_volume, 4, methods=("magic",), log=lambda m: None)
    with pytest.raises(IsoReconError, match="'ours': the default settings are 'ours_stage2'"):  # the check's word
        run_bench(iso_volume, 4, methods=("ours",), log=lambda m: None)
    with pytest.raises(IsoReconError, match="Unknown degradation"):
        run_bench(iso_volume, 4, degradation="blur", log=lambda m: None)
    with pytest.raises(IsoReconError, match="2D"):
        run_bench(np.zeros((64, 64), np.uint8), 4, log=lambda m: None)


def test_bench_reports_the_axial_spectra_of_each_method(iso_volume, tmp_path):
    """The spectra in the report are core.checks.spectra's on the method's own output, and the tables show them."""
    from napari_isorecon.bench import simulate_acquisition
    from napari_isorecon.core.checks.spectra import section_period_peak, z_band_power, z_vs_x_spectrum
    from napari_isorecon.core.inference.reconstruct import interpolate, run_to_end

    report = run_bench(iso_volume, 4, methods=("cubic",), out_dir=tmp_path, log=lambda m: None)
    truth = np.asarray(iso_volume[:40])
    cubic = run_to_end(interpolate(simulate_acquisition(truth, 4, "cubic"), 4, "cubic")).volume
    spectra = report["methods"]["cubic"]["spectra"]
    assert spectra["z_bands"] == z_band_power(cubic, truth, z_factor=4)
    assert list(spectra["z_bands"]) == ["8-16", "4-8", "2-4", "1-2"]
    assert spectra["z_vs_x"] == z_vs_x_spectrum(cubic, z_factor=4)["bands"]
    peak = section_period_peak(cubic, 4)
    assert spectra["section_peak"] == {"1/F": peak["1/F"], "2/F": None}  # 2/F is Nyquist at x4: not resolved
    assert peak["1/F"] < 1  # an interpolation: a notch
    truth_peak = report["truth_spectra"]["section_peak"]["1/F"]
    assert truth_peak == section_period_peak(truth, 4)["1/F"]
    band = spectra["z_bands"]["4-8"]
    md = (tmp_path / "report.md").read_text()
    spectra_part = md.split("Axial detail per band")[1]
    row = next(line for line in spectra_part.splitlines() if line.startswith("| cubic |"))
    assert f"{band['power_share']:.2f} / {band['correlation']:.2f}" in row and f"| {peak['1/F']:.2f} | - |" in row
    assert "| truth | 1.00 / 1.00 |" in md and f"{truth_peak:.2f}" in md
    assert json.loads((tmp_path / "report.json").read_text())["methods"]["cubic"]["spectra"] == spectra


def test_spectra_over_seeds_are_means_and_none_stays_none():
    from napari_isorecon.bench.run import combine_runs

    def run(share, peak):
        return {"xz": {"psnr": 1.0, "ssim": 0.5}, "yz": {"psnr": 1.0, "ssim": 0.5}, "train_seconds": 1.0,
                "train_steps": 3, "total_seconds": 2.0,
                "spectra": {"z_bands": {"8-16": {"periods": [8.0, 16.0], "bins": 5, "power_share": share,
                                                 "correlation": share / 2}},
                            "section_peak": {"1/F": peak, "2/F": None}}}

    entry = combine_runs([run(0.2, 1.1), run(0.4, None)])
    band = entry["spectra"]["z_bands"]["8-16"]
    assert band == {"periods": [8.0, 16.0], "bins": 5, "power_share": pytest.approx(0.3),
                    "correlation": pytest.approx(0.15)}
    assert entry["spectra"]["section_peak"] == {"1/F": None, "2/F": None}  # unresolved in one seed: no mean
    assert combine_runs([run(0.2, 1.1), run(0.4, 1.3)])["spectra"]["section_peak"]["1/F"] == pytest.approx(1.2)


def test_the_figure_shows_ours_beside_cubic_and_the_reference(tmp_path):
    """benchmarks/no_reference.py names its result "ours": the figure must show it (a rename once dropped it)."""
    from matplotlib.image import imread

    from napari_isorecon.bench.report import write_figure

    vol = np.random.default_rng(0).integers(0, 255, (20, 8, 20)).astype(np.uint8)
    write_figure(tmp_path / "two.png", vol, {"cubic": vol}, size=16)
    write_figure(tmp_path / "three.png", vol, {"cubic": vol, "ours": vol}, size=16)
    assert imread(tmp_path / "three.png").shape[1] > 1.4 * imread(tmp_path / "two.png").shape[1]


def _shown(fig):
    """(title, image array, (vmin, vmax)) of each panel the figure draws."""
    return [(ax.get_title(), np.asarray(ax.images[0].get_array()), ax.images[0].get_clim()) for ax in fig.axes]


def test_the_bench_figure_shows_the_ground_truth_crop_first(tmp_path):
    from napari_isorecon.bench.report import write_figure

    rng = np.random.default_rng(1)
    truth = rng.integers(0, 255, (30, 10, 40)).astype(np.uint8)
    ours = rng.integers(0, 255, truth.shape).astype(np.uint8)
    panels = _shown(write_figure(tmp_path / "f.png", truth, {"ours": ours, "cubic": truth}, size=16))
    assert [p[0] for p in panels] == ["ground truth", "cubic", "ours"]
    np.testing.assert_array_equal(panels[0][1], truth[7:23, 5, 12:28])
    np.testing.assert_array_equal(panels[2][1], ours[7:23, 5, 12:28])
    assert {p[2] for p in panels} == {(0, 255)}


def test_the_real_stack_figure_puts_an_xy_section_of_the_same_tissue_first(tmp_path):
    """benchmarks/no_reference.py: xy, the input's xz (each section over the 5 rows it covers), cubic, ours."""
    from napari_isorecon.bench import write_stack_figure

    rng = np.random.default_rng(2)
    volume = rng.integers(0, 255, (6, 40, 50)).astype(np.uint8)
    cubic, ours = (rng.integers(0, 255, (30, 40, 50)).astype(np.uint8) for _ in range(2))
    panels = _shown(write_stack_figure(tmp_path / "f.png", volume, {"ours": ours, "cubic": cubic}, size=16))
    # the xz crop: output rows 7..22 at y = 20, columns 17..32; its middle row 15 lies in section 15 // 5 = 3
    assert [p[0] for p in panels] == ["xy (section 3)", "input xz (rows repeated)", "cubic", "ours"]
    xy, repeated = panels[0][1], panels[1][1]
    np.testing.assert_array_equal(xy, volume[3, 12:28, 17:33])
    np.testing.assert_array_equal(repeated, np.repeat(volume, 5, axis=0)[7:23, 20, 17:33])
    np.testing.assert_array_equal(xy[8], repeated[8])  # the xz slice cuts the xy crop along its middle row
    np.testing.assert_array_equal(panels[2][1], cubic[7:23, 20, 17:33])
    np.testing.assert_array_equal(panels[3][1], ours[7:23, 20, 17:33])
    assert {p[2] for p in panels} == {(0, 255)}
    assert (tmp_path / "f.png").stat().st_size > 0


def test_the_real_stack_figure_draws_every_panel_on_the_inputs_grey_scale(tmp_path):
    from napari_isorecon.bench import write_stack_figure

    volume = np.random.default_rng(3).normal(100.0, 10.0, (8, 24, 24)).astype(np.float32)
    brighter = np.repeat(volume, 2, axis=0) * 5  # an output far outside the input's range keeps the input's scale
    panels = _shown(write_stack_figure(tmp_path / "f.png", volume, {"ours": brighter}, size=12))
    assert [p[0] for p in panels] == ["xy (section 4)", "input xz (rows repeated)", "ours"]  # rows 2..13: row 8
    low, high = panels[0][2]
    assert {p[2] for p in panels} == {(low, high)}
    inputs = np.concatenate([panels[0][1].ravel(), panels[1][1].ravel()])
    assert inputs.min() <= low < high <= inputs.max()
    with pytest.raises(IsoReconError, match="cubic or ours"):
        write_stack_figure(tmp_path / "none.png", volume, {"nearest": brighter})
