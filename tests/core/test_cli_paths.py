"""Paths a user takes on the command line that no other test walked: bfloat16 asked for on a CPU without it,
periodic checkpoints (--checkpoint-every, default and 0), --overwrite on .tif outputs, sections filled from their
neighbours (saturated, and at either end of the stack), and Ctrl-C during a block-by-block .zarr write, then the
rerun that resumes it."""

import os
import signal
import types

import numpy as np
import pytest
import tifffile
from planted import tissue
from test_matrix import _one_line_error

from napari_isorecon.cli import main
from napari_isorecon.cli.parser import build_parser
from napari_isorecon.core import ReconConfig, interpolate_volume, load_model, reconstruct_volume
from napari_isorecon.core.io import read_volume, read_zarr

TINY_FLAGS = ["--channels", "8", "--blocks", "1", "--patch-width", "32", "--train-batch-size", "2", "--device", "cpu"]
NO_BF16 = ("isorecon: error: This CPU has no bfloat16 instructions (AVX512-BF16, AMX or Arm BF16): bfloat16 would "
           "run slower than float32 here; use precision 'auto' or 'float32'.")


# ------------------------------------------------------------------------------------------- precision
@pytest.fixture
def cpu_without_bf16(monkeypatch):
    """This CPU as one without bfloat16 instructions (the detection reads /proc/cpuinfo once, cached)."""
    from napari_isorecon.core.settings import precision

    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)


@pytest.mark.parametrize("command", ["train", "reconstruct", "interpolate"])
def test_bfloat16_on_a_cpu_without_it_is_one_line_and_writes_nothing(command, cpu_without_bf16, tiny_model_file,
                                                                     tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    argv = {"train": ["train", "sample", "--steps", "1", *TINY_FLAGS, "--out", str(out / "m.pt")],
            "reconstruct": ["reconstruct", "sample", "--model", str(tiny_model_file), "--device", "cpu",
                            "--out", str(out / "r.tif")],
            "interpolate": ["interpolate", "sample", "--device", "cpu", "--out", str(out / "i.tif")]}[command]
    assert main([*argv, "--precision", "bfloat16"]) == 2
    assert capsys.readouterr().err.strip() == NO_BF16  # the only line: refused before any progress bar
    assert list(out.iterdir()) == []


def test_auto_precision_on_a_cpu_without_bf16_trains_in_float32(cpu_without_bf16, tmp_path, capsys):
    assert main(["train", "sample", "--steps", "1", *TINY_FLAGS, "--out", str(tmp_path / "m.pt")]) == 0
    assert "Training on cpu in float32" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ periodic checkpoints
@pytest.fixture
def saves(monkeypatch):
    """Every model file written, as (name, step), whoever writes it (the autosave or the final save)."""
    from napari_isorecon.core.model import checkpoint

    written, real_save = [], checkpoint.save_model

    def recorded(model, path, overwrite=False):
        written.append((os.path.basename(path), model.state.step))
        return real_save(model, path, overwrite=overwrite)

    monkeypatch.setattr(checkpoint, "save_model", recorded)
    return written


@pytest.fixture
def step_takes_100_s(monkeypatch):
    """Training's clock (time.perf_counter in core.training.train, read before and after each step) advances
    100 s per reading: each step counts 100 s, and the 5-minute interval elapses every 3 steps, deterministically."""
    from napari_isorecon.core.training import train

    clock = [0.0]

    def perf_counter():
        clock[0] += 100.0
        return clock[0]

    monkeypatch.setattr(train, "time", types.SimpleNamespace(perf_counter=perf_counter))


@pytest.mark.parametrize("command", ["train", "run"])
def test_checkpoint_every_defaults_to_5_minutes(command):
    out = ["--out-dir", "d"] if command == "run" else ["--out", "m.pt"]
    assert build_parser().parse_args([command, "sample", *out]).checkpoint_every == 5.0


def test_the_default_interval_writes_an_autosave_each_time_5_minutes_of_training_have_passed(
        saves, step_takes_100_s, tmp_path, capsys):
    out = tmp_path / "m.pt"
    assert main(["train", "sample", "--steps", "7", *TINY_FLAGS, "--out", str(out)]) == 0
    assert saves == [("m.pt.autosave", 3), ("m.pt.autosave", 6), ("m.pt", 7)]
    assert load_model(out).state.step == 7
    assert not (tmp_path / "m.pt.autosave").exists()  # removed once the model itself is saved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_checkpoint_every_0_never_writes_an_autosave(saves, step_takes_100_s, tmp_path):
    assert main(["train", "sample", "--steps", "7", "--checkpoint-every", "0", *TINY_FLAGS,
                 "--out", str(tmp_path / "m.pt")]) == 0
    assert saves == [("m.pt", 7)]  # 700 s of (counted) training, no autosave
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


# ---------------------------------------------------------------------------------------- --overwrite
def test_overwrite_on_tif_outputs(tiny_model_file, tmp_path, capsys):
    cubic, linear = tmp_path / "cubic.tif", tmp_path / "linear.tif"
    assert main(["interpolate", "sample", "--out", str(cubic)]) == 0
    assert main(["interpolate", "sample", "--order", "linear", "--out", str(linear)]) == 0
    out = tmp_path / "i.tif"
    out.write_bytes(cubic.read_bytes())
    before = out.read_bytes()
    line = _one_line_error(capsys, ["interpolate", "sample", "--order", "linear", "--out", str(out)])
    assert line == f"isorecon: error: {out} exists; choose another name or allow overwriting (--overwrite)."
    assert out.read_bytes() == before  # untouched
    assert main(["interpolate", "sample", "--order", "linear", "--overwrite", "--out", str(out)]) == 0
    np.testing.assert_array_equal(tifffile.imread(out), tifffile.imread(linear))  # replaced
    # reconstruct: its --interpolated twin counts too, and is checked before any work
    iso = tmp_path / "iso.tif"
    iso.write_bytes(b"not a tif, and kept as it is")
    argv = ["reconstruct", "sample", "--model", str(tiny_model_file), "--out", str(tmp_path / "new.tif"),
            "--interpolated", str(iso)]
    assert f"{iso} exists" in _one_line_error(capsys, argv)
    assert iso.read_bytes() == b"not a tif, and kept as it is" and not (tmp_path / "new.tif").exists()
    assert main([*argv, "--overwrite"]) == 0
    np.testing.assert_array_equal(tifffile.imread(iso), tifffile.imread(cubic))
    assert tifffile.imread(tmp_path / "new.tif").shape == (50, 100, 200)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cubic.tif", "i.tif", "iso.tif", "linear.tif", "new.tif"]


# ------------------------------------------------------------------------------------- filled sections
@pytest.fixture
def damaged(tmp_path):
    """12 sections: the first blank, the sixth and the last saturated (60 % of their pixels at the stack's
    maximum); the stack without them, filled as documented; and the tif of the damaged one."""
    volume = tissue(z=12, size=64)
    clean = volume.copy()
    volume[0] = 0
    burnt = np.random.default_rng(1).random((64, 64)) < 0.6
    volume[5][burnt] = 255
    volume[11][burnt] = 255
    filled = volume.copy()
    filled[0] = clean[1]  # an end: the nearest usable section
    filled[5] = np.rint((clean[4].astype(float) + clean[6]) / 2).astype(np.uint8)  # linear between 4 and 6
    filled[11] = clean[10]
    path = tmp_path / "damaged.tif"
    tifffile.imwrite(path, volume)
    return volume, filled, path


FILLED = ("Filled sections 0 (blank), 5 (saturated), 11 (saturated) from the neighbouring sections before "
          "reconstruction (they are not real images).")
CPU32 = ReconConfig(device="cpu", precision="float32", fill_artefacts=False)


def test_saturated_sections_and_sections_at_either_end_are_filled_from_their_neighbours(
        damaged, tiny_model_file, tmp_path, capsys):
    """`reconstruct` (the model's z-factor 5: output row 5k + 2 lies on section k) fills the sections before the
    network and its cubic twin run: the twin's rows on sections 0, 5 and 11 are section 1, the mean of sections 4
    and 6, and section 10; both outputs are those of the filled stack; the API does the same by default."""
    volume, filled, path = damaged
    model = load_model(tiny_model_file)
    argv = ["reconstruct", str(path), "--model", str(tiny_model_file), "--device", "cpu", "--precision", "float32"]
    assert main([*argv, "--out", str(tmp_path / "iso.tif"), "--interpolated", str(tmp_path / "twin.tif")]) == 0
    assert capsys.readouterr().err.count(FILLED) == 1
    iso, twin = read_volume(tmp_path / "iso.tif")[0], read_volume(tmp_path / "twin.tif")[0]
    np.testing.assert_array_equal(twin, interpolate_volume(filled, 5, config=CPU32))
    for section, expected in [(0, volume[1]), (5, (volume[4].astype(float) + volume[6]) / 2), (11, volume[10])]:
        assert np.abs(twin[5 * section + 2].astype(float) - expected).max() <= 1, section
    np.testing.assert_array_equal(iso, reconstruct_volume(filled, model, CPU32))
    np.testing.assert_array_equal(iso, reconstruct_volume(volume, model, CPU32.replace(fill_artefacts=True)))
    # --keep-artefacts: the stack as it is
    assert main([*argv, "--keep-artefacts", "--out", str(tmp_path / "kept.tif")]) == 0
    assert "Filled" not in capsys.readouterr().err
    np.testing.assert_array_equal(read_volume(tmp_path / "kept.tif")[0], reconstruct_volume(volume, model, CPU32))


# -------------------------------------------------------------------- Ctrl-C in a block-by-block write
def test_ctrl_c_during_a_blockwise_write_then_the_rerun_resumes_to_the_same_result(tiny_model_file, tmp_path,
                                                                                   monkeypatch, capsys):
    """A real SIGINT to this process once 2 blocks are written (sent from the progress bar's update, in the main
    thread, where the command's handler sets the stop flag): the command stops with the blocks kept in
    OUT.zarr.partial and nothing under OUT.zarr; the same command again computes only the rest, and the result is
    the uninterrupted run's."""
    from napari_isorecon.cli import progress

    argv = ["reconstruct", "sample", "--model", str(tiny_model_file), "--device", "cpu", "--block-size", "10,32,64"]
    assert main([*argv, "--out", str(tmp_path / "whole.zarr")]) == 0
    assert "blocks" in capsys.readouterr().err
    out = tmp_path / "iso.zarr"
    real_advance, interrupted = progress.advance, []

    def ctrl_c_after_two_blocks(bar, fraction, **postfix):
        real_advance(bar, fraction, **postfix)
        done = int(postfix.get("blocks", "0/0").split("/")[0])
        if done >= 2 and not interrupted:
            interrupted.append(done)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(progress, "advance", ctrl_c_after_two_blocks)
    line = _one_line_error(capsys, [*argv, "--out", str(out)])
    assert interrupted
    partial = tmp_path / "iso.zarr.partial"
    kept = int(line.split("stopped with ")[1].split(" of ")[0])
    total = int(line.split(" of ")[1].split(" blocks")[0])
    assert line == (f"isorecon: error: reconstruct stopped with {kept} of {total} blocks written to {partial}; run "
                    "the same command again to resume.")
    assert 2 <= kept < total and not out.exists() and partial.exists()
    monkeypatch.setattr(progress, "advance", real_advance)
    assert main([*argv, "--out", str(out)]) == 0
    assert f"Resumed: {kept} of {total} blocks were already written." in capsys.readouterr().err
    assert not partial.exists()
    np.testing.assert_array_equal(np.asarray(read_zarr(out)[0]), np.asarray(read_zarr(tmp_path / "whole.zarr")[0]))
