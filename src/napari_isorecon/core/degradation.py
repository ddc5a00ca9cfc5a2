"""Hand-made axial degradations, for simulating anisotropic acquisitions and for baselines.

All act along the vertical axis of (N, 1, H, W) tensors or along z of (Z, Y, X) volumes and give
round(H / f) rows, slice ``k`` summarising input rows ``[k*f, (k+1)*f)``:
- ``cubic``: antialiased bicubic downsampling (the paper's simulation protocol);
- ``take``: every f-th row, from the first row of each group (the paper's "Take");
- ``take_centred``: the row at the centre of each group;
- ``gaussian``: Gaussian blur (sigma = f / 2.355 * ... see GAUSSIAN_SIGMA) then take from the first row;
- ``gaussian_centred``: the same, sampled at the centre of each group.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from .config import check_z_factor

KINDS = ("cubic", "take", "take_centred", "gaussian", "gaussian_centred")


def gaussian_sigma(z_factor: float) -> float:
    """FWHM equal to the section spacing: sigma = f / (2 sqrt(2 ln 2)) (4.25 for f = 10)."""
    return z_factor / (2 * math.sqrt(2 * math.log(2)))


def _sample_rows(x: torch.Tensor, out_rows: int, centred: bool) -> torch.Tensor:
    rows = x.shape[-2]
    f = rows / out_rows
    offset = (f - 1) / 2 if centred else 0.0
    pos = torch.arange(out_rows, dtype=torch.float64) * f + offset
    lo = pos.floor().long().clamp(0, rows - 1)
    hi = (lo + 1).clamp(max=rows - 1)
    w = (pos - pos.floor()).to(x.dtype)[:, None]
    return x[..., lo, :] * (1 - w) + x[..., hi, :] * w


def degrade_slices(x: torch.Tensor, z_factor: float, kind: str, out_rows: int | None = None) -> torch.Tensor:
    """(N, 1, H, W) -> (N, 1, out_rows, W) with the degradation ``kind``."""
    z_factor = check_z_factor(z_factor)
    out_rows = out_rows or max(1, int(round(x.shape[-2] / z_factor)))
    if kind == "cubic":
        return F.interpolate(x, size=(out_rows, x.shape[-1]), mode="bicubic", antialias=True, align_corners=False)
    if kind.startswith("gaussian"):
        sigma = gaussian_sigma(z_factor)
        half = int(math.ceil(3 * sigma))
        taps = torch.arange(-half, half + 1, dtype=x.dtype)
        kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
        kernel = (kernel / kernel.sum()).view(1, 1, -1, 1)
        x = F.conv2d(F.pad(x, (0, 0, half, half), mode="replicate"), kernel)
    if kind in ("take", "gaussian"):
        return _sample_rows(x, out_rows, centred=False)
    if kind in ("take_centred", "gaussian_centred"):
        return _sample_rows(x, out_rows, centred=True)
    raise ValueError(f"Unknown degradation {kind!r}; choose one of {KINDS}")


def degrade_volume(volume: np.ndarray, z_factor: float, kind: str = "cubic") -> np.ndarray:
    """Simulate an anisotropic acquisition of an isotropic (Z, Y, X) volume, keeping its dtype."""
    z_factor = check_z_factor(z_factor)
    depth = max(1, int(round(volume.shape[0] / z_factor)))
    out = np.empty((depth,) + volume.shape[1:], dtype=np.float32)
    for y0 in range(0, volume.shape[1], 32):  # xz slices in batches: z is the vertical axis
        block = torch.from_numpy(np.ascontiguousarray(volume[:, y0:y0 + 32, :].transpose(1, 0, 2), np.float32))
        out[:, y0:y0 + 32, :] = degrade_slices(block[:, None], z_factor, kind, depth)[:, 0].numpy().transpose(1, 0, 2)
    if np.issubdtype(volume.dtype, np.integer):
        info = np.iinfo(volume.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(volume.dtype)
