"""``isorecon bench``: the paper's protocol on an isotropic volume (Table 1 and Table 3).

Simulate an anisotropic acquisition of an isotropic volume along z, reconstruct it with every method, and
score each against the isotropic volume. No method sees the isotropic volume except to be scored.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from .core.config import TrainConfig, check_z_factor
from .core.errors import IsoReconError

INTERPOLATIONS = ("linear", "cubic")
HANDMADE = ("take", "take_centred", "gaussian", "gaussian_centred")
METHODS = INTERPOLATIONS + HANDMADE + ("oracle", "ours", "ours_stage2")


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


def exact_crop_depth(depth: int, z_factor: float) -> int:
    """Largest n_slices * f <= depth that is a whole number of rows (so simulation and scoring align)."""
    n = int(depth // z_factor)
    while n > 1 and abs(n * z_factor - round(n * z_factor)) > 1e-6:
        n -= 1
    if n < 2:
        raise IsoReconError(f"The volume is too shallow ({depth} slices) for z-factor {z_factor:g}.")
    return int(round(n * z_factor))


def _train(lr_volume, cfg: TrainConfig, degradation=None, log=print):
    from .core.events import TrainFinished
    from .core.train import train

    final = None
    for event in train(lr_volume, cfg, degradation=degradation):
        if isinstance(event, TrainFinished):
            final = event
    log(f"    {final.steps} steps in {final.elapsed:.0f} s")
    return final.model, final.elapsed, final.steps


def _fidelity(degrade, lr_volume, z_factor, kind, normalizer):
    """G_hl (or a hand-made kernel) vs the true simulated degradation, on the xy slices of the input."""
    import torch

    from .core.degradation import degrade_slices
    from .core.evaluate import image_scores

    rows = int(lr_volume.shape[1] // z_factor)
    hr_rows = int(round(rows * z_factor))
    hr = torch.from_numpy(normalizer.to_unit(lr_volume[:, :hr_rows, :]))[:, None]
    with torch.no_grad():
        fake = degrade(hr, rows)
        true = degrade_slices(hr, z_factor, kind, rows)
    return image_scores(fake[:, 0].numpy(), true[:, 0].numpy(), normalizer.unit_data_range())


def run_bench(iso_volume, z_factor: float, degradation: str = "cubic", minutes: float = 10.0,
              baseline_minutes: float | None = None, methods=METHODS, seed: int = 0, out_dir=None,
              steps: int | None = None, train_overrides: dict | None = None, log=print) -> dict:
    """Run the benchmark; returns the report dict and, with ``out_dir``, writes report.json/.md and a figure.

    ``steps`` replaces the minutes budget by a step budget for every trained method (repeatable runs).
    """
    from .core.degradation import KINDS, degrade_slices, degrade_volume
    from .core.evaluate import axial_scores
    from .core.geometry import check_volume
    from .core.reconstruct import interpolate, reconstruct, run_to_end

    z_factor = check_z_factor(z_factor)
    check_volume(iso_volume, what="isotropic volume")
    if degradation not in KINDS:
        raise IsoReconError(f"Unknown degradation {degradation!r}; choose one of {', '.join(KINDS)}.")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise IsoReconError(f"Unknown methods {unknown}; choose from {', '.join(METHODS)}.")
    baseline_minutes = minutes if baseline_minutes is None else baseline_minutes
    depth = exact_crop_depth(iso_volume.shape[0], z_factor)
    truth = np.asarray(iso_volume[:depth])
    lr_volume = degrade_volume(truth, z_factor, degradation)
    log(f"isotropic {truth.shape} -> simulated anisotropic {lr_volume.shape} ({degradation}, x{z_factor:g})")
    base_cfg = TrainConfig(z_factor=z_factor, minutes=minutes, seed=seed, **(train_overrides or {}))
    report = {"z_factor": z_factor, "degradation": degradation, "minutes": minutes, "steps": steps,
              "baseline_minutes": baseline_minutes, "seed": seed,
              "crop": f"z rows 0..{depth} of {iso_volume.shape[0]}, all y and x; scores are means over every "
                      "xz slice and every yz slice",
              "config": base_cfg.to_dict(), "methods": {}, "degradation_fidelity": {},
              "degradation_fidelity_whole_g_hl": {},
              "machine": machine_description()}
    outputs = {}
    for method in methods:
        log(f"- {method}")
        t0 = time.perf_counter()
        train_seconds, train_steps = 0.0, 0
        if method in INTERPOLATIONS:
            result = run_to_end(interpolate(lr_volume, z_factor, method)).volume
        else:
            budget = baseline_minutes if method in HANDMADE else minutes
            cfg = base_cfg.replace(minutes=budget) if steps is None else base_cfg.replace(steps=steps, minutes=None)
            if method == "ours":
                cfg = cfg.replace(stage2_fraction=0.0)
            kind = {"oracle": degradation}.get(method, method if method in HANDMADE else None)
            model, train_seconds, train_steps = _train(lr_volume, cfg, degradation=kind, log=log)
            if method == "ours":
                model.reconstructor = None  # G_lh alone
            result = run_to_end(reconstruct(lr_volume, model)).volume
            if method in HANDMADE:
                report["degradation_fidelity"][method] = _fidelity(
                    lambda hr, rows, k=method: degrade_slices(hr, z_factor, k, rows), lr_volume, z_factor,
                    degradation, model.normalizer)
            elif method in ("ours", "ours_stage2"):
                # the degradation that makes stage-2 pairs, and the whole G_hl (residual branch included)
                report["degradation_fidelity"][method] = _fidelity(model.pair_degradation(), lr_volume, z_factor,
                                                                   degradation, model.normalizer)
                report["degradation_fidelity_whole_g_hl"][method] = _fidelity(model.g_hl, lr_volume, z_factor,
                                                                              degradation, model.normalizer)
        scores = axial_scores(result, truth)
        scores["train_seconds"] = round(train_seconds, 1)
        scores["train_steps"] = train_steps
        if method not in INTERPOLATIONS:
            scores["stage_steps"] = list(model.state.stage_steps)  # (CycleGAN, supervised)
        scores["total_seconds"] = round(time.perf_counter() - t0, 1)
        report["methods"][method] = scores
        outputs[method] = result
        log(f"    xz {scores['xz']['psnr']:.2f} dB / {scores['xz']['ssim']:.3f}, "
            f"yz {scores['yz']['psnr']:.2f} dB / {scores['yz']['ssim']:.3f}")
    report["summary"] = summarise(report)
    if out_dir is not None:
        write_report(report, truth, outputs, Path(out_dir))
    return report


def summarise(report: dict) -> dict:
    """Gains over the better interpolation, and the share of the oracle's gain that each method reaches."""
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


def markdown_table(report: dict) -> str:
    lines = [f"# isorecon bench: x{report['z_factor']:g}, {report['degradation']} degradation",
             "", f"Machine: {report['machine']}", "",
             (f"Training budget: {report['minutes']:g} min per trained method "
              f"({report['baseline_minutes']:g} min for take/gaussian)" if report.get("steps") is None else
              f"Training budget: {report['steps']} steps per trained method") + f"; seed {report['seed']}.",
             f"Scored on {report['crop']}.", "",
             "| method | xz PSNR | xz SSIM | yz PSNR | yz SSIM | gain over interp. (dB, xz/yz) | "
             "share of oracle gain | train s (steps) |", "|---|---|---|---|---|---|---|---|"]
    summary = report.get("summary", {})
    for name, s in report["methods"].items():
        gain = summary.get("gain_db", {}).get(name, {})
        share = summary.get("share_of_oracle_gain", {}).get(name, {})
        share_txt = "/".join("-" if share.get(a) is None else f"{100 * share[a]:.0f}%" for a in ("xz", "yz")) \
            if share else "-"
        gain_txt = f"{gain.get('xz', 0):+.2f} / {gain.get('yz', 0):+.2f}" if gain else "-"
        steps_txt = f" ({s['train_steps']:,})" if s.get("train_steps") else ""
        lines.append(f"| {name} | {s['xz']['psnr']:.2f} | {s['xz']['ssim']:.3f} | {s['yz']['psnr']:.2f} | "
                     f"{s['yz']['ssim']:.3f} | {gain_txt} | {share_txt} | {s['train_seconds']:.0f}{steps_txt} |")
    if report["degradation_fidelity"]:
        lines += ["", "Degradation fidelity (the paper's Table 3): the learned degradation that makes stage-2 pairs "
                  "(or a hand-made kernel) applied to the input's xy slices, against the true simulated degradation "
                  "of the same slices.", "",
                  "| degradation model | PSNR | SSIM |", "|---|---|---|"]
        for name, s in report["degradation_fidelity"].items():
            lines.append(f"| {name} | {s['psnr']:.2f} | {s['ssim']:.3f} |")
        for name, s in report.get("degradation_fidelity_whole_g_hl", {}).items():
            lines.append(f"| {name}: whole G_hl (with its residual branch) | {s['psnr']:.2f} | {s['ssim']:.3f} |")
    lines += ["", "Figure: `xz_compare.png`, the same xz crop for ground truth and each shown method.", ""]
    return "\n".join(lines)


def write_figure(path: Path, truth, outputs: dict, size: int = 128, first_title: str = "ground truth") -> None:
    """The same central xz crop for ground truth (or another reference), cubic, oracle and ours, side by side."""
    names = [n for n in ("cubic", "oracle", "ours", "ours_stage2") if n in outputs]
    y = truth.shape[1] // 2
    z0 = max(0, (truth.shape[0] - size) // 2)
    x0 = max(0, (truth.shape[2] - size) // 2)

    def crop(v):
        return np.asarray(v[z0:z0 + size, y, x0:x0 + size])

    panels = [(first_title, crop(truth))] + [(n, crop(outputs[n])) for n in names]
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
    except ImportError:  # no matplotlib: an unlabelled strip, in the order above
        from .core.pngwrite import write_gray_png

        write_gray_png(path, np.concatenate([p for _, p in panels], axis=1))
        return
    fig = Figure(figsize=(2.2 * len(panels), 2.5), dpi=150)
    for i, (name, image) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.imshow(image, cmap="gray", vmin=0, vmax=255 if truth.dtype == np.uint8 else None)
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path)
