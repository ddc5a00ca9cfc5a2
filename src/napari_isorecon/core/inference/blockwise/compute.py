"""Computing one output block: the xz and yz passes over its halo'd input, fused, halo cropped."""

from __future__ import annotations

import ctypes
import sys

import numpy as np

from ...model.intensity import Normalizer
from ...settings.device import resolve_device
from ...settings.precision import FLOAT32, Precision, precision_for
from ..fusion import PLAIN, by_slabs
from .plan import Block


def _forward(net, slices: np.ndarray, out_rows: int, device, precision: Precision = FLOAT32) -> np.ndarray:
    """(n, rows, W) normalised slices -> (n, out_rows, W), one batched forward pass in ``precision``."""
    import torch

    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(slices))[:, None].to(device)
        with precision.autocast():
            y = net(x, out_rows)
        return y[:, 0].float().cpu().numpy()


def compute_block(raw, net, block: Block, normalizer: Normalizer, axes=("xz", "yz"), batch_size: int = 8,
                  device="cpu", fusion=PLAIN, precision: str = "float32"):
    """The output block from its halo'd input ``raw`` (input intensities): the xz and yz passes fused,
    halo cropped, averaged and mapped back to the input dtype exactly as :func:`slice_passes` does.
    A ``fusion`` with several outputs (:class:`uncertainty.FlipEnsemble`) returns a tuple of blocks.
    ``precision`` is resolved here, on the machine that runs the block (a cluster's workers may differ).
    The network runs as a private copy (:func:`reconstruct.network_copy`): a network trained further
    between two calls is always used as it is now."""
    from ..reconstruct import network_copy

    device = resolve_device(str(device))
    resolved = precision_for(net, precision, device)
    net = network_copy(net, device)
    unit = by_slabs(normalizer.to_unit, raw, np.float32)
    kz, ky, kx = block.keep
    acc = fusion.accumulator((kz.stop - kz.start, ky.stop - ky.start, kx.stop - kx.start), len(axes))

    def forward(slices):
        return _forward(net, slices, block.out_rows, device, resolved)

    for index, axis in enumerate(axes):
        if axis == "xz":  # slices at fixed y: (n, Z, X)
            for s0 in range(ky.start, ky.stop, batch_size):
                s1 = min(ky.stop, s0 + batch_size)
                out = fusion.predict(forward, unit[:, s0:s1, :].transpose(1, 0, 2))
                acc.add(index, np.s_[:, s0 - ky.start:s1 - ky.start, :], out[:, :, kz, kx].transpose(0, 2, 1, 3))
        else:  # slices at fixed x: (n, Z, Y)
            for s0 in range(kx.start, kx.stop, batch_size):
                s1 = min(kx.stop, s0 + batch_size)
                out = fusion.predict(forward, unit[:, :, s0:s1].transpose(2, 0, 1))
                acc.add(index, np.s_[:, :, s0 - kx.start:s1 - kx.start], out[:, :, kz, ky].transpose(0, 2, 3, 1))
    values = acc.finish(normalizer)
    return values[0] if len(values) == 1 else values


def _read(source, region) -> np.ndarray:
    """The input region: ``source`` is the whole input (read here), or already the region (region None)."""
    return np.asarray(source if region is None else source[region])


_LIBC = []


def _trim_heap() -> None:
    """Give freed memory back to the OS after a block (glibc keeps large freed buffers in its heap once
    its dynamic mmap threshold has grown, which made RSS creep up block after block). No-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        if not _LIBC:
            _LIBC.append(ctypes.CDLL("libc.so.6"))
        _LIBC[0].malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, ...)
        pass


def _block_task(source, region, net, block, normalizer, axes, batch_size, device, fusion=PLAIN, shared=None,
                output=0, precision="float32"):
    """One block's output; with ``shared`` (a :class:`fusion.SharedBlocks`) output ``output`` of the
    fusion's several, the others kept for the tasks that ask for them."""
    if shared is not None:
        return shared.take(block.index, output, lambda: _block_task(source, region, net, block, normalizer,
                                                                    axes, batch_size, device, fusion,
                                                                    precision=precision))
    values = compute_block(_read(source, region), net, block, normalizer, axes, batch_size, device, fusion,
                           precision)
    _trim_heap()
    return values

