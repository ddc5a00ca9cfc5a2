"""The bench's report: summary (gains, share of the oracle's gain), report.json, report.md and the figure."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np

from ..core.checks.spectra import peak_cell, share_cell
from ..core.errors import IsoReconError
from ..core.settings.config import describe_sections
from .methods import INTERPOLATIONS

_METRICS = (("xz", "psnr"), ("xz", "ssim"), ("yz", "psnr"), ("yz", "ssim"))
_SHOWN = ("cubic", "oracle", "ours", "sharp", "ours_g_lh", "ours_stage2", "ours_learned")  # in the figures, in this order


def machine_description() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), {gpu}"


def summarise(report: dict) -> dict:
    """Gains over the better interpolation, and the share of the oracle's gain that each method reaches
    (from the mean scores over seeds)."""
    methods = report["methods"]
    interp = [m for m in INTERPOLATIONS if m in methods]
    if not interp:
        return {}
    best = max(interp, key=lambda m: methods[m]["xz"]["psnr"] + methods[m]["yz"]["psnr"])
    summary = {"best_interpolation": best, "gain_db": {}, "share_of_oracle_gain": {}}
    for name, scores in methods.items():
        summary["gain_db"][name] = {a: round(scores[a]["psnr"] - methods[best][a]["psnr"], 3) for a in ("xz", "yz")}
    if "oracle" in methods:
        for name in methods:
            summary["share_of_oracle_gain"][name] = {
                a: round(summary["gain_db"][name][a] / summary["gain_db"]["oracle"][a], 3)
                if summary["gain_db"]["oracle"][a] > 0 else None for a in ("xz", "yz")}
    return summary


def write_report(report: dict, truth, outputs: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    (out_dir / "report.md").write_text(markdown_table(report))
    write_figure(out_dir / "xz_compare.png", truth, outputs)


def _title(report: dict) -> str:
    title = f"# isorecon bench: x{report['z_factor']:g}, {report['degradation']} degradation"
    if report.get("noise_sigma"):
        title += f", Gaussian noise of {report['noise_sigma']:g} grey levels"
    if report.get("off_centre"):
        title += " (off-centre: a registration test)"
    return title


def told_sentence(config: dict) -> str | None:
    """'Ours is told: ... (its stage-2 pairs)' when ours trains on declared sections; None when its pairs come
    from the learned degradation (reports from before the setting existed have no thickness spread)."""
    if config.get("stage2_pairs") != "section":
        return None
    told = describe_sections(config["section_thickness"], config.get("thickness_spread", 0.0))
    return f"Ours is told: {told} (its stage-2 pairs)"


def _budget(report: dict) -> str:
    if report.get("steps") is not None:
        budget = f"Training budget: {report['steps']} steps per trained method"
    else:
        budget = (f"Training budget: {report['minutes']:g} min per trained method "
                  f"({report['baseline_minutes']:g} min for take/gaussian)")
    told = told_sentence(report.get("config") or {})
    if told:
        budget = f"{told}. {budget}"
    seeds = report.get("seeds") or [report["seed"]]
    if len(seeds) > 1:
        return (f"{budget}; each trained method ran with seeds {seeds[0]}..{seeds[-1]}: scores are means over "
                f"the {len(seeds)} seeds, +- the sample std (interpolations run once).")
    return f"{budget}; seed {seeds[0]}."


def _cell(entry: dict, axis: str | None, metric: str, several: bool) -> str:
    """One score (``axis`` None for a flat entry), ``+- std`` over seeds when there were ``several``."""
    digits = 2 if metric == "psnr" else 3
    value, spread = (entry, entry.get("spread")) if axis is None else (entry[axis], entry.get("spread", {}).get(axis))
    text = f"{value[metric]:.{digits}f}"
    if several and spread:
        text += f" +- {spread[metric]['std']:.{digits}f}"
    return text


def _scores_table(report: dict) -> list[str]:
    lines = [("| method | xz PSNR | xz SSIM | yz PSNR | yz SSIM | gain over interp. (dB, xz/yz) | "
              "share of oracle gain | train s (steps) |"), "|---|---|---|---|---|---|---|---|"]
    summary = report.get("summary", {})
    for name, s in report["methods"].items():
        gain = summary.get("gain_db", {}).get(name, {})
        share = summary.get("share_of_oracle_gain", {}).get(name, {})
        share_txt = "/".join("-" if share.get(a) is None else f"{100 * share[a]:.0f}%" for a in ("xz", "yz")) \
            if share else "-"
        gain_txt = f"{gain.get('xz', 0):+.2f} / {gain.get('yz', 0):+.2f}" if gain else "-"
        steps_txt = f" ({s['train_steps']:,})" if s.get("train_steps") else ""
        cells = " | ".join(_cell(s, a, m, len(s.get("runs", ())) > 1) for a, m in _METRICS)
        lines.append(f"| {name} | {cells} | {gain_txt} | {share_txt} | {s['train_seconds']:.0f}{steps_txt} |")
    return lines


def _spread_table(report: dict) -> list[str]:
    """min-max over seeds of each trained method (only with more than one seed)."""
    rows = [(n, s) for n, s in report["methods"].items() if len(s.get("runs", ())) > 1]
    if not rows:
        return []
    lines = ["", "Spread over seeds (min - max; std in the table above):", "",
             "| method | xz PSNR | xz SSIM | yz PSNR | yz SSIM |", "|---|---|---|---|---|"]
    for name, s in rows:
        cells = [f"{s['spread'][a][m]['min']:.{2 if m == 'psnr' else 3}f} - "
                 f"{s['spread'][a][m]['max']:.{2 if m == 'psnr' else 3}f}" for a, m in _METRICS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _shift_table(report: dict) -> list[str]:
    rows = [(n, s) for n, s in report["methods"].items() if "best_z_shift" in s]
    if not rows:
        return []
    lines = ["", ("Off-centre sampling shifts every output along z, which no method can learn from the volume. "
              f"After the best global z shift ({report.get('best_z_shift_search', '')}):"), "",
             "| method | best shift (rows) | xz PSNR | xz SSIM | yz PSNR | yz SSIM | xz PSNR without shift |",
             "|---|---|---|---|---|---|---|"]
    for name, s in rows:
        shifted = s["best_z_shift"]
        shifts = ", ".join(f"{v:+g}" for v in shifted["shift_rows"])
        cells = " | ".join(_cell(shifted, a, m, len(s["runs"]) > 1) for a, m in _METRICS)
        lines.append(f"| {name} | {shifts} | {cells} | {s['xz']['psnr']:.2f} |")
    return lines


def _fidelity_table(report: dict) -> list[str]:
    if not report["degradation_fidelity"]:
        return []
    lines = ["", ("Degradation fidelity (the paper's Table 3): the learned degradation that makes stage-2 pairs "
              "(or a hand-made kernel) applied to the input's xy slices, against the true simulated degradation "
              "(its kernel, without noise) of the same slices."), "",
             "| degradation model | PSNR | SSIM |", "|---|---|---|"]
    several = len(report.get("seeds", ())) > 1
    for name, s in report["degradation_fidelity"].items():
        lines.append(f"| {name} | {_cell(s, None, 'psnr', several)} | {_cell(s, None, 'ssim', several)} |")
    for name, s in report.get("degradation_fidelity_whole_g_hl", {}).items():
        lines.append(f"| {name}: whole G_hl (with its residual branch) | {_cell(s, None, 'psnr', several)} | "
                     f"{_cell(s, None, 'ssim', several)} |")
    return lines


def _spectra_tables(report: dict) -> list[str]:
    """Per band of periods: z power share / correlation against the truth and the section-period peak; then
    the z power as a share of the x power, the truth's row first (reports before these existed: nothing)."""
    rows = [(n, s["spectra"]) for n, s in report["methods"].items() if "spectra" in s]
    if not rows:
        return []
    bands = list(rows[0][1]["z_bands"])
    head = " | ".join(f"{b} rows" for b in bands)
    means = " (means over seeds)" if len(report.get("seeds", ())) > 1 else ""
    lines = ["", (f"Axial detail per band of periods, F = {report['z_factor']:g} (core.checks.spectra: Hann-windowed "
                  "z columns of every other xz slice): the z power as a share of the truth's / the correlation with "
                  "the truth's, band-passed; the section-period peak, the z power at 1/F and 2/F over the median of "
                  f"the neighbouring frequencies (about 1: no grid; below 1: a notch; above 1: a printed grid){means}. "
                  "'-': not resolved in this crop."), "",
             f"| method | {head} | peak at 1/F | peak at 2/F |", "|---" * (len(bands) + 3) + "|"]
    truth = report.get("truth_spectra", {})
    if truth:
        itself = ["-" if not rows[0][1]["z_bands"][b]["bins"] else "1.00 / 1.00" for b in bands]
        lines.append(f"| truth | {' | '.join(itself)} | "
                     f"{peak_cell(truth['section_peak'], '1/F')} | {peak_cell(truth['section_peak'], '2/F')} |")
    for name, spectra in rows:
        cells = " | ".join(share_cell(spectra["z_bands"][b], with_correlation=True) for b in bands)
        peak = spectra["section_peak"]
        lines.append(f"| {name} | {cells} | {peak_cell(peak, '1/F')} | {peak_cell(peak, '2/F')} |")
    if "z_bands_unwindowed" in rows[0][1]:
        lines += ["", ("The same shares / correlations without a window (the plain periodogram: the fine bands also "
                       "hold the coarse bands' leakage)."), "",
                  f"| method | {head} |", "|---" * (len(bands) + 1) + "|"]
        lines += [f"| {name} | {' | '.join(share_cell(s['z_bands_unwindowed'][b], True) for b in bands)} |"
                  for name, s in rows]
    lines += ["", ("No truth needed: the z power per band as a share of the same volume's x power (about 1 for "
                   "isotropic texture; the truth's row is what this volume reads)."), "",
              f"| method | {head} |", "|---" * (len(bands) + 1) + "|"]
    for name, z_vs_x in ([("truth", truth["z_vs_x"])] if truth else []) + [(n, s["z_vs_x"]) for n, s in rows]:
        lines.append(f"| {name} | {' | '.join(share_cell(z_vs_x[b]) for b in bands)} |")
    return lines


def markdown_table(report: dict) -> str:
    lines = [_title(report), "", f"Machine: {report['machine']}", "", _budget(report),
             f"Scored on {report['crop']}.", ""]
    lines += _scores_table(report) + _spread_table(report) + _shift_table(report) + _fidelity_table(report)
    lines += _spectra_tables(report)
    lines += ["", "Figure: `xz_compare.png`, the same xz crop for ground truth and each shown method"
              + (" (first seed)." if len(report.get("seeds", ())) > 1 else "."), ""]
    return "\n".join(lines)


def write_figure(path: Path, truth, outputs: dict, size: int = 128, first_title: str = "ground truth"):
    """The same central xz crop for ground truth (or another reference), cubic, oracle and ours, side by side,
    on the reference's grey scale; returns the drawn matplotlib Figure."""
    names = [n for n in _SHOWN if n in outputs]
    z0, y, x0 = _xz_crop_origin(truth.shape, size)

    def crop(v):
        return np.asarray(v[z0:z0 + size, y, x0:x0 + size])

    reference = crop(truth)
    panels = [(first_title, reference)] + [(n, crop(outputs[n])) for n in names]
    return _draw_panels(path, panels, _grey_range(truth.dtype, [reference]))


def write_stack_figure(path: Path, volume, outputs: dict, size: int = 128):
    """A real stack without ground truth, at one pixel size: an xy crop of the input section at the middle of the
    xz crop's rows (its middle row is the xz slice's row, its columns the xz crop's), the input's xz slice with
    each section repeated over the output rows it covers (core.geometry), then cubic and ours; one grey scale
    (the input's); returns the drawn matplotlib Figure."""
    names = [n for n in _SHOWN if n in outputs]
    if not names:
        raise IsoReconError(f"The figure needs cubic or ours among the outputs; got {sorted(outputs)}.")
    depth = outputs[names[0]].shape[0]
    n_slices, height, width = volume.shape
    z0, y, x0 = _xz_crop_origin((depth, height, width), size)
    rows = np.arange(z0, min(depth, z0 + size))
    sections = np.minimum(((rows + 0.5) * n_slices / depth).astype(int), n_slices - 1)  # each row's section
    section = int(sections[len(rows) // 2])
    y0 = min(max(0, y - size // 2), max(0, height - size))
    xy = np.asarray(volume[section, y0:y0 + size, x0:x0 + size])
    repeated = np.asarray(volume[:, y, x0:x0 + size])[sections]
    panels = [(f"xy (section {section})", xy), ("input xz (rows repeated)", repeated)]
    panels += [(n, np.asarray(outputs[n][z0:z0 + size, y, x0:x0 + size])) for n in names]
    return _draw_panels(path, panels, _grey_range(volume.dtype, [xy, repeated]))


def _xz_crop_origin(shape, size: int) -> tuple[int, int, int]:
    """(z0, y, x0) of the central ``size`` x ``size`` xz crop of a (Z, Y, X) volume, at its middle row y."""
    return max(0, (shape[0] - size) // 2), shape[1] // 2, max(0, (shape[2] - size) // 2)


def _grey_range(dtype, reference_crops) -> tuple[float, float]:
    """One grey scale for every panel: uint8's full range, else the 0.5-99.5 percentiles of the reference crops."""
    if np.dtype(dtype) == np.uint8:
        return 0.0, 255.0
    values = np.concatenate([np.asarray(c, dtype=np.float64).ravel() for c in reference_crops])
    low, high = (float(v) for v in np.percentile(values, (0.5, 99.5)))
    return low, max(high, low + 1e-12)


def _draw_panels(path: Path, panels, grey: tuple[float, float]):
    from matplotlib.figure import Figure  # a bare Figure draws with Agg: no pyplot, no backend switch

    fig = Figure(figsize=(2.2 * len(panels), 2.5), dpi=150)
    for i, (name, image) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.imshow(image, cmap="gray", vmin=grey[0], vmax=grey[1])
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path)
    return fig
