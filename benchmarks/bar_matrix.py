"""Issue 11's bar as one table, read from the committed bench reports (nothing is trained here).

Each row is one simulated acquisition of the FIB-SEM volume at the product's default settings (sections one
z-step thick +-50 %, 10 minutes): ours pooled over every seed that was run, the oracle and cubic from the
report named for the row. The share is ours' PSNR gain over cubic as a share of the oracle's, xz / yz (the
bar: at least 85 % on both, SSIM above cubic on both; for single planes: not below cubic).

    python benchmarks/bar_matrix.py --out benchmarks/results/bar_matrix.md
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "docs" / "bench"
SPREAD = ROOT / "benchmarks" / "results" / "thickness_spread.jsonl"
AXES = ("xz", "yz")

# (acquisition, where ours ran: report folders or "jsonl:<degradation>" lines of SPREAD for variant
# spread0.5; the report whose oracle and cubic score the row: without an oracle the bar is "not below cubic")
ROWS = [
    ("x10 antialiased bicubic", ["jsonl:cubic"], "x10_cubic_defaults_v2"),
    ("x10 box, one z-step", ["jsonl:box", "x10_box_spread0.5_seeds1-2"], "x10_box_defaults_v2"),
    ("x10 box_thick, 1.5 z-steps", ["jsonl:box_thick"], "x10_box_thick_section"),
    ("x10 box_thin, half a z-step", ["jsonl:box_thin", "x10_box_thin_spread0.5_seeds1-2"],
     "x10_box_thin_section"),
    ("x10 gaussian_centred", ["jsonl:gaussian_centred"], "x10_gaussian_centred_section"),
    ("x10 box + noise 10", ["x10_box_noise10_spread0.5"], "x10_box_noise10_defaults_v2"),
    ("x10 take_centred (single planes)", ["jsonl:take_centred"], "x10_take_centred_section"),
    ("x7.5 antialiased bicubic", ["x7.5_cubic_spread0.5"], "x7.5_cubic_spread0.5"),
    ("x7.5 box, one z-step", ["x7.5_box_spread0.5"], "x7.5_box_spread0.5"),
    ("x4 antialiased bicubic", ["x4_cubic_spread0.5"], "x4_cubic_spread0.5"),
    ("x4 box, one z-step", ["x4_box_spread0.5"], "x4_box_section"),
]


def _report(name: str) -> dict:
    return json.loads((BENCH / name / "report.json").read_text())


def _ours_runs(sources: list[str]) -> list[dict]:
    """Every seed's {axis: {psnr, ssim}} of ours at the default; missing sources are skipped."""
    runs = []
    for source in sources:
        if source.startswith("jsonl:"):
            kind = source.split(":", 1)[1]
            for line in SPREAD.read_text().splitlines():
                row = json.loads(line)
                if row["degradation"] == kind and row["variant"] == "spread0.5":
                    runs.append(row["scores"]["ours_stage2"])
        elif (BENCH / source / "report.json").exists():
            report = _report(source)
            assert report["config"]["thickness_spread"] == 0.5, source
            runs += [{ax: run[ax] for ax in AXES} for run in report["methods"]["ours_stage2"]["runs"]]
    return runs


def _row(label: str, sources: list[str], reference: str) -> str | None:
    runs = _ours_runs(sources)
    if not runs:
        return None
    ref = _report(reference)["methods"]
    cubic = ref["cubic"]
    psnr = [r["xz"]["psnr"] for r in runs]
    spread = f" +- {statistics.stdev(psnr):.2f} (n={len(psnr)}, {min(psnr):.2f}-{max(psnr):.2f})" \
        if len(psnr) > 1 else " (n=1)"
    mean = {ax: {k: statistics.mean(r[ax][k] for r in runs) for k in ("psnr", "ssim")} for ax in AXES}
    ssim_above = all(mean[ax]["ssim"] > cubic[ax]["ssim"] for ax in AXES)
    if "oracle" not in ref:
        share, oracle = "-", "-"
        met = mean["xz"]["psnr"] >= cubic["xz"]["psnr"] and mean["yz"]["psnr"] >= cubic["yz"]["psnr"]
    else:
        gains = {ax: (mean[ax]["psnr"] - cubic[ax]["psnr"]) / (ref["oracle"][ax]["psnr"] - cubic[ax]["psnr"])
                 for ax in AXES}
        share = " / ".join(f"{100 * gains[ax]:.0f} %" for ax in AXES)
        oracle = f"{ref['oracle']['xz']['psnr']:.2f} ({ref['oracle']['train_steps']:,} steps)"
        met = min(gains.values()) >= 0.85 and ssim_above
    return (f"| {label} | {cubic['xz']['psnr']:.2f} / {cubic['xz']['ssim']:.3f} | {oracle} | "
            f"{mean['xz']['psnr']:.2f}{spread} / {mean['xz']['ssim']:.3f} | {share} | "
            f"{'yes' if ssim_above else 'no'} | {'**met**' if met else 'not met'} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the table to this markdown file")
    args = parser.parse_args()
    header = ("| acquisition (FIB-SEM) | cubic xz PSNR / SSIM | oracle xz PSNR | ours xz PSNR (seeds) / SSIM "
              "| share of the oracle's gain, xz / yz | SSIM above cubic | bar |")
    lines = [header, "|---|---|---|---|---|---|---|"]
    missing = []
    for label, sources, reference in ROWS:
        line = _row(label, sources, reference)
        (lines.append(line) if line else missing.append(label))
    if missing:
        lines += ["", "Not run: " + ", ".join(missing) + "."]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
