"""What the bench adds to core.checks.metrics's scores: the score after the best global z shift, the axial
spectra (core.checks.spectra: power share and correlation per band against the truth, the section-period peak,
z against x), and the mean and spread of scores over seeds."""

from __future__ import annotations

import math

import numpy as np

from ..core.checks.spectra import section_period_peak, z_band_power, z_vs_x_spectrum

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


PEAKS = ("1/F", "2/F")


def spectral_scores(result, truth, z_factor: float) -> dict:
    """core.checks.spectra on one reconstruction: per band of periods (drawn from F), the z power share and
    correlation against ``truth`` (``z_bands``; ``z_bands_unwindowed``: the same without a window, the plain
    periodogram, whose fine bands hold the coarse ones' leakage) and the z power as a share of the result's own x power
    (``z_vs_x``); the section-period peak at 1/F and 2/F (``section_peak``; None where not resolved)."""
    peak = section_peak(result, z_factor)
    return {"z_bands": z_band_power(result, truth, z_factor=z_factor),
            "z_bands_unwindowed": z_band_power(result, truth, z_factor=z_factor, window="none"),
            "z_vs_x": z_vs_x_spectrum(result, z_factor=z_factor)["bands"], "section_peak": peak}


def section_peak(volume, z_factor: float) -> dict:
    """The section-period peaks alone, {"1/F": p1, "2/F": p2} (None where the volume is too short)."""
    peak = section_period_peak(volume, z_factor)
    return {label: peak[label] for label in PEAKS}


def truth_spectra(truth, z_factor: float) -> dict:
    """The no-truth measures of ``spectral_scores`` on the truth itself: what an isotropic volume reads."""
    return {"z_vs_x": z_vs_x_spectrum(truth, z_factor=z_factor)["bands"], "section_peak": section_peak(truth, z_factor)}


def mean_spectra(runs: list[dict]) -> dict:
    """Leaf-wise mean over seeds of ``spectral_scores``; a value is None when it is None in any run; the band
    limits and bin counts (the same in every run) are kept as they are."""
    first = runs[0]
    if isinstance(first, dict):
        return {key: mean_spectra([r[key] for r in runs]) for key in first}
    if isinstance(first, list) or any(r is None for r in runs):
        return first if isinstance(first, list) else None
    if isinstance(first, int) and not isinstance(first, bool) and all(r == first for r in runs):
        return first  # a bin count
    return float(np.mean(runs))
