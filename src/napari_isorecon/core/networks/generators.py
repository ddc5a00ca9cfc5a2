"""The CycleGAN's other networks: the degradation generator G_hl and the discriminators D_l, D_h.

G_lh is a reconstruction backbone (see :mod:`backbones`).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import IsoReconError
from .resample import axial_resize


class AxialDegradation(nn.Module):
    """G_hl: HR (N, 1, H, W) -> LR (N, 1, out_rows, W), degrading along the vertical axis.

    Main path: a learned 1D axial kernel (support +-2f rows; free taps start as the f-row box, i.e. the
    paper's average pooling; the section model at the sections' thickness) followed by sampling at the centre of each group of f rows. A handful of
    parameters that the adversarial game pins down fast, and that can express blur, section thickness
    and an off-centre sampling. Residual path, as in the paper: average pooling by f then residual
    blocks without batch norm, its last convolution zero-initialised, for what a kernel cannot express.
    """

    def __init__(self, z_factor: float, channels: int = 16, blocks: int = 2, kernel_model: str = "free",
                 thickness: float = 1.0):
        super().__init__()
        self.z_factor = float(z_factor)
        self.kernel_model = kernel_model
        half = int(math.ceil(2 * self.z_factor))
        taps = torch.arange(-half, half + 1, dtype=torch.float32)
        self.register_buffer("taps", taps, persistent=False)
        self.kernel_lr_scale = 1.0  # the kernel's learning rate relative to the generators' (see below)
        if kernel_model == "free":
            # overlap of each unit tap [t-0.5, t+0.5] with the centred box [-f/2, f/2], whatever the sections'
            # thickness: started as a thin box, the taps grew long tails on a real stack (docs/method.md)
            box = (torch.minimum(taps + 0.5, torch.tensor(self.z_factor / 2))
                   - torch.maximum(taps - 0.5, torch.tensor(-self.z_factor / 2))).clamp(min=0)
            self.kernel = nn.Parameter(box / box.sum())
        elif kernel_model == "section":
            # log(thickness / f) and log(blur sigma / f): starts as the sections' box, slightly blurred
            # (a plane, thickness 0, starts as one lateral pixel: the log needs a width)
            start = max(thickness, 1 / self.z_factor)
            self.kernel = nn.Parameter(torch.tensor([math.log(start), math.log(0.1)]))
            # Adam moves a parameter by about its learning rate per step: at the generators' 2e-4 a log-thickness
            # would need ~3,500 steps to go from one z-step to half of one; free taps (~1/f each) move fast
            self.kernel_lr_scale = 25.0
        else:
            raise ValueError(f"kernel_model must be 'free' or 'section', got {kernel_model!r}")
        self.residual = None
        if blocks > 0:
            layers = [nn.Conv2d(2, channels, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
            for _ in range(blocks):
                layers += [_Residual(channels)]
            tail = nn.Conv2d(channels, 1, 3, padding=1)
            nn.init.zeros_(tail.weight)
            nn.init.zeros_(tail.bias)
            self.residual = nn.Sequential(*layers, tail)

    def out_rows(self, rows: int) -> int:
        return max(1, int(round(rows / self.z_factor)))

    def axial_kernel(self) -> torch.Tensor:
        """The normalised taps, one per lateral pixel along z, centred on the sampled row."""
        if self.kernel_model == "free":
            return self.kernel / self.kernel.sum()
        thickness, sigma = self.section_shape()
        return section_kernel(self.taps, thickness, sigma)

    def section_shape(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(thickness, blur sigma) in lateral pixels of the "section" kernel model."""
        f = self.z_factor
        thickness = f * torch.exp(self.kernel[0]).clamp(max=3.5)
        sigma = f * torch.exp(self.kernel[1]).clamp(min=0.02 / f, max=1.0)
        return thickness, sigma

    def kernel_path(self, x, out_rows: int | None = None):
        """The main path alone: the learned axial kernel, then sampling at the centre of each group of f rows."""
        out_rows = out_rows or self.out_rows(x.shape[-2])
        half = (self.taps.numel() - 1) // 2
        pad_mode = "reflect" if x.shape[-2] > half else "replicate"
        with torch.autocast(x.device.type, enabled=False):  # the learned kernel stays float32 (core.settings.precision)
            x = x.float()
            blurred = F.conv2d(F.pad(x, (0, 0, half, half), mode=pad_mode), self.axial_kernel().view(1, 1, -1, 1))
            return F.interpolate(blurred, size=(out_rows, x.shape[-1]), mode="bilinear", align_corners=False)

    def forward(self, x, out_rows: int | None = None):
        out_rows = out_rows or self.out_rows(x.shape[-2])
        sampled = self.kernel_path(x, out_rows)
        if self.residual is None:
            return sampled
        pooled = F.adaptive_avg_pool2d(x, (out_rows, x.shape[-1]))
        return sampled + self.residual(torch.cat([sampled, pooled], dim=1))


def section_kernel(taps: torch.Tensor, thickness, sigma) -> torch.Tensor:
    """A box of ``thickness`` (a section integrating z) blurred by a Gaussian of ``sigma`` (beam, detector,
    section-to-section blur), integrated over each unit tap [t - 0.5, t + 0.5] and normalised.

    The box convolved with the Gaussian has the profile (Phi((x + w/2)/s) - Phi((x - w/2)/s)) / w; its integral
    over a pixel uses the antiderivative s * psi(x / s) of Phi(x / s), psi(u) = u Phi(u) + phi(u). Thickness
    ~0 gives a Gaussian, sigma ~0 a sharp box; both together cover bicubic-like, thick and thin sections
    and planes, with the centroid pinned at the sampled row.
    """
    def psi(u):
        return u * torch.special.ndtr(u) + torch.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)

    def antiderivative(x):  # of the box * Gaussian profile, times w / s
        return psi((x + thickness / 2) / sigma) - psi((x - thickness / 2) / sigma)

    taps = taps.double()  # the differences of psi cancel badly in float32 for thin sections
    thickness, sigma = torch.as_tensor(thickness).double(), torch.as_tensor(sigma).double()
    weights = (antiderivative(taps + 0.5) - antiderivative(taps - 0.5)).clamp(min=0)
    return (weights / weights.sum()).float()


class _Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2, inplace=True),
                                  nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class AxialDiscriminator(nn.Module):
    """D_l: four strided 3x7 convolutions with LeakyReLU, striding along x (the LR rows are few)."""

    def __init__(self, channels: int = 32):
        super().__init__()
        widths = [1, channels, 2 * channels, 4 * channels, 4 * channels]
        layers = []
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_out, (3, 7), stride=(1, 2), padding=(1, 3)), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(widths[-1], 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """D_h: a PatchGAN (three 4x4 convolutions of stride 2, then 3x3), judging overlapping patches."""

    MIN_SIZE = 16

    def __init__(self, channels: int = 32):
        super().__init__()
        widths = [1, channels, 2 * channels, 4 * channels]
        layers = []
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(widths[-1], widths[-1], 3, padding=1), nn.LeakyReLU(0.2, True),
                   nn.Conv2d(widths[-1], 1, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        short = [max(0, self.MIN_SIZE - n) for n in x.shape[-2:]]
        if any(short):  # very small patches (tiny factors): pad so that three stride-2 layers fit
            x = F.pad(x, (0, short[1], 0, short[0]), mode="replicate")
        return self.net(x)


class AxialInterpolator(nn.Module):
    """Plain interpolation along z with the same interface and geometry as a backbone."""

    receptive_radius = 2
    exact_arithmetic = True  # the reference: always float32 (core.settings.precision)

    def __init__(self, z_factor: float, order: str = "cubic"):
        super().__init__()
        if order not in ("linear", "cubic"):
            raise IsoReconError(f"The interpolation order must be 'linear' or 'cubic', got {order!r}.")
        self.z_factor, self.order = float(z_factor), order

    def forward(self, x, out_rows: int | None = None):
        out_rows = out_rows or max(1, int(round(x.shape[-2] * self.z_factor)))
        return axial_resize(x, out_rows, self.order)
