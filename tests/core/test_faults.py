"""Interruptions and faults outside the program: periodic checkpoints, a killed process, a read-only
destination, a full disk. Each must end in a clear message, with nothing lost and nothing half-written."""

import errno
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from napari_isorecon.cli import main
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.events import TrainSnapshot
from napari_isorecon.core.io import files, write_volume
from napari_isorecon.core.model.checkpoint import autosave_path, load_model, save_model
from napari_isorecon.core.training.train import train, train_to_end


def _weights(model):
    nets = dict(model.networks)
    if model.reconstructor is not None:
        nets["reconstructor"] = model.reconstructor
    return {f"{name}.{key}": value for name, net in nets.items() for key, value in net.state_dict().items()}


def _assert_same_weights(a, b):
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key, value in wa.items():
        assert torch.equal(value, wb[key]), key


@pytest.mark.slow
def test_snapshots_resume_bit_for_bit_in_either_stage(em_volume, tiny_config, tmp_path):
    cfg = tiny_config.replace(steps=8)  # 4 CycleGAN steps, then 4 supervised ones
    straight = train_to_end(em_volume, cfg)
    saved = {}
    for event in train(em_volume, cfg, snapshot_every=1e-9):  # a snapshot after every step
        if isinstance(event, TrainSnapshot):
            saved[event.step] = save_model(event.model, tmp_path / f"step{event.step}.pt")
    assert sorted(saved) == list(range(1, 9))
    for step in (3, 6):  # killed in stage 1, and in stage 2
        snapshot = load_model(saved[step])
        assert snapshot.state.step == step and (snapshot.reconstructor is not None) == (step > 4)
        resumed = train_to_end(em_volume, cfg, resume=snapshot)
        assert resumed.state.step == 8
        _assert_same_weights(resumed, straight)


@pytest.mark.slow
def test_no_snapshots_unless_asked_and_a_bad_interval_is_refused(em_volume, tiny_config):
    assert not any(isinstance(e, TrainSnapshot) for e in train(em_volume, tiny_config))
    with pytest.raises(IsoReconError, match="checkpoint interval"):
        train(em_volume, tiny_config, snapshot_every=-1)


def test_resume_refuses_other_network_sizes(em_volume, tiny_config):
    model = train_to_end(em_volume, tiny_config.replace(steps=1))
    with pytest.raises(IsoReconError, match="channels 8, not 16"):
        train_to_end(em_volume, tiny_config.replace(channels=16), resume=model)


@pytest.mark.slow
def test_killed_process_resumes_from_its_last_checkpoint(tmp_path, capsys):
    out = tmp_path / "m.pt"
    autosave = autosave_path(out)
    proc = subprocess.Popen([sys.executable, "-m", "napari_isorecon.cli", "train", "sample", "--steps", "100000",
                             "--checkpoint-every", "0.001", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not autosave.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert autosave.exists(), "no periodic checkpoint was written"
        time.sleep(0.5)  # let it replace the checkpoint a few times
    finally:
        proc.send_signal(signal.SIGKILL)  # no chance to clean up
        proc.wait()
    assert not out.exists()
    step = load_model(autosave).state.step  # a complete, loadable checkpoint, whenever the kill came
    assert step > 0
    # a new run never overwrites the interrupted one's checkpoint
    assert main(["train", "sample", "--steps", "3", "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "sample", "--steps", str(step + 3), "--resume", str(autosave), "--out", str(out)]) == 0
    assert load_model(out).state.step == step + 3
    assert not autosave.exists()  # the final model replaces the interrupted-run checkpoint


@pytest.mark.slow
def test_run_resumes_in_its_folder(tmp_path, capsys):
    assert main(["run", "sample", "--steps", "2", "--out-dir", str(tmp_path), "--resume"]) == 2
    assert "Nothing to resume" in capsys.readouterr().err
    stopped = train_to_end(*_sample_and_config(steps=2))
    save_model(stopped, autosave_path(tmp_path / "sample_model.pt"))
    assert main(["run", "sample", "--steps", "4", "--out-dir", str(tmp_path)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["run", "sample", "--steps", "4", "--out-dir", str(tmp_path), "--resume"]) == 0
    assert load_model(tmp_path / "sample_model.pt").state.step == 4
    assert (tmp_path / "sample_isotropic.tif").exists()
    assert not autosave_path(tmp_path / "sample_model.pt").exists()


def _sample_and_config(steps):
    from napari_isorecon.core.settings.config import TrainConfig
    from napari_isorecon.sample import anisotropic_sample

    volume, _ = anisotropic_sample()
    return volume, TrainConfig(z_factor=5, steps=steps, minutes=None, device="cpu")


def _refuse(exc):
    def fail(*args, **kwargs):
        raise exc
    return fail


def test_read_only_destination(em_volume, tiny_config, tmp_path, monkeypatch, capsys):
    """The folder's permission bits say no (checked first), or the OS refuses anyway (ACLs, a read-only
    mount, root-squashed network storage): either way one clear sentence, and no file appears."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    model = train_to_end(em_volume, tiny_config.replace(steps=1))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(folder) else real_access(p, mode))
    with pytest.raises(IsoReconError, match="not writable"):
        save_model(model, folder / "m.pt")
    assert main(["train", "sample", "--steps", "1", "--out", str(folder / "m.pt")]) == 2
    assert "not writable" in capsys.readouterr().err
    monkeypatch.setattr(os, "access", real_access)
    monkeypatch.setattr(files.tempfile, "mkstemp", _refuse(PermissionError(errno.EACCES, "Permission denied")))
    with pytest.raises(IsoReconError, match="Permission denied"):
        save_model(model, folder / "m.pt")
    with pytest.raises(IsoReconError, match="Permission denied"):
        write_volume(folder / "v.tif", em_volume)
    assert list(folder.iterdir()) == []


def _fills_the_disk(path_arg: int):
    """A writer that gets some bytes out, then hits ENOSPC."""
    def write(*args, **kwargs):
        path = args[path_arg]
        with open(path, "wb") as fh:
            fh.write(b"\0" * 4096)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return write


def test_full_disk_while_writing_leaves_nothing_half_written(em_volume, tiny_config, tmp_path, monkeypatch):
    import tifffile

    model = train_to_end(em_volume, tiny_config.replace(steps=1))
    save_model(model, tmp_path / "old.pt")
    before = (tmp_path / "old.pt").read_bytes()
    monkeypatch.setattr(torch, "save", _fills_the_disk(1))
    with pytest.raises(IsoReconError, match="No space left on device"):
        save_model(model, tmp_path / "m.pt")
    with pytest.raises(IsoReconError, match="No space left on device"):
        save_model(model, tmp_path / "old.pt", overwrite=True)  # the old file survives a failed overwrite
    monkeypatch.setattr(tifffile, "imwrite", _fills_the_disk(0))
    with pytest.raises(IsoReconError, match="No space left on device"):
        write_volume(tmp_path / "v.tif", em_volume)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.pt"]  # no temporary files left behind
    assert (tmp_path / "old.pt").read_bytes() == before


def test_unexpected_os_errors_are_one_line(monkeypatch, capsys, tmp_path):
    import napari_isorecon.cli.commands as cli

    monkeypatch.setattr(cli, "load_volume", _refuse(OSError(errno.EIO, "Input/output error", "/mnt/em/vol.tif")))
    assert main(["train", str(tmp_path / "whatever.tif"), "--steps", "1", "--out", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "isorecon: error: Input/output error (/mnt/em/vol.tif)."
    monkeypatch.setattr(cli, "load_volume", _refuse(MemoryError()))
    assert main(["train", str(tmp_path / "whatever.tif"), "--steps", "1", "--out", str(tmp_path / "m.pt")]) == 2
    assert "out of memory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written
