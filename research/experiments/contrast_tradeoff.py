"""What contrast costs on hidden sections (issue 29 item 4): from a reconstruction saved by
``phase_anchor.py --save DIR`` (kept, hidden, ours, cubic as .npy), with the mean held per phase, score the
hidden-section predictions after scaling each row's contrast (its deviations from the row's mean) per phase of
the section period: to the kept sections' mean std, to the largest phase std (the rows at the sections), and
raised to cubic's per-phase std; and the gain on the held prediction's deviations that would minimise its error
against the real hidden sections (1: calibrated; the ground truth is used here only to measure, never to fix).

    python research/experiments/phase_anchor.py ../shared/data/sstem_cremi_4x4x40nm_train.tif --steps 1500 \\
        --seed 0 --save /tmp/pa/l2_s0
    python research/experiments/contrast_tradeoff.py /tmp/pa/l2_s0
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from phase_anchor import anchored, phase_bins  # noqa: E402

from napari_isorecon.core.checks.hidden_sections import predict_hidden, score_predictions  # noqa: E402


def _scaled(volume, bins, gains):
    out = volume.copy()
    for k, g in enumerate(gains):
        sel = bins == k
        m = out[sel].mean(axis=(1, 2), keepdims=True)
        out[sel] = m + g * (out[sel] - m)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    args = p.parse_args()
    kept, hidden, ours, cubic = (np.load(pathlib.Path(args.folder) / f"{n}.npy") for n in
                                 ("kept", "hidden", "ours", "cubic"))
    n, rows = kept.shape[0], ours.shape[0]
    per_phase = rows // n
    real = hidden.astype(np.float64)

    def score(dense):
        pr = predict_hidden(dense, n, 1.0)
        psnr, ssim = score_predictions({"m": pr}, hidden)["m"]
        return {"bias": round(float((pr - real).mean()), 2),
                "contrast": round(float(np.median([pr[k].std() / real[k].std() for k in range(len(real))])), 3),
                "psnr": round(float(np.mean(psnr)), 3), "ssim": round(float(np.mean(ssim)), 4)}

    held, _ = anchored(ours, kept, per_phase, None)
    bins = phase_bins(rows, n, per_phase)
    inner = (np.arange(rows) >= per_phase) & (np.arange(rows) < rows - per_phase)

    def phase_std(volume):
        row_std = np.array([volume[r].std() for r in range(rows)])
        return np.array([row_std[(bins == k) & inner].mean() for k in range(per_phase)])

    s_ours, s_cubic = phase_std(held), phase_std(cubic.astype(np.float64))
    kept_std = float(kept.std(axis=(1, 2)).mean())
    pr = predict_hidden(held, n, 1.0)
    dev = pr - pr.mean(axis=(1, 2), keepdims=True)
    err = real - pr.mean(axis=(1, 2), keepdims=True)
    report = {
        "ours": score(ours.astype(np.float64)), "cubic": score(cubic.astype(np.float64)), "held": score(held),
        "held, contrast to the kept sections' std": score(_scaled(held, bins, kept_std / s_ours)),
        "held, contrast to the largest phase std": score(_scaled(held, bins, s_ours.max() / s_ours)),
        "held, contrast raised to cubic's": score(_scaled(held, bins, np.maximum(1.0, s_cubic / s_ours))),
        "optimal gain on the held prediction's deviations": round(float((dev * err).sum() / (dev * dev).sum()), 3),
        "row std by phase (held / cubic)": [np.round(s_ours, 1).tolist(), np.round(s_cubic, 1).tolist()],
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
