"""How sharp are the predicted hidden sections, and is their detail right? Power and correlation by band.

The hidden-section check scores ours above cubic and the neighbour mean on the real CREMI stack, but in its
figures ours looks smoother than a real section and than cubic. This puts numbers on that: for each
prediction of the hidden sections (ours at the default, cubic, the neighbour mean) and each band of spatial
frequency of the xy images, the prediction's power as a share of the real sections' (how much detail it
draws) and its correlation with the real sections in that band (how much of what it draws is right). The
real sections' own pixel noise (core.training.noise, white) is given per band as a share of their power: detail a
prediction cannot and should not copy.

    python research/experiments/hidden_spectra.py --minutes 10 --out benchmarks/results/hidden_spectra.txt
"""

from __future__ import annotations

import argparse

import numpy as np
from hidden_diagnosis import train_on_kept  # a sibling script (its folder is on sys.path when run as a file)

from napari_isorecon.core.checks.hidden_sections import neighbour_mean, predict_hidden, score_predictions
from napari_isorecon.core.training.noise import volume_noise_sigma

BANDS = ((1 / 64, 1 / 16), (1 / 16, 1 / 8), (1 / 8, 1 / 4), (1 / 4, 0.71))  # cycles per pixel


def band_table(predictions: dict, hidden: np.ndarray, noise_sigma: float) -> list[str]:
    """One line per prediction: power share and correlation with the real sections, band by band."""
    real = np.fft.rfft2(hidden - hidden.mean(axis=(1, 2), keepdims=True))
    fy = np.fft.fftfreq(hidden.shape[1])[:, None]
    fx = np.fft.rfftfreq(hidden.shape[2])[None, :]
    radius = np.broadcast_to(np.sqrt(fy ** 2 + fx ** 2), real.shape[1:])
    weight = np.broadcast_to(np.where((fx == 0) | (fx == 0.5), 1.0, 2.0), real.shape[1:])  # rfft: inner columns count twice
    masks = [(radius >= lo) & (radius < hi) for lo, hi in BANDS]
    real_power = [float((np.abs(real[:, m]) ** 2 * weight[m]).sum()) for m in masks]
    pixels = hidden.shape[1] * hidden.shape[2]
    noise_power = [noise_sigma ** 2 * pixels * float(weight[m].sum()) * hidden.shape[0] for m in masks]
    bands = " | ".join(f"{1 / hi:.1f}-{1 / lo:.0f} px" for lo, hi in BANDS)
    lines = [f"periods: {bands}",
             "real sections' pixel noise, share of their power: "
             + " | ".join(f"{n / p:.2f}" for n, p in zip(noise_power, real_power, strict=True))]
    for name, prediction in predictions.items():
        pred = np.fft.rfft2(prediction - prediction.mean(axis=(1, 2), keepdims=True))
        cells = []
        for m, p_real in zip(masks, real_power, strict=True):
            p_pred = float((np.abs(pred[:, m]) ** 2 * weight[m]).sum())
            cross = float((np.real(pred[:, m] * np.conj(real[:, m])) * weight[m]).sum())
            cells.append(f"power {p_pred / p_real:.2f}, corr {cross / np.sqrt(p_pred * p_real):.2f}")
        lines.append(f"{name}: " + " | ".join(cells))
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="../shared/data/sstem_cremi_4x4x40nm_train.tif")
    p.add_argument("--z-factor", type=float, default=10.0)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--out")
    args = p.parse_args()
    kept, hidden, model, ours, cubic = train_on_kept(args.volume, args.z_factor, spread=0.5,
                                                     minutes=args.minutes)
    predictions = {"ours (default, spread 0.5)": predict_hidden(ours, kept.shape[0]),
                   "cubic": predict_hidden(cubic, kept.shape[0]),
                   "neighbour mean": neighbour_mean(kept)}
    sigma = volume_noise_sigma(kept)
    scores = score_predictions(predictions, hidden)  # in the data's dtype and range, like the check
    hidden = hidden.astype(np.float64)
    lines = [(f"{args.volume}, x{args.z_factor:g} (checked at x{2 * args.z_factor:g}), {args.minutes:g} min, "
              f"seed 0, {model.state.step} steps; pixel noise {sigma:.2f} grey levels")]
    lines += [f"{name}: PSNR {np.mean(s[0]):.2f}, SSIM {np.mean(s[1]):.3f}" for name, s in scores.items()]
    lines += band_table(predictions, hidden, sigma)
    print("\n".join(lines))
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
