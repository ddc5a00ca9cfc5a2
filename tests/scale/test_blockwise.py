"""Blockwise reconstruction equals the whole-volume one to float rounding, and shows no seam."""

import numpy as np
import pytest
from scale_helpers import random_backbone, smooth_volume

from napari_isorecon.core.inference.blockwise import (
    plan_blocks,
    reconstruct_blockwise,
    reconstruct_model_blockwise,
)
from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end, slice_passes
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.model.iso_model import IsoModel
from napari_isorecon.core.settings.config import ReconConfig, TrainConfig

CPU = ReconConfig(device="cpu", precision="float32")  # the machinery is exact in float32
FLOAT = Normalizer(0.0, 1.0, "<f4")
BLOCK = (6, 16, 16)  # small blocks: several in every axis of a tiny volume


def _whole(volume, net, z_factor, normalizer=FLOAT, cfg=CPU):
    return run_to_end(slice_passes(volume, net, z_factor, normalizer, cfg)).volume


@pytest.mark.parametrize("backbone, z_factor, depth", [
    ("edsr", 4.0, 20),  # integer factor: any z block works
    ("edsr", 2.5, 20),  # lattice 2: z edges even
    ("rcan", 3.0, 13),  # largest receptive field, uneven last blocks
    ("drcnet", 2.5, 21),  # 21 * 2.5 = 52.5 -> D = 52, lattice 21: one z block, tiled in y and x
])
def test_blockwise_equals_whole_volume(backbone, z_factor, depth):
    net = random_backbone(backbone, z_factor)
    volume = smooth_volume((depth, 40, 48), dtype=np.float32)
    whole = _whole(volume, net, z_factor)
    plan = plan_blocks(volume.shape, z_factor, net.receptive_radius, BLOCK)
    assert plan.grid[1] == plan.grid[2] == 3 and plan.n_blocks >= 9
    blockwise = reconstruct_blockwise(volume, net, z_factor, FLOAT, CPU, block=BLOCK).compute(scheduler="threads")
    assert blockwise.shape == whole.shape and blockwise.dtype == whole.dtype
    scale = float(np.abs(whole).max())
    assert scale > 0.5  # a real signal, not zeros
    assert np.abs(blockwise - whole).max() <= 1e-5 * scale
    assert not np.allclose(whole, _whole(volume, random_backbone(backbone, z_factor, seed=1), z_factor))


def test_non_integer_factor_z_blocks_sit_on_the_lattice():
    plan = plan_blocks((20, 40, 40), 2.5, radius=9, block=(5, 16, 16))
    assert plan.lattice == 2 and plan.depth == 50
    assert all(k % 2 == 0 for k in plan.z_edges) and plan.halo_z % 2 == 0 and plan.halo_z >= 10
    for blk in plan.blocks():  # each block asks for exactly the global number of output rows
        a, b = blk.read[0].start, blk.read[0].stop
        assert blk.out_rows * 20 == (b - a) * 50
    assert plan_blocks((21, 40, 40), 2.5, 9, (5, 16, 16)).z_edges == (0, 21)


def test_block_boundary_is_invisible_in_a_profile_across_it():
    """A line profile across a y and a z block edge: the blockwise profile follows the whole-volume one,
    while the same blocks without halo show a jump at the edge (so the check can fail)."""
    z_factor = 4.0
    net = random_backbone("edsr", z_factor, std=0.1)
    volume = smooth_volume((20, 40, 48), seed=3, dtype=np.float32)
    whole = _whole(volume, net, z_factor)
    plan = plan_blocks(volume.shape, z_factor, net.receptive_radius, BLOCK)
    good = reconstruct_blockwise(volume, net, z_factor, FLOAT, CPU, block=BLOCK).compute()
    bad = reconstruct_blockwise(volume, net, z_factor, FLOAT, CPU, block=BLOCK, halo=(0, 0)).compute()
    y_edge, z_edge = plan.y_edges[1], plan.out_row(plan.z_edges[1])
    profiles = {"y": lambda v: v[30, y_edge - 6:y_edge + 6, 20], "z": lambda v: v[z_edge - 8:z_edge + 8, 20, 20]}
    for axis, profile in profiles.items():
        ref = profile(whole)
        jump = np.abs(np.diff(profile(good) - ref)).max()
        assert jump <= 1e-5 * np.abs(ref).max(), axis
        assert np.abs(np.diff(profile(bad) - ref)).max() > 1e-2, axis  # no halo: a visible seam


def test_model_blockwise_matches_reconstruct_in_the_input_dtype(em_volume):
    """The trained-model path on the real uint8 sample: identical to ``reconstruct`` but for rare
    roundings of values that sit on .5 after float-rounding differences."""
    model = IsoModel(TrainConfig(z_factor=5, steps=1, minutes=None, channels=8, blocks=1, device="cpu"),
                     Normalizer(0, 255, "|u1"))
    model.networks["g_lh"] = random_backbone("edsr", 5.0, std=0.05)
    cfg = ReconConfig(device="cpu", batch_size=16)
    whole = run_to_end(reconstruct(em_volume, model, cfg)).volume
    lazy = reconstruct_model_blockwise(em_volume, model, cfg, block=(4, 48, 64))
    assert lazy.numblocks == (3, 3, 4)
    blockwise = lazy.compute()
    assert blockwise.dtype == np.uint8 and blockwise.shape == whole.shape == (50, 100, 200)
    diff = np.abs(blockwise.astype(int) - whole.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
    assert np.abs(whole.astype(int) - np.repeat(em_volume, 5, axis=0)).mean() > 1  # not a trivial output
