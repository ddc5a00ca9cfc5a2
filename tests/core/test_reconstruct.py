import threading

import dask.array as da
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


def _linear_model(z_factor=5):
    """A stand-in model whose network is linear interpolation along z: the output near a section shows it."""
    from types import SimpleNamespace

    from napari_isorecon.core.networks.generators import AxialInterpolator

    net = AxialInterpolator(z_factor, "linear")
    return SimpleNamespace(reconstruction_network=lambda: net, z_factor=z_factor,
                           normalizer=Normalizer(0.0, 255.0, np.dtype(np.uint8).str))


def test_fill_plan_interpolates_between_the_nearest_real_sections():
    from napari_isorecon.core.inference.filling import fill_plan

    plan = fill_plan(10, (0, 4, 5, 9))
    assert plan[0] == (1, 1, 0.0) and plan[9] == (8, 8, 0.0)  # the ends: the nearest real section
    assert plan[4] == (3, 6, pytest.approx(1 / 3)) and plan[5] == (3, 6, pytest.approx(2 / 3))
    assert fill_plan(3, (0, 1, 2)) == {}  # nothing real to fill from


def test_filled_view_reads_like_the_volume_with_its_sections_filled():
    from napari_isorecon.core.inference.filling import FilledSections, fill_plan

    volume = np.random.default_rng(0).integers(0, 255, (8, 20, 30)).astype(np.uint8)
    view = FilledSections(volume, fill_plan(8, (2, 3, 7)))
    expected = volume.astype(np.float64)
    expected[2] = (2 * expected[1] + expected[4]) / 3
    expected[3] = (expected[1] + 2 * expected[4]) / 3
    expected[7] = expected[6]
    expected = np.rint(expected).astype(np.uint8)
    assert view.dtype == np.uint8 and view.shape == volume.shape
    np.testing.assert_array_equal(np.asarray(view), expected)
    np.testing.assert_array_equal(view[:, 5:9, :], expected[:, 5:9, :])
    np.testing.assert_array_equal(view[3], expected[3])
    np.testing.assert_array_equal(view[2:5, :, 4:6], expected[2:5, :, 4:6])
    np.testing.assert_array_equal(view[::3, ::2, ::2], expected[::3, ::2, ::2])


def test_a_lazy_dask_volume_is_filled_lazily_the_same_way():
    from napari_isorecon.core.inference.filling import FilledSections, fill_plan

    volume = np.random.default_rng(0).uniform(0, 1, (8, 20, 30)).astype(np.float32)
    from napari_isorecon.core.inference.filling import _filled_dask

    lazy = _filled_dask(da.from_array(volume, chunks=(3, 10, 30)), fill_plan(8, (0, 4)))
    assert isinstance(lazy, da.Array) and lazy.chunks == ((3, 3, 2), (10, 10), (30,))
    np.testing.assert_allclose(lazy.compute(), np.asarray(FilledSections(volume, fill_plan(8, (0, 4)))), rtol=1e-6)


def test_a_blank_section_is_filled_before_the_network_and_named():
    from planted import tissue

    from napari_isorecon.core.events import SectionsFilled

    volume = tissue(z=12, size=64)
    volume[6] = 0  # a blank section: a dark band through a reconstruction that takes it as real
    events = list(reconstruct(volume, _linear_model()))
    assert isinstance(events[0], SectionsFilled) and events[0].filled == (6,)
    assert "Filled section 6 (blank)" in events[0].describe()
    final = events[-1]
    assert final.info["filled_sections"] == [6]
    near = final.volume[30:35].astype(float)  # the output rows of section 6 (z-factor 5)
    assert abs(near.mean() - volume[[5, 7]].mean()) < 3  # as bright as its neighbours, not dark
    # exactly what the network gives when the section is replaced by its neighbours' mean
    replaced = volume.copy()
    replaced[6] = np.rint((volume[5].astype(float) + volume[7]) / 2).astype(np.uint8)
    expected = run_to_end(reconstruct(replaced, _linear_model(), ReconConfig(fill_artefacts=False))).volume
    np.testing.assert_array_equal(final.volume, expected)


def test_filling_can_be_switched_off():
    from planted import tissue

    from napari_isorecon.core.events import SectionsFilled

    volume = tissue(z=12, size=64)
    volume[6] = 0
    events = list(reconstruct(volume, _linear_model(), ReconConfig(fill_artefacts=False)))
    assert not any(isinstance(e, SectionsFilled) for e in events) and "filled_sections" not in events[-1].info
    assert events[-1].volume[32].mean() < 10  # the blank section printed through: a dark band


def test_the_twin_and_the_result_are_filled_once_and_the_job_says_so():
    from planted import tissue

    from napari_isorecon.core.events import PartEvent, SectionsFilled
    from napari_isorecon.core.jobs import reconstruct_with_twin

    volume = tissue(z=12, size=64)
    volume[4] = volume[3]  # a duplicated section
    events = list(reconstruct_with_twin(volume, _linear_model(), ReconConfig(device="cpu", precision="float32")))
    assert all(isinstance(e, PartEvent) for e in events)
    filled = [e for e in events if isinstance(e.event, SectionsFilled)]
    assert [(e.part, e.event.filled) for e in filled] == [("input", (4,))]
    finals = {e.part: e.event for e in events if isinstance(e.event, ReconFinished)}
    assert set(finals) == {"interpolated", "isotropic"}
    for part in ("interpolated", "isotropic"):  # output row 22 lies on section 4: no longer a copy of section 3
        assert np.abs(finals[part].volume[22].astype(float) - volume[3]).mean() > 2
    unfilled = list(reconstruct_with_twin(volume, _linear_model(), ReconConfig(device="cpu", precision="float32",
                                                                               fill_artefacts=False)))
    assert [e.part for e in unfilled if e.part == "input"] == []
    unfilled_result = next(e.event for e in unfilled if e.part == "isotropic" and isinstance(e.event, ReconFinished))
    assert np.abs(unfilled_result.volume[22].astype(float) - volume[3]).mean() < 1


@pytest.mark.parametrize("lazy", [False, True])
def test_blockwise_outputs_are_filled_like_the_in_memory_result(tmp_path, lazy):
    from planted import tissue

    from napari_isorecon.core.events import SectionsFilled
    from napari_isorecon.core.io import read_zarr
    from napari_isorecon.core.jobs import Outputs, reconstruct_with_twin

    volume = tissue(z=12, size=64)
    volume[[0, 6]] = 0  # blank: the first section and one inside
    cfg = ReconConfig(device="cpu", precision="float32")
    source = volume
    if lazy:
        source = da.from_array(volume, chunks=(5, 32, 64))
    outputs = Outputs({"isotropic": tmp_path / "iso.zarr"}, block=(4, 32, 32))
    events = list(reconstruct_with_twin(source, _linear_model(), cfg, twin=False, outputs=outputs))
    assert [e.event.filled for e in events if isinstance(e.event, SectionsFilled)] == [(0, 6)]
    in_memory = run_to_end(reconstruct(volume, _linear_model(), cfg)).volume
    blockwise = np.asarray(read_zarr(tmp_path / "iso.zarr")[0][:])
    assert np.abs(blockwise.astype(int) - in_memory.astype(int)).max() <= 1
    assert blockwise[32].mean() > 0.8 * volume[[5, 7]].mean()  # section 6's row is not dark
