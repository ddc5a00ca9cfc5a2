"""Does the uncertainty (core.inference.error_model) predict the faithful output's error, and does its 90 % interval
hold? Measured against ground truth on an isotropic volume made into box sections.

    python benchmarks/uncertainty_bench.py --volume ../shared/data/fibsem_medulla_iso10nm_250.tif --z-factor 10 \
        --steps 3000 --check-scale 1.23 --out benchmarks/results/uncertainty

1. The truth is made into box sections (each the mean of F rows); the default settings train for ``--steps`` (a
   fixed step budget: the scores do not depend on the machine's load), or ``--model`` is used.
2. The faithful output, the cubic interpolation and the uncertainty (the error model fitted on the sections'
   own lateral planes, seed ``--seed``) are made as ``isorecon reconstruct --uncertainty`` makes them.
3. Against the truth: the Spearman rank correlation of the uncertainty with the absolute error (400,000 random
   voxels); the best a perfect map of the same spread could reach (``rank_ceiling``); for scale, the same for an
   oracle that knows the truth (the local RMS of the real error over its 124 neighbours, 5 x 5 x 5 without the
   voxel itself) and for the test-time-augmentation spread (core.inference.uncertainty); and the share of the
   voxels inside the 90 % interval with the default scale, with the scale the hidden-section check measured
   on the sections alone (``--check-scale``, from ``isorecon validate`` or ``research/experiments/...``) and the
   scale the truth asks for.

Writes uncertainty.json and uncertainty.md in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sharp_bench import box_sections  # a sibling: run this file as a script, from the repository root


def local_rms_oracle(error: np.ndarray) -> np.ndarray:
    """The RMS of ``error`` over each voxel's 5 x 5 x 5 neighbourhood without the voxel itself (knows the truth)."""
    from scipy import ndimage

    kernel = np.ones((5, 5, 5))
    kernel[2, 2, 2] = 0
    return np.sqrt(ndimage.convolve(error.astype(np.float64) ** 2, kernel / kernel.sum(), mode="nearest"))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--volume", required=True)
    ap.add_argument("--z-factor", type=int, default=10)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default=None)
    ap.add_argument("--check-scale", type=float, default=None, help="the scale the hidden-section check measured")
    ap.add_argument("--tta", action="store_true", help="also score the test-time-augmentation spread")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    import tifffile

    from napari_isorecon.core import (
        TrainConfig,
        interpolate_volume,
        load_model,
        reconstruct_volume,
        train_model,
    )
    from napari_isorecon.core.checks.metrics import axial_scores
    from napari_isorecon.core.inference.error_model import (
        DEFAULT_SCALE,
        calibration_scale,
        fit_error_model,
        interval_coverage,
        rank_ceiling,
        spearman,
    )
    from napari_isorecon.core.model.intensity import as_dtype

    args.out.mkdir(parents=True, exist_ok=True)
    truth = tifffile.imread(args.volume)
    f = args.z_factor
    sections = box_sections(truth, f)
    stored = truth[:sections.shape[0] * f]  # scored as stored (its dtype's range), the error in float
    truth = stored.astype(np.float32)
    if args.model:
        model = load_model(args.model)
    else:
        model = train_model(sections, config=TrainConfig(z_factor=f, steps=args.steps, minutes=None, seed=args.seed))
    start = time.perf_counter()
    faithful = reconstruct_volume(sections, model).astype(np.float32)
    recon_seconds = time.perf_counter() - start
    cubic = interpolate_volume(sections, f).astype(np.float32)
    start = time.perf_counter()
    event = list(fit_error_model(sections, model, seed=args.seed))[-1]
    errors = event.model.calibrated(1.0, "raw")
    raw = errors.sigma(faithful, cubic, sections.shape[0])
    uncertainty_seconds = time.perf_counter() - start
    error = faithful - truth
    rng = np.random.default_rng(0)
    pick = rng.choice(error.size, 400_000, replace=False)
    needed = calibration_scale(error, raw)
    oracle = local_rms_oracle(error)
    rows = {"error model": {"spearman": spearman(raw.ravel()[pick], np.abs(error).ravel()[pick]),
                            "rank_ceiling": rank_ceiling(raw * needed)},
            "oracle (local RMS of the true error)": {
                "spearman": spearman(oracle.ravel()[pick], np.abs(error).ravel()[pick]),
                "rank_ceiling": rank_ceiling(oracle)}}
    if args.tta:
        from napari_isorecon.core.inference.reconstruct import run_to_end
        from napari_isorecon.core.inference.uncertainty import reconstruct_with_uncertainty

        spread = run_to_end(reconstruct_with_uncertainty(sections, model)).uncertainty
        rows["test-time-augmentation spread"] = {"spearman": spearman(spread.ravel()[pick],
                                                                      np.abs(error).ravel()[pick]),
                                                 "rank_ceiling": rank_ceiling(spread * calibration_scale(error, spread))}
    scales = {"default": DEFAULT_SCALE, "needed (from the truth)": needed}
    if args.check_scale:
        scales["the check's (hidden sections only)"] = args.check_scale
    coverage = {name: interval_coverage(error, raw * s) for name, s in scales.items()}
    report = {"volume": str(args.volume), "z_factor": f, "seed": args.seed, "steps": args.steps,
              "model": args.model, "scores": {"faithful": axial_scores(as_dtype(faithful, stored.dtype), stored)["xz"],
                                              "cubic": axial_scores(as_dtype(cubic, stored.dtype), stored)["xz"]},
              "predictors": rows, "scales": scales, "coverage": coverage, "fit": event.model.info,
              "seconds": {"faithful": recon_seconds, "uncertainty": uncertainty_seconds}}
    (args.out / "uncertainty.json").write_text(json.dumps(report, indent=1))
    lines = [f"# Uncertainty against the truth: {Path(args.volume).name}, box sections x{f}, seed {args.seed}", "",
             (f"Faithful xz PSNR {report['scores']['faithful']['psnr']:.2f} dB (cubic "
             f"{report['scores']['cubic']['psnr']:.2f})."), "",
             "| predictor | Spearman with the absolute error | a perfect map of its spread would reach |",
             "|---|---|---|"]
    lines += [f"| {name} | {r['spearman']:.3f} | {r['rank_ceiling']:.3f} |" for name, r in rows.items()]
    lines += ["", "| scale | value | 90 % interval holds |", "|---|---|---|"]
    lines += [f"| {name} | {scales[name]:.2f} | {100 * c:.1f} % |" for name, c in coverage.items()]
    lines += ["", (f"Faithful reconstruction {recon_seconds:.1f} s; uncertainty (fit {event.model.info['seconds']:.0f} s "
              f"and map) {uncertainty_seconds:.1f} s.")]
    (args.out / "uncertainty.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return report


if __name__ == "__main__":
    main()
