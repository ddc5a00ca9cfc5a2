"""Scores: PSNR and SSIM over all xz and all yz slices, degradation fidelity, and a no-reference
isotropy score for data without ground truth."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F


def data_range_of(reference: np.ndarray) -> float:
    if np.issubdtype(reference.dtype, np.integer):
        info = np.iinfo(reference.dtype)
        return float(info.max - info.min)
    return float(np.nanmax(reference) - np.nanmin(reference))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, size, size)


def psnr_ssim_2d(test: np.ndarray, reference: np.ndarray, data_range: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-image PSNR and SSIM (Gaussian window 11, sigma 1.5; smaller for images under 11 pixels, e.g. the
    few rows of an axial slice) for stacks (N, H, W)."""
    t = torch.from_numpy(np.asarray(test, dtype=np.float64))[:, None]
    r = torch.from_numpy(np.asarray(reference, dtype=np.float64))[:, None]
    mse = ((t - r) ** 2).mean(dim=(1, 2, 3))
    psnr = 10 * torch.log10(data_range**2 / mse.clamp(min=1e-12))
    size = min(11, t.shape[-2], t.shape[-1])
    size -= 1 - size % 2  # odd
    w = _gaussian_window(size, 1.5 * size / 11)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_t, mu_r = F.conv2d(t, w), F.conv2d(r, w)
    var_t = F.conv2d(t * t, w) - mu_t**2
    var_r = F.conv2d(r * r, w) - mu_r**2
    cov = F.conv2d(t * r, w) - mu_t * mu_r
    ssim_map = ((2 * mu_t * mu_r + c1) * (2 * cov + c2)) / ((mu_t**2 + mu_r**2 + c1) * (var_t + var_r + c2))
    return psnr.numpy(), ssim_map.mean(dim=(1, 2, 3)).numpy()


def axial_scores(result: np.ndarray, truth: np.ndarray, crop: int = 0) -> dict:
    """Mean PSNR/SSIM over all xz slices and over all yz slices; ``crop`` z rows dropped at both ends."""
    if result.shape != truth.shape:
        raise ValueError(f"shapes differ: {result.shape} vs {truth.shape}")
    data_range = data_range_of(truth)
    zs = slice(crop, truth.shape[0] - crop if crop else None)
    scores = {}
    for axis, name in ((1, "xz"), (2, "yz")):
        test = np.moveaxis(result[zs], axis, 0)
        ref = np.moveaxis(truth[zs], axis, 0)
        psnr, ssim = [], []
        for i in range(0, test.shape[0], 32):
            p, s = psnr_ssim_2d(test[i:i + 32], ref[i:i + 32], data_range)
            psnr.append(p)
            ssim.append(s)
        scores[name] = {"psnr": float(np.concatenate(psnr).mean()), "ssim": float(np.concatenate(ssim).mean())}
    return scores


def image_scores(test: np.ndarray, reference: np.ndarray, data_range: float) -> dict:
    """Mean PSNR/SSIM over a stack of 2D images."""
    psnr, ssim = psnr_ssim_2d(test, reference, data_range)
    return {"psnr": float(psnr.mean()), "ssim": float(ssim.mean())}


def _axial_spectrum(volume: np.ndarray, axis: int) -> np.ndarray:
    v = np.asarray(volume, dtype=np.float64)
    v = v - v.mean(axis=axis, keepdims=True)
    spec = np.abs(np.fft.rfft(v, axis=axis)) ** 2
    other = tuple(a for a in range(3) if a != axis)
    return spec.mean(axis=other)


def isotropy_score(volume: np.ndarray, max_len: int = 128) -> dict:
    """No-reference: how closely the power spectrum along z matches the lateral ones.

    Spectra of equal-length 1D profiles along z, y and x (the central ``n`` voxels, n = min extent);
    ``log_spectrum_gap_db`` is the mean |10 log10(P_z / P_xy)| over the upper half of frequencies
    (0 = isotropic texture; an interpolated volume lacks high z frequencies and scores high).
    """
    n = min(volume.shape + (max_len,))
    centre = [(s - n) // 2 for s in volume.shape]
    cube = np.asarray(volume)[centre[0]:centre[0] + n, centre[1]:centre[1] + n, centre[2]:centre[2] + n]
    pz = _axial_spectrum(cube, 0)
    pxy = (_axial_spectrum(cube, 1) + _axial_spectrum(cube, 2)) / 2
    band = slice(len(pz) // 2, len(pz))
    gap = 10 * np.log10((pz[band] + 1e-12) / (pxy[band] + 1e-12))
    return {"log_spectrum_gap_db": float(np.abs(gap).mean()), "z_to_xy_high_freq_power": float(
        pz[band].sum() / max(pxy[band].sum(), 1e-12))}


def input_consistency(model, result, observed, max_slices: int = 64) -> dict:
    """No-reference health check: degrade the result's xz slices again with the degradation that made the
    stage-2 pairs (``model.pair_degradation()``: the declared sections or the learned one) and compare them with the input's real xz slices
    (PSNR/SSIM over at most ``max_slices`` evenly spaced y). A reconstruction that drifted from the data
    (wrong z-factor, wrong volume, a diverged model) scores low; a high score says the result is consistent
    with the measurement and that degradation, not that its details are right (the reconstruction
    network was trained to invert that degradation)."""
    norm = model.normalizer
    ys = np.unique(np.linspace(0, observed.shape[1] - 1, min(max_slices, observed.shape[1])).round().astype(int))
    recon = np.ascontiguousarray(np.asarray(result[:, ys, :]).transpose(1, 0, 2))  # (n, D, X), z vertical
    real = norm.to_unit(np.ascontiguousarray(np.asarray(observed[:, ys, :]).transpose(1, 0, 2)))
    degrade = model.pair_degradation()
    device = next(model.g_hl.parameters()).device
    with torch.inference_mode():
        lr = degrade(torch.from_numpy(norm.to_unit(recon))[:, None].to(device), observed.shape[0])[:, 0].cpu().numpy()
    return image_scores(lr, real, norm.unit_data_range())


def consistency_summary(scores: dict, source: str = "input", with_ssim: bool = True) -> str:
    """One line for the user about ``input_consistency`` scores by result name ({"isotropic": {...}, ...})."""
    shown = ", ".join(f"{name} {s['psnr']:.1f} dB" + (f" (SSIM {s['ssim']:.3f})" if with_ssim else "")
                      for name, s in scores.items())
    return (f"Consistency with the input (the result degraded again by the pairs' degradation vs the {source}'s "
            f"xz slices; a health check, not a quality score): {shown}")
