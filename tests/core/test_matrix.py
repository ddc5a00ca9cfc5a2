"""The rest of the bad-input matrix (docs/failure_modes.md): each case is refused with a message that names
the problem, or handled; none reaches the user as a traceback from inside numpy, tifffile or torch."""

import errno
import os
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tifffile
import torch

from napari_isorecon.cli import main
from napari_isorecon.core import TrainConfig
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.geometry import check_volume, patch_geometry
from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
from napari_isorecon.core.io import read_volume, write_volume
from napari_isorecon.core.model.checkpoint import FORMAT, autosave_path, load_model, save_model
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.training.train import train, train_to_end


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if line.startswith("isorecon: error:")]
    assert len(errors) == 1 and err.endswith(errors[0]) and "Traceback" not in err  # after any progress bar
    return errors[0]


# ---------------------------------------------------------------------------------------------- arrays
def test_five_axes_are_refused_with_the_axis_to_pick():
    with pytest.raises(IsoReconError, match=r"5 axes .*pick one channel or time point"):
        check_volume(np.zeros((2, 3, 8, 64, 64), np.uint8))


def test_narrow_volume_shrinks_the_patch_width_to_fit():
    lr_rows, hr_rows, width = patch_geometry((10, 200, 40), 5, 8, 64)
    assert width <= 40 and width % 16 == 0 and hr_rows <= 40


@pytest.mark.parametrize("dtype, value", [(np.float32, 0.25), (np.int32, -7), (np.int64, 2**40), (np.uint8, 3)])
def test_constant_volumes_interpolate_to_themselves(dtype, value):
    volume = np.full((4, 20, 24), value, dtype)
    out = run_to_end(interpolate(volume, 2.5, "cubic")).volume
    assert out.dtype == volume.dtype and out.shape == (10, 20, 24)
    if np.issubdtype(dtype, np.integer):
        assert np.abs(out.astype(np.float64) - value).max() <= 1  # the network computes in float32
    else:
        np.testing.assert_allclose(out, value, rtol=1e-6)


def test_intensity_range_overflowing_float64_is_refused():
    volume = np.zeros((4, 20, 20), np.float64)
    volume[0], volume[1] = -1.7e308, 1.7e308
    with pytest.raises(IsoReconError, match="overflows float64"):
        Normalizer.fit(volume, (0, 100))


def test_big_endian_tif_end_to_end(em_volume, tiny_config, tmp_path):
    big = em_volume.astype(">u2") * 100
    tifffile.imwrite(tmp_path / "big.tif", big)
    volume, _ = read_volume(tmp_path / "big.tif")
    model = train_to_end(volume, tiny_config.replace(steps=1))
    out = run_to_end(reconstruct(volume, model)).volume
    assert out.dtype == np.dtype("=u2") and out.shape == (50, 100, 200)
    native = run_to_end(reconstruct(big.astype("=u2"), model)).volume
    np.testing.assert_array_equal(out, native)
    write_volume(tmp_path / "out.tif", out)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif"), out)


# ------------------------------------------------------------------------------------------ parameters
@pytest.mark.parametrize("changes, message", [
    ({"steps": 0}, "steps must be a positive integer"),
    ({"steps": -5}, "steps must be a positive integer"),
    ({"steps": None, "minutes": 0}, "minutes must be a positive number"),
    ({"steps": None, "minutes": -1.0}, "minutes must be a positive number"),
    ({"steps": None, "minutes": float("nan")}, "minutes must be a positive number"),
    ({"steps": None, "minutes": None}, "Give a training budget"),
    ({"patch_width": 8}, "patch_width must be at least 16"),
    ({"backbone": "unet"}, "Unknown backbone 'unet'"),
    ({"device": "tpu"}, "Unknown device 'tpu'"),
])
def test_bad_training_settings_are_refused(changes, message):
    with pytest.raises(IsoReconError, match=message):
        TrainConfig(z_factor=5, steps=10, minutes=None).replace(**changes)


def test_cli_refuses_a_zero_budget_in_one_line(capsys, tmp_path):
    assert "minutes must be a positive number" in _one_line_error(
        capsys, ["train", "sample", "--minutes", "0", "--out", str(tmp_path / "never.pt")])
    assert list(tmp_path.iterdir()) == []


def test_training_on_an_absent_gpu_is_refused_before_any_step(em_volume, tiny_config):
    missing = "mps" if torch.cuda.is_available() else "cuda"
    if missing == "mps" and torch.backends.mps.is_available():
        pytest.skip("both GPU kinds are present")
    with pytest.raises(IsoReconError, match=f"Device '{missing}' is not available"):
        train(em_volume, tiny_config.replace(device=missing))


# ---------------------------------------------------------------------------------------------- files
def test_unreadable_tif_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "locked.tif"
    tifffile.imwrite(path, np.zeros((4, 16, 16), np.uint8))

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(tifffile, "TiffFile", refuse)
    with pytest.raises(IsoReconError, match=r"Cannot read .*locked.tif: .*Permission denied"):
        read_volume(path)


def test_wrong_suffix_and_folders_are_named(tmp_path, capsys):
    (tmp_path / "vol.npy").write_bytes(b"\x93NUMPY")
    assert "volumes are read from .tif/.tiff files" in _one_line_error(
        capsys, ["train", str(tmp_path / "vol.npy"), "--z-factor", "5", "--steps", "1", "--out", str(tmp_path / "x.pt")])
    (tmp_path / "folder.tif").mkdir()
    assert "is a directory; give a volume file" in _one_line_error(
        capsys, ["train", str(tmp_path / "folder.tif"), "--z-factor", "5", "--steps", "1", "--out", str(tmp_path / "x.pt")])
    assert not (tmp_path / "x.pt").exists()
    (tmp_path / "out.pt").mkdir()
    assert "is a directory; give a file name" in _one_line_error(
        capsys, ["train", "sample", "--steps", "1", "--out", str(tmp_path / "out.pt")])
    (tmp_path / "file").write_text("")
    assert "is a file; --out-dir needs a folder" in _one_line_error(
        capsys, ["run", "sample", "--steps", "1", "--out-dir", str(tmp_path / "file")])


def test_run_with_a_bad_factor_creates_no_folder(tmp_path, capsys):
    _one_line_error(capsys, ["run", "sample", "--z-factor", "0.5", "--steps", "1", "--out-dir", str(tmp_path / "new")])
    assert not (tmp_path / "new").exists()


def test_run_on_a_2d_image_creates_no_folder(tmp_path, capsys):
    tifffile.imwrite(tmp_path / "flat.tif", np.zeros((64, 64), np.uint8))
    argv = ["run", str(tmp_path / "flat.tif"), "--z-factor", "10", "--steps", "1", "--out-dir", str(tmp_path / "new")]
    assert "is 2D (64, 64)" in _one_line_error(capsys, argv)
    assert not (tmp_path / "new").exists()


def test_newer_and_damaged_checkpoints_are_named(em_volume, tiny_config, tmp_path):
    model = train_to_end(em_volume, tiny_config.replace(steps=1))
    good = torch.load(save_model(model, tmp_path / "m.pt"), weights_only=True)
    torch.save({**good, "format_version": 99}, tmp_path / "newer.pt")
    with pytest.raises(IsoReconError, match="newer napari-isorecon; upgrade"):
        load_model(tmp_path / "newer.pt")
    bad = {**good, "networks": {**good["networks"], "g_lh": {"nonsense": torch.zeros(3)}}}
    torch.save(bad, tmp_path / "damaged.pt")
    with pytest.raises(IsoReconError, match="damaged or incompatible"):
        load_model(tmp_path / "damaged.pt")
    torch.save({"format": FORMAT}, tmp_path / "empty.pt")
    with pytest.raises(IsoReconError, match="damaged or incompatible"):
        load_model(tmp_path / "empty.pt")


# ----------------------------------------------------------------------------------------------- runs
# `isorecon train` whose training job holds the first event it yields once the stop flag is set (by the first
# Ctrl-C), once, for up to HOLD_S seconds, saying so on stderr (HELD): the stopped run cannot end and save its
# model before the test has pressed Ctrl-C a second time. All else is the command as a user runs it.
HOLD_S = 30
HELD = "isorecon-test: held after the stop"
_HELD_TRAIN = f"""
import sys, time
from napari_isorecon.core import jobs
from napari_isorecon.cli import main

unheld = jobs.train_with_autosave

def held(volume, cfg, stop, *args, **kwargs):
    events = unheld(volume, cfg, stop, *args, **kwargs)  # checks the input at the call, as before

    def hold():
        waited = False
        for event in events:
            if stop.is_set() and not waited:
                waited = True
                print({HELD!r}, file=sys.stderr, flush=True)
                deadline = time.monotonic() + {HOLD_S}
                while time.monotonic() < deadline:  # a second Ctrl-C raises here, inside the training loop
                    time.sleep(0.01)
            yield event
    return hold()

jobs.train_with_autosave = held
sys.exit(main(sys.argv[1:]))
"""


def _start_training(tmp_path, held: bool = False):
    """`isorecon train` in its own process, returned once it is training (its first checkpoint is there); with
    ``held``, the run holds after the first Ctrl-C (see ``_HELD_TRAIN``)."""
    out = tmp_path / "m.pt"
    command = [sys.executable, "-c", _HELD_TRAIN] if held else [sys.executable, "-m", "napari_isorecon.cli"]
    proc = subprocess.Popen([*command, "train", "sample", "--steps", "100000", "--checkpoint-every", "0.001",
                             "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not autosave_path(out).exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert autosave_path(out).exists(), proc.stderr.read() if proc.poll() is not None else "no checkpoint"
    return proc, out


@pytest.mark.slow
def test_ctrl_c_stops_training_and_saves_the_model(tmp_path):
    proc, out = _start_training(tmp_path)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Stopped after" in err and "the model trained so far is kept" in err and "Traceback" not in err
    model = load_model(out)
    assert 0 < model.state.step < 100000
    assert not autosave_path(out).exists()


def _stderr_until(proc, words: str, timeout: float = 60.0) -> str:
    """What ``proc`` writes to stderr until ``words`` appear (or it ends, or ``timeout`` passes)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while words.encode() not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.1)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
    return seen.decode(errors="replace")


@pytest.mark.slow
def test_second_ctrl_c_aborts_and_keeps_the_checkpoint(tmp_path):
    proc, out = _start_training(tmp_path, held=True)
    try:
        proc.send_signal(signal.SIGINT)
        # Two signals sent at once reach Python's handler as one: press again only once the first was handled
        # (training is then still finishing its step), as a person would. The run holds there until the second
        # (HELD), so it cannot have saved its model before that second press.
        before = _stderr_until(proc, HELD)
        assert "Ctrl-C again to abort" in before and HELD in before, before
        assert before.index("Ctrl-C again to abort") < before.index(HELD)
        assert proc.poll() is None and not out.exists()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=HOLD_S + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = before + err
    assert proc.returncode == 130, f"exit status {proc.returncode}, not the abort's 130:\n{err}"
    assert "isorecon: aborted." in err and "Traceback" not in err
    assert not out.exists()
    assert load_model(autosave_path(out)).state.step > 0  # resumable


def test_stopped_reconstruction_says_what_was_not_written(monkeypatch, capsys, tmp_path):
    from napari_isorecon.core.events import ReconFinished

    monkeypatch.setattr("napari_isorecon.core.inference.reconstruct.interpolate",
                        lambda *a, **k: iter([ReconFinished(volume=None, stopped=True)]))
    err = _one_line_error(capsys, ["interpolate", "sample", "--out", str(tmp_path / "c.tif")])
    assert "interpolate stopped before the end; its output was not written" in err
    assert not (tmp_path / "c.tif").exists()


def test_reconstruct_warns_when_the_voxel_size_disagrees_with_the_model(em_volume, tiny_config, tmp_path, capsys):
    model = train_to_end(em_volume, tiny_config.replace(steps=1))
    save_model(model, tmp_path / "m.pt")
    src = write_volume(tmp_path / "x4.tif", em_volume, (40.0, 10.0, 10.0))  # factor 4, model 5
    assert main(["reconstruct", str(src), "--model", str(tmp_path / "m.pt"), "--out", str(tmp_path / "i.tif")]) == 0
    assert "implies z-factor 4, but the model was trained for 5" in capsys.readouterr().err
    assert tifffile.imread(tmp_path / "i.tif").shape[0] == 50


def test_gpu_out_of_memory_is_one_line_and_other_runtime_errors_are_not_hidden(monkeypatch, capsys, tmp_path):
    import napari_isorecon.cli.commands as cli

    oom = type("OutOfMemoryError", (RuntimeError,), {})  # torch.cuda.OutOfMemoryError's shape

    def fail(error):
        def load(*args, **kwargs):
            raise error
        return load

    argv = ["reconstruct", str(tmp_path / "v.tif"), "--model", str(tmp_path / "m.pt"), "--out", str(tmp_path / "o.tif")]
    monkeypatch.setattr(cli, "load_volume", fail(oom("CUDA out of memory. Tried to allocate 2.00 GiB")))
    assert "GPU ran out of memory; use a smaller --batch-size, or --device cpu" in _one_line_error(
        capsys, argv)
    monkeypatch.setattr(cli, "load_volume", fail(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):  # a bug stays a traceback, for a bug report
        main(argv)
    assert list(tmp_path.iterdir()) == []
