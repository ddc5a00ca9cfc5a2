"""The whole reconstruction as one TorchScript-able torch module: raw 3D volume in, isotropic volume out.

:class:`IsotropicVolumeNetwork` does what :func:`reconstruct.reconstruct` does, in one ``forward``:

1. intensities -> unit range with the model's fixed normaliser (the training volume's 0.5 / 99.5
   percentiles; NaN -> 0, clipped to [-1, 2]), in float64 like :class:`intensity.Normalizer`;
2. the reconstruction network over every xz slice and over every yz slice (``slice_batch`` slices at a
   time), each upsampling z from ``Z`` to ``D = round(Z * f)`` rows;
3. the mean of the two passes, mapped back to intensities; for an integer training dtype rounded (half
   to even, like ``np.rint``) and clipped to that dtype's range, still as float32 values.

So a consumer that runs the module gets the isotropic result, not one pass of it, and needs to know
nothing about our normalisation. The backbones' own ``forward`` uses numpy for its cubic taps and is not
scriptable; :func:`scriptable_slice_network` wraps the *same* submodules (shared weights) with
torch-only forwards that compute the same taps (checked against the engine in ``tests``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..networks.resample import overlap_add_rows


def _keys_weights(t: torch.Tensor) -> torch.Tensor:
    """Keys' cubic kernel with a = -0.5 (as ``resample._keys``), on float64."""
    a = -0.5
    t = t.abs()
    near = (a + 2) * t**3 - (a + 3) * t**2 + 1
    far = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return torch.where(t <= 1, near, torch.where(t < 2, far, torch.zeros_like(t)))


def cubic_resize(x: torch.Tensor, out_rows: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, out_rows, W) along H; the taps and weights of ``resample.axial_resize``."""
    rows = x.shape[-2]
    pos = (torch.arange(out_rows, dtype=torch.float64, device=x.device) + 0.5) * rows / out_rows - 0.5
    base = torch.floor(pos)
    offsets = torch.arange(-1, 3, dtype=torch.float64, device=x.device)
    index = base[:, None] + offsets[None, :]
    weights = _keys_weights(pos[:, None] - index).to(x.dtype)
    index = index.to(torch.int64).clamp(0, rows - 1)
    out = x.index_select(-2, index[:, 0]) * weights[:, 0].unsqueeze(1)
    for k in range(1, 4):
        out = out + x.index_select(-2, index[:, k]) * weights[:, k].unsqueeze(1)
    return out


def linear_resize(x: torch.Tensor, out_rows: int) -> torch.Tensor:
    return F.interpolate(x, size=(out_rows, x.shape[-1]), mode="bilinear", align_corners=False)


class _SubPixelSlices(nn.Module):
    """``edsr`` / ``rcan``: features at low resolution, sub-pixel rows, plus cubic interpolation."""

    def __init__(self, net):
        super().__init__()
        self.head, self.body, self.tail = net.head, net.body, net.tail
        self.sub_rows = int(net.sub_rows)
        self.join = str(net.join)  # TrainConfig.subpixel_join

    def forward(self, x: torch.Tensor, out_rows: int) -> torch.Tensor:
        n, rows, cols = x.shape[0], x.shape[-2], x.shape[-1]
        feat = self.head(x)
        detail = self.tail(feat + self.body(feat))
        if self.join != "butt":
            detail = overlap_add_rows(detail, self.sub_rows, self.join)
        else:
            detail = detail.permute(0, 2, 1, 3).reshape(n, 1, rows * self.sub_rows, cols)
        if detail.shape[-2] != out_rows:
            detail = linear_resize(detail, out_rows)
        return cubic_resize(x, out_rows) + detail


class _DRCNetSlices(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.head, self.body, self.tail = net.head, net.body, net.tail

    def forward(self, x: torch.Tensor, out_rows: int) -> torch.Tensor:
        up = linear_resize(x, out_rows)
        return up + self.tail(self.body(self.head(up)))


class _VDSRSlices(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.body, self.tail = net.body, net.tail

    def forward(self, x: torch.Tensor, out_rows: int) -> torch.Tensor:
        up = cubic_resize(x, out_rows)
        return up + self.tail(self.body(up))


_WRAPPERS = {"edsr": _SubPixelSlices, "rcan": _SubPixelSlices, "drcnet": _DRCNetSlices, "vdsr": _VDSRSlices}


def scriptable_slice_network(net) -> nn.Module:
    """A scriptable module sharing ``net``'s weights: (N, 1, H, W), out_rows -> (N, 1, out_rows, W)."""
    from ..model.phase_levels import PhaseLevelled

    if isinstance(net, PhaseLevelled):  # the measured phase levels stay taken off (torch-only already)
        return PhaseLevelled(scriptable_slice_network(net.net), net.coefficients.cpu().numpy())
    try:
        wrapper = _WRAPPERS[net.name]
    except (AttributeError, KeyError):
        raise ValueError(f"no scriptable form for network {type(net).__name__}") from None
    return wrapper(net)


class IsotropicVolumeNetwork(nn.Module):
    """(B, 1, Z, Y, X) raw intensities -> (B, 1, round(Z * f), Y, X) isotropic intensities (float32).

    ``low``/``high``: the normaliser's range; ``out_range``: (min, max) of an integer training dtype
    (the output is then rounded and clipped to it), or None for a floating-point one.
    """

    def __init__(self, slice_net, z_factor: float, low: float, high: float,
                 out_range: tuple[float, float] | None, slice_batch: int = 8):
        super().__init__()
        self.slices = scriptable_slice_network(slice_net)
        self.z_factor = float(z_factor)
        self.low, self.span = float(low), float(high) - float(low)
        self.integer_output = out_range is not None
        self.out_min, self.out_max = (float(out_range[0]), float(out_range[1])) if out_range else (0.0, 0.0)
        self.slice_batch = int(slice_batch)

    def output_depth(self, rows: int) -> int:
        """round(rows * f), half to even like Python's ``round`` (geometry.output_depth)."""
        value = rows * self.z_factor
        nearest = math.floor(value + 0.5)
        if nearest - value == 0.5 and nearest % 2 == 1:
            nearest -= 1
        return max(1, int(nearest))

    def _pass(self, slices: torch.Tensor, depth: int) -> torch.Tensor:
        """(n, Z, W) unit-range slices -> (n, depth, W), ``slice_batch`` slices per network call."""
        parts: list[torch.Tensor] = []
        for start in range(0, slices.shape[0], self.slice_batch):
            part = slices[start:start + self.slice_batch].unsqueeze(1)
            parts.append(self.slices(part, depth).squeeze(1))
        return torch.cat(parts, 0)

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        if volume.dim() != 5 or volume.shape[1] != 1:
            raise ValueError("expected a (batch, 1, z, y, x) tensor")
        # float64 like the engine's Normalizer, except where the device has none (Apple MPS)
        exact = torch.float32 if volume.device.type == "mps" else torch.float64
        depth = self.output_depth(volume.shape[2])
        results: list[torch.Tensor] = []
        for b in range(volume.shape[0]):
            unit = (volume[b, 0].to(exact) - self.low) / self.span
            unit = torch.nan_to_num(unit, nan=0.0, posinf=2.0, neginf=-1.0).clamp(-1.0, 2.0).float()
            xz = self._pass(unit.permute(1, 0, 2), depth).permute(1, 0, 2)  # (D, Y, X)
            yz = self._pass(unit.permute(2, 0, 1), depth).permute(1, 2, 0)  # (D, Y, X)
            fused = (xz + yz) / 2.0
            out = fused.to(exact) * self.span + self.low
            if self.integer_output:
                out = torch.round(out).clamp(self.out_min, self.out_max)
            results.append(out.float())
        return torch.stack(results, 0).unsqueeze(1)
