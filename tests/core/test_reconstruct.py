import threading

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from napari_isorecon.core import ReconConfig, TrainConfig
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.events import ReconFinished, ReconProgress
from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.model.iso_model import IsoModel


def _model(z_factor, seed=0, backbone="edsr"):
    """An untrained model whose reconstruction network has random (non-interpolating) weights."""
    torch.manual_seed(seed)
    cfg = TrainConfig(z_factor=z_factor, steps=1, minutes=None, channels=8, blocks=1, backbone=backbone)
    model = IsoModel(cfg, Normalizer(0.0, 255.0, np.dtype(np.uint8).str))
    for p in model.g_lh.parameters():
        torch.nn.init.normal_(p, std=0.05)
    return model


@pytest.mark.parametrize("z_factor", [5, 7.5, 2.4])
def test_output_shape_and_dtype(em_volume, z_factor):
    events = list(reconstruct(em_volume, _model(z_factor)))
    final = events[-1]
    assert isinstance(final, ReconFinished) and not final.stopped
    assert final.volume.shape == (round(10 * z_factor), 100, 200)
    assert final.volume.dtype == np.uint8
    progress = [e for e in events if isinstance(e, ReconProgress)]
    assert progress[-1].done == progress[-1].total == 300 and {p.axis for p in progress} == {"xz", "yz"}


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_other_dtypes_come_back_unchanged_in_kind(em_volume, dtype):
    volume = em_volume.astype(dtype) * 100
    model = _model(5)
    model.normalizer = Normalizer.fit(volume)
    out = run_to_end(reconstruct(volume, model)).volume
    assert out.dtype == np.dtype(dtype)
    assert 0.5 * volume.max() < out.max() < 2 * volume.max()


def test_tiling_changes_nothing(em_volume):
    model = _model(5, backbone="rcan")
    whole = run_to_end(reconstruct(em_volume, model, ReconConfig(tile_width=512))).volume
    tiled = run_to_end(reconstruct(em_volume, model, ReconConfig(tile_width=64, tile_overlap=20))).volume
    assert np.array_equal(whole, tiled)


def test_interpolation_matches_torch_reference(em_volume):
    out = run_to_end(interpolate(em_volume, 5, "linear", ReconConfig(axes=("xz",)))).volume
    ref = F.interpolate(torch.from_numpy(em_volume.astype(np.float32))[None, None], size=(50, 100, 200),
                        mode="trilinear", align_corners=False)[0, 0].numpy()
    assert np.abs(out.astype(np.float32) - ref).max() <= 0.5 + 1e-3  # rounding to uint8 only


def test_cubic_interpolation_reproduces_a_smooth_ramp():
    volume = np.broadcast_to((np.arange(8, dtype=np.float32) * 10)[:, None, None], (8, 32, 32)).copy()
    out = run_to_end(interpolate(volume, 4, "cubic")).volume
    centres = (np.arange(32) + 0.5) / 4 - 0.5  # input positions of the output rows
    inner = (centres > 1) & (centres < 6)
    assert np.allclose(out[inner, 5, 5], centres[inner] * 10, atol=1e-3)


def test_untrained_model_reconstructs_as_cubic_interpolation(em_volume):
    model = IsoModel(TrainConfig(z_factor=7.5, steps=1, minutes=None), Normalizer.fit(em_volume))
    ours = run_to_end(reconstruct(em_volume, model)).volume.astype(int)
    cubic = run_to_end(interpolate(em_volume, 7.5, "cubic")).volume.astype(int)
    assert np.abs(ours - cubic).max() <= 1


def test_stop_leaves_no_result(em_volume):
    stop = threading.Event()
    events = []
    for event in reconstruct(em_volume, _model(5), stop=stop):
        events.append(event)
        stop.set()
    assert events[-1].stopped and events[-1].volume is None
    assert len(events) == 2


def test_bad_input_is_refused(em_volume):
    with pytest.raises(IsoReconError, match="2D"):
        run_to_end(reconstruct(em_volume[0], _model(5)))
    with pytest.raises(IsoReconError, match="z-factor"):
        run_to_end(interpolate(em_volume, 1.0))
    with pytest.raises(IsoReconError, match="axes"):
        ReconConfig(axes=("xy",))
    with pytest.raises(IsoReconError, match="not available"):
        run_to_end(reconstruct(em_volume, _model(5), ReconConfig(device="cuda" if not torch.cuda.is_available()
                                                                  else "mps")))
    with pytest.raises(IsoReconError, match="Unknown device"):
        ReconConfig(device="tpu")


@pytest.mark.parametrize("dtype, scale, offset", [(np.int64, 5000, 0), (np.int32, 5000, -20000),
                                                  (np.float64, 1e30, 0), (np.float32, 1, -100)])
def test_wide_integers_huge_floats_and_negative_values(dtype, scale, offset):
    rng = np.random.default_rng(0)
    volume = (rng.uniform(-1, 1, (6, 40, 40)) * scale + offset).astype(dtype)
    out = run_to_end(interpolate(volume, 3, "linear")).volume
    assert out.dtype == np.dtype(dtype) and out.shape == (18, 40, 40)
    span = float(volume.max()) - float(volume.min())
    assert float(volume.min()) - 1e-3 * span <= float(out.min()) and float(out.max()) <= float(volume.max()) + 1e-3 * span
    model = IsoModel(TrainConfig(z_factor=3, steps=1, minutes=None, channels=8, blocks=1), Normalizer.fit(volume))
    ours = run_to_end(reconstruct(volume, model)).volume
    assert ours.dtype == np.dtype(dtype) and np.isfinite(ours.astype(np.float64)).all()
