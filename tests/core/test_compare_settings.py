"""``isorecon validate --compare``: settings compared on the same hidden sections, with the paired difference,
its uncertainty and a recommendation."""

import json

import numpy as np
import pytest
import tifffile
from planted import check_config, check_stack

from napari_isorecon.cli import main
from napari_isorecon.core.checks.compare_report import SettingsComparison
from napari_isorecon.core.checks.compare_settings import compare_settings, parse_setting, parse_settings
from napari_isorecon.core.checks.hidden_report import HiddenSectionReport
from napari_isorecon.core.checks.paired_stats import paired_difference
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.events import HiddenSectionsChecked, PartEvent, SettingsCompared, TrainFinished


def test_settings_are_read_as_training_settings_of_their_type():
    assert parse_setting("pairs=kernel").changes == {"stage2_pairs": "kernel"}
    assert parse_setting("thickness=0.5, spread=0").changes == {"section_thickness": 0.5, "thickness_spread": 0.0}
    # any training setting by its own name, as its type
    assert parse_setting("seed=3,match_noise=false,stage2_loss=l1").changes == {
        "seed": 3, "match_noise": False, "stage2_loss": "l1"}
    assert parse_setting("stage1_max_steps=none").changes == {"stage1_max_steps": None}
    assert parse_setting("steps=20").changes == {"steps": 20}


@pytest.mark.parametrize("texts, message", [
    (["pairs=kernel"], "at least two"),
    (["pairs=kernel", "pairs=kernel"], "repeats"),
    (["pairs=kernel", "colour=red"], "not a training setting"),
    (["pairs=kernel", "z_factor=4"], "not a training setting"),
    (["pairs=kernel", "thickness=thick"], "section_thickness takes a number"),
    (["pairs=kernel", "kernel"], "key=value"),
    (["pairs=kernel", "seed=1,seed=2"], "twice"),
])
def test_a_setting_that_cannot_be_one_is_refused_in_one_line(texts, message):
    with pytest.raises(IsoReconError, match=message) as exc:
        parse_settings(texts)
    assert "\n" not in str(exc.value)


def test_a_setting_the_training_refuses_is_refused_before_any_work():
    events = None
    with pytest.raises(IsoReconError, match="--compare 'pairs=gan'"):
        events = compare_settings(check_stack(), check_config(), parse_settings(["pairs=section", "pairs=gan"]))
    assert events is None


def _reports(ours_a, ours_b, n=8):
    """Two settings' reports with ours' PSNR per section given, the baselines flat."""
    reports = {}
    for name, ours in (("A", ours_a), ("B", ours_b)):
        scores = {"ours": (np.asarray(ours, float), np.full(n, 0.6)), "cubic": (np.full(n, 20.0), np.full(n, 0.5)),
                  "neighbour mean": (np.full(n, 19.0), np.full(n, 0.4))}
        reports[name] = HiddenSectionReport.from_scores(scores, np.zeros((n, 4, 4)), {m: np.zeros((n, 4, 4))
                                                        for m in scores}, 10, 1.0, {})
    return reports


def test_the_recommendation_follows_the_paired_difference_and_its_uncertainty():
    rng = np.random.default_rng(0)
    b = 22 + rng.normal(0, 1, 8)
    clear = SettingsComparison.from_reports(_reports(b + 0.5 + rng.normal(0, 0.1, 8), b), {})
    pair = clear.pairs[0]
    assert pair["better"] == "A" and pair["recommendation"].startswith("Use A rather than B")
    assert pair["psnr"]["ci95"][0] > 0 and clear.recommendation.startswith("Use A")
    # B better: said from B's side
    flipped = SettingsComparison.from_reports(_reports(b, b + 0.5 + rng.normal(0, 0.1, 8)), {})
    assert flipped.pairs[0]["better"] == "B" and "Use B rather than A: +0." in flipped.pairs[0]["recommendation"]
    # differences of both signs around 0: within the uncertainty
    noisy = SettingsComparison.from_reports(_reports(b + np.array([1, -1, 1, -1, 1, -1, 0.5, -0.4]), b), {})
    assert noisy.pairs[0]["better"] is None and "within the uncertainty" in noisy.pairs[0]["recommendation"]
    assert noisy.recommendation.startswith("No setting is better")
    # A wins 7 of 8 by a little but loses one by a lot: the median and the wins say A, the interval does not
    lopsided = SettingsComparison.from_reports(_reports(b + np.array([0.1] * 7 + [-5.0]), b), {})
    assert lopsided.pairs[0]["psnr"]["median"] > 0 and lopsided.pairs[0]["better"] is None


def test_the_comparison_runs_every_setting_on_the_same_hidden_sections():
    vol = check_stack(depth=11)
    vol[5] = vol[4]  # a duplicate: set aside for every setting alike
    settings = parse_settings(["pairs=section", "thickness=0.5,spread=0"])
    events = list(compare_settings(vol, check_config(), settings))
    assert isinstance(events[-1], SettingsCompared) and not events[-1].stopped
    parts = [e for e in events[:-1] if isinstance(e, PartEvent)]
    assert len(parts) == len(events) - 1 and [p.part for p in parts if isinstance(p.event, TrainFinished)] == [
        "pairs=section", "thickness=0.5,spread=0"]
    models = [p.event.model for p in parts if isinstance(p.event, TrainFinished)]
    assert models[1].config.section_thickness == pytest.approx(0.25)  # 0.5 at F is 0.25 at 2F
    assert models[0].config.section_thickness == pytest.approx(0.5) and models[0].config.thickness_spread == 0.5
    comparison = events[-1].comparison
    assert comparison.sections == [1, 3, 7, 9]
    reports = {p.part: p.event.report for p in parts if isinstance(p.event, HiddenSectionsChecked)}
    ours = {n: np.array([s["ours"]["psnr"] for s in r.sections if s["scored"]]) for n, r in reports.items()}
    d = comparison.pairs[0]["psnr"]
    diff = ours["pairs=section"] - ours["thickness=0.5,spread=0"]
    assert d["mean"] == pytest.approx(diff.mean()) and d["median"] == pytest.approx(np.median(diff))
    assert d["sections_won"] == int((diff > 0).sum())
    # the interval is the bootstrap of these paired differences (its arithmetic: test_hidden_verdict.py)
    assert d["ci95"] == pytest.approx(paired_difference(ours["pairs=section"], ours["thickness=0.5,spread=0"],
                                                        bootstrap=True)["ci95"])


def test_a_stop_ends_the_comparison_without_a_result():
    events = list(compare_settings(check_stack(), check_config(), parse_settings(["pairs=section", "seed=1"]),
                                   stop=lambda: True))
    assert events[-1] == SettingsCompared(comparison=None, stopped=True)
    assert sum(isinstance(e, PartEvent) and isinstance(e.event, TrainFinished) for e in events) == 1


def test_cli_compare_writes_the_comparison_and_each_report(tmp_path, capsys):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, check_stack(depth=9, size=64))
    out = tmp_path / "cmp"
    args = ["validate", str(path), "--z-factor", "3", "--steps", "4", "--out", str(out), "--compare", "pairs=section",
            "pairs=kernel"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "**Recommendation:**" in printed and "| pairs=section | pairs=kernel |" in printed
    result = json.loads((out / "comparison.json").read_text())
    assert [s["name"] for s in result["settings"]] == ["pairs=section", "pairs=kernel"]
    assert result["settings"][1]["changes"] == {"stage2_pairs": "kernel"}
    assert result["scored_sections"] == [1, 3, 5, 7] and len(result["pairs"]) == 1
    assert result["pairs"][0]["recommendation"] in printed
    for folder in ("1-pairs_section", "2-pairs_kernel"):
        assert json.loads((out / folder / "report.json").read_text())["training"]["steps"] == 4
    assert main(args) == 2 and "exists" in capsys.readouterr().err  # never replaced silently
    bad = tmp_path / "bad"
    assert main([*args[:6], "--out", str(bad), "--compare", "pairs=section", "thickness=9"]) == 2
    err = capsys.readouterr().err.strip()
    assert "thickness=9" in err and "\n" not in err and not bad.exists()


def test_an_acquisition_sets_its_pairs_and_the_settings_own_numbers_win():
    from napari_isorecon.core.checks.compare_settings import setting_configs

    fib, learn, thin = setting_configs(check_config(), parse_settings(
        ["acquisition=fib-sem", "acquisition=learn", "acquisition=fib-sem,thickness=0.5"]))
    assert (fib.acquisition, fib.section_thickness, fib.weights.kernel_smooth) == ("fib-sem", 0.0, 0.0)
    assert (learn.acquisition, learn.stage2_pairs) == ("learn", "kernel")
    assert (thin.acquisition, thin.section_thickness) == ("fib-sem", 0.5)
