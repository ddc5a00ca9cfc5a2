"""Reconstruction backbones: networks that upsample a 2D slice along its vertical (z) axis.

Every backbone maps ``(N, 1, H, W) -> (N, 1, out_rows, W)`` for any real z-factor (``out_rows`` is
given, so non-integer factors work) and starts as an interpolator: its residual branch ends in a
zero-initialised convolution, so an untrained backbone returns linear (DRCNet) or cubic (the others)
interpolation and training only has to learn the missing detail.

Registered backbones:
- ``drcnet``: the paper's default (linear interpolation first, residual blocks at full resolution).
- ``edsr``: residual blocks at low resolution and a sub-pixel (pixel-shuffle along z) tail: ~f times
  fewer FLOPs than DRCNet for the same width and depth.
- ``rcan``: like ``edsr`` with channel attention (squeeze-excitation) (over a 7x7 window) in every residual block.
- ``vdsr``: cubic interpolation first, a plain conv stack at full resolution, global residual.
"""

from __future__ import annotations

import math

from ..errors import IsoReconError

_REGISTRY: dict[str, type] = {}
ATTENTION_RADIUS = 3
NAMES = ("drcnet", "edsr", "rcan", "vdsr")


def check_backbone(name: str) -> str:
    if name not in NAMES:
        raise IsoReconError(f"Unknown backbone {name!r}; choose one of {', '.join(NAMES)}.")
    return name


def build_backbone(name: str, z_factor: float, channels: int, blocks: int, join: str = "cosine"):
    """The registered backbone ``name`` as a torch module. ``join`` (``TrainConfig.subpixel_join``): how the
    sub-pixel backbones (edsr, rcan) join neighbouring rows' sub-pixel blocks: cross-faded with a "cosine" or
    "triangle" window (``resample.overlap_add_rows``), or "butt"ed together (models trained before the
    cross-fade existed)."""
    check_backbone(name)
    if not _REGISTRY:
        _register_all()
    if name in ("edsr", "rcan"):
        return _REGISTRY[name](z_factor=z_factor, channels=channels, blocks=blocks, join=join)
    return _REGISTRY[name](z_factor=z_factor, channels=channels, blocks=blocks)


def _register_all():
    import torch
    from torch import nn

    from .resample import axial_resize, overlap_add_rows

    class ResBlock(nn.Module):
        def __init__(self, channels: int, attention: bool = False):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
            self.attention = None
            if attention:  # channel attention over a local window (not the whole slice: tiles stay exact)
                hidden = max(4, channels // 8)
                pool = nn.AvgPool2d(2 * ATTENTION_RADIUS + 1, stride=1, padding=ATTENTION_RADIUS,
                                    count_include_pad=False)
                self.attention = nn.Sequential(pool, nn.Conv2d(channels, hidden, 1),
                                               nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1),
                                               nn.Sigmoid())

        def forward(self, x):
            y = self.conv2(torch.relu(self.conv1(x)))
            if self.attention is not None:
                y = y * self.attention(y)
            return x + y

    class AxialBackbone(nn.Module):
        """Base: knows its factor and how far (in input pixels) one output pixel looks."""

        name = ""

        def __init__(self, z_factor: float, channels: int, blocks: int):
            super().__init__()
            self.z_factor = float(z_factor)
            self.channels, self.blocks = channels, blocks

        def out_rows(self, rows: int) -> int:
            return max(1, int(round(rows * self.z_factor)))

        @property
        def receptive_radius(self) -> int:
            """Input pixels each side that influence an output pixel (x and, in LR rows, z)."""
            raise NotImplementedError

    class DRCNet(AxialBackbone):
        name = "drcnet"

        def __init__(self, z_factor, channels, blocks):
            super().__init__(z_factor, channels, blocks)
            self.head = nn.Conv2d(1, channels, 3, padding=1)
            self.body = nn.Sequential(*[ResBlock(channels) for _ in range(blocks)])
            self.tail = nn.Conv2d(channels, 1, 3, padding=1)
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

        def forward(self, x, out_rows: int | None = None):
            up = axial_resize(x, out_rows or self.out_rows(x.shape[-2]), "linear")
            return up + self.tail(self.body(self.head(up)))

        @property
        def receptive_radius(self) -> int:
            return 2 * self.blocks + 2 + 1

    class VDSR(AxialBackbone):
        name = "vdsr"

        def __init__(self, z_factor, channels, blocks):
            super().__init__(z_factor, channels, blocks)
            layers = [nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(inplace=True)]
            for _ in range(2 * blocks):
                layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
            self.body = nn.Sequential(*layers)
            self.tail = nn.Conv2d(channels, 1, 3, padding=1)
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

        def forward(self, x, out_rows: int | None = None):
            up = axial_resize(x, out_rows or self.out_rows(x.shape[-2]), "cubic")
            return up + self.tail(self.body(up))

        @property
        def receptive_radius(self) -> int:
            return 2 * self.blocks + 2 + 2

    class SubPixelNet(AxialBackbone):
        """Features at low resolution, then ``r = ceil(f)`` sub-rows per row, resampled to out_rows. Seamless
        (the default): every row predicts 2r sub-rows centred on its own r, cross-faded with its neighbours'
        (``resample.overlap_add_rows``), so that no seam marks where one row's sub-rows meet the next one's;
        ``join="butt"``: r sub-rows per row, butted together (models trained before the cross-fade)."""

        name = "edsr"
        attention = False

        def __init__(self, z_factor, channels, blocks, join: str = "cosine"):
            super().__init__(z_factor, channels, blocks)
            self.sub_rows = int(math.ceil(self.z_factor))
            self.join = str(join)
            self.seamless = self.join != "butt"  # cross-faded (with the window ``join``)
            self.head = nn.Conv2d(1, channels, 3, padding=1)
            self.body = nn.Sequential(*[ResBlock(channels, self.attention) for _ in range(blocks)],
                                      nn.Conv2d(channels, channels, 3, padding=1))
            self.tail = nn.Conv2d(channels, self.sub_rows * (2 if self.seamless else 1), 3, padding=1)
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

        def forward(self, x, out_rows: int | None = None):
            n, _, rows, cols = x.shape
            out_rows = out_rows or self.out_rows(rows)
            feat = self.head(x)
            detail = self.tail(feat + self.body(feat))  # (n, r or 2r, rows, cols)
            if self.seamless:
                detail = overlap_add_rows(detail, self.sub_rows, self.join)
            else:
                detail = detail.permute(0, 2, 1, 3).reshape(n, 1, rows * self.sub_rows, cols)
            if detail.shape[-2] != out_rows:
                detail = axial_resize(detail, out_rows, "linear")
            return axial_resize(x, out_rows, "cubic") + detail

        @property
        def receptive_radius(self) -> int:
            return 2 * self.blocks + 3 + 2 + int(self.seamless)  # a block reaches half a row further

    class RCAN(SubPixelNet):
        name = "rcan"
        attention = True

        @property
        def receptive_radius(self) -> int:
            return (2 + ATTENTION_RADIUS) * self.blocks + 3 + 2 + int(self.seamless)

    for cls in (DRCNet, SubPixelNet, RCAN, VDSR):
        _REGISTRY[cls.name] = cls
