"""Test-time augmentation: the mean is the result, the spread of the flipped predictions the uncertainty."""

import copy
import threading

import numpy as np
import pytest
import torch

from napari_isorecon.core import ReconConfig, TrainConfig
from napari_isorecon.core.events import ReconFinished, ReconProgress, ReconWithUncertainty
from napari_isorecon.core.inference.blockwise import compute_block
from napari_isorecon.core.inference.fusion import SharedBlocks
from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end, slice_passes
from napari_isorecon.core.inference.uncertainty import (
    ALL_FLIPS,
    LATERAL_FLIPS,
    FlipEnsemble,
    flip_ensemble,
    kernel_asymmetry,
    reconstruct_blockwise_with_uncertainty,
    reconstruct_with_uncertainty,
    write_with_uncertainty_blockwise,
)
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.model.iso_model import IsoModel
from napari_isorecon.core.networks.generators import AxialInterpolator

CPU = ReconConfig(device="cpu", batch_size=16)
UNIT = Normalizer(0.0, 1.0, np.dtype(np.float32).str)


@pytest.fixture(scope="module")
def trained(em_volume):
    """A tiny model after a short training on the real sample (stage 2 on the kernel path)."""
    from napari_isorecon.core.training.train import train_to_end

    cfg = TrainConfig(z_factor=5, steps=40, minutes=None, channels=8, blocks=1, ghl_channels=4, ghl_blocks=1,
                      disc_channels=8, lr_rows=4, patch_width=32, batch_size=2, device="cpu", stage2_pairs="kernel")
    return train_to_end(em_volume, cfg)


def test_an_interpolator_is_flip_equivariant_so_the_mean_is_the_plain_result_and_the_spread_zero(rng):
    volume = rng.random((9, 21, 30), dtype=np.float32)
    plain = run_to_end(interpolate(volume, 3.0, "cubic", CPU)).volume
    event = run_to_end(slice_passes(volume, AxialInterpolator(3.0, "cubic"), 3.0, UNIT, CPU,
                                    fusion=FlipEnsemble(ALL_FLIPS)))
    assert isinstance(event, ReconWithUncertainty) and not event.stopped
    assert event.volume.shape == event.uncertainty.shape == (27, 21, 30)
    assert event.uncertainty.dtype == np.float32
    np.testing.assert_allclose(event.volume, plain, atol=2e-6)
    assert event.uncertainty.max() < 1e-5


def test_the_spread_is_the_standard_deviation_of_the_flipped_predictions_of_both_passes(rng):
    """A network that is not flip-equivariant (it adds a curved ramp along the slice's lateral axis, so the
    passes' means differ too): every prediction is known, so the mean and spread are checked voxel by voxel."""

    class Ramp(torch.nn.Module):
        receptive_radius = 2

        def forward(self, x, out_rows):
            ramp = torch.linspace(0, 0.6, x.shape[-1], dtype=x.dtype) ** 2
            return AxialInterpolator(3.0, "cubic")(x, out_rows) + ramp

    volume = rng.random((6, 17, 20), dtype=np.float32)
    base = run_to_end(interpolate(volume, 3.0, "cubic", CPU)).volume
    ramp_x, ramp_y = np.linspace(0, 0.6, 20, dtype=np.float32) ** 2, np.linspace(0, 0.6, 17, dtype=np.float32) ** 2
    # each prediction flipped back: a lateral flip reverses the ramp; a z flip leaves it
    xz = [base + (ramp_x[::-1] if lateral else ramp_x)[None, None, :] for lateral, _ in ALL_FLIPS]
    yz = [base + (ramp_y[::-1] if lateral else ramp_y)[None, :, None] for lateral, _ in ALL_FLIPS]
    samples = np.stack(xz + yz)
    event = run_to_end(slice_passes(volume, Ramp(), 3.0, UNIT, CPU, fusion=FlipEnsemble(ALL_FLIPS)))
    np.testing.assert_allclose(event.volume, samples.mean(0), atol=1e-5)
    np.testing.assert_allclose(event.uncertainty, samples.std(0), atol=1e-5)
    assert event.uncertainty.max() > 0.1
    # no flips at all: the spread is the disagreement of the xz and the yz pass alone
    passes = run_to_end(slice_passes(volume, Ramp(), 3.0, UNIT, CPU, fusion=FlipEnsemble(((False, False),))))
    np.testing.assert_allclose(passes.uncertainty, np.abs(ramp_x[None, None, :] - ramp_y[None, :, None]) / 2
                               + 0 * base, atol=1e-5)
    # spread in input intensity units: the same volume scaled by 100 has 100 times the spread
    scaled = run_to_end(slice_passes(volume * 100, Ramp(), 3.0, Normalizer(0.0, 100.0, UNIT.dtype), CPU,
                                     fusion=FlipEnsemble(ALL_FLIPS)))
    np.testing.assert_allclose(scaled.uncertainty, 100 * samples.std(0), atol=2e-3)


def test_a_trained_network_has_a_positive_spread_and_a_mean_close_to_its_plain_result(em_volume, trained):
    plain = run_to_end(reconstruct(em_volume, trained, CPU)).volume
    events = list(reconstruct_with_uncertainty(em_volume, trained, CPU))
    final = events[-1]
    assert isinstance(final, ReconWithUncertainty) and final.volume.dtype == np.uint8
    assert final.volume.shape == final.uncertainty.shape == plain.shape
    assert final.info["flips"] in (ALL_FLIPS, LATERAL_FLIPS) and "flips" in final.info["augmentation"]
    assert [e for e in events if isinstance(e, ReconProgress)][-1].progress == 1.0
    assert final.uncertainty.mean() > 0.05 and final.uncertainty.max() > 1.0  # grey levels
    diff = np.abs(final.volume.astype(int) - plain.astype(int))
    assert diff.mean() < 3 and diff.max() > 0  # close to the plain result, yet not the same


def test_z_is_flipped_only_when_the_learned_degradation_is_symmetric(trained):
    assert kernel_asymmetry([1, 2, 3, 2, 1]) == 0.0
    assert kernel_asymmetry([0, 0, 0, 0, 1]) == 1.0
    model = copy.deepcopy(trained)
    with torch.no_grad():
        model.g_hl.kernel.copy_((model.g_hl.kernel + model.g_hl.kernel.flip(0)) / 2)
    ensemble = flip_ensemble(model)
    assert ensemble.flips == ALL_FLIPS and "symmetric" in ensemble.reason
    with torch.no_grad():  # a kernel that samples off-centre: a z-flipped section is another acquisition
        model.g_hl.kernel.copy_(torch.roll(model.g_hl.kernel, 2))
    ensemble = flip_ensemble(model)
    assert ensemble.flips == LATERAL_FLIPS and "not symmetric" in ensemble.reason
    with torch.no_grad():
        model.g_hl.kernel.copy_((model.g_hl.kernel + model.g_hl.kernel.flip(0)) / 2)
    whole = IsoModel(model.config.replace(stage2_pairs="full"), model.normalizer, model.networks,
                     model.reconstructor)
    assert flip_ensemble(whole).flips == LATERAL_FLIPS
    no_stage_two = IsoModel(model.config, model.normalizer, model.networks)
    assert flip_ensemble(no_stage_two).flips == LATERAL_FLIPS


def test_stop_ends_with_a_stopped_event(em_volume, trained):
    stop = threading.Event()
    stop.set()
    final = run_to_end(reconstruct_with_uncertainty(em_volume, trained, CPU, stop=stop))
    assert isinstance(final, ReconFinished) and final.stopped and final.volume is None


def test_blockwise_gives_the_same_volumes_and_computes_each_block_once(em_volume, trained, tmp_path,
                                                                      monkeypatch):
    from napari_isorecon.core.inference.blockwise import compute

    whole = run_to_end(reconstruct_with_uncertainty(em_volume, trained, CPU))
    result, spread = reconstruct_blockwise_with_uncertainty(em_volume, trained, CPU, block=(4, 40, 64))
    assert result.dtype == np.uint8 and spread.dtype == np.float32 and len(result.chunks[1]) > 1
    computed = []
    monkeypatch.setattr(compute, "compute_block", lambda *a, **k: computed.append(1) or compute_block(*a, **k))
    result_values = np.asarray(result)  # the layers are computed one after the other, as napari does
    spread_values = np.asarray(spread)
    assert len(computed) == result.numblocks[0] * result.numblocks[1] * result.numblocks[2]  # once each
    monkeypatch.undo()
    assert np.abs(result_values.astype(int) - whole.volume.astype(int)).max() <= 1
    np.testing.assert_allclose(spread_values, whole.uncertainty, atol=1e-3)

    events = list(write_with_uncertainty_blockwise(em_volume, trained, tmp_path / "iso.zarr",
                                                   tmp_path / "unc.zarr", CPU, block=(4, 40, 64)))
    final = events[-1]
    assert isinstance(final, ReconWithUncertainty) and not final.stopped
    assert not (tmp_path / "iso.zarr.partial").exists() and not (tmp_path / "unc.zarr.partial").exists()
    assert np.abs(final.volume[:].astype(int) - whole.volume.astype(int)).max() <= 1
    np.testing.assert_allclose(final.uncertainty[:], whole.uncertainty, atol=1e-3)
    from napari_isorecon.core.errors import IsoReconError

    with pytest.raises(IsoReconError, match="exists"):
        write_with_uncertainty_blockwise(em_volume, trained, tmp_path / "new.zarr", tmp_path / "unc.zarr", CPU)


def test_an_interrupted_write_resumes_both_volumes(em_volume, trained, tmp_path):
    calls = {"n": 0}

    def stop_after_two_blocks():
        calls["n"] += 1
        return calls["n"] > 2

    paths = (tmp_path / "iso.zarr", tmp_path / "unc.zarr")
    first = run_to_end(write_with_uncertainty_blockwise(em_volume, trained, *paths, CPU, block=(4, 50, 100),
                                                        stop=stop_after_two_blocks, num_workers=1))
    assert first.stopped and (tmp_path / "unc.zarr.partial").exists() and not paths[1].exists()
    final = run_to_end(write_with_uncertainty_blockwise(em_volume, trained, *paths, CPU, block=(4, 50, 100)))
    assert not final.stopped and 0 < final.info["skipped"] < final.info["blocks"]
    whole = run_to_end(reconstruct_with_uncertainty(em_volume, trained, CPU))
    np.testing.assert_allclose(final.uncertainty[:], whole.uncertainty, atol=1e-3)


def test_shared_blocks_compute_once_for_all_outputs_and_hold_little():
    shared = SharedBlocks(2, max_bytes=250)
    computed = []

    def compute(i):
        computed.append(i)
        return (np.zeros(10, np.float64), np.full(10, i, np.float64))  # 160 bytes

    assert shared.take((0,), 0, lambda: compute(0)).sum() == 0
    assert shared.take((0,), 1, lambda: compute(0)).sum() == 0
    assert computed == [0] and not shared._entries  # both taken: released
    for i in range(1, 5):  # only one output ever asked for: held only while under max_bytes (the newest)
        shared.take((i,), 0, lambda i=i: compute(i))
    assert list(shared._entries) == [(4,)]
    assert shared.take((4,), 1, lambda: compute(4))[0] == 4 and computed == [0, 1, 2, 3, 4]
    import pickle

    copy = pickle.loads(pickle.dumps(shared))
    assert copy.n_outputs == 2 and not copy._entries
