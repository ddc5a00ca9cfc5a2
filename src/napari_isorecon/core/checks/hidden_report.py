"""The hidden-section check's report: per-section scores, a summary, a verdict in plain words, a figure.

How the verdict is decided (``VERDICT_RULE``, written into the report too): over the hidden sections that are
scored (dataset artefacts set aside, see core.checks.hidden_sections), ours is called better only when, against
both cubic interpolation and the neighbour mean and in both PSNR and SSIM, the median paired difference (ours
minus the baseline, section by section) is above 0 AND ours wins more than half of those sections (a tie is not
a win). The mean paired difference and its standard error are reported beside them but do not decide: one
artefact (a duplicated section that interpolation scores 35 dB on) moves a mean, not a median.

Beside the scores, intensity and contrast per method: the bias (mean of prediction - real over the scored
hidden sections, in the data's grey levels) and the contrast ratio (standard deviation of the prediction over
that of the real section, per section, then the median).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IsoReconError
from .paired_stats import paired_difference, robustly_better, wins_text

WHAT_IT_MEASURES = (
    "Every other section was hidden; a model trained with your settings on the rest (twice your z spacing) "
    "predicted each hidden section as the mean of its reconstruction over the section's thickness. The scores "
    "compare those predictions with the real hidden sections: quality at twice your spacing, a lower bound "
    "for the model trained on all sections.")
VERDICT_RULE = (
    "Ours is called better only when, against both cubic interpolation and the neighbour mean and in both PSNR "
    "and SSIM, the median paired difference (ours minus the baseline, section by section, over the scored "
    "hidden sections) is above 0 and ours wins more than half of those sections (a tie is not a win). The mean "
    "and its standard error are shown too but do not decide: one odd section moves a mean, not a median.")
INTENSITY_MEANS = (
    "bias: mean of prediction - real over the scored hidden sections, in the data's grey levels; contrast "
    "ratio: standard deviation of the prediction / that of the real section, per section, then the median; std: "
    "the median over sections of each image's standard deviation.")
_FIGURE_CROP = 256  # pixels of each section shown (its centre), so that detail stays visible
_METRICS = ("psnr", "ssim")


def _mean_std(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if values.size > 1 else 0.0}


BASELINES = ("cubic", "neighbour mean")  # what ours must beat; the sharp output is scored beside, not judged


def _against(scores: dict, keep) -> dict:
    """{baseline: {metric: paired_difference(ours, baseline)}} over the hidden sections ``keep`` (positions)."""
    return {m: {k: paired_difference(scores["ours"][i][keep], scores[m][i][keep]) for i, k in enumerate(_METRICS)}
            for m in BASELINES if m in scores}


def intensity_and_contrast(predictions: dict, hidden, keep) -> tuple[dict, dict]:
    """({method: {"bias", "contrast_ratio", "std"}}, {"mean", "std"} of the real sections) over the hidden
    sections ``keep`` (positions); sections whose real image is flat are left out of the contrast ratio."""
    real = np.asarray(hidden, dtype=np.float64)[keep]
    real_std = real.std(axis=(1, 2))
    flat = real_std == 0
    out = {}
    for m, pred in predictions.items():
        pred = np.asarray(pred, dtype=np.float64)[keep]
        pred_std = pred.std(axis=(1, 2))
        ratio = float(np.median(pred_std[~flat] / real_std[~flat])) if (~flat).any() else float("nan")
        out[m] = {"bias": float((pred - real).mean()), "contrast_ratio": ratio, "std": float(np.median(pred_std))}
    return out, {"mean": float(real.mean()), "std": float(np.median(real_std))}


@dataclass
class HiddenSectionReport:
    z_factor: float  # the user's F; the check ran at 2F
    thickness: float  # of a section, in z-steps
    sections: list[dict]  # per hidden section: index in the input, {method: {"psnr", "ssim"}}, "scored"
    summary: dict  # method -> {"psnr": mean, "psnr_std", "ssim", "ssim_std"} over the scored sections
    against: dict  # "cubic" / "neighbour mean" -> {"psnr": paired difference, "ssim": ...} (paired_stats)
    training: dict = field(default_factory=dict)
    figure_sections: dict = field(default_factory=dict, repr=False)  # "worst"/"median" -> images by method
    spectra: dict = field(default_factory=dict)  # spectra.reconstruction_spectra of ours and cubic at 2F
    intensity: dict = field(default_factory=dict)  # method -> {"bias", "contrast_ratio", "std"}
    real_sections: dict = field(default_factory=dict)  # {"mean", "std"} of the scored real hidden sections
    excluded: dict = field(default_factory=dict)  # hidden section index -> why it is not scored
    kept_not_real: dict = field(default_factory=dict)  # kept section index -> what it is (training sees it)
    artefacts: dict = field(default_factory=dict)  # the scan of the input (SectionArtefacts.to_dict())
    against_all_sections: dict = field(default_factory=dict)  # as ``against``, artefacts included (when any)
    # {method: {"consistency", "pulse"}} of the check's reconstructions against the kept sections
    agreement: dict = field(default_factory=dict)
    # the error model's rank correlation, coverage and calibrating scale at the hidden sections
    # (core.inference.error_model.hidden_section_calibration); empty when not measured
    uncertainty: dict = field(default_factory=dict)

    @classmethod
    def from_scores(cls, scores: dict, hidden, predictions: dict, z_factor: float, thickness: float,
                    training: dict, excluded: dict | None = None, kept_not_real: dict | None = None,
                    artefacts: dict | None = None) -> HiddenSectionReport:
        """``scores``: {method: (psnr per hidden section, ssim per hidden section)}; hidden section k is input
        section 2k+1. ``excluded``: {input section index: why} of hidden sections left out of the summary, the
        paired statistics, the intensity and the verdict (they stay in the per-section table)."""
        excluded = {int(i): str(why) for i, why in (excluded or {}).items()}
        methods = list(scores)
        scores = {m: tuple(np.asarray(v, dtype=np.float64) for v in scores[m]) for m in methods}
        n = len(scores["ours"][0])
        keep = np.array([k for k in range(n) if 2 * k + 1 not in excluded], dtype=int)
        if keep.size == 0:
            raise IsoReconError(f"All {n} hidden sections were set aside as artefacts; nothing left to score.")
        sections = [{"index": 2 * k + 1, **{m: {"psnr": float(scores[m][0][k]), "ssim": float(scores[m][1][k])}
                                            for m in methods},
                     "scored": 2 * k + 1 not in excluded,
                     **({"set_aside": excluded[2 * k + 1]} if 2 * k + 1 in excluded else {})} for k in range(n)]
        summary = {}
        for m in methods:
            p, s = _mean_std(scores[m][0][keep]), _mean_std(scores[m][1][keep])
            summary[m] = {"psnr": p["mean"], "psnr_std": p["std"], "ssim": s["mean"], "ssim_std": s["std"]}
        intensity, real = intensity_and_contrast(predictions, hidden, keep)
        order = keep[np.argsort(scores["ours"][0][keep], kind="stable")]
        picks = {"worst": int(order[0]), "median": int(order[len(order) // 2])}
        figure_sections = {label: {"index": 2 * k + 1, "real": np.asarray(hidden[k]),
                                   **{m: np.asarray(predictions[m][k]) for m in ("ours", "cubic")}}
                           for label, k in picks.items()}
        return cls(z_factor=float(z_factor), thickness=float(thickness), sections=sections, summary=summary,
                   against=_against(scores, keep), training=dict(training), figure_sections=figure_sections,
                   intensity=intensity, real_sections=real, excluded=excluded,
                   kept_not_real={int(i): str(w) for i, w in (kept_not_real or {}).items()},
                   artefacts=dict(artefacts or {}),
                   against_all_sections=_against(scores, np.arange(n)) if excluded else {})

    @property
    def n_scored(self) -> int:
        return sum(1 for s in self.sections if s.get("scored", True))

    @property
    def ours_wins(self) -> bool:
        """``VERDICT_RULE``: ours robustly better than every baseline in PSNR and in SSIM."""
        return all(robustly_better(self.against[m][k]) for m in self.against for k in _METRICS)

    def _scored_on(self) -> str:
        if not self.excluded:
            return f"all {len(self.sections)} hidden sections scored"
        return (f"{self.n_scored} of {len(self.sections)} hidden sections scored, {len(self.excluded)} set aside as "
                f"artefacts (section{'s' if len(self.excluded) > 1 else ''} "
                f"{', '.join(str(i) for i in sorted(self.excluded))})")

    def _mean_disagrees(self) -> list[str]:
        """Criteria on which the mean paired difference points the other way from the robust rule."""
        return [f"{m} in {k.upper()} (mean {d['mean']:+.{2 if k == 'psnr' else 3}f})"
                for m in self.against for k in _METRICS for d in [self.against[m][k]]
                if (d["mean"] > 0) != robustly_better(d)]

    @property
    def verdict(self) -> str:
        cubic = self.against["cubic"]
        change = (f"against cubic interpolation the median difference is {cubic['psnr']['median']:+.2f} dB PSNR "
                  f"and {cubic['ssim']['median']:+.3f} SSIM, ours better on {wins_text(cubic['psnr'])} in PSNR "
                  f"(mean {cubic['psnr']['mean']:+.2f} dB +- {cubic['psnr']['sem']:.2f}); {self._scored_on()}")
        disagree = self._mean_disagrees()
        note = (f" The mean alone would say otherwise for {', '.join(disagree)}: a few sections drive it."
                if disagree else "")
        if self.ours_wins:
            return (f"Ours predicts the hidden sections better than cubic interpolation and the neighbour mean: "
                    f"{change}.{note}")
        losers = [f"{m} in {k.upper()} (median {d['median']:+.{2 if k == 'psnr' else 3}f}, ours better on "
                  f"{wins_text(d)})" for m in self.against for k in _METRICS for d in [self.against[m][k]]
                  if not robustly_better(d)]
        return (f"Ours is NOT better here: it does not beat {', '.join(losers)}; {change}. At this spacing the "
                "reconstruction is not more faithful to real sections than interpolation; prefer the interpolated "
                f"volume, or train longer / check the z-factor, and check again.{note}")

    @property
    def artefact_summary(self) -> str:
        """One line: what the scan of the input found, what was set aside and what the training saw."""
        found = len(self.artefacts.get("findings", []))
        if not self.artefacts:
            return "The input was not scanned for dataset artefacts."
        if not found:
            return f"No dataset artefacts found in the {self.artefacts.get('n_sections', '?')} input sections."
        parts = [f"{found} finding{'s' if found > 1 else ''} in the input: " + "; ".join(
            f"section {f['index']} {f['kind']}" for f in self.artefacts["findings"]) + "."]
        if self.excluded:
            parts.append(f"Set aside from the verdict: {len(self.excluded)} hidden section"
                         f"{'s' if len(self.excluded) > 1 else ''} ({', '.join(map(str, sorted(self.excluded)))}).")
        if self.kept_not_real:
            parts.append(f"Kept section{'s' if len(self.kept_not_real) > 1 else ''} "
                         f"{', '.join(map(str, sorted(self.kept_not_real)))} not real: the check's training sees "
                         f"{'them' if len(self.kept_not_real) > 1 else 'it'}.")
        return " ".join(parts)

    def to_dict(self) -> dict:
        return {"what_it_measures": WHAT_IT_MEASURES, "z_factor": self.z_factor, "check_z_factor": 2 * self.z_factor,
                "section_thickness_z_steps": self.thickness, "verdict": self.verdict, "verdict_rule": VERDICT_RULE,
                "summary": self.summary, "ours_minus": self.against, "intensity": self.intensity,
                "real_sections": self.real_sections, "intensity_means": INTENSITY_MEANS,
                "artefacts": {**self.artefacts, "summary": self.artefact_summary,
                              "set_aside": {str(i): w for i, w in sorted(self.excluded.items())},
                              "kept_not_real": {str(i): w for i, w in sorted(self.kept_not_real.items())}},
                **({"ours_minus_all_sections": self.against_all_sections} if self.against_all_sections else {}),
                "training": self.training, "sections": self.sections,
                **({"spectra": self.spectra} if self.spectra else {}),
                **({"agreement_with_kept_sections": self.agreement} if self.agreement else {}),
                **({"uncertainty": self.uncertainty} if self.uncertainty else {})}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        lines = [f"# Hidden-section check (z-factor {self.z_factor:g}, checked at {2 * self.z_factor:g})", "",
                 WHAT_IT_MEASURES, "", f"**Verdict:** {self.verdict}", "", f"How the verdict is decided: {VERDICT_RULE}",
                 "", "| method | PSNR (dB) | SSIM |", "|---|---|---|"]
        for m, s in self.summary.items():
            lines.append(f"| {m} | {s['psnr']:.2f} +- {s['psnr_std']:.2f} | {s['ssim']:.3f} +- {s['ssim_std']:.3f} |")
        lines += ["", f"(mean +- standard deviation over the {self.n_scored} scored hidden sections)", ""]
        lines += self._paired_markdown() + self._intensity_markdown() + self._artefact_markdown()
        lines += [f"Training: {self.training}", "", *self._spectra_markdown(), *self._agreement_markdown(),
                  *self._uncertainty_markdown(),
                  "## Per section", "",
                  "| section | " + " | ".join(f"{m} PSNR / SSIM" for m in self.summary) + " | scored |",
                  "|---" * (len(self.summary) + 2) + "|"]
        for sec in self.sections:
            scored = "yes" if sec.get("scored", True) else "no (set aside, see above)"
            lines.append(f"| {sec['index']} | " + " | ".join(
                f"{sec[m]['psnr']:.2f} / {sec[m]['ssim']:.3f}" for m in self.summary) + f" | {scored} |")
        return "\n".join(lines) + "\n"

    def _agreement_markdown(self) -> list[str]:
        if not self.agreement:
            return []
        lines = ["## Agreement with the kept sections", "",
                 "| method | consistency (grey levels) | detail pulse with the sections |", "|---|---|---|"]
        lines += [f"| {m} | {a['consistency']:.2f} | {a['pulse']:.2f} |" for m, a in self.agreement.items()]
        note = ("Consistency: the mean absolute difference between the kept sections and the section model applied "
                "to the check's reconstruction (0: every section returned). Pulse: how the fine detail's contrast "
                "varies with the phase within the section period, (max - min) / mean (0: as detailed midway as at "
                "a section).")
        return lines + ["", note, ""]

    def _uncertainty_markdown(self) -> list[str]:
        u = self.uncertainty
        if not u:
            return []
        coverage = "-" if u["coverage"] is None else f"{100 * u['coverage']:.0f} %"
        header = ("| rank correlation with the error | best a perfect map could reach | scale for this volume | "
                  "90 % interval holds | with the default scale |")
        row = (f"| {u['spearman']:.2f} | {u['rank_ceiling']:.2f} | {u['scale']:.2f} | {coverage} | "
               f"{100 * u['coverage_default_scale']:.0f} % |")
        note = ("The error model of the check's own model, read at the hidden sections. The interval's coverage is "
                "counted on every other section with the scale fitted on the others. Use the scale with "
                f"`isorecon reconstruct --uncertainty OUT --uncertainty-scale {u['scale']:.2f}`.")
        return ["## Uncertainty at the hidden sections", "", header, "|---|---|---|---|---|", row, "", note, ""]

    def _spectra_markdown(self) -> list[str]:
        from .spectra import spectra_markdown

        return spectra_markdown(self.spectra, what=(
            f"Of the check's reconstructions of the kept sections (spacing {2 * self.z_factor:g} rows: the section "
            f"frequency is 1/{2 * self.z_factor:g} cycles per row, and 2/{2 * self.z_factor:g} is your own spacing's "
            "1/F). "))

    def _paired_markdown(self) -> list[str]:
        lines = ["## Ours against each baseline", "", ("| ours minus | metric | median | ours better on | "
                 "mean +- standard error |"), "|---|---|---|---|---|"]
        for m, by_metric in self.against.items():
            for k, d in by_metric.items():
                digits = 2 if k == "psnr" else 3
                lines.append(f"| {m} | {'PSNR (dB)' if k == 'psnr' else 'SSIM'} | {d['median']:+.{digits}f} | "
                             f"{wins_text(d)} | {d['mean']:+.{digits}f} +- {d['sem']:.{digits}f} |")
        if self.against_all_sections:
            d = self.against_all_sections["cubic"]["psnr"]
            lines += ["", (f"With the {len(self.excluded)} set-aside section{'s' if len(self.excluded) > 1 else ''} "
                          f"included, ours minus cubic in PSNR would be: median {d['median']:+.2f} dB, mean "
                          f"{d['mean']:+.2f} +- {d['sem']:.2f} dB, ours better on {wins_text(d)}.")]
        return lines + [""]

    def _intensity_markdown(self) -> list[str]:
        if not self.intensity:
            return []
        lines = ["## Intensity and contrast", "", "| method | bias (grey levels) | contrast ratio | std |",
                 "|---|---|---|---|", f"| real | 0 | 1 | {self.real_sections['std']:.2f} |"]
        for m, s in self.intensity.items():
            lines.append(f"| {m} | {s['bias']:+.2f} | {s['contrast_ratio']:.3f} | {s['std']:.2f} |")
        return lines + ["", f"({INTENSITY_MEANS} Mean of the real sections: {self.real_sections['mean']:.2f}.)", ""]

    def _artefact_markdown(self) -> list[str]:
        lines = ["## Dataset artefacts", "", self.artefact_summary, ""]
        for f in self.artefacts.get("findings", []):
            lines.append(f"- section {f['index']}: {f['kind']}, {f['detail']}")
        for title, items in (("Set aside from the verdict", self.excluded),
                             ("Kept sections that are not real (the check's training sees them)", self.kept_not_real)):
            if items:
                lines += ["", f"{title}:", *[f"- section {i}: {why}" for i, why in sorted(items.items())]]
        return lines + [""]

    def figure(self):
        """A matplotlib Figure: the worst and the median scored hidden section (by our PSNR): real, ours, cubic."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 6.4), dpi=100)
        columns = ("real", "ours", "cubic")
        for row, (label, images) in enumerate(self.figure_sections.items()):
            real = images["real"]
            y0, x0 = (max(0, (s - _FIGURE_CROP) // 2) for s in real.shape)
            crop = (slice(y0, y0 + _FIGURE_CROP), slice(x0, x0 + _FIGURE_CROP))
            lo, hi = np.percentile(real[crop], (0.5, 99.5))
            sec = next(s for s in self.sections if s["index"] == images["index"])
            for col, name in enumerate(columns):
                ax = fig.add_subplot(2, 3, row * 3 + col + 1)
                ax.imshow(images[name][crop], cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
                title = f"{label} section {images['index']}: real" if name == "real" else \
                    f"{name} {sec[name]['psnr']:.2f} dB / {sec[name]['ssim']:.3f}"
                ax.set_title(title, fontsize=9)
                ax.set_axis_off()
        fig.tight_layout()
        return fig

    def save(self, out_dir, overwrite: bool = False) -> dict:
        """Write report.json, report.md and report.png into ``out_dir``; refuses to replace them unless
        ``overwrite``."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        out = Path(out_dir)
        paths = {ext: out / f"report.{ext}" for ext in ("json", "md", "png")}
        if out.exists() and not out.is_dir():
            raise IsoReconError(f"{out} is a file; the report needs a folder.")
        if not overwrite:
            for path in paths.values():
                if path.exists():
                    raise IsoReconError(f"{path} exists; choose another folder or allow overwriting (--overwrite).")
        out.mkdir(parents=True, exist_ok=True)
        paths["json"].write_text(self.to_json())
        paths["md"].write_text(self.to_markdown())
        fig = self.figure()
        FigureCanvasAgg(fig)
        fig.savefig(paths["png"])
        return paths
