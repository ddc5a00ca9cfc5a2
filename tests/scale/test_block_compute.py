"""compute_block runs the network as it is at the call: weights changed in place (more training) are used,
and the caller's module is left as it was (device, mode, memory format)."""

import numpy as np
import torch
from scale_helpers import random_backbone, smooth_volume

from napari_isorecon.core.inference.blockwise import compute_block, plan_blocks
from napari_isorecon.core.model.intensity import Normalizer

FLOAT = Normalizer(0.0, 1.0, "<f4")


def test_weights_changed_in_place_between_calls_are_used():
    net = random_backbone("edsr", 4.0)
    volume = smooth_volume((8, 24, 24), dtype=np.float32)
    plan = plan_blocks(volume.shape, 4.0, net.receptive_radius, (8, 24, 24))
    block = next(plan.blocks())
    raw = volume[block.read]
    before = compute_block(raw, net, block, FLOAT)
    assert np.array_equal(before, compute_block(raw, net, block, FLOAT))  # same weights, same block
    net.train()
    with torch.no_grad():  # what an optimiser step does: in place, same module object
        for p in net.parameters():
            p.mul_(1.5)
    after = compute_block(raw, net, block, FLOAT)
    assert np.abs(after - before).max() > 1e-3
    assert net.training  # the caller's module is not switched to eval
    assert all(p.is_contiguous() for p in net.parameters())  # nor converted to channels-last
