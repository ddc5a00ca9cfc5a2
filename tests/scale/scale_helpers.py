"""Helpers shared by the scale tests (importable by dask worker processes, hence a plain module)."""

import numpy as np
import torch

from napari_isorecon.core.networks.backbones import build_backbone
from napari_isorecon.core.networks.generators import AxialInterpolator

LOADS = 0  # how many times this process deserialised a CountingNet


def _count_load():
    global LOADS
    LOADS += 1
    return _LoadCounter()


class _LoadCounter:
    """Unpickling it counts: distributed ships a module's attributes one by one, so this sees every copy."""

    def __reduce__(self):
        return (_count_load, ())

    def __deepcopy__(self, memo):  # a local copy is not a shipment
        return _LoadCounter()


def loads() -> int:
    return LOADS


class CountingInterpolator(AxialInterpolator):
    def __init__(self, z_factor, order="cubic"):
        super().__init__(z_factor, order)
        self.counter = _LoadCounter()


def random_backbone(name="edsr", z_factor=4.0, channels=8, blocks=1, std=0.2, seed=0):
    """An untrained backbone with random weights everywhere (its zero-initialised tail included), so
    that it is far from plain interpolation and every layer matters."""
    torch.manual_seed(seed)
    net = build_backbone(name, z_factor, channels, blocks)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=std)
    return net.eval()


def failing_copy(net, fail_at):
    """A copy of ``net`` (same class and weights, so the same job) whose ``fail_at``-th forward call raises:
    a crash in the middle of a run."""
    import copy

    clone = copy.deepcopy(net)
    calls = [0]
    forward = clone.forward

    def failing(x, out_rows=None):
        calls[0] += 1
        if calls[0] == fail_at:
            raise RuntimeError("simulated crash")
        return forward(x, out_rows)

    clone.forward = failing
    return clone


def smooth_volume(shape, seed=0, dtype=np.uint8):
    """A smooth random volume (sums of a few low-frequency waves) scaled to the dtype's range."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(*[np.linspace(0, 1, n, dtype=np.float32) for n in shape], indexing="ij")
    v = np.zeros(shape, np.float32)
    for _ in range(6):
        k = rng.uniform(2, 12, 3)
        v += np.sin(2 * np.pi * (k[0] * z + k[1] * y + k[2] * x) + rng.uniform(0, 6.3))
    v += 0.3 * rng.standard_normal(shape).astype(np.float32)
    v = (v - v.min()) / (v.max() - v.min())
    if np.dtype(dtype).kind == "f":
        return v.astype(dtype)
    return (v * 255).astype(dtype)
