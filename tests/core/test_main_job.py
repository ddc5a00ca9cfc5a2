"""The main job (core.jobs.run_main_job, ``isorecon run``, ``run_to_folder``): train, save the model, then
reconstruct into one folder, as one stream of events; a stopped training still saves and reconstructs, the
reconstruction has a stop of its own."""

import os
import signal
import threading

import numpy as np
import pytest
import tifffile

from napari_isorecon.cli import main
from napari_isorecon.core import ReconConfig, run_to_folder
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.events import (
    ArtefactsFound,
    CheckpointSaved,
    ModelSaved,
    OutputWritten,
    PartEvent,
    ReconFinished,
    TrainFinished,
    TrainStep,
)
from napari_isorecon.core.io import read_volume
from napari_isorecon.core.jobs import run_autosave, run_files, run_main_job
from napari_isorecon.core.model.checkpoint import load_model

CPU = ReconConfig(device="cpu", precision="float32")
TINY_FLAGS = ["--channels", "8", "--blocks", "1", "--patch-width", "32", "--train-batch-size", "2", "--device", "cpu"]


def _phase(event) -> str:
    if isinstance(event, ArtefactsFound):
        return "scan"
    if isinstance(event, ModelSaved):
        return "model saved"
    if isinstance(event, PartEvent):
        return event.part
    return "training"


def _phases(events) -> list[str]:
    """Each phase once, in the order the events came (the "input" part, sections filled, only when there are)."""
    phases = []
    for event in events:
        phase = _phase(event)
        if phase != "input" and (not phases or phases[-1] != phase):
            phases.append(phase)
    return phases


def test_one_stream_scan_training_model_then_the_parts_in_order(em_volume, tiny_config, tmp_path):
    out = tmp_path / "new" / "run"
    cfg = tiny_config.replace(steps=3)
    job = run_main_job(em_volume, cfg, out, "em", recon_config=CPU, sharp=True, uncertainty=True,
                       checkpoint_every=1e-9)
    assert not out.exists()  # checked and scanned at the call; the folder comes once training has checked too
    events, saved_at = [], None
    for event in job:
        events.append(event)
        if isinstance(event, ModelSaved):
            saved_at = len(events)
            assert load_model(event.path).state.step == 3  # written before the reconstruction starts
            assert not run_autosave(out, "em").exists()  # the interrupted-run checkpoint is gone with it
    assert _phases(events) == ["scan", "training", "model saved", "interpolated", "isotropic", "sharp",
                               "uncertainty"]
    assert isinstance(events[0], ArtefactsFound)
    assert any(isinstance(e, CheckpointSaved) for e in events[:saved_at])  # the autosave, during training
    assert isinstance(events[saved_at - 2], TrainFinished) and not events[saved_at - 2].stopped
    files = run_files(out, "em", sharp=True, uncertainty=True)
    assert list(files) == ["model.pt", "isotropic.tif", "interpolated.tif", "sharp.tif", "uncertainty.tif"]
    written = {e.event.output: e.event.path for e in events if isinstance(e, PartEvent)
               and isinstance(e.event, OutputWritten)}
    assert written == {"interpolated": files["interpolated.tif"], "isotropic": files["isotropic.tif"],
                       "sharp": files["sharp.tif"], "uncertainty": files["uncertainty.tif"]}
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in files.values())
    assert tifffile.imread(files["isotropic.tif"]).shape == (50, 100, 200)


def test_a_stopped_training_still_saves_and_reconstructs(em_volume, tiny_config, tmp_path):
    stop = threading.Event()
    events = []
    for event in run_main_job(em_volume, tiny_config.replace(steps=1000), tmp_path, "em", recon_config=CPU,
                              stop=stop):
        events.append(event)
        if isinstance(event, TrainStep) and event.step == 2:
            stop.set()  # as a first Ctrl-C: training ends, the job goes on
    finished = next(e for e in events if isinstance(e, TrainFinished))
    assert finished.stopped and 2 <= finished.steps < 1000
    assert _phases(events) == ["scan", "training", "model saved", "interpolated", "isotropic"]
    assert load_model(tmp_path / "em_model.pt").state.step == finished.steps
    finals = {e.part: e.event for e in events if isinstance(e, PartEvent) and isinstance(e.event, ReconFinished)}
    assert not finals["isotropic"].stopped
    assert tifffile.imread(tmp_path / "em_isotropic.tif").shape == (50, 100, 200)


def test_the_reconstruction_stops_on_its_own_flag_with_the_model_kept(em_volume, tiny_config, tmp_path):
    stop, reconstruction_stop = threading.Event(), threading.Event()
    events = []
    for event in run_main_job(em_volume, tiny_config.replace(steps=2), tmp_path, "em", recon_config=CPU,
                              stop=stop, reconstruction_stop=reconstruction_stop):
        events.append(event)
        if isinstance(event, ModelSaved):
            reconstruction_stop.set()
    assert not stop.is_set() and (tmp_path / "em_model.pt").exists()
    parts = [e for e in events if isinstance(e, PartEvent)]
    assert parts[-1].part == "interpolated" and parts[-1].event.stopped  # the first part stops; the job ends
    assert not (tmp_path / "em_interpolated.tif").exists() and not (tmp_path / "em_isotropic.tif").exists()


def test_refused_runs_make_no_folder_and_overwrite_nothing(em_volume, tiny_config, tmp_path):
    cfg = tiny_config.replace(steps=1)
    with pytest.raises(IsoReconError, match="is 2D"):
        run_main_job(em_volume[0], cfg, tmp_path / "a", "em")
    (tmp_path / "file").write_text("")
    with pytest.raises(IsoReconError, match="is a file; --out-dir needs a folder"):
        run_main_job(em_volume, cfg, tmp_path / "file", "em")
    constant = np.full((6, 64, 64), 9, np.uint8)
    with pytest.raises(IsoReconError):  # refused by training's checks, when iteration starts
        list(run_main_job(constant, cfg, tmp_path / "b", "c"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "em_isotropic.tif").write_bytes(b"mine")
    with pytest.raises(IsoReconError, match="exists"):
        run_main_job(em_volume, cfg, tmp_path / "c", "em")
    autosave = run_autosave(tmp_path / "d", "em")
    autosave.parent.mkdir()
    autosave.write_bytes(b"an interrupted run's checkpoint")
    with pytest.raises(IsoReconError, match="--resume"):  # an interrupted run's checkpoint is not overwritten
        run_main_job(em_volume, cfg, tmp_path / "d", "em")
    assert (tmp_path / "c" / "em_isotropic.tif").read_bytes() == b"mine"


def test_run_to_folder_returns_the_files_and_passes_every_event(em_volume, tmp_path):
    events = []
    tiny = dict(channels=8, blocks=1, lr_rows=4, patch_width=32, batch_size=2, device="cpu")
    files = run_to_folder(em_volume, tmp_path, name="em", voxel_size=(50.0, 10.0, 10.0), steps=2,
                          progress=events.append, **tiny)
    assert files == {key: tmp_path / f"em_{key}" for key in ("model.pt", "isotropic.tif", "interpolated.tif")}
    assert load_model(files["model.pt"]).z_factor == 5  # from the voxel size
    assert _phases(events) == ["scan", "training", "model saved", "interpolated", "isotropic"]
    _, voxel = read_volume(files["isotropic.tif"])
    assert voxel == pytest.approx((10.0, 10.0, 10.0))
    with pytest.raises(IsoReconError, match="exists"):
        run_to_folder(em_volume, tmp_path, 5, name="em", steps=2, **tiny)
    again = run_to_folder(em_volume, tmp_path, name="em", resume=files["model.pt"], steps=3, overwrite=True)
    assert load_model(again["model.pt"]).state.step == 3  # continued with its own settings


# ------------------------------------------------------------------------ Ctrl-C in `isorecon run`
def _ctrl_c_when(monkeypatch, *phases):
    """A real SIGINT to this process from the progress bar's update, once per phase listed ("train": a training
    step's update; "reconstruct": a reconstruction's), in the main thread where the command's handler runs."""
    from napari_isorecon.cli import progress

    real_advance, sent = progress.advance, []

    def advance(bar, fraction, **postfix):
        real_advance(bar, fraction, **postfix)
        phase = "train" if "step" in postfix else "reconstruct"
        if phase in phases and phase not in sent:
            sent.append(phase)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(progress, "advance", advance)
    return sent


def test_ctrl_c_in_training_saves_the_model_and_reconstructs_with_it(tmp_path, monkeypatch, capsys):
    sent = _ctrl_c_when(monkeypatch, "train")
    assert main(["run", "sample", "--steps", "1000", *TINY_FLAGS, "--out-dir", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert sent == ["train"]
    model = tmp_path / "sample_model.pt"
    step = load_model(model).state.step
    assert 0 < step < 1000
    assert f"Stopped after {step} steps; the model trained so far is kept." in err
    assert f"Model saved to {model}; reconstructing with it (Ctrl-C again stops that too)." in err
    assert err.index("Stopping after this step") < err.index("Model saved to") < err.index("The network ran in")
    assert tifffile.imread(tmp_path / "sample_isotropic.tif").shape == (50, 100, 200)


def test_ctrl_c_again_stops_the_reconstruction_and_keeps_the_model(tmp_path, monkeypatch, capsys):
    sent = _ctrl_c_when(monkeypatch, "train", "reconstruct")
    assert main(["run", "sample", "--steps", "1000", *TINY_FLAGS, "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert sent == ["train", "reconstruct"]
    assert err.strip().splitlines()[-1] == ("isorecon: error: interpolate stopped before the end; its output was "
                                            "not written.")
    assert (tmp_path / "sample_model.pt").exists() and not run_autosave(tmp_path, "sample").exists()
    assert not (tmp_path / "sample_interpolated.tif").exists() and not (tmp_path / "sample_isotropic.tif").exists()
