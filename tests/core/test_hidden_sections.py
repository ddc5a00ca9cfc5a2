"""The hidden-section self-check: its geometry on volumes where the answer is known, its report, its CLI."""

import json

import numpy as np
import pytest
import tifffile
from planted import check_config, check_stack

from napari_isorecon.cli import main
from napari_isorecon.core.checks.hidden_sections import (
    hidden_section_weights,
    neighbour_mean,
    predict_hidden,
    run_hidden_section_check,
    split_sections,
)
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.events import CheckProgress, HiddenSectionsChecked, TrainFinished
from napari_isorecon.core.inference.reconstruct import interpolate, run_to_end
from napari_isorecon.core.settings.config import TrainConfig


def _linear_in_z(depth=11, size=32):
    z = np.arange(depth, dtype=np.float32)[:, None, None]
    return (10 + 3 * z + np.linspace(0, 5, size, dtype=np.float32)[None, None, :]) * np.ones((1, size, size),
                                                                                              np.float32)


def test_split_keeps_even_sections_and_hides_the_odd_ones_between_them():
    vol = np.arange(10)[:, None, None] * np.ones((1, 16, 16))
    kept, hidden = split_sections(vol)
    assert kept[:, 0, 0].tolist() == [0, 2, 4, 6, 8]
    assert hidden[:, 0, 0].tolist() == [1, 3, 5, 7]  # section 9 has no kept neighbour above it
    with pytest.raises(IsoReconError, match="at least 5 sections"):
        split_sections(vol[:4])


@pytest.mark.parametrize("z_factor", [2.0, 5.0, 7.5])
def test_a_volume_linear_in_z_is_predicted_exactly(z_factor):
    vol = _linear_in_z()
    kept, hidden = split_sections(vol)
    assert np.allclose(neighbour_mean(kept), hidden, atol=1e-5)
    linear = run_to_end(interpolate(kept, 2 * z_factor, "linear")).volume
    assert np.allclose(predict_hidden(linear, kept.shape[0]), hidden, atol=1e-4)
    cubic = run_to_end(interpolate(kept, 2 * z_factor, "cubic")).volume
    # cubic is linear away from the ends (its end rows see the replicated border)
    assert np.allclose(predict_hidden(cubic, kept.shape[0])[1:-1], hidden[1:-1], atol=1e-4)


def test_weights_average_over_the_section_thickness_and_sum_to_one():
    w = hidden_section_weights(n_kept=4, depth=40, thickness=1.0)  # 2F = 10 output rows per kept section
    assert np.allclose(w.sum(axis=1), 1)
    # hidden section 0 sits at output rows 10 +- 2.5 (centres 7.5 .. 12.5 are read linearly)
    assert np.flatnonzero(w[0]).tolist() == [7, 8, 9, 10, 11, 12]
    thin = hidden_section_weights(4, 40, thickness=0.2)
    assert np.flatnonzero(thin[0]).tolist() == [9, 10]
    a_step = np.zeros(40)
    a_step[10:] = 1.0  # an edge in the middle of the hidden section: its thickness averages it
    assert 0.3 < w[0] @ a_step < 0.7
    plane = hidden_section_weights(4, 40, thickness=0)  # a plane at kept index 0.5: output row 9.5
    np.testing.assert_allclose(plane[0][[9, 10]], [0.5, 0.5])
    assert np.count_nonzero(plane[0]) == 2
    with pytest.raises(IsoReconError, match="thickness"):
        hidden_section_weights(4, 40, thickness=-0.1)




def test_the_check_trains_at_twice_the_factor_and_reports_every_method():
    events = list(run_hidden_section_check(check_stack(), check_config()))
    finished = next(e for e in events if isinstance(e, TrainFinished))
    assert finished.model.z_factor == 6 and finished.steps == 4
    assert any(isinstance(e, CheckProgress) for e in events)
    last = events[-1]
    assert isinstance(last, HiddenSectionsChecked) and not last.stopped
    report = last.report
    assert [s["index"] for s in report.sections] == [1, 3, 5, 7]
    assert set(report.summary) == {"ours", "cubic", "neighbour mean", "sharp"}
    assert set(report.against) == {"cubic", "neighbour mean"}  # the verdict judges ours against the baselines
    assert set(report.agreement) == {"ours", "cubic", "sharp"}  # consistency and pulse against the kept sections
    assert report.agreement["sharp"]["consistency"] < 0.6  # projected onto them (stored as integers: rounding)
    assert all(a["consistency"] >= 0 and a["pulse"] >= 0 for a in report.agreement.values())
    assert "Agreement with the kept sections" in report.to_markdown()
    for scores in report.summary.values():
        assert np.isfinite(scores["psnr"]) and 0 < scores["ssim"] <= 1
    # the paired statistics are those of the rows the report shows, section by section (a mean of differences
    # equals the difference of the means whatever the pairing; the median and the wins do not); their arithmetic
    # on hand-made scores: test_hidden_verdict.py
    rows = np.array([s["ours"]["psnr"] - s["cubic"]["psnr"] for s in report.sections if s["scored"]])
    d = report.against["cubic"]["psnr"]
    assert d["sections"] == len(rows) and d["sections_won"] == int((rows > 0).sum())
    assert d["ties"] == int((rows == 0).sum()) and d["median"] == pytest.approx(float(np.median(rows)))


def test_the_verdict_says_when_ours_loses():
    from napari_isorecon.core.checks.hidden_report import HiddenSectionReport

    hidden = np.zeros((3, 8, 8))
    preds = {m: np.zeros((3, 8, 8)) for m in ("ours", "cubic", "neighbour mean")}

    def report(ours_psnr):
        scores = {"ours": (np.full(3, ours_psnr), np.full(3, 0.5)), "cubic": (np.full(3, 20.0), np.full(3, 0.4)),
                  "neighbour mean": (np.full(3, 19.0), np.full(3, 0.4))}
        return HiddenSectionReport.from_scores(scores, hidden, preds, z_factor=10, thickness=1.0, training={})

    assert report(21.0).ours_wins and report(21.0).verdict.startswith("Ours predicts the hidden sections better")
    losing = report(19.5)
    assert not losing.ours_wins and "NOT better" in losing.verdict and "cubic in PSNR" in losing.verdict
    assert "prefer the interpolated volume" in losing.verdict


def test_a_stop_during_training_ends_without_a_report():
    events = list(run_hidden_section_check(check_stack(), check_config(), stop=lambda: True))
    assert events[-1] == HiddenSectionsChecked(report=None, stopped=True)


def test_cli_validate_writes_report_and_figure_and_refuses_to_overwrite(tmp_path, capsys):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, check_stack(depth=9, size=64))
    out = tmp_path / "check"
    args = ["validate", str(path), "--z-factor", "3", "--steps", "4", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Verdict:" in printed and "| cubic |" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["check_z_factor"] == 6 and len(report["sections"]) == 4
    assert report["training"]["steps"] == 4
    assert report["uncertainty"]["scale"] > 0 and "Uncertainty at the hidden sections" in printed  # validate: on
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "# Hidden-section check" in (out / "report.md").read_text()
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize("bad, message", [
    (["--z-factor", "60"], "larger than 100"),  # the check trains at 2F
    (["--z-factor", "3", "--section-thickness", "3"], "thickness"),
])
def test_cli_validate_refuses_bad_settings_in_one_line(tmp_path, capsys, bad, message):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, check_stack(depth=9, size=64))
    assert main(["validate", str(path), "--steps", "4", "--out", str(tmp_path / "o"), *bad]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("isorecon: error:") and message in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_bench_real_data_mode_repeats_the_check_over_seeds(tmp_path, capsys):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, check_stack(depth=9, size=64))
    out = tmp_path / "bench"
    assert main(["bench", "--volume", str(path), "--z-factor", "3", "--hidden-sections", "--steps", "4",
                 "--seeds", "2", "--thickness-spread", "0.25", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["seeds"] == [0, 1] and len(report["runs"]) == 2
    # the report says what ours was trained with, so its numbers can be traced to settings
    assert report["config"]["thickness_spread"] == 0.25 and report["config"]["section_thickness"] == 1.0
    assert "Ours is told: sections 1 z-step thick +-25%" in (out / "report.md").read_text()
    psnrs = [run["summary"]["ours"]["psnr"] for run in report["runs"]]
    assert report["summary"]["ours"]["psnr"]["mean"] == pytest.approx(np.mean(psnrs))
    assert report["summary"]["ours"]["psnr"]["std"] == pytest.approx(np.std(psnrs, ddof=1))
    assert psnrs[0] != psnrs[1]  # the seed reaches training
    for s in (0, 1):
        assert (out / f"seed_{s}" / "report.png").exists()
    assert "| neighbour mean |" in capsys.readouterr().out


def test_bench_report_says_which_pairs_ours_trained_on():
    from napari_isorecon.bench.hidden import _settings

    planes = TrainConfig(z_factor=4, section_thickness=0.0).to_dict()
    assert _settings(planes) == "Ours is told: single planes (its stage-2 pairs); backbone edsr."
    learned = TrainConfig(z_factor=4, stage2_pairs="kernel", backbone="vdsr").to_dict()
    assert _settings(learned).startswith("Ours learns the degradation") and "vdsr" in _settings(learned)


def test_reported_scores_and_bias_recomputed_independently():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    vol = check_stack(depth=9, size=48, seed=3)
    report = list(run_hidden_section_check(vol, check_config()))[-1].report
    for k, section in enumerate(report.sections):
        real = vol[2 * k + 1].astype(np.float64)
        # the neighbour mean, as uint8 data would store it
        mean = np.clip(np.rint((vol[2 * k].astype(np.float64) + vol[2 * k + 2]) / 2), 0, 255)
        assert section["neighbour mean"]["psnr"] == pytest.approx(
            peak_signal_noise_ratio(real, mean, data_range=255), abs=1e-6)
        assert section["neighbour mean"]["ssim"] == pytest.approx(structural_similarity(
            real, mean, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False), abs=1e-4)
    for shown in report.figure_sections.values():  # ours' own predictions, as the figure shows them
        section = next(s for s in report.sections if s["index"] == shown["index"])
        assert section["ours"]["psnr"] == pytest.approx(
            peak_signal_noise_ratio(shown["real"].astype(np.float64), shown["ours"], data_range=255), abs=1e-6)
    means = np.clip(np.rint((vol[0:8:2].astype(np.float64) + vol[2:9:2]) / 2), 0, 255)
    assert report.intensity["neighbour mean"]["bias"] == pytest.approx((means - vol[1:8:2]).mean(), abs=1e-9)


def test_a_planted_duplicate_is_found_and_set_aside_in_the_report_and_the_cli(tmp_path, capsys):
    vol = check_stack(depth=11, size=64)
    vol[5] = vol[4]  # hidden section 5 is a copy of its kept neighbour: interpolation would score it high
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, vol)
    out = tmp_path / "check"
    assert main(["validate", str(path), "--z-factor", "3", "--steps", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "section 5 duplicate" in printed and "Set aside from the verdict: 1 hidden section (5)" in printed
    assert "4 of 5 hidden sections scored" in printed and "## Intensity and contrast" in printed
    report = json.loads((out / "report.json").read_text())
    assert list(report["artefacts"]["set_aside"]) == ["5"] and "duplicate" in report["artefacts"]["set_aside"]["5"]
    scored = [s for s in report["sections"] if s["scored"]]
    assert [s["index"] for s in scored] == [1, 3, 7, 9]
    assert report["summary"]["cubic"]["psnr"] == pytest.approx(np.mean([s["cubic"]["psnr"] for s in scored]))
    diffs = [s["ours"]["ssim"] - s["neighbour mean"]["ssim"] for s in scored]
    d = report["ours_minus"]["neighbour mean"]["ssim"]
    assert d["median"] == pytest.approx(np.median(diffs)) and d["sections_won"] == sum(x > 0 for x in diffs)
    assert set(report["intensity"]) == {"ours", "cubic", "neighbour mean", "sharp"} and "ours_minus_all_sections" in report


def test_too_few_hidden_sections_left_after_the_artefacts_is_one_line_and_writes_nothing(tmp_path, capsys):
    vol = check_stack(depth=9, size=64)
    vol[3] = vol[2]  # 4 hidden sections, one a duplicate: 3 left
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, vol)
    assert main(["validate", str(path), "--z-factor", "3", "--steps", "4", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "Only 3 of the 4 hidden sections can be scored" in err and "(section 3)" in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_the_check_calibrates_the_uncertainty_on_the_hidden_sections_when_asked():
    plain = list(run_hidden_section_check(check_stack(), check_config()))[-1].report
    assert plain.uncertainty == {} and "Uncertainty at the hidden sections" not in plain.to_markdown()
    report = list(run_hidden_section_check(check_stack(), check_config(), uncertainty=True))[-1].report
    u = report.uncertainty
    assert u["sections"] == 4
    assert u["scale"] > 0 and 0 < u["averaging_factor"] <= 1.5 and -1 <= u["spearman"] <= 1
    assert 0 <= u["coverage"] <= 1 and 0 <= u["coverage_default_scale"] <= 1
    assert "Uncertainty at the hidden sections" in report.to_markdown()
    assert f"--uncertainty-scale {u['scale']:.2f}" in report.to_markdown()
    assert json.loads(report.to_json())["uncertainty"]["scale"] == pytest.approx(u["scale"])
