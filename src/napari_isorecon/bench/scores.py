"""What the bench adds to core.checks.metrics's scores: the score after the best global z shift, and the mean and
spread of scores over seeds."""

from __future__ import annotations

import math

import numpy as np

SHIFT_STEP = 0.25  # rows between the z shifts tried


def shift_along_z(volume, shift: float) -> np.ndarray:
    """``volume`` read at ``z + shift`` (float64; linear between rows, the end rows repeated past the ends)."""
    lo, hi, w = _shift_taps(volume.shape[0], shift)
    v = np.asarray(volume, dtype=np.float64)
    return v[lo] * (1 - w) + v[hi] * w


def _shift_taps(depth: int, shift: float):
    pos = np.clip(np.arange(depth, dtype=np.float64) + shift, 0, depth - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, depth - 1)
    return lo, hi, (pos - lo)[:, None, None]


def mean_axial_psnr(result, truth, shift: float, data_range: float, chunk: int = 16) -> float:
    """The mean of the xz and yz PSNRs of core.checks.metrics.axial_scores for ``result`` shifted by ``shift`` rows,
    without SSIM (cheap enough to try every shift)."""
    depth, height, width = truth.shape
    lo, hi, w = _shift_taps(depth, shift)
    sse_xz, sse_yz = np.empty(height), np.zeros(width)
    for y0 in range(0, height, chunk):
        r = np.asarray(result[:, y0:y0 + chunk], dtype=np.float64)
        d = r[lo] * (1 - w) + r[hi] * w - np.asarray(truth[:, y0:y0 + chunk], dtype=np.float64)
        d *= d
        sse_xz[y0:y0 + chunk] = d.sum(axis=(0, 2))
        sse_yz += d.sum(axis=(0, 1))

    def psnr(sse, n):
        return 10 * np.log10(data_range**2 / np.maximum(sse / n, 1e-12))

    return float((psnr(sse_xz, depth * width).mean() + psnr(sse_yz, depth * height).mean()) / 2)


def best_z_shift_scores(result, truth, z_factor: float, step: float = SHIFT_STEP) -> dict:
    """PSNR/SSIM on xz and yz after the global z shift, in ``[-f, f]`` rows by ``step`` (linear interpolation
    for sub-row shifts), that maximises the mean PSNR; ``shift_rows`` s means result(z + s) ~ truth(z).
    Shift 0 is among those tried, so the best shift's mean PSNR is never below the plain one."""
    from ..core.checks.metrics import axial_scores, data_range_of

    data_range = data_range_of(truth)
    n = int(math.floor(z_factor / step + 1e-9))
    shifts = [round(i * step, 6) for i in range(-n, n + 1)]
    psnr = {s: mean_axial_psnr(result, truth, s, data_range) for s in shifts}
    best = max(shifts, key=lambda s: (psnr[s], -abs(s)))
    return {"shift_rows": best, **axial_scores(shift_along_z(result, best), truth)}


def mean_of(runs: list):
    """Leaf-wise mean of a list of equally nested dicts of numbers."""
    if isinstance(runs[0], dict):
        return {key: mean_of([r[key] for r in runs]) for key in runs[0]}
    return float(np.mean(runs))


def spread_of(runs: list):
    """Leaf-wise {std (sample, 0 for one run), min, max} of a list of equally nested dicts of numbers."""
    if isinstance(runs[0], dict):
        return {key: spread_of([r[key] for r in runs]) for key in runs[0]}
    values = np.asarray(runs, dtype=np.float64)
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return {"std": std, "min": float(values.min()), "max": float(values.max())}
