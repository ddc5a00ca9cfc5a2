"""Hand-made axial degradations, for simulating anisotropic acquisitions and for baselines.

All act along the vertical axis of (N, 1, H, W) tensors or along z of (Z, Y, X) volumes and give
round(H / f) rows, slice ``k`` summarising input rows ``[k*f, (k+1)*f)`` and centred on them (input row ``r``
covers ``[r, r + 1)`` of continuous z; group ``k`` is centred at ``c_k = (k + 0.5) f``):
- ``cubic``: antialiased bicubic downsampling (the paper's simulation protocol);
- ``box``: a serial section one z-step thick: the mean of z over ``[c_k - f/2, c_k + f/2]`` (for integer f,
  the mean of each group of f rows);
- ``box_thick``: a section 1.5 z-steps thick, centred on each group (neighbouring sections overlap);
- ``box_thin``: a section half a z-step thick, centred (gaps between sections, e.g. every other one lost);
- ``take_centred``: the row at the centre of each group;
- ``gaussian_centred``: Gaussian blur (FWHM = f, see ``gaussian_sigma``) sampled at the centre of each group.
Off-centre variants, registration tests (their output is shifted by (f - 1) / 2 rows against the others):
- ``take``: every f-th row, from the first row of each group (the paper's "Take");
- ``gaussian``: the Gaussian blur sampled from the first row of each group.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from ..geometry import linear_read_weights
from ..settings.zfactor import check_z_factor

KINDS = ("cubic", "box", "box_thick", "box_thin", "take_centred", "gaussian_centred", "take", "gaussian")
OFF_CENTRE_KINDS = ("take", "gaussian")
BOX_THICKNESS = {"box": 1.0, "box_thick": 1.5, "box_thin": 0.5}  # section thickness in z-steps


def gaussian_sigma(z_factor: float) -> float:
    """FWHM equal to the section spacing: sigma = f / (2 sqrt(2 ln 2)) (4.25 for f = 10)."""
    return z_factor / (2 * math.sqrt(2 * math.log(2)))


def box_weights(in_rows: int, out_rows: int, z_factor: float, thickness: float = 1.0) -> np.ndarray:
    """(out_rows, in_rows) weights of a section ``thickness`` z-steps thick integrating continuous z.

    Output row ``k`` integrates z over ``[c_k - t f / 2, c_k + t f / 2]``, ``c_k = (k + 0.5) f``: input row
    ``r`` weighs its overlap with that window (``[r, r + 1)``, so fractional rows count in part, for any f).
    At the volume's ends a window that sticks out is renormalised over the rows that exist (the mean of
    the part of the section inside the volume), so each row of weights sums to 1.
    """
    f = check_z_factor(z_factor)
    if not thickness >= 0:
        raise ValueError(f"section thickness must be >= 0, got {thickness}")
    centres = (np.arange(out_rows, dtype=np.float64) + 0.5) * f
    if out_rows and centres[-1] > in_rows:
        raise ValueError(f"{out_rows} sections of z-factor {f:g} need {out_rows * f - f / 2:g} input rows, "
                         f"got {in_rows}")
    if thickness == 0:  # single planes (FIB-SEM's milled faces), read between row centres (row r: r + 1/2)
        return linear_read_weights(centres - 0.5, in_rows)
    lo, hi = centres - thickness * f / 2, centres + thickness * f / 2
    rows = np.arange(in_rows, dtype=np.float64)
    overlap = np.minimum(rows[None, :] + 1, hi[:, None]) - np.maximum(rows[None, :], lo[:, None])
    weights = np.clip(overlap, 0.0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def section_slices(x: torch.Tensor, z_factor: float, thickness, out_rows: int | None = None) -> torch.Tensor:
    """(N, 1, H, W) -> (N, 1, out_rows, W): serial sections ``thickness`` z-steps thick, centred on each group
    of f rows (:func:`box_weights`); ``thickness``: one for the batch or a sequence of N, one per patch;
    ``out_rows`` defaults to round(H / f)."""
    out_rows = out_rows or max(1, int(round(x.shape[-2] / check_z_factor(z_factor))))
    if np.ndim(thickness) == 0:
        weights = box_weights(x.shape[-2], out_rows, z_factor, float(thickness))
    else:
        if len(thickness) != x.shape[0]:
            raise ValueError(f"{len(thickness)} thicknesses for a batch of {x.shape[0]}")
        weights = np.stack([box_weights(x.shape[-2], out_rows, z_factor, float(t)) for t in thickness])
        weights = weights[:, None]  # (N, 1, out_rows, H): one matrix per patch
    return torch.matmul(torch.from_numpy(weights).to(x.dtype).to(x.device), x)


def section_taps(z_factor: float, thickness: float) -> np.ndarray:
    """The centred 1D kernel (odd length, taps one lateral pixel apart, summing to 1) of a section
    ``thickness`` z-steps thick: tap ``t`` weighs the overlap of ``[t - 1/2, t + 1/2]`` with the section
    (thickness 0, a plane: the single tap 1)."""
    half = thickness * check_z_factor(z_factor) / 2
    if half == 0:
        return np.ones(1)
    reach = int(math.ceil(half - 0.5))
    t = np.arange(-reach, reach + 1, dtype=np.float64)
    taps = np.clip(np.minimum(t + 0.5, half) - np.maximum(t - 0.5, -half), 0.0, None)
    return taps / taps.sum()


def stacked_section_taps(z_factor: float, thicknesses) -> np.ndarray:
    """(N, taps) :func:`section_taps` of each thickness, zero-padded on both sides to the longest."""
    taps = [section_taps(z_factor, float(t)) for t in thicknesses]
    width = max(len(k) for k in taps)
    return np.stack([np.pad(k, (width - len(k)) // 2) for k in taps])


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
    if kind in BOX_THICKNESS:
        return section_slices(x, z_factor, BOX_THICKNESS[kind], out_rows)
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
