"""The hidden-section verdict on every criterion it uses (PSNR and SSIM, against cubic and the neighbour mean),
ties, and the robust statistics where mean and median disagree; hand-made scores, no training."""

import numpy as np
import pytest

from napari_isorecon.core.checks.artefacts import SectionArtefacts, SectionFinding
from napari_isorecon.core.checks.hidden_report import VERDICT_RULE, HiddenSectionReport
from napari_isorecon.core.checks.hidden_sections import sections_set_aside
from napari_isorecon.core.checks.paired_stats import paired_difference, robustly_better
from napari_isorecon.core.errors import IsoReconError

BASELINES = ("cubic", "neighbour mean")
BASE = {"cubic": (20.0, 0.5), "neighbour mean": (19.0, 0.45)}  # flat baseline scores (PSNR, SSIM)


def _report(ours_psnr, ours_ssim, baselines=None, excluded=None):
    ours_psnr, ours_ssim = np.asarray(ours_psnr, float), np.asarray(ours_ssim, float)
    n = ours_psnr.size
    scores = {"ours": (ours_psnr, ours_ssim)}
    for m, (p, s) in {**BASE, **(baselines or {})}.items():
        scores[m] = (np.broadcast_to(np.asarray(p, float), n).copy(), np.broadcast_to(np.asarray(s, float), n).copy())
    hidden = np.zeros((n, 8, 8))
    preds = {m: np.zeros((n, 8, 8)) for m in scores}
    return HiddenSectionReport.from_scores(scores, hidden, preds, z_factor=10, thickness=1.0, training={},
                                           excluded=excluded)


def test_ours_wins_only_when_it_wins_every_criterion():
    report = _report(np.full(9, 21.0), np.full(9, 0.6))
    assert report.ours_wins and report.verdict.startswith("Ours predicts the hidden sections better")
    assert "9 of 9 sections" in report.verdict


@pytest.mark.parametrize("baseline", BASELINES)
@pytest.mark.parametrize("metric", ["psnr", "ssim"])
def test_losing_one_criterion_loses_the_verdict_and_names_it(baseline, metric):
    # ours: PSNR 21, SSIM 0.6 everywhere; the chosen baseline beats it in the chosen metric on 6 of 9 sections
    psnr, ssim = np.full(9, 21.0), np.full(9, 0.6)
    ours = psnr if metric == "psnr" else ssim
    above = ours + (1.0 if metric == "psnr" else 0.1)
    below = ours - (1.0 if metric == "psnr" else 0.1)
    chosen = np.where(np.arange(9) < 6, above, below)
    p, s = BASE[baseline]
    report = _report(psnr, ssim, {baseline: (chosen, s) if metric == "psnr" else (p, chosen)})
    assert not report.ours_wins
    assert f"{baseline} in {metric.upper()}" in report.verdict and "NOT better" in report.verdict
    assert "ours better on 3 of 9 sections" in report.verdict
    for b in BASELINES:
        for k in ("psnr", "ssim"):
            if (b, k) != (baseline, metric):
                assert robustly_better(report.against[b][k]) and f"{b} in {k.upper()}" not in report.verdict


def test_ties_are_not_wins():
    # ours - cubic per section: 0, 0, +1, +1 -> median +0.5 but ours wins 2 of 4, not more than half
    report = _report([20.0, 20.0, 21.0, 21.0], np.full(4, 0.6))
    d = report.against["cubic"]["psnr"]
    assert d["median"] == pytest.approx(0.5) and d["sections_won"] == 2 and d["ties"] == 2
    assert not report.ours_wins and "cubic in PSNR" in report.verdict and "2 tied" in report.verdict
    assert _report([20.0, 21.0, 21.0, 21.0], np.full(4, 0.6)).ours_wins  # one tie fewer: 3 of 4
    assert not _report([19.0, 20.0, 20.0, 21.0, 21.0], np.full(5, 0.6)).ours_wins  # median exactly 0


def test_one_odd_section_moves_the_mean_not_the_verdict():
    # ours +0.4 dB above cubic on 13 sections, 10 dB below on 2 (a duplicated section interpolation gets right)
    psnr = np.array([20.4] * 13 + [10.0, 10.0])
    report = _report(psnr, np.full(15, 0.6), {"neighbour mean": (5.0, 0.45)})
    d = report.against["cubic"]["psnr"]
    assert d["mean"] < 0 < d["median"] and d["sections_won"] == 13
    assert d["mean"] == pytest.approx(np.mean(psnr - 20.0)) and d["median"] == pytest.approx(0.4)
    assert d["sem"] == pytest.approx(np.std(psnr - 20.0, ddof=1) / np.sqrt(15))
    assert report.ours_wins and "13 of 15 sections" in report.verdict
    assert "The mean alone would say otherwise for cubic in PSNR" in report.verdict
    # and the other way: a few large wins make a positive mean, but ours loses most sections
    losing = _report([19.9] * 9 + [25.0, 25.0], np.full(11, 0.6), {"neighbour mean": (5.0, 0.45)})
    assert losing.against["cubic"]["psnr"]["mean"] > 0 and not losing.ours_wins
    assert "cubic in PSNR (median -0.10" in losing.verdict and "mean alone would say otherwise" in losing.verdict


def test_set_aside_sections_leave_the_summary_the_statistics_and_the_verdict():
    psnr = np.array([21.0, 21.0, 21.0, 10.0, 21.0])  # section 7 (position 3) is an artefact
    report = _report(psnr, np.full(5, 0.6), excluded={7: "duplicate"})
    assert report.n_scored == 4 and report.ours_wins
    assert report.summary["ours"]["psnr"] == pytest.approx(21.0)
    assert report.against["cubic"]["psnr"]["sections"] == 4
    assert report.against_all_sections["cubic"]["psnr"]["mean"] == pytest.approx(np.mean(psnr - 20.0))
    assert [s["scored"] for s in report.sections] == [True, True, True, False, True]
    assert report.sections[3]["set_aside"] == "duplicate"
    text = report.to_markdown()
    assert VERDICT_RULE in text and "4 of 5 hidden sections scored, 1 set aside as artefacts (section 7)" in text
    assert report.to_dict()["artefacts"]["set_aside"] == {"7": "duplicate"}
    with pytest.raises(IsoReconError, match="nothing left"):
        _report(psnr[:1], np.full(1, 0.6), excluded={1: "blank"})


def test_intensity_bias_and_contrast_ratio_per_method():
    rng = np.random.default_rng(0)
    hidden = 100 + 20 * rng.standard_normal((4, 16, 16))
    preds = {"ours": hidden - 4.0, "cubic": 100 + 0.5 * (hidden - 100), "neighbour mean": hidden.copy()}
    preds["neighbour mean"][2] += 50  # hidden section 5 is set aside: left out of the intensity too
    scores = {m: (np.full(4, 20.0), np.full(4, 0.5)) for m in preds}
    report = HiddenSectionReport.from_scores(scores, hidden, preds, 10, 1.0, {}, excluded={5: "blank"})
    kept = hidden[[0, 1, 3]]
    assert report.intensity["ours"]["bias"] == pytest.approx(-4.0)
    assert report.intensity["ours"]["contrast_ratio"] == pytest.approx(1.0)
    assert report.intensity["cubic"]["contrast_ratio"] == pytest.approx(0.5)
    assert report.intensity["cubic"]["bias"] == pytest.approx(-0.5 * (kept.mean() - 100))
    assert report.intensity["neighbour mean"]["bias"] == pytest.approx(0.0, abs=1e-9)
    assert report.real_sections["std"] == pytest.approx(np.median(kept.std(axis=(1, 2))))
    assert "| ours | -4.00 | 1.000 |" in report.to_markdown()


def test_paired_difference_counts_and_bootstrap():
    d = paired_difference([3.0, 2.0, 1.0, 1.0], [1.0, 1.0, 1.0, 2.0], bootstrap=True)
    assert (d["sections_won"], d["ties"], d["sections"]) == (2, 1, 4)
    assert d["mean"] == pytest.approx(0.5) and d["median"] == pytest.approx(0.5)
    lo, hi = d["ci95"]
    assert -1 <= lo < 0.5 < hi <= 2  # resampled means lie between the smallest and largest difference


def _scan(*findings):
    return SectionArtefacts(n_sections=12, findings=tuple(SectionFinding(*f) for f in findings))


def test_which_hidden_sections_an_artefact_sets_aside():
    n_hidden = 5  # hidden 1, 3, 5, 7, 9; kept 0, 2, ..., 10
    aside, kept = sections_set_aside(_scan((5, "duplicate", "a copy of section 4")), n_hidden)
    assert list(aside) == [5] and not kept  # a hidden section that is a copy of its kept neighbour
    aside, kept = sections_set_aside(_scan((6, "duplicate", "a copy of section 5")), n_hidden)
    assert list(aside) == [5, 7] and list(kept) == [6]  # the input holds hidden section 5
    assert "kept neighbour 6: duplicate" in aside[5]
    aside, kept = sections_set_aside(_scan((2, "blank", "contrast 1%")), n_hidden)
    assert list(aside) == [1, 3] and list(kept) == [2]
    aside, kept = sections_set_aside(_scan((4, "misaligned", "shifted 20 px from section 3", (3,))), n_hidden)
    assert list(aside) == [3] and not kept  # a misaligned section is real; only the pair 3-4 is off
    aside, _ = sections_set_aside(_scan((4, "misaligned", "out of register with sections 3 and 5 (20 and 20 px)", (3, 5))),
                                  n_hidden)
    assert list(aside) == [3, 5]
    aside, _ = sections_set_aside(_scan((11, "blank", "contrast 1%")), n_hidden)
    assert not aside  # section 11 is neither hidden nor next to one
