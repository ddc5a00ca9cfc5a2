"""Detail against fidelity (issue 27 item 2): the ``detail`` setting (an adversarial critic in stage 2's loss,
core.training.train) at several weights on the bench's simulated acquisition, scored per band of z periods like
the bench (power share and correlation against the truth), with PSNR/SSIM and the section-period peak.

The critic is the model's HR PatchGAN (D_h, idle when the pairs come from declared sections): it sees real
lateral patches and the reconstruction of their synthetic LR pairs, and the reconstruction network's loss is
``L2 + detail * E||D(prediction) - 1||^2`` (least squares, the paper's eq. 1-2). ``--weights 0`` is the
default training. ``--oracle`` adds the oracle (true degradation, detail 0) for the ceiling of an L2 network.

    python research/experiments/detail_critic.py --steps 6000 --cubic --oracle --weights 0 0.003 0.01 0.03 \
        --out research/bench/detail/fibsem_box10_critic.jsonl
"""

from __future__ import annotations

import argparse
import json
import time

import tifffile
from stack_args import settings_of

from napari_isorecon.bench.scores import spectral_scores
from napari_isorecon.bench.simulate import simulate_acquisition
from napari_isorecon.core.checks.metrics import axial_scores
from napari_isorecon.core.events import TrainFinished
from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
from napari_isorecon.core.settings.config import ReconConfig, TrainConfig
from napari_isorecon.core.training.train import train


def run(truth, lr_volume, cfg, weight, degradation=None):
    t0 = time.time()
    final = None
    for event in train(lr_volume, cfg.replace(detail=weight), degradation=degradation):
        if isinstance(event, TrainFinished):
            final = event
    result = run_to_end(reconstruct(lr_volume, final.model, ReconConfig())).volume
    return {"weight": weight, "train_s": round(final.elapsed, 1), "steps": final.steps,
            **axial_scores(result, truth), "spectra": spectral_scores(result, truth, cfg.z_factor),
            "wall_s": round(time.time() - t0, 1)}


def interpolated(truth, lr_volume, z_factor):
    result = run_to_end(interpolate(lr_volume, z_factor, "cubic")).volume
    return {"weight": None, **axial_scores(result, truth), "spectra": spectral_scores(result, truth, z_factor)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="../shared/data/fibsem_medulla_iso10nm_250.tif")
    p.add_argument("--z-factor", type=float, default=10.0)
    p.add_argument("--degradation", default="box")
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", type=float, nargs="*", default=[0.0, 0.01])
    p.add_argument("--oracle", action="store_true")
    p.add_argument("--cubic", action="store_true", help="add cubic interpolation's row (no training)")
    p.add_argument("--set", nargs="*", default=[], help="TrainConfig field=value (python literal)")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    truth = tifffile.imread(args.volume)
    lr_volume = simulate_acquisition(truth, args.z_factor, args.degradation)
    overrides = settings_of(args)
    cfg = TrainConfig(z_factor=args.z_factor, steps=args.steps, minutes=None, seed=args.seed, **overrides)
    runs = [("cubic", None, None)] if args.cubic else []
    runs += [("oracle", 0.0, args.degradation)] if args.oracle else []
    runs += [("ours", w, None) for w in args.weights]
    for method, weight, degradation in runs:
        scores = (interpolated(truth, lr_volume, args.z_factor) if method == "cubic"
                  else run(truth, lr_volume, cfg, weight, degradation))
        row = {"method": method, "degradation": args.degradation, "z_factor": args.z_factor, "seed": args.seed,
               "set": overrides, **scores}
        with open(args.out, "a") as fh:
            fh.write(json.dumps(row, default=float) + "\n")
        bands = row["spectra"]["z_bands"]
        print(method, weight, f"xz {row['xz']['psnr']:.3f} / {row['xz']['ssim']:.3f}",
              {k: (round(v["power_share"], 2), round(v["correlation"], 2)) for k, v in bands.items()},
              row["spectra"]["section_peak"], flush=True)


if __name__ == "__main__":
    main()
