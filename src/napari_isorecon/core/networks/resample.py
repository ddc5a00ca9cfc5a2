"""Resampling along the vertical (z) axis of 2D slices, with the align_corners=False geometry.

Cubic is Keys' kernel with a = -0.5 (the one that reproduces linear ramps exactly, as in MATLAB's
imresize); torch's own bicubic uses a = -0.75, which wobbles on smooth gradients.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch.nn import functional as F


def _keys(t: np.ndarray, a: float = -0.5) -> np.ndarray:
    t = np.abs(t)
    return np.where(t <= 1, (a + 2) * t**3 - (a + 3) * t**2 + 1,
                    np.where(t < 2, a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a, 0.0))


@functools.lru_cache(maxsize=64)
def _cubic_taps(rows: int, out_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (out_rows, 4) into the input rows (edges replicated) and their weights."""
    pos = (np.arange(out_rows) + 0.5) * rows / out_rows - 0.5
    base = np.floor(pos).astype(np.int64)
    offsets = np.arange(-1, 3)
    index = base[:, None] + offsets[None, :]
    weights = _keys(pos[:, None] - index)
    return np.clip(index, 0, rows - 1), weights.astype(np.float32)


def axial_resize(x: torch.Tensor, out_rows: int, mode: str = "linear") -> torch.Tensor:
    """Resize (N, C, H, W) to (N, C, out_rows, W) along H; ``mode`` is "linear" or "cubic"."""
    if mode == "linear":
        return F.interpolate(x, size=(out_rows, x.shape[-1]), mode="bilinear", align_corners=False)
    if mode != "cubic":
        raise ValueError(f"mode must be 'linear' or 'cubic', got {mode!r}")
    index, weights = _cubic_taps(x.shape[-2], out_rows)
    index = torch.from_numpy(index).to(x.device)
    weights = torch.from_numpy(weights).to(device=x.device, dtype=x.dtype)
    out = x[..., index[:, 0], :] * weights[:, 0, None]
    for k in range(1, 4):
        out = out + x[..., index[:, k], :] * weights[:, k, None]
    return out
