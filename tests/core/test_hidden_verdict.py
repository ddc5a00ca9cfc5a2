"""The hidden-section verdict on every criterion it uses (PSNR and SSIM, against cubic and the neighbour mean),
ties, and the robust statistics where mean and median disagree; hand-made scores, no training."""

import math

import numpy as np
import pytest

from napari_isorecon.core.checks.artefacts import SectionArtefacts, SectionFinding
from napari_isorecon.core.checks.hidden_report import VERDICT_RULE, HiddenSectionReport
from napari_isorecon.core.checks.hidden_sections import sections_set_aside
from napari_isorecon.core.checks.paired_stats import BOOTSTRAP_RESAMPLES, paired_difference, robustly_better
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
    # by hand: differences 13 x 2/5 and 2 x -10; mean (5.2 - 20) / 15 = -74/75; deviations 104/75 and -676/75,
    # squares summed (13 * 104^2 + 2 * 676^2) / 75^2 = 1054560 / 5625, over 14, over 15: sem^2 = 1054560 / 1181250
    assert d["mean"] == pytest.approx(-74 / 75) and d["median"] == pytest.approx(0.4)
    assert d["sem"] == pytest.approx(math.sqrt(1054560 / 1181250)) and d["sem"] == pytest.approx(0.944854, abs=1e-6)
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
    assert report.against_all_sections["cubic"]["psnr"]["mean"] == pytest.approx(-1.2)  # (4 x 1 - 10) / 5
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
    # differences 2, 1, 0, -1: a resampled mean is (S - 4) / 4 with S the sum of 4 draws from {0, 1, 2, 3}, whose
    # counts out of 256 are the coefficients of (1 + x + x^2 + x^3)^4: 1, 4, 10, 20, ... So P(mean <= -0.75) =
    # 5/256 < 2.5 % < P(mean <= -0.5) = 15/256 and the exact 2.5th percentile is -0.5 (1.5 on the other side, by
    # symmetry). Of 2000 resamples, about 39 fall at -0.75 or below (sd 6, the percentile's index is 49.975)
    # and about 8 at -1 (never 50): the estimate is -0.5 or, rarely, -0.75, never anything else.
    lo, hi = d["ci95"]
    assert lo in (-0.75, -0.5) and hi in (1.5, 1.75), d["ci95"]


def test_the_bootstrap_interval_in_cases_known_exactly():
    # every difference the same: every resampled mean is that difference
    assert paired_difference([2.5] * 6, [2.0] * 6, bootstrap=True)["ci95"] == [0.5, 0.5]
    assert paired_difference([3.0], [1.0], bootstrap=True)["ci95"] == [2.0, 2.0]
    # differences 0 and 1: a resampled mean is 0, 0.5 or 1 with chances 1/4, 1/2, 1/4; of 2000 resamples about
    # 500 (sd 19) are 0 and 500 are 1, far more than the 50 that the 2.5th and 97.5th percentiles reach into
    assert paired_difference([0.0, 1.0], [0.0, 0.0], bootstrap=True)["ci95"] == [0.0, 1.0]


def test_the_bootstrap_interval_of_many_sections_is_the_normal_one():
    """For many sections the resampled means are normal about the sample mean with sd s / sqrt(n) (s with
    ddof 0, the resampled population's), so the 95 % interval is the mean +- 1.96 s / sqrt(n). What the
    finite number of resamples B adds: a percentile p estimated from B draws has sd sqrt(p (1 - p) / B) / phi(z)
    in units of that sd (0.060 for p = 2.5 %, B = 2000), so the width (3.92 sd) is right to 0.060 * sqrt(2) / 3.92
    = 2.2 % (one sd) and the centre to 0.042 sd; 4 of those sds are allowed."""
    n, true_mean, true_sd = 1000, 0.3, 1.0
    diff = np.random.default_rng(0).normal(true_mean, true_sd, n)
    lo, hi = paired_difference(diff, np.zeros(n), bootstrap=True)["ci95"]
    z, p = 1.959964, 0.025
    se = diff.std() / math.sqrt(n)
    percentile_sd = math.sqrt(p * (1 - p) / BOOTSTRAP_RESAMPLES) / (math.exp(-z * z / 2) / math.sqrt(2 * math.pi))
    assert abs((hi - lo) / (2 * z * se) - 1) <= 4 * percentile_sd * math.sqrt(2) / (2 * z), (lo, hi, se)
    assert abs((lo + hi) / 2 - diff.mean()) <= 4 * percentile_sd / math.sqrt(2) * se
    assert lo < true_mean < hi  # and it covers the mean the differences were drawn about
    # against the true sd: s is within 1 / sqrt(2 n) of it (relative, one sd), beside the resampling's 2.2 %
    width_sd = math.sqrt(1 / (2 * n) + (percentile_sd * math.sqrt(2) / (2 * z)) ** 2)
    assert abs((hi - lo) / (2 * z * true_sd / math.sqrt(n)) - 1) <= 4 * width_sd  # 0.124 wide for sd 1, n 1000


def test_paired_statistics_of_a_small_example_by_hand():
    # ours 20.5, 19, 22, 21.5 against cubic 20, 19.5, 21, 20.5 section by section: differences 0.5, -0.5, 1, 1 ->
    # mean 0.5, median 0.75 (of -0.5, 0.5, 1, 1), 3 of 4 won; deviations 0, -1, 0.5, 0.5, squares summed 1.5,
    # over 3 = 0.5, so sem = sqrt(0.5) / 2. Paired the other way round the differences would be 0, -2, 2.5, 1.5.
    report = _report([20.5, 19.0, 22.0, 21.5], np.full(4, 0.6), {"cubic": ([20.0, 19.5, 21.0, 20.5], 0.5)})
    d = report.against["cubic"]["psnr"]
    assert report.summary["ours"]["psnr"] == pytest.approx(20.75) and report.summary["cubic"]["psnr"] == 20.25
    assert d["mean"] == pytest.approx(0.5) and d["median"] == pytest.approx(0.75)
    assert (d["sections_won"], d["ties"], d["sections"]) == (3, 0, 4) and d["wins"] == 0.75
    assert d["sem"] == pytest.approx(math.sqrt(0.5) / 2)


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
