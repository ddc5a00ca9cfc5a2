"""Is the section grid a mean modulation? (issues 27 item 3 and 29 item 4)

Trains on a real stack at its own factor with the given settings, reconstructs, and reports the mean of ours -
cubic per phase bin of the section grid (0: at a section's centre, 0.5: midway) and the z spectrum's section-period
peak at 1/F and 2/F (power at the frequency / median power of the bins 3-10 away), for ours and cubic.

    python research/experiments/grid_source.py ../shared/data/sstem_cremi_4x4x40nm_train.tif --z-factor 10 \
        --set stage2_loss="'l1'"
"""

from __future__ import annotations

import json

import numpy as np
import tifffile
from stack_args import settings_of, stack_parser, train_config

from napari_isorecon.core.checks.spectra import _power_at, section_period_peak
from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
from napari_isorecon.core.settings.config import ReconConfig
from napari_isorecon.core.training.train import train


def peak(volume, z_factor, harmonic):
    """Power at harmonic / z_factor over the median power 3-10 bins away (every other xz column, Hann window)."""
    v = np.asarray(volume, dtype=np.float64)[:, ::2, :]
    v = v - v.mean(axis=0, keepdims=True)
    n = v.shape[0]
    spec = (np.abs(np.fft.rfft(v * np.hanning(n)[:, None, None], axis=0)) ** 2).mean(axis=(1, 2))
    k = int(round(harmonic * n / z_factor))
    around = [spec[j] for d in range(3, 11) for j in (k - d, k + d) if 0 < j < spec.size]
    return float(spec[k] / np.median(around))


def around(volume, z_factor, harmonic=2, reach=10):
    """The z power at harmonic / F + d / Z for d = -reach..reach, over the power at harmonic / F."""
    depth = volume.shape[0]
    freqs = harmonic / z_factor + np.arange(-reach, reach + 1) / depth
    power = _power_at(volume, freqs, 2, "hann")
    return power / power[reach]


def main():
    args = stack_parser(steps=2000).parse_args()
    vol = tifffile.imread(args.volume)
    settings = settings_of(args)
    cfg = train_config(args, args.z_factor)
    model = run_to_end(train(vol, cfg)).model
    ours = run_to_end(reconstruct(vol, model, ReconConfig())).volume.astype(np.float64)
    cubic = run_to_end(interpolate(vol, args.z_factor, "cubic", ReconConfig())).volume.astype(np.float64)
    rows = ours.shape[0]
    phase = ((np.arange(rows) + 0.5) * vol.shape[0] / rows - 0.5) % 1.0
    bins = np.minimum((phase * 10).astype(int), 9)
    diff = ours - cubic
    std_ours = [float(ours[bins == b].std()) for b in range(10)]
    print(json.dumps({
        "settings": settings, "steps": args.steps, "seed": args.seed,
        "ours_minus_cubic_by_phase": [round(float(diff[bins == b].mean()), 2) for b in range(10)],
        "ours_std_by_phase": [round(s, 1) for s in std_ours],
        "peak": {m: [round(peak(v, args.z_factor, h), 2) for h in (1, 2)] for m, v in (("ours", ours), ("cubic", cubic))},
        # the product's measure (core.checks.spectra: Hann window, exact frequencies, paired neighbours)
        "section_period_peak": {m: {k: round(section_period_peak(v, args.z_factor)[k], 2) for k in ("1/F", "2/F")}
                                for m, v in (("ours", ours), ("cubic", cubic))},
        # the z spectrum around 2/F (offsets -10..10 bins of 1/Z), over its value at 2/F: a local maximum is a
        # printed pattern, a monotone fall is the shape of the spectrum
        "around_2F": {m: [round(float(x), 3) for x in around(v, args.z_factor)] for m, v in (("ours", ours),
                                                                                              ("cubic", cubic))},
    }))


if __name__ == "__main__":
    main()
