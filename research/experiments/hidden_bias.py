"""Intensity bias and contrast of hidden-section predictions on a real stack (issue 29 item 4).

Hides every other section, trains at 2F with the given settings, and reports per method the mean of prediction -
real (grey levels) and the median over sections of std(prediction) / std(real).

    python research/experiments/hidden_bias.py ../shared/data/sstem_cremi_4x4x40nm_train.tif --z-factor 10
"""

from __future__ import annotations

import json

import numpy as np
import tifffile
from stack_args import settings_of, stack_parser, train_config

from napari_isorecon.core.checks.hidden_report import intensity_and_contrast
from napari_isorecon.core.checks.hidden_sections import (
    neighbour_mean,
    predict_hidden,
    score_predictions,
    split_sections,
)
from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
from napari_isorecon.core.settings.config import ReconConfig
from napari_isorecon.core.training.train import train


def main():
    args = stack_parser(steps=1500).parse_args()
    vol = tifffile.imread(args.volume)
    kept, hidden = split_sections(vol)
    settings = settings_of(args)
    cfg = train_config(args, 2 * args.z_factor, section_thickness=0.5)
    model = run_to_end(train(kept, cfg)).model
    dense = {"ours": run_to_end(reconstruct(kept, model, ReconConfig())).volume,
             "cubic": run_to_end(interpolate(kept, cfg.z_factor, "cubic", ReconConfig())).volume}
    preds = {m: predict_hidden(d, kept.shape[0], 1.0) for m, d in dense.items()}
    preds["neighbour mean"] = neighbour_mean(kept)
    real = hidden.astype(np.float64)
    intensity, _ = intensity_and_contrast(preds, hidden, np.arange(len(hidden)))  # the check's own measure
    out = {m: {"bias": intensity[m]["bias"], "contrast": intensity[m]["contrast_ratio"], "std": float(pr.std()),
               "mean": float(pr.mean())} for m, pr in preds.items()}
    for m, (psnr, ssim) in score_predictions(preds, hidden).items():
        out[m].update(psnr=float(np.mean(psnr)), ssim=float(np.mean(ssim)))
    out["real"] = {"std": float(real.std()), "mean": float(real.mean())}
    out["kept"] = {"mean": float(kept.mean()), "dense_ours_mean": float(dense["ours"].mean()),
                   "dense_cubic_mean": float(dense["cubic"].mean())}
    # where along a kept spacing the output departs from cubic: mean(ours - cubic) per phase bin (0: at a kept
    # section's centre, 0.5: midway between two kept sections)
    diff = dense["ours"].astype(np.float64) - dense["cubic"].astype(np.float64)
    rows = diff.shape[0]
    phase = ((np.arange(rows) + 0.5) * kept.shape[0] / rows - 0.5) % 1.0
    bins = np.minimum((phase * 10).astype(int), 9)
    profile = [round(float(diff[bins == b].mean()), 2) for b in range(10)]
    print(json.dumps({"settings": settings, "steps": args.steps, "methods": out, "ours_minus_cubic_by_phase": profile},
                     indent=1))


if __name__ == "__main__":
    main()
