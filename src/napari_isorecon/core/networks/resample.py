"""Resampling along the vertical (z) axis of 2D slices, with the align_corners=False geometry.

Cubic is Keys' kernel with a = -0.5 (the one that reproduces linear ramps exactly, as in MATLAB's
imresize); torch's own bicubic uses a = -0.75, which wobbles on smooth gradients.
"""

from __future__ import annotations

import functools
import math

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



def overlap_add_rows(blocks: torch.Tensor, sub_rows: int, window: str = "cosine") -> torch.Tensor:
    """Sub-pixel rows without seams: ``blocks`` (N, 2r, rows, W) holds, for every input row k, 2r output rows
    centred on the r rows that row k stands for; each block is weighted by a window (rising over its first r
    rows, falling over its last r) and overlap-added with stride r, so that the output between two input rows
    cross-fades from one row's prediction to the next one's. Returns (N, 1, rows * r, W).

    ``window``: "cosine" (raised cosine, the default) or "triangle" (models trained before 2026-12-03). Both
    sum to one over the overlap; with the triangle (a kink at its centre) the z spectrum of a reconstructed
    stack kept a peak at 2/F, measured in docs/method.md.

    With one block per row and no overlap (plain pixel shuffle), the output changes abruptly where one row's
    block meets the next one's, once per input row: the section spacing printed into the volume. Where only
    one block reaches (the first and last half rows), its window is divided out, so every output row is a
    weighted mean of the blocks that cover it.
    """
    n, two_r, rows, cols = blocks.shape
    r = int(sub_rows)
    # The window is a constant, computed in float64 whatever the blocks' precision: in bfloat16, cos(pi t / r)
    # near 2 pi rounds to 1 for r >= 25, a weight became exactly 0 and the cover below 0, and the division's
    # gradient 0/0 (NaN) broke training at x25 (sin^2 is the same raised cosine without that cancellation).
    t = torch.arange(two_r, dtype=torch.float64, device=blocks.device) + 0.5
    # both sum to one over the overlap: weights[i] + weights[i + r] == 1; the cosine has no kink at the centre
    weights = 1 - (t - r).abs() / r if window == "triangle" else torch.sin(0.5 * math.pi * t / r) ** 2
    weights = weights.to(blocks.dtype)
    weighted = (blocks * weights.view(1, two_r, 1, 1)).permute(0, 2, 1, 3)  # (N, rows, 2r, W)
    pad = weighted.new_zeros(n, 1, r, cols)
    # segment s (r output rows) gets the second half of block s - 1 and the first half of block s
    summed = torch.cat([weighted[:, :, :r], pad], dim=1) + torch.cat([pad, weighted[:, :, r:]], dim=1)
    cover = torch.cat([weights[:r].expand(rows, r), weights[:r].new_zeros(1, r)], dim=0) \
        + torch.cat([weights[:r].new_zeros(1, r), weights[r:].expand(rows, r)], dim=0)  # (rows + 1, r)
    shift = r // 2  # block k is centred on the rows of input row k: it starts r // 2 rows before them
    first, last = r - shift, r - shift + rows * r  # only the kept rows are divided: none has a zero cover
    summed = summed.reshape(n, 1, (rows + 1) * r, cols)[:, :, first:last]
    return summed / cover.reshape(1, 1, (rows + 1) * r, 1)[:, :, first:last]
