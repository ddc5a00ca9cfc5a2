"""The bad-input matrix (docs/failure_modes.md) through the public Python API (napari_isorecon.core).

Each case is one IsoReconError of one line, with the same words as the `isorecon: error:` line the command line
gives for the same mistake, and nothing is written (a file that was there stays as it was). No case trains more
than 1 step; most fail before any work."""

import errno
import math
import os
import re
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from old_checkpoints import version_1_payload
from test_faults import _fills_the_disk, _refuse
from test_matrix import _one_line_error

import napari_isorecon.core as api
from napari_isorecon.core import IsoReconError
from napari_isorecon.core.io import files

TINY = dict(channels=8, blocks=1, lr_rows=4, patch_width=32, batch_size=2, device="cpu")
TINY_FLAGS = ["--channels", "8", "--blocks", "1", "--patch-width", "32", "--train-batch-size", "2",
              "--device", "cpu"]


class Ctx:
    """What a case needs: the sample, a tiny z5 model (object and file), a folder for inputs, and ``out``, the
    only folder any case may write to (compared before and after)."""

    def __init__(self, tmp_path: Path, volume, model_file: Path):
        self.volume, self.model_file = volume, model_file
        self.inputs = tmp_path / "in"
        self.out = tmp_path / "out"
        self.inputs.mkdir()
        self.out.mkdir()

    @cached_property
    def model(self):
        return api.load_model(self.model_file)

    def tif(self, name: str, array, voxel_size=None) -> str:
        path = self.inputs / name
        if voxel_size is None:
            tifffile.imwrite(path, array)
        else:
            api.save_volume(path, array, voxel_size)
        return str(path)

    def file(self, name: str, data: bytes) -> str:
        (self.inputs / name).write_bytes(data)
        return str(self.inputs / name)

    def folder(self, path: Path) -> str:
        path.mkdir()
        return str(path)

    def cut(self, name: str, source, keep: float = 0.5) -> str:
        """The first ``keep`` of ``source``'s bytes, as a copy stopped half way leaves it."""
        data = Path(source).read_bytes()
        return self.file(name, data[:int(len(data) * keep)])

    def truncated_tif(self) -> str:
        whole = api.save_volume(self.inputs / "whole.tif", self.volume, (50.0, 10.0, 10.0))
        return self.cut("cut.tif", whole)

    def checkpoint(self, name: str, change) -> str:
        """A copy of the model file whose saved dictionary went through ``change``."""
        torch.save(change(torch.load(self.model_file, weights_only=True)), self.inputs / name)
        return str(self.inputs / name)

    def damaged_zarr(self) -> str:
        path = api.save_volume(self.inputs / "stack.zarr", self.volume, (50.0, 10.0, 10.0))
        chunk = next(p for p in (path / "0").rglob("*") if p.is_file() and not p.name.startswith("."))
        chunk.write_bytes(b"\0" * 8)  # a chunk file cut short, as a crash or a full disk leaves it
        return str(path)

    def o(self, *parts: str) -> str:
        return str(self.out.joinpath(*parts))


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


@dataclass
class Case:
    id: str
    api: object  # ctx -> the API call that must fail
    words: str  # a regex that the API's message and the command line's error line both contain
    cli: object = None  # ctx -> argv of the same mistake on the command line (None: argparse answers it)
    setup: object = None  # (ctx, monkeypatch) -> None: a simulated fault, or an output that exists already
    skip: str | None = None


# ---------------------------------------------------------------------------------------------- faults
def _read_only(ctx, monkeypatch):
    folder = ctx.out / "read_only"
    folder.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(folder) else real(p, mode))


def _os_refuses(ctx, monkeypatch):
    refusal = PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(files.tempfile, "mkstemp", _refuse(refusal))


def _full_disk_tif(ctx, monkeypatch):
    monkeypatch.setattr(tifffile, "imwrite", _fills_the_disk(0))


def _full_disk_model(ctx, monkeypatch):
    monkeypatch.setattr(torch, "save", _fills_the_disk(1))


def _full_disk_zarr(ctx, monkeypatch):
    """zarr's local store writes the metadata, then the disk is full at the first chunk."""
    from zarr.storage import LocalStore

    real_set = LocalStore.set

    async def set_chunk(self, key, value):
        if not key.rsplit("/", 1)[-1].startswith(".") and not key.endswith("zarr.json"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return await real_set(self, key, value)

    monkeypatch.setattr(LocalStore, "set", set_chunk)


def _no_bf16(ctx, monkeypatch):
    from napari_isorecon.core.settings import precision

    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)


def _existing(name: str):
    """An output that exists already: a model, a tif, a zarr or a folder (by its name)."""
    def make(ctx, monkeypatch):
        if name.endswith(".pt"):
            api.save_model(ctx.model, ctx.out / name)
        elif name.startswith("dir"):
            ctx.folder(ctx.out / name)
        else:
            api.save_volume(ctx.out / name, np.full((3, 16, 16), 7, np.uint8))
    return make


def _small():
    return np.random.default_rng(0).integers(0, 255, (10, 30, 30), np.uint8)


def _older_layout(payload):
    return {"format": payload["format"], "format_version": 0, "weights": payload["networks"]}


def _rec(c, model, *more):
    """`isorecon reconstruct sample --model MODEL ... --out out/r.tif`."""
    return ["reconstruct", "sample", "--model", str(model), *more, "--out", c.o("r.tif")]


def _interp(c, volume, *more):
    """`isorecon interpolate VOLUME ... --out out/i.tif`."""
    return ["interpolate", str(volume), *more, "--out", c.o("i.tif")]


def _train(c, *more, out="m.pt"):
    """`isorecon train sample ... --out out/m.pt`."""
    return ["train", "sample", *more, "--out", c.o(out)]


NO_CUDA = "cuda is available here" if torch.cuda.is_available() else None
Z_RULE = r"z-factor must be a finite number > 1 \(z spacing / xy spacing\), got "
NO_SUCH_DEVICE = r"Unknown device 'tpu'; choose one of auto, cpu, cuda, mps\."
ABSENT_CUDA = r"Device 'cuda' is not available on this machine \(available: [a-z, ]+\); use device 'auto' or 'cpu'\."
NO_SUCH_BACKBONE = r"Unknown backbone 'unet'; choose one of drcnet, edsr, rcan, vdsr\."
EXISTS = r"exists; choose another name or allow overwriting \(--overwrite\)\."
READ_ONLY = r"Folder .*read_only is not writable; choose another location\."
FULL = r"No space left on device\."
NOT_OURS = r"is damaged or not a napari-isorecon model \(could not be read: "

CASES = [
    # ------------------------------------------------------------------------------------------ z-factor
    Case("z-factor-1", lambda c: api.train_model(c.volume, 1, steps=1, **TINY), Z_RULE + "1",
         lambda c: _interp(c, "sample", "--z-factor", "1")),
    Case("z-factor-nan", lambda c: api.interpolate_volume(c.volume, math.nan), Z_RULE + r"nan\.",
         lambda c: _interp(c, "sample", "--z-factor", "nan")),
    Case("z-factor-inf", lambda c: api.validate(c.volume, math.inf, steps=1, **TINY), Z_RULE + r"inf\.",
         lambda c: _train(c, "--z-factor", "inf", "--steps", "1")),
    Case("z-factor-1000", lambda c: api.train_model(c.volume, 1000, steps=1, **TINY),
         r"z-factor 1000 is larger than 100: check the voxel sizes\.",
         lambda c: _interp(c, "sample", "--z-factor", "1000")),
    Case("z-factor-text", lambda c: api.interpolate_volume(c.volume, "ten"),
         r"z-factor must be a number > 1, got 'ten'\."),  # the CLI: argparse's "invalid float value"
    Case("isotropic-voxel-size", lambda c: api.z_factor_from_voxel_size((4.0, 4.0, 4.0)),
         r"Voxel size \(4\.0, 4\.0, 4\.0\) is isotropic or finer in z \(factor 1\)",
         lambda c: _interp(c, c.tif("iso.tif", c.volume, (4.0, 4.0, 4.0)))),
    Case("no-z-factor", lambda c: api.train_model(c.volume, steps=1, **TINY),
         r"(?i)give (the |--)z-factor \(z spacing / xy spacing\)",
         lambda c: ["train", c.tif("plain.tif", c.volume), "--steps", "1", "--out", c.o("m.pt")]),
    Case("volume-too-small-for-the-factor", lambda c: api.train_model(_small(), 20, steps=1),
         r"Volume \(10, 30, 30\) is too small for z-factor 20: training needs 2 z slices",
         lambda c: ["train", c.tif("small.tif", _small()), "--z-factor", "20", "--steps", "1", "--out", c.o("m.pt")]),
    # ------------------------------------------------------------------------------------------ settings
    Case("unknown-backbone", lambda c: api.train_model(c.volume, 5, steps=1, backbone="unet"),
         NO_SUCH_BACKBONE),  # the CLI: argparse's "invalid choice"
    Case("unknown-backbone-in-a-config",
         lambda c: api.train_model(c.volume, config=api.TrainConfig(z_factor=5, steps=1, backbone="unet")),
         NO_SUCH_BACKBONE),
    Case("unknown-setting", lambda c: api.train_model(c.volume, 5, steps=1, no_such=1),
         r"Unknown training setting no_such; see TrainConfig for the names\."),
    Case("unknown-device-train", lambda c: api.train_model(c.volume, 5, steps=1, device="tpu"), NO_SUCH_DEVICE,
         lambda c: _train(c, "--device", "tpu", "--steps", "1")),
    Case("unknown-device-reconstruct", lambda c: api.reconstruct_volume(c.volume, c.model, device="tpu"),
         NO_SUCH_DEVICE, lambda c: _rec(c, c.model_file, "--device", "tpu")),
    Case("unknown-device-in-a-config",
         lambda c: api.interpolate_volume(c.volume, 5, config=api.ReconConfig(device="tpu")), NO_SUCH_DEVICE,
         lambda c: _interp(c, "sample", "--device", "tpu")),
    Case("unknown-device-load-model", lambda c: api.load_model(c.model_file, device="tpu"), NO_SUCH_DEVICE),
    Case("absent-cuda-train", lambda c: api.train_model(c.volume, 5, steps=1, device="cuda"), ABSENT_CUDA,
         lambda c: _train(c, "--device", "cuda", "--steps", "1"), skip=NO_CUDA),
    Case("absent-cuda-reconstruct", lambda c: api.reconstruct_volume(c.volume, c.model, device="cuda"),
         ABSENT_CUDA, lambda c: _rec(c, c.model_file, "--device", "cuda"), skip=NO_CUDA),
    Case("absent-cuda-load-model", lambda c: api.load_model(c.model_file, device="cuda"), ABSENT_CUDA,
         skip=NO_CUDA),
    Case("float16-on-a-cpu",
         lambda c: api.reconstruct_volume(c.volume, c.model, device="cpu", precision="float16"),
         r"float16 is not supported on a CPU; use precision 'bfloat16' \(where the CPU has it\), 'auto' or "
         r"'float32'\.",
         lambda c: _rec(c, c.model_file, "--device", "cpu", "--precision", "float16")),
    Case("bfloat16-on-a-cpu-without-it",
         lambda c: api.train_model(c.volume, 5, steps=1, **{**TINY, "precision": "bfloat16"}),
         r"This CPU has no bfloat16 instructions \(AVX512-BF16, AMX or Arm BF16\): bfloat16 would run slower "
         r"than float32 here; use precision 'auto' or 'float32'\.",
         lambda c: _train(c, "--steps", "1", "--precision", "bfloat16", *TINY_FLAGS), setup=_no_bf16),
    Case("budget-0-steps", lambda c: api.train_model(c.volume, 5, steps=0),
         r"steps must be a positive integer, got 0\.", lambda c: _train(c, "--steps", "0")),
    Case("budget-0-minutes", lambda c: api.train_model(c.volume, 5, minutes=0),
         r"minutes must be a positive number, got 0", lambda c: _train(c, "--minutes", "0")),
    # ------------------------------------------------------------------------------------------ models
    Case("model-for-another-z-factor", lambda c: api.load_model(c.model_file, z_factor=10),
         r"was trained for z-factor 5, not 10; train a model for this volume's z-factor\.",
         lambda c: _rec(c, c.model_file, "--z-factor", "10")),
    Case("load-model-with-a-nan-z-factor", lambda c: api.load_model(c.model_file, z_factor=math.nan),
         Z_RULE + r"nan\."),
    Case("resume-at-another-z-factor", lambda c: api.train_model(c.volume, 4, resume=c.model, steps=6),
         r"The model to continue was trained for z-factor 5, not 4: start a new model for this z-factor\.",
         lambda c: _train(c, "--z-factor", "4", "--resume", str(c.model_file), "--steps", "6")),
    Case("junk-model-file", lambda c: api.load_model(c.file("junk.pt", b"junk")), r"junk\.pt " + NOT_OURS,
         lambda c: _rec(c, c.file("junk.pt", b"junk"))),
    Case("truncated-model-file", lambda c: api.reconstruct_volume(c.volume, c.cut("cut.pt", c.model_file)),
         r"cut\.pt " + NOT_OURS, lambda c: _rec(c, c.cut("cut.pt", c.model_file))),
    Case("folder-as-model", lambda c: api.load_model(c.inputs), r"in is not a file; give a model file \(\.pt\)\.",
         lambda c: _rec(c, c.inputs)),
    Case("missing-model", lambda c: api.reconstruct_volume(c.volume, c.inputs / "none.pt"),
         r"Model file .*none\.pt does not exist\.", lambda c: _rec(c, c.inputs / "none.pt")),
    Case("torch-file-that-is-not-a-model", lambda c: api.load_model(c.checkpoint("other.pt", lambda p: {"w": 1})),
         r"other\.pt is not a napari-isorecon model \(no 'napari-isorecon/checkpoint' header\)\.",
         lambda c: _rec(c, c.checkpoint("other.pt", lambda p: {"w": 1}))),
    Case("model-of-a-newer-format",
         lambda c: api.load_model(c.checkpoint("newer.pt", lambda p: {**p, "format_version": 99})),
         r"newer\.pt was written by a newer napari-isorecon; upgrade to load it\.",
         lambda c: _rec(c, c.checkpoint("newer.pt", lambda p: {**p, "format_version": 99}))),
    Case("model-of-an-older-format-with-another-layout",
         lambda c: api.load_model(c.checkpoint("older.pt", _older_layout)),
         r"older\.pt is a damaged or incompatible napari-isorecon model \(",
         lambda c: _rec(c, c.checkpoint("older.pt", _older_layout))),
    # ------------------------------------------------------------------------------------------ input files
    Case("missing-volume", lambda c: api.open_volume(c.inputs / "nope.tif"), r"File .*nope\.tif does not exist\.",
         lambda c: _interp(c, c.inputs / "nope.tif", "--z-factor", "4")),
    Case("missing-zarr", lambda c: api.open_volume(c.inputs / "nope.zarr"), r"nope\.zarr does not exist\.",
         lambda c: _interp(c, c.inputs / "nope.zarr", "--z-factor", "4")),
    Case("folder-as-volume", lambda c: api.open_volume(c.folder(c.inputs / "folder.tif")),
         r"folder\.tif is a directory; give a volume file \(\.tif\)\.",
         lambda c: _interp(c, c.folder(c.inputs / "folder.tif"), "--z-factor", "4")),
    Case("volume-of-another-format", lambda c: api.open_volume(c.file("v.npy", b"\x93NUMPY")),
         r"Cannot read v\.npy: volumes are read from \.tif/\.tiff files\.",
         lambda c: _interp(c, c.file("v.npy", b"\x93NUMPY"), "--z-factor", "4")),
    Case("truncated-tif", lambda c: api.open_volume(c.truncated_tif()),
         r"Cannot read .*cut\.tif: the file is truncated or damaged \(invalid (page |value )?offset \d+\)\.",
         lambda c: _interp(c, c.truncated_tif())),
    Case("zarr-with-a-damaged-chunk", lambda c: api.interpolate_volume(api.open_volume(c.damaged_zarr())[0], 5),
         r"Cannot read .*stack\.zarr: a chunk is damaged or unreadable \(",
         lambda c: _interp(c, c.damaged_zarr())),
    # ------------------------------------------------------------------------------------------ outputs
    Case("existing-tif", lambda c: api.save_volume(c.o("i.tif"), c.volume), r"i\.tif " + EXISTS,
         lambda c: _interp(c, "sample"), setup=_existing("i.tif")),
    Case("existing-zarr", lambda c: api.save_volume(c.o("i.zarr"), c.volume), r"i\.zarr " + EXISTS,
         lambda c: ["interpolate", "sample", "--out", c.o("i.zarr")], setup=_existing("i.zarr")),
    Case("existing-model", lambda c: api.save_model(c.model, c.o("m.pt")), r"m\.pt " + EXISTS,
         lambda c: _train(c, "--steps", "1"), setup=_existing("m.pt")),
    Case("folder-as-output", lambda c: api.save_volume(c.o("dir.tif"), c.volume),
         r"dir\.tif is a directory; give a file name\.",
         lambda c: ["interpolate", "sample", "--out", c.o("dir.tif")], setup=_existing("dir.tif")),
    Case("missing-output-folder", lambda c: api.save_volume(c.o("nope", "i.tif"), c.volume),
         r"Folder .*nope does not exist; create it first\.",
         lambda c: ["interpolate", "sample", "--out", c.o("nope", "i.tif")]),
    Case("output-of-another-format", lambda c: api.save_volume(c.o("i.png"), c.volume),
         r"Output i\.png must end in \.tif or \.tiff\."),
    Case("2d-output", lambda c: api.save_volume(c.o("flat.tif"), c.volume[0]),
         r"Only 3D \(z, y, x\) volumes are written, got shape \(100, 200\)\."),
    Case("read-only-folder-tif", lambda c: api.save_volume(c.o("read_only", "i.tif"), c.volume), READ_ONLY,
         lambda c: ["interpolate", "sample", "--out", c.o("read_only", "i.tif")], setup=_read_only),
    Case("read-only-folder-zarr", lambda c: api.save_volume(c.o("read_only", "i.zarr"), c.volume), READ_ONLY,
         lambda c: ["interpolate", "sample", "--out", c.o("read_only", "i.zarr")], setup=_read_only),
    Case("read-only-folder-model", lambda c: api.save_model(c.model, c.o("read_only", "m.pt")), READ_ONLY,
         lambda c: _train(c, "--steps", "1", out="read_only/m.pt"), setup=_read_only),
    Case("os-refuses-the-write", lambda c: api.save_volume(c.o("i.tif"), c.volume),
         r"Could not write .*i\.tif: Permission denied\.", lambda c: _interp(c, "sample"), setup=_os_refuses),
    Case("full-disk-tif", lambda c: api.save_volume(c.o("i.tif"), c.volume), r"Could not write .*i\.tif: " + FULL,
         lambda c: _interp(c, "sample"), setup=_full_disk_tif),
    Case("full-disk-reconstruction-to-tif",
         lambda c: api.save_volume(c.o("r.tif"), api.reconstruct_volume(c.volume, c.model, device="cpu")),
         r"Could not write .*r\.tif: " + FULL, lambda c: _rec(c, c.model_file, "--device", "cpu"),
         setup=_full_disk_tif),
    Case("full-disk-zarr", lambda c: api.save_volume(c.o("i.zarr"), c.volume),
         r"Could not write .*i\.zarr: " + FULL, setup=_full_disk_zarr),  # CLI: tests/scale/test_resume.py
    Case("full-disk-model", lambda c: api.save_model(c.model, c.o("m.pt")), r"Could not write .*m\.pt: " + FULL,
         lambda c: _train(c, "--steps", "1", *TINY_FLAGS), setup=_full_disk_model),
]


@pytest.fixture
def ctx(tmp_path, em_volume, tiny_model_file):
    return Ctx(tmp_path, em_volume, tiny_model_file)


def _api_error(call, ctx) -> str:
    """The message of the one IsoReconError (not a subclass, not wrapped) that ``call(ctx)`` raises."""
    with pytest.raises(IsoReconError) as caught:
        call(ctx)
    assert type(caught.value) is IsoReconError
    message = str(caught.value)
    assert "\n" not in message and message.endswith("."), message
    return message


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=pytest.mark.skipif(c.skip is not None,
                                                                                   reason=c.skip or ""))
                                  for c in CASES])
def test_the_api_answers_each_bad_input_as_the_command_line_does(case, ctx, monkeypatch, capsys):
    if case.setup is not None:
        case.setup(ctx, monkeypatch)
    before = _snapshot(ctx.out)
    message = _api_error(case.api, ctx)
    assert re.search(case.words, message), message
    assert _snapshot(ctx.out) == before  # nothing written, nothing replaced, no temporary file left
    if case.cli is None:
        return
    shutil.rmtree(ctx.inputs)  # the command line makes its own inputs again
    ctx.inputs.mkdir()
    line = _one_line_error(capsys, case.cli(ctx))
    assert re.search(case.words, line), line
    assert _snapshot(ctx.out) == before


# ---------------------------------------------------------------------------------------------- arrays
ARRAYS = {
    "2D": (np.zeros((64, 64), np.uint8), r"The volume is 2D \(64, 64\); a 3D volume \(z, y, x\) is needed\."),
    "4D": (np.zeros((2, 8, 64, 64), np.uint8),
           (r"The volume has 4 axes \(2, 8, 64, 64\); a 3D volume \(z, y, x\) is needed: pick one channel or "
            r"time point first \(e\.g\. volume\[0\]\)\.")),
    "RGB": (np.zeros((64, 64, 3), np.uint8),
            r"The volume of shape \(64, 64, 3\) looks like an RGB\(A\) image; .* convert it to greyscale first\."),
    "single-slice": (np.arange(64 * 64, dtype=np.uint16).reshape(1, 64, 64),
                     r"The volume has 1 z slice\(s\); at least 2 are needed\."),
    "bool": (np.zeros((8, 64, 64), bool), r"The volume is boolean \(a mask\?\); an intensity image is needed\."),
    "complex": (np.zeros((8, 64, 64), np.complex64),
                r"The volume has dtype complex64; integer or floating-point intensities are needed\."),
    "narrower-than-16-px": (np.zeros((8, 8, 64), np.uint8),
                            r"The volume is 8 x 64 in \(y, x\); at least 16 x 16 pixels are needed\."),
}


@pytest.mark.parametrize("name", list(ARRAYS))
def test_a_bad_array_is_refused_by_every_api_function_as_by_the_command_line(name, ctx, capsys):
    """train_model, validate, reconstruct_volume and interpolate_volume give the same one-line message before
    any work; the command line gives it for the same array in a tif."""
    array, words = ARRAYS[name]
    calls = {
        "train_model": lambda c: api.train_model(array, 5, steps=1, **TINY),
        "validate": lambda c: api.validate(array, 5, steps=1, **TINY),
        "reconstruct_volume": lambda c: api.reconstruct_volume(array, c.model, device="cpu"),
        "interpolate_volume": lambda c: api.interpolate_volume(array, 5, device="cpu"),
    }
    for function, call in calls.items():
        message = _api_error(call, ctx)
        assert re.search(words, message), f"{function}: {message}"
    line = _one_line_error(capsys, _interp(ctx, ctx.tif(f"{name}.tif", array), "--z-factor", "5"))
    assert re.search(words, line), line
    assert list(ctx.out.iterdir()) == []


NOTHING_TO_LEARN = {
    "constant": (np.full((8, 64, 64), 3, np.uint8),
                 r"The volume is constant \(every value is 3\): nothing to learn from\."),
    "all-NaN": (np.full((8, 64, 64), np.nan, np.float32),
                r"The volume has no finite values \(all NaN or Inf\): nothing to learn from\."),
}


@pytest.mark.parametrize("name", list(NOTHING_TO_LEARN))
def test_nothing_to_learn_from_is_refused_by_train_model_as_by_the_command_line(name, ctx, capsys):
    array, words = NOTHING_TO_LEARN[name]
    assert re.search(words, _api_error(lambda c: api.train_model(array, 5, steps=1, **TINY), ctx))
    argv = ["train", ctx.tif(f"{name}.tif", array), "--z-factor", "5", "--steps", "1", "--out", ctx.o("m.pt")]
    line = _one_line_error(capsys, argv)
    assert re.search(words, line), line
    assert list(ctx.out.iterdir()) == []


# ------------------------------------------------------------------------------------- the new file cases
def test_a_truncated_tif_is_named_wherever_it_is_cut(ctx, capsys):
    """Cut in its first section, in its pixels (the page table then ends early) or in its OME-XML (the voxel
    size): tifffile read on past the end of the last two and gave a 2D image (refused as "2D") or a volume
    without voxel size (the CLI then asked for --z-factor). Each is one error naming the file, without
    tifffile's own log lines."""
    whole = api.save_volume(ctx.inputs / "whole.tif", ctx.volume, (50.0, 10.0, 10.0))
    for keep, words in [(0.02, r"failed to read 20000 bytes, got \d+\."),
                        (0.5, r"the file is truncated or damaged \(invalid (page |value )?offset \d+\)\."),
                        (0.999, r"the file is truncated or damaged \(invalid value offset \d+\)\.")]:
        cut = ctx.cut(f"cut{keep}.tif", whole, keep)
        message = _api_error(lambda c, cut=cut: api.open_volume(cut), ctx)
        assert message.startswith(f"Cannot read {cut}: ") and re.search(words, message), message
    err = capsys.readouterr().err
    assert "invalid" not in err and "TiffFileError" not in err  # tifffile's lines were held back
    volume, voxel = api.open_volume(whole)  # a whole file reads as before
    assert volume.shape == (10, 100, 200) and voxel == pytest.approx((50.0, 10.0, 10.0))


def test_a_zarr_chunk_that_cannot_be_decoded_is_named_and_a_missing_one_reads_as_the_fill_value(ctx, capsys):
    """A chunk file left empty or cut short (a crash, a full disk) fails in zarr's codec when it is read, deep
    in a job: through open_volume it is one IsoReconError naming the store, in memory, in training, through dask
    (a zarr with singleton t/c axes) and block by block (a .zarr output, read in dask tasks). A chunk that is
    absent reads as zarr's fill value (writers leave out chunks that hold only it): no error."""
    import zarr

    path = ctx.damaged_zarr()
    volume, _ = api.open_volume(path)
    assert volume.shape == (10, 100, 200)  # opening reads no chunk
    for call in (lambda c: np.asarray(volume), lambda c: api.train_model(volume, 5, steps=1, **TINY),
                 lambda c: api.reconstruct_volume(volume, c.model, device="cpu")):
        assert re.search(r"Cannot read .*stack\.zarr: a chunk is damaged or unreadable \(", _api_error(call, ctx))
    line = _one_line_error(capsys, ["interpolate", path, "--out", ctx.o("i.zarr"), "--block-size", "10,64,64"])
    assert "stack.zarr: a chunk is damaged or unreadable" in line
    assert not (ctx.out / "i.zarr").exists()
    group = zarr.open_group(str(ctx.inputs / "tc.zarr"), mode="w")  # (t, c, z, y, x), t = c = 1: read by dask
    group.create_array("0", shape=(1, 1, 6, 32, 32), chunks=(1, 1, 3, 32, 32), dtype="u1")[...] = 9
    chunk = next(p for p in (ctx.inputs / "tc.zarr" / "0").rglob("*") if p.is_file() and p.name != "zarr.json")
    chunk.write_bytes(b"\0\1")
    lazy, _ = api.open_volume(ctx.inputs / "tc.zarr")
    assert re.search(r"tc\.zarr: a chunk is damaged", _api_error(lambda c: lazy.compute(), ctx))
    missing = api.save_volume(ctx.inputs / "missing.zarr", ctx.volume)
    next(p for p in (missing / "0").rglob("*") if p.is_file() and not p.name.startswith(".")).unlink()
    np.testing.assert_array_equal(np.asarray(api.open_volume(missing)[0]), 0)


def test_models_of_an_older_format_load_and_a_newer_one_is_named(ctx):
    """FORMAT_VERSION is 2: a file of version 1, or of 0 or without the field (version 1's layout), goes
    through the migrations (core.model.migrations) and reconstructs as the model does; a newer number asks for
    an upgrade (another layout: the "model-of-an-older-format-with-another-layout" case above)."""
    from napari_isorecon.core.model.checkpoint import FORMAT_VERSION

    assert FORMAT_VERSION == 2
    crop = ctx.volume[:, :48, :48]
    expected = api.reconstruct_volume(crop, ctx.model, device="cpu", precision="float32")
    for name, change in [("v1.pt", version_1_payload),
                         ("v0.pt", lambda p: {**version_1_payload(p), "format_version": 0}),
                         ("unversioned.pt", lambda p: {k: v for k, v in version_1_payload(p).items()
                                                       if k != "format_version"})]:
        older = api.load_model(ctx.checkpoint(name, change), z_factor=5)
        np.testing.assert_array_equal(api.reconstruct_volume(crop, older, device="cpu", precision="float32"),
                                      expected)
    newer = ctx.checkpoint("newer.pt", lambda p: {**p, "format_version": FORMAT_VERSION + 1})
    assert "was written by a newer napari-isorecon; upgrade to load it" in _api_error(
        lambda c: api.load_model(newer), ctx)


def test_a_model_whose_format_version_is_not_a_number_is_named(ctx):
    odd = ctx.checkpoint("odd.pt", lambda p: {**p, "format_version": "1"})
    assert "odd.pt" in _api_error(lambda c: api.load_model(odd), ctx)
