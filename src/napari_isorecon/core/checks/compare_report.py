"""A comparison of settings on the same hidden sections: ours' scores per setting, the paired difference of each
pair with its uncertainty, and which setting to use.

How a pair (A, B) is decided (``PAIR_RULE``): on ours' PSNR, section by section (A minus B), A is recommended
when the median difference is above 0, A wins more than half of the sections (a tie is not a win) AND the
bootstrap 95% interval of the mean difference lies above 0; B likewise; otherwise the difference is within the
uncertainty. One setting is recommended overall when it is recommended over every other one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from ..errors import IsoReconError
from .paired_stats import paired_difference, robustly_better, wins_text

PAIR_RULE = (
    "For each pair of settings A, B: ours' PSNR of A minus that of B, section by section over the scored hidden "
    "sections. A is recommended when the median difference is above 0, A is better on more than half of the "
    "sections (a tie is not a win) and the bootstrap 95% interval of the mean difference lies above 0; B "
    "likewise; otherwise the difference is within the uncertainty.")
FILES = ("comparison.json", "comparison.md")


def _ours(report, metric: str) -> np.ndarray:
    return np.array([s["ours"][metric] for s in report.sections if s.get("scored", True)])


def _scored(report) -> list[int]:
    return [s["index"] for s in report.sections if s.get("scored", True)]


def _clearly_better(d: dict) -> bool:
    return robustly_better(d) and d["ci95"][0] > 0


def _numbers(first: str, d: dict) -> str:
    lo, hi = d["ci95"]
    return (f"{d['mean']:+.2f} dB PSNR (95% interval {lo:+.2f} to {hi:+.2f}, median {d['median']:+.2f}), "
            f"{first} better on {wins_text(d)}")


def _pair(a: str, b: str, reports: dict) -> dict:
    psnr = paired_difference(_ours(reports[a], "psnr"), _ours(reports[b], "psnr"), bootstrap=True)
    reverse = paired_difference(_ours(reports[b], "psnr"), _ours(reports[a], "psnr"), bootstrap=True)
    ssim = paired_difference(_ours(reports[a], "ssim"), _ours(reports[b], "ssim"))
    if _clearly_better(psnr):
        better, line = a, f"Use {a} rather than {b}: {_numbers(a, psnr)}."
    elif _clearly_better(reverse):
        better, line = b, f"Use {b} rather than {a}: {_numbers(b, reverse)}."
    else:
        better, line = None, (f"{a} and {b} are within the uncertainty: {a} minus {b} {_numbers(a, psnr)}; "
                              "either will do, choose on other grounds (time, the acquisition you know).")
    return {"a": a, "b": b, "psnr": psnr, "ssim": ssim, "better": better, "recommendation": line}


def report_folders(names: list[str]) -> dict:
    """Setting name -> the folder of its own report: its number and its name in safe characters."""
    return {name: f"{i + 1}-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
            for i, name in enumerate(names)}


def comparison_paths(out_dir, names: list[str]) -> list[Path]:
    """Every file a comparison of the settings ``names`` writes into ``out_dir``."""
    out = Path(out_dir)
    return [out / f for f in FILES] + [out / folder / f"report.{ext}" for folder in report_folders(names).values()
                                       for ext in ("json", "md", "png")]


@dataclass
class SettingsComparison:
    settings: list[dict]  # name, changes, ours' and the baselines' mean scores, the check's verdict
    pairs: list[dict]  # a, b, psnr / ssim paired differences (A - B), better (a name or None), recommendation
    sections: list[int]  # the scored hidden sections, the same for every setting
    base: str = ""  # what every setting shares, in words
    reports: dict = field(default_factory=dict, repr=False)  # setting name -> HiddenSectionReport

    @classmethod
    def from_reports(cls, reports: dict, changes: dict, base: str = "") -> SettingsComparison:
        names = list(reports)
        sections = _scored(reports[names[0]])
        for name in names[1:]:
            if _scored(reports[name]) != sections:
                raise IsoReconError(f"The settings were scored on different hidden sections ({names[0]}: "
                                    f"{sections}, {name}: {_scored(reports[name])}); cannot compare them.")
        settings = [{"name": n, "changes": changes.get(n, {}),
                     "summary": reports[n].summary, "ours_beats_interpolation": reports[n].ours_wins,
                     "verdict": reports[n].verdict, "training": reports[n].training} for n in names]
        pairs = [_pair(a, b, reports) for a, b in combinations(names, 2)]
        return cls(settings=settings, pairs=pairs, sections=sections, base=base, reports=dict(reports))

    @property
    def recommendation(self) -> str:
        names = [s["name"] for s in self.settings]
        for name in names:
            others = [p for p in self.pairs if name in (p["a"], p["b"])]
            if all(p["better"] == name for p in others):
                return (f"Use {name}: its reconstruction predicts the real hidden sections better than "
                        f"{'every other setting' if len(names) > 2 else 'the other'} beyond the uncertainty.")
        if all(p["better"] is None for p in self.pairs):
            return ("No setting is better than another beyond the uncertainty on these hidden sections: any of them "
                    "will do; a longer budget or a longer stack may separate them.")
        return "No setting is better than all the others; see each pair below."

    def to_dict(self) -> dict:
        return {"recommendation": self.recommendation, "pair_rule": PAIR_RULE, "base": self.base,
                "scored_sections": self.sections, "settings": self.settings, "pairs": self.pairs}

    def to_markdown(self) -> str:
        lines = ["# Settings compared on hidden sections", "", f"**Recommendation:** {self.recommendation}", "",
                 (f"Scored on the same {len(self.sections)} hidden sections ({', '.join(map(str, self.sections))}); "
                 f"{self.base}."), "", ("| setting | ours PSNR (dB) | ours SSIM | cubic PSNR (dB) | ours beats "
                 "interpolation |"), "|---|---|---|---|---|"]
        for s in self.settings:
            m = s["summary"]
            lines.append(f"| {s['name']} | {m['ours']['psnr']:.2f} | {m['ours']['ssim']:.3f} | "
                         f"{m['cubic']['psnr']:.2f} | {'yes' if s['ours_beats_interpolation'] else 'no'} |")
        lines += ["", "## Each pair (A minus B, ours' scores)", "", ("| A | B | PSNR mean +- SE (dB) | 95% interval "
                  "| median | A better on | SSIM median | |"), "|---|---|---|---|---|---|---|---|"]
        for p in self.pairs:
            d, lo_hi = p["psnr"], p["psnr"]["ci95"]
            lines.append(f"| {p['a']} | {p['b']} | {d['mean']:+.2f} +- {d['sem']:.2f} | {lo_hi[0]:+.2f} to "
                         f"{lo_hi[1]:+.2f} | {d['median']:+.2f} | {wins_text(d)} | {p['ssim']['median']:+.3f} | "
                         f"{p['better'] or 'within uncertainty'} |")
        lines += ["", *[f"- {p['recommendation']}" for p in self.pairs], "", f"How a pair is decided: {PAIR_RULE}",
                  "", ("Each setting's own report: N-SETTING/report.md (its verdict against interpolation, intensity, "
                  "artefacts).")]
        return "\n".join(lines) + "\n"

    def folders(self) -> dict:
        return report_folders([s["name"] for s in self.settings])

    def save(self, out_dir, overwrite: bool = False) -> dict:
        """Write comparison.json, comparison.md and each setting's report (in a folder named after it)."""
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise IsoReconError(f"{out} is a file; the comparison needs a folder.")
        if not overwrite:
            for path in comparison_paths(out, list(self.folders())):
                if path.exists():
                    raise IsoReconError(f"{path} exists; choose another folder or allow overwriting (--overwrite).")
        out.mkdir(parents=True, exist_ok=True)
        for name, folder in self.folders().items():
            self.reports[name].save(out / folder, overwrite=True)
        (out / FILES[0]).write_text(json.dumps(self.to_dict(), indent=2))
        (out / FILES[1]).write_text(self.to_markdown())
        return {"json": out / FILES[0], "md": out / FILES[1]}
