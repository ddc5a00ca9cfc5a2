"""Where does the reconstruction's intensity bias come from? (issue 29 item 4)

Simulates box sections of an isotropic volume, trains stage 2 with the given settings, reconstructs, and reports the
mean difference (output - truth) and the contrast ratio (std output / std truth) for ours and cubic, overall and
over each section's thickness (output averaged over a section's z range against the acquired section: the
consistency that the hidden-section check measures).

    python research/experiments/intensity_bias.py ../shared/data/fibsem_medulla_iso10nm_250.tif --steps 1500
"""

from __future__ import annotations

import json
import time

import numpy as np
import tifffile
from stack_args import settings_of, stack_parser, train_config

from napari_isorecon.bench.simulate import exact_crop_depth, simulate_acquisition
from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
from napari_isorecon.core.settings.config import ReconConfig
from napari_isorecon.core.training.train import train


def section_means(dense, n, f):
    """Per section k, the mean of the output over rows [k f, (k+1) f): what a box section of thickness 1 shows."""
    rows = dense.shape[0]
    edges = np.round(np.arange(n + 1) * rows / n).astype(int)
    return np.stack([dense[a:b].mean(axis=0) for a, b in zip(edges[:-1], edges[1:], strict=True)])


def stats(name, dense, truth, acquired, f):
    d = dense.astype(np.float64)
    t = truth.astype(np.float64)
    sec = section_means(d, acquired.shape[0], f)
    return {"method": name, "bias_vs_truth": float((d - t).mean()),
            "contrast_vs_truth": float(d.std() / t.std()),
            "section_bias": float((sec - acquired.astype(np.float64)).mean()),
            "section_contrast": float(sec.std() / acquired.astype(np.float64).std())}


def main():
    p = stack_parser(steps=1500)
    p.add_argument("--noise", type=float, default=0.0)
    args = p.parse_args()

    truth = tifffile.imread(args.volume)
    truth = truth[:exact_crop_depth(truth.shape[0], args.z_factor)]
    acquired = simulate_acquisition(truth, args.z_factor, "box", noise=args.noise, seed=args.seed)
    settings = settings_of(args)
    cfg = train_config(args, args.z_factor)
    t0 = time.time()
    model = run_to_end(train(acquired, cfg)).model
    recon = ReconConfig()
    ours = run_to_end(reconstruct(acquired, model, recon)).volume
    cubic = run_to_end(interpolate(acquired, args.z_factor, "cubic", recon)).volume
    from skimage.metrics import peak_signal_noise_ratio

    phase = ((np.arange(truth.shape[0]) + 0.5) / args.z_factor) % 1.0
    bins = np.minimum((phase * 10).astype(int), 9)
    err = ours.astype(np.float64) - truth
    profile = [round(float(err[bins == b].mean()), 2) for b in range(10)]
    psnr = {m: round(float(peak_signal_noise_ratio(truth, v, data_range=255)), 3) for m, v in
            (("ours", ours), ("cubic", cubic))}
    rows = [stats("ours", ours, truth, acquired, args.z_factor), stats("cubic", cubic, truth, acquired, args.z_factor)]
    print(json.dumps({"settings": settings, "steps": args.steps, "seconds": round(time.time() - t0), "rows": rows, "psnr": psnr,
                      "ours_minus_truth_by_phase": profile},
                     indent=1))


if __name__ == "__main__":
    main()
