"""Computing one output block: the xz and yz passes over its halo'd input, fused, halo cropped."""

from __future__ import annotations

import ctypes
import sys

import numpy as np

from ...model.intensity import Normalizer
from ...settings.device import resolve_device
from ..fusion import PLAIN, by_slabs
from .plan import Block


def _net_on(net, device, channels_last: bool = True):
    """A private copy of the network to run one block with: on ``device``, in eval mode and in channels-last
    memory format (measured ~1.4x faster for the 3x3 convolutions on this project's CPUs). The given module
    is never modified. A fresh copy per block costs ~1 ms (85k parameters) against seconds for the block,
    so nothing is cached: a network trained further between two calls is always used as it is now."""
    import copy

    import torch

    clone = copy.deepcopy(net).to(device).eval()
    return clone.to(memory_format=torch.channels_last) if channels_last else clone


def _forward(net, slices: np.ndarray, out_rows: int, device) -> np.ndarray:
    """(n, rows, W) normalised slices -> (n, out_rows, W), one batched forward pass."""
    import torch

    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(slices))[:, None].to(device)
        return net(x, out_rows)[:, 0].float().cpu().numpy()


def compute_block(raw, net, block: Block, normalizer: Normalizer, axes=("xz", "yz"), batch_size: int = 8,
                  device="cpu", fusion=PLAIN):
    """The output block from its halo'd input ``raw`` (input intensities): the xz and yz passes fused,
    halo cropped, averaged and mapped back to the input dtype exactly as :func:`slice_passes` does.
    A ``fusion`` with several outputs (:class:`uncertainty.FlipEnsemble`) returns a tuple of blocks."""
    device = resolve_device(str(device))
    net = _net_on(net, device)
    unit = by_slabs(normalizer.to_unit, raw, np.float32)
    kz, ky, kx = block.keep
    acc = fusion.accumulator((kz.stop - kz.start, ky.stop - ky.start, kx.stop - kx.start), len(axes))

    def forward(slices):
        return _forward(net, slices, block.out_rows, device)

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
                output=0):
    """One block's output; with ``shared`` (a :class:`fusion.SharedBlocks`) output ``output`` of the
    fusion's several, the others kept for the tasks that ask for them."""
    if shared is not None:
        return shared.take(block.index, output, lambda: _block_task(source, region, net, block, normalizer,
                                                                    axes, batch_size, device, fusion))
    values = compute_block(_read(source, region), net, block, normalizer, axes, batch_size, device, fusion)
    _trim_heap()
    return values

