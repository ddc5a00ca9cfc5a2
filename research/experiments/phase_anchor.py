"""Does holding the output's mean at every phase of the section period to the sections' mean remove the
hidden-section darkening (issue 29 item 4)? Hides every other section, trains at 2F, reconstructs the kept
sections and scores the hidden ones for: ours, ours with a global per-phase offset removed (the offset is
measured on the reconstruction of the kept sections themselves: mean of the output rows at that phase minus
the mean of the kept sections), ours with a lateral-local per-phase offset (Gaussian sigma px), cubic, the
neighbour mean.

    python research/experiments/phase_anchor.py ../shared/data/sstem_cremi_4x4x40nm_train.tif --steps 1500
"""

from __future__ import annotations

import json

import numpy as np
import tifffile
from scipy.ndimage import gaussian_filter
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


def phase_bins(rows: int, sections: int, bins: int) -> np.ndarray:
    phase = ((np.arange(rows) + 0.5) * sections / rows - 0.5) % 1.0
    return np.minimum((phase * bins).astype(int), bins - 1)


def anchored(dense: np.ndarray, kept: np.ndarray, bins: int, sigma: float | None) -> tuple[np.ndarray, list]:
    """``dense`` with its mean at every phase bin moved to the kept sections' mean (globally, or per lateral
    neighbourhood of ``sigma`` px); the outer half sections are left out of the measurement."""
    rows, n = dense.shape[0], kept.shape[0]
    b = phase_bins(rows, n, bins)
    f = rows / n
    inner = (np.arange(rows) >= f) & (np.arange(rows) < rows - f)
    target = kept.astype(np.float64).mean(axis=0)
    out = dense.astype(np.float64).copy()
    profile = []
    for k in range(bins):
        sel = (b == k) & inner
        diff = dense[sel].astype(np.float64).mean(axis=0) - target  # (Y, X)
        if sigma is None:
            off = np.full_like(diff, diff.mean())
        else:
            off = gaussian_filter(diff, sigma, mode="reflect")
        profile.append(round(float(diff.mean()), 2))
        out[b == k] -= off
    return out, profile


def main():
    p = stack_parser(steps=1500)
    p.add_argument("--sigma", type=float, nargs="*", default=[16.0, 64.0])
    p.add_argument("--save", help="folder to save kept, hidden and the ours / cubic reconstructions to (.npy)")
    args = p.parse_args()
    vol = tifffile.imread(args.volume)
    kept, hidden = split_sections(vol)
    settings = settings_of(args)
    cfg = train_config(args, 2 * args.z_factor, section_thickness=0.5)
    model = run_to_end(train(kept, cfg)).model
    ours = run_to_end(reconstruct(kept, model, ReconConfig())).volume.astype(np.float64)
    cubic = run_to_end(interpolate(kept, cfg.z_factor, "cubic", ReconConfig())).volume
    if args.save:
        import pathlib
        folder = pathlib.Path(args.save)
        folder.mkdir(parents=True, exist_ok=True)
        for name, arr in {"kept": kept, "hidden": hidden, "ours": ours, "cubic": cubic}.items():
            np.save(folder / f"{name}.npy", arr)
    bins = int(round(cfg.z_factor))
    dense = {"ours": ours, "cubic": cubic}
    dense["ours anchored (global)"], profile = anchored(ours, kept, bins, None)
    for s in args.sigma:
        dense[f"ours anchored (sigma {s:g})"], _ = anchored(ours, kept, bins, s)
    preds = {m: predict_hidden(d, kept.shape[0], 1.0) for m, d in dense.items()}
    preds["neighbour mean"] = neighbour_mean(kept)
    intensity, _ = intensity_and_contrast(preds, hidden, np.arange(len(hidden)))  # the check's own measure
    scores = score_predictions(preds, hidden)  # once: per method, the per-section PSNR and SSIM
    psnr_c = np.asarray(scores["cubic"][0])
    out = {}
    for m, (psnr, ssim) in scores.items():
        out[m] = {"bias": round(intensity[m]["bias"], 2), "contrast": round(intensity[m]["contrast_ratio"], 3),
                  "psnr": round(float(np.mean(psnr)), 3), "ssim": round(float(np.mean(ssim)), 4),
                  "won_vs_cubic": int((np.asarray(psnr) > psnr_c).sum())}
    print(json.dumps({"settings": settings, "seed": args.seed, "steps": args.steps, "methods": out,
                      "ours_minus_kept_mean_by_phase": profile}, indent=1))


if __name__ == "__main__":
    main()
