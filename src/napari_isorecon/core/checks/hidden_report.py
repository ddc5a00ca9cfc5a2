"""The hidden-section check's report: per-section scores, a summary, a verdict in plain words, a figure."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IsoReconError

WHAT_IT_MEASURES = (
    "Every other section was hidden; a model trained with your settings on the rest (twice your z spacing) "
    "predicted each hidden section as the mean of its reconstruction over the section's thickness. The scores "
    "compare those predictions with the real hidden sections: quality at twice your spacing, a lower bound "
    "for the model trained on all sections.")
_FIGURE_CROP = 256  # pixels of each section shown (its centre), so that detail stays visible


def _mean_std(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if values.size > 1 else 0.0}


def _paired(ours, other) -> dict:
    """Mean difference ours - other over sections, its standard error, and the share of sections ours wins."""
    diff = np.asarray(ours, dtype=np.float64) - np.asarray(other, dtype=np.float64)
    sem = float(diff.std(ddof=1) / math.sqrt(diff.size)) if diff.size > 1 else float("nan")
    return {"mean": float(diff.mean()), "sem": sem, "wins": float((diff > 0).mean())}


@dataclass
class HiddenSectionReport:
    z_factor: float  # the user's F; the check ran at 2F
    thickness: float  # of a section, in z-steps
    sections: list[dict]  # per hidden section: index in the input, {method: {"psnr", "ssim"}}
    summary: dict  # method -> {"psnr": mean, "psnr_std", "ssim", "ssim_std"}
    against: dict  # "cubic" / "neighbour mean" -> {"psnr": paired difference, "ssim": ...}
    training: dict = field(default_factory=dict)
    figure_sections: dict = field(default_factory=dict, repr=False)  # "worst"/"median" -> images by method
    spectra: dict = field(default_factory=dict)  # spectra.reconstruction_spectra of ours and cubic at 2F

    @classmethod
    def from_scores(cls, scores: dict, hidden, predictions: dict, z_factor: float, thickness: float,
                    training: dict) -> HiddenSectionReport:
        methods = list(scores)
        n = len(next(iter(scores.values()))[0])
        sections = [{"index": 2 * k + 1, **{m: {"psnr": float(scores[m][0][k]), "ssim": float(scores[m][1][k])}
                                            for m in methods}} for k in range(n)]
        summary = {}
        for m in methods:
            p, s = _mean_std(scores[m][0]), _mean_std(scores[m][1])
            summary[m] = {"psnr": p["mean"], "psnr_std": p["std"], "ssim": s["mean"], "ssim_std": s["std"]}
        against = {m: {"psnr": _paired(scores["ours"][0], scores[m][0]),
                       "ssim": _paired(scores["ours"][1], scores[m][1])} for m in methods if m != "ours"}
        order = np.argsort(scores["ours"][0])
        picks = {"worst": int(order[0]), "median": int(order[len(order) // 2])}
        figure_sections = {label: {"index": 2 * k + 1, "real": np.asarray(hidden[k]),
                                   **{m: np.asarray(predictions[m][k]) for m in ("ours", "cubic")}}
                           for label, k in picks.items()}
        return cls(z_factor=float(z_factor), thickness=float(thickness), sections=sections, summary=summary,
                   against=against, training=dict(training), figure_sections=figure_sections)

    @property
    def ours_wins(self) -> bool:
        """Ours above both cubic and the neighbour mean in mean PSNR and mean SSIM."""
        return all(self.against[m][k]["mean"] > 0 for m in self.against for k in ("psnr", "ssim"))

    @property
    def verdict(self) -> str:
        cubic = self.against["cubic"]
        change = (f"{cubic['psnr']['mean']:+.2f} dB PSNR (+-{cubic['psnr']['sem']:.2f}), "
                  f"{cubic['ssim']['mean']:+.3f} SSIM against cubic interpolation; ours is better on "
                  f"{cubic['psnr']['wins']:.0%} of the {len(self.sections)} hidden sections")
        if self.ours_wins:
            return f"Ours predicts the hidden sections better than cubic interpolation and the neighbour mean: {change}."
        losers = [f"{m} in {k.upper()}" for m in self.against for k in ("psnr", "ssim")
                  if self.against[m][k]["mean"] <= 0]
        return (f"Ours is NOT better here: it loses to {', '.join(losers)} ({change}). At this spacing the "
                "reconstruction is less faithful to real sections than interpolation; prefer the interpolated "
                "volume, or train longer / check the z-factor, and check again.")

    def to_dict(self) -> dict:
        return {"what_it_measures": WHAT_IT_MEASURES, "z_factor": self.z_factor, "check_z_factor": 2 * self.z_factor,
                "section_thickness_z_steps": self.thickness, "verdict": self.verdict, "summary": self.summary,
                "ours_minus": self.against, "training": self.training, "sections": self.sections,
                **({"spectra": self.spectra} if self.spectra else {})}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        lines = [f"# Hidden-section check (z-factor {self.z_factor:g}, checked at {2 * self.z_factor:g})", "",
                 WHAT_IT_MEASURES, "", f"**Verdict:** {self.verdict}", "",
                 "| method | PSNR (dB) | SSIM |", "|---|---|---|"]
        for m, s in self.summary.items():
            lines.append(f"| {m} | {s['psnr']:.2f} +- {s['psnr_std']:.2f} | {s['ssim']:.3f} +- {s['ssim_std']:.3f} |")
        lines += ["", "(mean +- standard deviation over hidden sections)", "",
                  f"Training: {self.training}", "", *self._spectra_markdown(), "## Per section", "",
                  "| section | " + " | ".join(f"{m} PSNR / SSIM" for m in self.summary) + " |",
                  "|---" * (len(self.summary) + 1) + "|"]
        for sec in self.sections:
            lines.append(f"| {sec['index']} | " + " | ".join(
                f"{sec[m]['psnr']:.2f} / {sec[m]['ssim']:.3f}" for m in self.summary) + " |")
        return "\n".join(lines) + "\n"

    def _spectra_markdown(self) -> list[str]:
        from .spectra import spectra_markdown

        return spectra_markdown(self.spectra, what=(
            f"Of the check's reconstructions of the kept sections (spacing {2 * self.z_factor:g} rows: the section "
            f"frequency is 1/{2 * self.z_factor:g} cycles per row, and 2/{2 * self.z_factor:g} is your own spacing's "
            "1/F). "))

    def figure(self):
        """A matplotlib Figure: the worst and the median hidden section (by our PSNR): real, ours, cubic."""
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
