"""The output's mean held to the sections' at every position between two sections.

Where the sections leave the answer open (between two of them), stage 2 predicts what the *lateral* images say
could be there. Along z the tissue is not as it is laterally (the CREMI neuropil changes about twice as slowly
along z as along y or x), so that prediction is off by an amount that depends on where the row lies between two
sections: on the CREMI hidden-section check the L2 network darkened the rows midway between sections by about
4.5 grey levels and brightened those at the sections by about 1 (docs/method.md, "Intensity").

What the volume does tell is the first moment: where the sections were cut is chance, so the tissue's mean
intensity cannot depend on a row's position relative to them (its *phase*, 0 at a section's centre, 0.5
midway). After training, :func:`measure_phase_levels` reconstructs a sample of the training volume's axial
slices and fits, as a short Fourier series in the phase, how far the output's row means lie from the sections'
means interpolated to the same rows; :class:`PhaseLevelled` takes that off every output row. Only the mean per
phase is moved: the network's detail is untouched.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..geometry import output_depth

MAX_HARMONICS = 4  # the section grid shows at 1/F and 2/F; four harmonics follow any smooth profile
# what the measurement reads: this many xz and as many yz slices, each the centre SAMPLE_SECTIONS sections of a
# centred SAMPLE_WIDTH-pixel window (one slice at a time: a volume larger than memory is never loaded)
SAMPLE_SLICES, SAMPLE_WIDTH, SAMPLE_SECTIONS = 8, 256, 64


def harmonics_for(z_factor: float) -> int:
    """Harmonics of the section period that the output rows resolve (at most ``MAX_HARMONICS``)."""
    return max(1, min(MAX_HARMONICS, int(z_factor // 2)))


def row_phases(in_rows: int, out_rows: int) -> np.ndarray:
    """Each output row's position between two input rows (0: on a row's centre, 0.5: midway), with the
    engine's align_corners=False geometry."""
    pos = (np.arange(out_rows) + 0.5) * in_rows / out_rows - 0.5
    return pos - np.floor(pos)


def _design(phase: np.ndarray, harmonics: int) -> np.ndarray:
    columns = [np.ones_like(phase)]
    for h in range(1, harmonics + 1):
        columns += [np.cos(2 * np.pi * h * phase), np.sin(2 * np.pi * h * phase)]
    return np.stack(columns, axis=-1)


def levels_at(coefficients: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """The fitted offset (unit scale) at ``phase``."""
    coefficients = np.asarray(coefficients, dtype=np.float64)
    return _design(np.asarray(phase, dtype=np.float64), (len(coefficients) - 1) // 2) @ coefficients


class PhaseLevelled(nn.Module):
    """``net``'s output with the measured offset of each row's phase taken off. Same call as the backbones
    (``(N, 1, H, W), out_rows -> (N, 1, out_rows, W)``), TorchScript-able when ``net`` is."""

    def __init__(self, net: nn.Module, coefficients):
        super().__init__()
        self.net = net
        self.register_buffer("coefficients", torch.as_tensor(np.asarray(coefficients, dtype=np.float32)))
        self.harmonics = int((len(coefficients) - 1) // 2)
        self.receptive_radius = int(getattr(net, "receptive_radius", 0))
        self.name = str(getattr(net, "name", type(net).__name__))  # the backbone's, as the engine reports it

    def forward(self, x: torch.Tensor, out_rows: int) -> torch.Tensor:
        y = self.net(x, out_rows)
        rows = x.shape[-2]
        pos = (torch.arange(out_rows, dtype=torch.float64, device=x.device) + 0.5) * rows / out_rows - 0.5
        angle = 2 * math.pi * (pos - torch.floor(pos))
        c = self.coefficients.to(torch.float64)
        offset = c[0] + torch.zeros_like(angle)
        for h in range(1, self.harmonics + 1):
            offset = offset + c[2 * h - 1] * torch.cos(h * angle) + c[2 * h] * torch.sin(h * angle)
        return y - offset.to(y.dtype).view(1, 1, out_rows, 1)


def _sample_slices(volume, slices: int, width: int, max_sections: int) -> tuple[np.ndarray, int]:
    """Up to ``slices`` xz and ``slices`` yz slices (n, Zw, W) from the centre ``max_sections`` sections and
    a centred ``width`` window; and the first section's index."""
    z, y, x = volume.shape
    z0 = max(0, (z - max_sections) // 2)
    z1 = min(z, z0 + max_sections)
    parts = []
    for axis, count, across in (("xz", y, x), ("yz", x, y)):
        w = min(width, across)
        a0 = (across - w) // 2
        for k in np.unique(np.linspace(0, count - 1, slices + 2)[1:-1].round().astype(int)):
            if axis == "xz":
                parts.append(np.asarray(volume[z0:z1, k, a0:a0 + w]))
            else:
                parts.append(np.asarray(volume[z0:z1, a0:a0 + w, k]))
    common = min(p.shape[1] for p in parts)
    return np.stack([p[:, :common] for p in parts]), z0


@torch.inference_mode()
def measure_phase_levels(net: nn.Module, volume, normalizer, z_factor: float, not_real=(),
                         slices: int = SAMPLE_SLICES, width: int = SAMPLE_WIDTH,
                         max_sections: int = SAMPLE_SECTIONS) -> np.ndarray | None:
    """Fourier coefficients (unit scale; constant, then cos/sin per harmonic) of how far ``net``'s output row
    means lie from the input sections' means, against the rows' phase; None when the volume has too few
    sections to tell (fewer than 6 rows' worth of usable sections inside the first and last one).

    ``not_real``: sections that are no real image (``core.checks.artefacts``): rows next to them are left out.
    """
    stack, z0 = _sample_slices(volume, slices, width, max_sections)
    zw = stack.shape[1]
    depth = output_depth(zw, z_factor)
    harmonics = harmonics_for(z_factor)
    unit = normalizer.to_unit(stack)
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    try:
        out = net(torch.from_numpy(unit)[:, None].to(device), depth)[:, 0].float().cpu().numpy()
    finally:
        net.train(was_training)
    row_mean = out.mean(axis=(0, 2)).astype(np.float64)
    section_mean = unit.mean(axis=(0, 2)).astype(np.float64)
    pos = (np.arange(depth) + 0.5) * zw / depth - 0.5
    keep = (pos >= 1) & (pos <= zw - 2)
    bad = {k - z0 for k in not_real}
    if bad:
        near = np.floor(pos).astype(int)
        keep &= ~np.isin(near, [b + d for b in bad for d in (-2, -1, 0, 1)])
    if keep.sum() < 2 * harmonics + 1 or keep.sum() < 6:
        return None
    reference = np.interp(pos, np.arange(zw), section_mean)
    design = _design(pos[keep] - np.floor(pos[keep]), harmonics)
    coefficients, *_ = np.linalg.lstsq(design, row_mean[keep] - reference[keep], rcond=None)
    return coefficients.astype(np.float32)


def describe_phase_levels(model) -> str:
    """One line on what the model takes off its rows between sections, in the input's grey levels."""
    if model.phase_levels is None:
        return "mean between sections: not held (a model from before, or hold_section_mean off)"
    span = model.normalizer.high - model.normalizer.low
    phase = np.linspace(0, 1, 41)
    offset = levels_at(model.phase_levels, phase) * span
    at_section, midway = offset[0], offset[20]
    return (f"mean between sections held to the sections': the network's rows were {at_section:+.2f} grey levels "
            f"off at a section and {midway:+.2f} midway (taken off; largest {np.abs(offset).max():.2f})")
