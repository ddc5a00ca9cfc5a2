"""Is the reconstruction consistent with the sections it was given, and would enforcing it help?

Trains as the hidden-section check does (kept sections only, 2F, sections half a kept spacing thick), then
(1) integrates the output over each kept section's thickness (``box_weights``, the same operator as the
section pairs) and compares it with the kept section, for ours and cubic; (2) adds the interpolated residual
(kept minus integrated output; linear or cubic along z, once or four times) to the output, which makes it
consistent with the kept sections, and scores the hidden sections again.

The figures in research/log.md ("Stage 2 on declared sections", the kept-section gap) come from
(minutes budget, seed 0; ~4 min on 2 cores):

    python research/experiments/kept_consistency.py --minutes 3
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from hidden_diagnosis import train_on_kept  # a sibling script (its folder is on sys.path when run as a file)

from napari_isorecon.core.checks.hidden_sections import neighbour_mean, predict_hidden, score_predictions
from napari_isorecon.core.networks.resample import axial_resize
from napari_isorecon.core.training.sections import box_weights


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="../shared/data/sstem_cremi_4x4x40nm_train.tif")
    p.add_argument("--z-factor", type=float, default=10.0)
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--pairs", default="section")
    args = p.parse_args()
    kept, hidden, _, ours, cubic = train_on_kept(args.volume, args.z_factor, minutes=args.minutes,
                                                  stage2_pairs=args.pairs)
    f2, thickness = 2 * args.z_factor, 0.5  # the kept sections' thickness at 2F, as train_on_kept trains
    kept64 = kept.astype(np.float64)
    weights = box_weights(ours.shape[0], kept.shape[0], f2, thickness)

    def integrate(dense):
        return np.tensordot(weights, dense, axes=(1, 0))

    def upsample(residual, mode):  # along z, the reconstruction's geometry
        x = torch.from_numpy(residual).permute(1, 0, 2)[:, None]
        return axial_resize(x, ours.shape[0], mode)[:, 0].permute(1, 0, 2).numpy()

    def rms(a):
        return float(np.sqrt((a ** 2).mean()))

    for name, dense in (("ours", ours), ("cubic", cubic)):
        print(f"{name}: kept section minus the output over its thickness: RMS {rms(kept64 - integrate(dense)):.2f} "
              "grey levels")
    predictions = {"cubic": predict_hidden(cubic, kept.shape[0]), "neighbour mean": neighbour_mean(kept),
                   "ours": predict_hidden(ours, kept.shape[0])}
    for mode in ("linear", "cubic"):
        corrected = ours
        for label, rounds in (("once", 1), ("4 times", 3)):  # 1, then 3 more
            for _ in range(rounds):
                corrected = corrected + upsample(kept64 - integrate(corrected), mode)
            name = f"ours + {mode} residual, {label}"
            print(f"{name}: kept RMS {rms(kept64 - integrate(corrected)):.3f}")
            predictions[name] = predict_hidden(corrected, kept.shape[0])
    for name, (psnr, ssim) in score_predictions(predictions, hidden).items():
        print(f"{name:32s} PSNR {np.mean(psnr):.2f}  SSIM {np.mean(ssim):.3f}")


if __name__ == "__main__":
    main()
