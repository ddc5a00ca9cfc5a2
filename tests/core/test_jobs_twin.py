"""core.jobs.reconstruct_with_twin and its outputs: the job both front-ends run (twin, result, checks)."""

import threading

import numpy as np
import pytest

from napari_isorecon.core import ReconConfig
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.events import (
    InputConsistency,
    OutputWritten,
    PartEvent,
    ReconFinished,
    ReconProgress,
)
from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
from napari_isorecon.core.io import read_volume, read_zarr
from napari_isorecon.core.jobs import (
    Outputs,
    is_zarr_output,
    lazy_reconstruct_with_twin,
    reconstruct_with_twin,
)

CPU = ReconConfig(device="cpu", precision="float32")  # the machinery is exact in float32


@pytest.fixture(scope="module")
def model(tiny_model_file):
    from napari_isorecon.core.model.checkpoint import load_model

    return load_model(tiny_model_file)


@pytest.fixture(scope="module")
def volume(em_volume):
    return np.ascontiguousarray(em_volume[:, :48, :64])


def _finals(events):
    return {e.part: e.event for e in events if isinstance(e.event, (ReconFinished, InputConsistency))}


def test_twin_first_then_the_result_equal_to_the_single_jobs(volume, model):
    events = list(reconstruct_with_twin(volume, model, CPU))
    assert all(isinstance(e, PartEvent) for e in events)
    parts = [e.part for e in events]
    assert parts == sorted(parts, key=["interpolated", "isotropic"].index)  # the quick twin first
    assert {type(e.event) for e in events} == {ReconProgress, ReconFinished}  # no outputs, no checks
    finals = _finals(events)
    np.testing.assert_array_equal(finals["interpolated"].volume,
                                  run_to_end(interpolate(volume, 5.0, "cubic", CPU)).volume)
    np.testing.assert_array_equal(finals["isotropic"].volume, run_to_end(reconstruct(volume, model, CPU)).volume)
    alone = [e.part for e in reconstruct_with_twin(volume, model, CPU, twin=False)]
    assert set(alone) == {"isotropic"}


def test_checks_and_uncertainty_only_when_asked(volume, model, quick_error_model):
    from napari_isorecon.core.inference.error_model import DEFAULT_CALIBRATION, DEFAULT_SCALE

    events = list(reconstruct_with_twin(volume, model, CPU, uncertainty=True, consistency=True))
    parts = [e.part for e in events]
    assert parts == sorted(parts, key=["interpolated", "isotropic", "uncertainty", "checks"].index)
    finals = _finals(events)
    assert type(finals["isotropic"]) is ReconFinished  # the plain result, not changed by the uncertainty
    np.testing.assert_array_equal(finals["isotropic"].volume, run_to_end(reconstruct(volume, model, CPU)).volume)
    fitting = [e.event for e in events if e.part == "uncertainty" and isinstance(e.event, ReconProgress)]
    assert fitting and {p.axis for p in fitting} == {"error model"} and fitting[-1].progress == 1.0
    sigma = finals["uncertainty"].volume
    assert sigma.dtype == np.float32 and sigma.shape == finals["isotropic"].volume.shape == (50, 48, 64)
    assert np.isfinite(sigma).all() and sigma.min() >= 0 and sigma.mean() > 0
    info = finals["uncertainty"].info
    assert (info["scale"], info["calibrated_on"], info["steps"]) == (DEFAULT_SCALE, DEFAULT_CALIBRATION, 20)
    assert {"planes", "seconds", "thickness"} <= set(info)
    # the circular score is for the volumes only, not the uncertainty
    assert events[-1].part == "checks" and set(finals["checks"].scores) == {"interpolated", "isotropic"}
    assert all(np.isfinite(s["psnr"]) for s in finals["checks"].scores.values())
    assert "uncertainty" not in [e.part for e in reconstruct_with_twin(volume, model, CPU)]


def test_the_uncertainty_scale_multiplies_the_map(volume, model, quick_error_model):
    from napari_isorecon.core.inference.error_model import DEFAULT_SCALE

    default = _finals(reconstruct_with_twin(volume, model, CPU, twin=False, uncertainty=True))["uncertainty"]
    doubled = _finals(reconstruct_with_twin(volume, model, CPU, twin=False, uncertainty=True,
                                            uncertainty_scale=2 * DEFAULT_SCALE))["uncertainty"]
    np.testing.assert_allclose(doubled.volume, 2 * default.volume, rtol=1e-5)  # the same fit (seeded), scaled
    assert doubled.info["scale"] == 2 * DEFAULT_SCALE and doubled.info["calibrated_on"] != "default"


def test_the_uncertainty_is_written_beside_a_tif_result_and_refused_with_a_zarr_one(volume, model, tmp_path,
                                                                                    quick_error_model):
    from napari_isorecon.core.jobs.outputs import UNCERTAINTY_IN_MEMORY

    outputs = Outputs({"isotropic": tmp_path / "iso.tif", "uncertainty": tmp_path / "u.tif"},
                      voxel=(50.0, 10.0, 10.0))
    events = list(reconstruct_with_twin(volume, model, CPU, twin=False, uncertainty=True, outputs=outputs))
    written = {e.event.output: e for e in events if isinstance(e.event, OutputWritten)}
    assert written["uncertainty"].part == "uncertainty" and written["uncertainty"].event.shape == (50, 48, 64)
    spread, voxel = read_volume(tmp_path / "u.tif")
    assert voxel == pytest.approx((10.0, 10.0, 10.0))
    np.testing.assert_array_equal(spread, _finals(events)["uncertainty"].volume)

    blockwise = Outputs({"isotropic": tmp_path / "iso.zarr"}, voxel=(50.0, 10.0, 10.0))
    with pytest.raises(IsoReconError) as refused:  # at the call, before any work
        reconstruct_with_twin(volume, model, CPU, uncertainty=True, outputs=blockwise)
    assert str(refused.value) == UNCERTAINTY_IN_MEMORY and not (tmp_path / "iso.zarr").exists()


def test_a_stop_ends_the_job_after_the_stopped_part(volume, model):
    stop = threading.Event()
    stop.set()
    events = list(reconstruct_with_twin(volume, model, CPU, consistency=True, stop=stop))
    assert [e.part for e in events] == ["interpolated"] and events[-1].event.stopped


def test_outputs_are_written_whole_or_blockwise_as_their_paths_say(volume, model, tmp_path):
    outputs = Outputs({"isotropic": tmp_path / "iso.zarr", "interpolated": tmp_path / "cubic.tif"},
                      voxel=(50.0, 10.0, 10.0), block=(5, 32, 32))
    events = list(reconstruct_with_twin(volume, model, CPU, outputs=outputs))
    written = {e.event.output: e.event for e in events if isinstance(e.event, OutputWritten)}
    assert {name: w.path for name, w in written.items()} == outputs.paths
    assert all(w.shape == (50, 48, 64) for w in written.values())
    twin, voxel = read_volume(tmp_path / "cubic.tif")
    assert voxel == pytest.approx((10.0, 10.0, 10.0))
    np.testing.assert_array_equal(twin, run_to_end(interpolate(volume, 5.0, "cubic", CPU)).volume)
    result, zarr_voxel = read_zarr(tmp_path / "iso.zarr")
    in_memory = _finals(reconstruct_with_twin(volume, model, CPU, twin=False))["isotropic"]
    assert zarr_voxel == pytest.approx((10.0, 10.0, 10.0))
    assert np.abs(np.asarray(result[:]).astype(int) - in_memory.volume.astype(int)).max() <= 1
    with pytest.raises(IsoReconError, match="exists"):  # checked at the call, before any work
        reconstruct_with_twin(volume, model, CPU, outputs=outputs)


def test_outputs_are_checked_before_any_work(tmp_path):
    assert is_zarr_output("a/b.ZARR/") and not is_zarr_output("b.tif")
    (tmp_path / "there.tif").write_bytes(b"x")
    with pytest.raises(IsoReconError, match="exists"):
        Outputs({"isotropic": tmp_path / "there.tif"}).check()
    Outputs({"isotropic": tmp_path / "there.tif"}, overwrite=True).check()
    for result, spread in (("iso.zarr", "u.tif"), ("iso.tif", "u.zarr")):  # made in memory: .tif only
        with pytest.raises(IsoReconError, match="The uncertainty is made in memory"):
            Outputs({"isotropic": tmp_path / result, "uncertainty": tmp_path / spread}).check()
    Outputs({"isotropic": tmp_path / "iso.tif", "uncertainty": tmp_path / "u.tif"}).check()
    with pytest.raises(IsoReconError, match="does not exist"):
        Outputs({"interpolated": tmp_path / "no" / "c.tif"}).check()


def test_a_lazy_volume_gets_lazy_parts_equal_to_the_in_memory_ones(volume, model):
    import dask.array as da

    parts = lazy_reconstruct_with_twin(da.from_array(volume, chunks=(5, 24, 32)), model, CPU)
    assert list(parts) == ["interpolated", "isotropic"]  # no uncertainty: it is made in memory
    assert all(isinstance(p, da.Array) for p in parts.values())
    finals = _finals(reconstruct_with_twin(volume, model, CPU))
    np.testing.assert_array_equal(parts["interpolated"].compute(), finals["interpolated"].volume)
    assert np.abs(parts["isotropic"].compute().astype(int) - finals["isotropic"].volume.astype(int)).max() <= 1


def test_lazy_events_fill_the_sections_first_and_scan_only_when_asked(model, monkeypatch):
    """A dask volume with a blank section: the job says which sections it filled, then gives lazy parts made
    from the filled volume, equal to the in-memory job's; without filling nothing is scanned; a stop during the
    scan gives no part."""
    import dask.array as da
    from planted import tissue

    from napari_isorecon.core.checks import artefacts as scan_module
    from napari_isorecon.core.events import SectionsFilled
    from napari_isorecon.core.jobs import lazy_reconstruct_events

    volume = tissue(z=12, size=64)
    volume[6] = 0  # blank
    lazy = da.from_array(volume, chunks=(5, 32, 64))
    scans = []
    real_measure = scan_module._measure
    monkeypatch.setattr(scan_module, "_measure", lambda *a, **k: scans.append(1) or real_measure(*a, **k))
    events = list(lazy_reconstruct_events(lazy, model, CPU))
    assert [e.part for e in events] == ["input", "interpolated", "isotropic"] and len(scans) == 1
    assert isinstance(events[0].event, SectionsFilled) and events[0].event.filled == (6,)
    iso = events[2].event
    assert type(iso) is ReconFinished and iso.info["lazy"]
    assert all(isinstance(a, da.Array) for a in (events[1].event.volume, iso.volume))
    finals = _finals(reconstruct_with_twin(volume, model, CPU))  # in memory, filled too
    np.testing.assert_array_equal(events[1].event.volume.compute(), finals["interpolated"].volume)
    assert np.abs(iso.volume.compute().astype(int) - finals["isotropic"].volume.astype(int)).max() <= 1
    assert events[1].event.volume[32].mean().compute() > 0.8 * volume[[5, 7]].mean()  # not dark

    scans.clear()  # the in-memory job scanned too
    kept = list(lazy_reconstruct_events(lazy, model, CPU.replace(fill_artefacts=False)))
    assert [e.part for e in kept] == ["interpolated", "isotropic"] and scans == []  # no scan
    assert kept[0].event.volume[32].mean().compute() < 10  # the blank section printed through

    stop = threading.Event()
    real_scan = scan_module.find_section_artefacts

    def stopped_during_the_scan(*args, **kwargs):
        found = real_scan(*args, **kwargs)
        stop.set()
        return found

    monkeypatch.setattr(scan_module, "find_section_artefacts", stopped_during_the_scan)
    events = list(lazy_reconstruct_events(lazy, model, CPU, stop=stop))
    finished = [e.event for e in events if isinstance(e.event, ReconFinished)]
    assert len(finished) == 1 and finished[0].stopped and finished[0].volume is None
