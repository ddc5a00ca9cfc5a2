"""Does the test-time-augmentation spread (core.inference.uncertainty) say where the reconstruction is wrong, and does
the augmented mean gain quality? Measured against ground truth on the bench volume.

    python benchmarks/uncertainty_bench.py [--steps 3000] [--model M.pt] [--save-model M.pt]

1. The isotropic FIB-SEM volume (250^3, 10 nm) is degraded x10 along z (core.training.sections, antialiased
   bicubic: the paper's protocol), a model is trained on it with a FIXED step budget (results do not
   depend on machine load; --model reuses a saved one).
2. It is reconstructed plainly and with test-time augmentation (core.inference.uncertainty, the flips its rule
   allows for this model); both are timed (wall times on a shared machine are contaminated by other jobs:
   the ratio is the figure to read, and it is close to the number of flips).
3. PSNR/SSIM on xz/yz (core.checks.metrics.axial_scores) of the plain result, the augmented mean and cubic.
4. Does the spread predict the error? Spearman rank correlations of the per-voxel spread with the absolute
   error of the augmented mean (2 M random voxels), of the per-xz-slice mean spread with the per-slice mean
   absolute error, of the per-output-row mean spread with the per-row error (rows between measured
   sections are worse: is that what the spread sees?), and the per-voxel correlation within each row
   phase (output row mod f, averaged: what the spread knows beyond the distance to the nearest section).
   For scale, the same correlations for a trivial predictor: the local gradient magnitude of the result.

Writes benchmarks/results/uncertainty.json and .md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path("/work/shared/data/fibsem_medulla_iso10nm_250.tif")
OUT = Path(__file__).resolve().parent / "results"
Z_FACTOR = 10
VOXELS = 2_000_000


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(np.ravel(a), np.ravel(b)).statistic)


def gradient_magnitude(volume: np.ndarray) -> np.ndarray:
    v = volume.astype(np.float32)
    gz, gy, gx = np.gradient(v)
    return np.sqrt(gz * gz + gy * gy + gx * gx)


def predictor_scores(predictor: np.ndarray, error: np.ndarray, rng, z_factor: int) -> dict:
    """Spearman correlations of ``predictor`` with the absolute ``error``: per voxel, per xz slice, per row,
    and per voxel within each row phase (output row mod f)."""
    flat = rng.choice(error.size, size=min(VOXELS, error.size), replace=False)
    per_phase = []
    rows = np.arange(error.shape[0])
    for phase in range(z_factor):
        sel = rows[rows % z_factor == phase]
        p, e = predictor[sel], error[sel]
        pick = rng.choice(e.size, size=min(VOXELS // z_factor, e.size), replace=False)
        per_phase.append(spearman(p.ravel()[pick], e.ravel()[pick]))
    return {
        "voxel": spearman(predictor.ravel()[flat], error.ravel()[flat]),
        "xz_slice": spearman(predictor.mean(axis=(0, 2)), error.mean(axis=(0, 2))),
        "row": spearman(predictor.mean(axis=(1, 2)), error.mean(axis=(1, 2))),
        "voxel_within_row_phase": float(np.mean(per_phase)),
        "voxel_within_row_phase_each": per_phase,
    }


def train(volume, steps: int, log):
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.events import StageStarted, TrainFinished
    from napari_isorecon.core.training.train import train as train_events

    cfg = TrainConfig(z_factor=Z_FACTOR, steps=steps, minutes=None, seed=0, device="cpu")
    t0 = time.perf_counter()
    for event in train_events(volume, cfg):
        if isinstance(event, StageStarted):
            log(f"stage {event.stage} ({event.name}) at {time.perf_counter() - t0:.0f} s")
        elif isinstance(event, TrainFinished):
            log(f"trained {event.steps} steps in {event.elapsed:.0f} s")
            return event.model, event.elapsed
    raise RuntimeError("training ended without a model")


def main(argv=None) -> dict:
    import tifffile

    from napari_isorecon.core import ReconConfig
    from napari_isorecon.core.checks.metrics import axial_scores
    from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
    from napari_isorecon.core.inference.uncertainty import (
        flip_ensemble,
        kernel_asymmetry,
        reconstruct_with_uncertainty,
    )
    from napari_isorecon.core.model.checkpoint import load_model, save_model
    from napari_isorecon.core.training.sections import degrade_volume

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3000, help="training budget in steps (default 3000)")
    parser.add_argument("--model", default=None, help="use this saved model instead of training")
    parser.add_argument("--save-model", default=None, help="save the trained model here")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    truth = tifffile.imread(DATA)
    observed = degrade_volume(truth, Z_FACTOR, "cubic")
    log(f"truth {truth.shape}, observed {observed.shape}")
    if args.model:
        model, train_seconds = load_model(args.model), None
    else:
        model, train_seconds = train(observed, args.steps, log)
        if args.save_model:
            save_model(model, args.save_model, overwrite=True)
    cfg = ReconConfig(device="cpu")

    t0 = time.perf_counter()
    plain = run_to_end(reconstruct(observed, model, cfg)).volume
    plain_seconds = time.perf_counter() - t0
    ensemble = flip_ensemble(model)
    t0 = time.perf_counter()
    augmented = run_to_end(reconstruct_with_uncertainty(observed, model, cfg, ensemble=ensemble))
    tta_seconds = time.perf_counter() - t0
    cubic = run_to_end(interpolate(observed, Z_FACTOR, "cubic", cfg)).volume
    log(f"plain {plain_seconds:.1f} s, augmented {tta_seconds:.1f} s ({ensemble.reason})")

    mean, spread = augmented.volume, augmented.uncertainty
    error = np.abs(mean.astype(np.float32) - truth.astype(np.float32))
    rng = np.random.default_rng(0)
    report = {
        "data": str(DATA), "z_factor": Z_FACTOR, "degradation": "cubic", "observed_shape": list(observed.shape),
        "training_steps": args.steps if not args.model else None, "model": args.model,
        "train_seconds": train_seconds,
        "kernel_asymmetry": kernel_asymmetry(model.g_hl.axial_kernel().detach().cpu().numpy()),
        "flips": [list(f) for f in ensemble.flips], "augmentation": ensemble.reason,
        "scores": {"plain": axial_scores(plain, truth), "tta_mean": axial_scores(mean, truth),
                   "cubic": axial_scores(cubic, truth)},
        "seconds": {"plain": plain_seconds, "tta": tta_seconds, "ratio": tta_seconds / plain_seconds},
        "spread_grey_levels": {"mean": float(spread.mean()), "median": float(np.median(spread)),
                               "p99": float(np.percentile(spread, 99)), "max": float(spread.max())},
        "abs_error_grey_levels": {"tta_mean": float(error.mean()),
                                  "plain": float(np.abs(plain.astype(np.float32) - truth).mean())},
        "spearman_spread_vs_error": predictor_scores(spread, error, rng, Z_FACTOR),
        "spearman_gradient_vs_error": predictor_scores(gradient_magnitude(mean), error, rng, Z_FACTOR),
        "machine": f"{platform.processor() or platform.machine()}, shared 2-core machine under load",
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "uncertainty.json").write_text(json.dumps(report, indent=2))
    (OUT / "uncertainty.md").write_text(markdown(report))
    print(markdown(report))
    return report


def markdown(r: dict) -> str:
    s, sp, gr = r["scores"], r["spearman_spread_vs_error"], r["spearman_gradient_vs_error"]
    budget = f"{r['training_steps']} steps" if r["training_steps"] else f"model {r['model']}"
    lines = [
        "# Uncertainty by test-time augmentation: does the spread predict the error?", "",
        (f"`python benchmarks/uncertainty_bench.py --steps {r['training_steps']}`: {r['data']} degraded x"
         f"{r['z_factor']} along z ({r['degradation']}), observed {tuple(r['observed_shape'])}; model trained "
         f"for {budget}. Flips: {r['augmentation']}."), "",
        "| result | xz PSNR | xz SSIM | yz PSNR | yz SSIM |", "|---|---|---|---|---|"]
    for name in ("cubic", "plain", "tta_mean"):
        sc = s[name]
        lines.append(f"| {name} | {sc['xz']['psnr']:.2f} | {sc['xz']['ssim']:.3f} | {sc['yz']['psnr']:.2f} | "
                     f"{sc['yz']['ssim']:.3f} |")
    lines += ["", "Spearman rank correlation with the absolute error of the augmented mean:", "",
              "| predictor | per voxel | per xz slice | per output row | per voxel within a row phase |",
              "|---|---|---|---|---|",
              (f"| TTA spread | {sp['voxel']:.3f} | {sp['xz_slice']:.3f} | {sp['row']:.3f} | "
               f"{sp['voxel_within_row_phase']:.3f} |"),
              (f"| gradient magnitude of the result (trivial baseline) | {gr['voxel']:.3f} | {gr['xz_slice']:.3f} | "
               f"{gr['row']:.3f} | {gr['voxel_within_row_phase']:.3f} |"), "",
              (f"Spread (grey levels): mean {r['spread_grey_levels']['mean']:.2f}, median "
               f"{r['spread_grey_levels']['median']:.2f}, 99th percentile {r['spread_grey_levels']['p99']:.2f}; "
               f"mean absolute error {r['abs_error_grey_levels']['tta_mean']:.2f} (plain "
               f"{r['abs_error_grey_levels']['plain']:.2f})."), "",
              (f"Time: plain {r['seconds']['plain']:.1f} s, augmented {r['seconds']['tta']:.1f} s (x"
               f"{r['seconds']['ratio']:.2f}); training {r['train_seconds'] or 0:.0f} s. {r['machine']}: wall "
               "times are contaminated by other jobs; the step budget makes the scores independent of it."), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
