"""Does G_hl learn section integration, thin/thick sections, blur and noise? Stage 1 only, fixed steps.

For each simulated acquisition of the isotropic FIB-SEM volume (z x F) and each G_hl variant, train stage 1
for a fixed number of steps (results do not depend on machine load) and score the learned pair degradation
against the true one on the volume's xy sections (PSNR, as the bench's fidelity), with the learned kernel's
summary. Variants: the free taps with the smoothness prior (the engine before this experiment), the
two-parameter section kernel, and the section kernel with matched noise.

    python research/experiments/section_kernel.py --steps 1500 --out benchmarks/results/section_kernel.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import tifffile
import torch

from napari_isorecon.core.checks.kernel_summary import model_kernel_summary
from napari_isorecon.core.checks.metrics import image_scores
from napari_isorecon.core.events import TrainFinished
from napari_isorecon.core.settings.config import TrainConfig
from napari_isorecon.core.training.sections import degrade_slices, degrade_volume
from napari_isorecon.core.training.train import train

VARIANTS = {
    "free+prior": dict(kernel_model="free"),
    "section": dict(kernel_model="section"),
    "section+noise": dict(kernel_model="section", match_noise=True),
    "free+prior+noise": dict(kernel_model="free", match_noise=True),
}


def fidelity(model, lr_volume, z_factor, kind):
    norm = model.normalizer
    rows = int(lr_volume.shape[1] // z_factor)
    hr = torch.from_numpy(norm.to_unit(lr_volume[:, :int(round(rows * z_factor)), :]))[:, None]
    with torch.no_grad():
        fake = model.pair_degradation()(hr, rows)
        true = degrade_slices(hr, z_factor, kind, rows)
    return image_scores(fake[:, 0].numpy(), true[:, 0].numpy(), norm.unit_data_range())["psnr"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="../shared/data/fibsem_medulla_iso10nm_250.tif")
    p.add_argument("--z-factor", type=float, default=10)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--degradations", nargs="+", default=["box", "box_thin", "cubic", "gaussian_centred", "box:10"])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    iso = tifffile.imread(args.volume)
    rows = []
    for spec in args.degradations:
        kind, _, noise = spec.partition(":")
        lr = degrade_volume(iso, args.z_factor, kind)
        if noise:
            rng = np.random.default_rng(1234)
            lr = np.clip(np.rint(lr + rng.normal(0, float(noise), lr.shape)), 0, 255).astype(iso.dtype)
        for name in args.variants:
            cfg = TrainConfig(z_factor=args.z_factor, steps=args.steps, minutes=None, stage2_pairs="kernel", stage2_fraction=0.0,
                              seed=args.seed, **VARIANTS[name])
            t0 = time.time()
            final = [e for e in train(lr, cfg) if isinstance(e, TrainFinished)][-1]
            s = model_kernel_summary(final.model, 10.0)
            row = {"degradation": spec, "variant": name, "steps": final.steps, "wall_s": round(time.time() - t0),
                   "fidelity_db": round(fidelity(final.model, lr, args.z_factor, kind), 2),
                   "fwhm_nm": round(s["fwhm_nm"], 1), "thickness_nm": round(s["equivalent_thickness_nm"], 1),
                   "centroid_nm": round(s["centroid_nm"], 2)}
            print(json.dumps(row), flush=True)
            rows.append(row)
            with open(args.out, "w") as fh:
                json.dump({"steps": args.steps, "seed": args.seed, "z_factor": args.z_factor, "rows": rows}, fh,
                          indent=1)


if __name__ == "__main__":
    main()
