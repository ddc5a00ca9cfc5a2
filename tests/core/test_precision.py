"""Reduced precision (core.settings.precision): detected, refused clearly where the device cannot, honoured by
reconstruction (whole volume and blockwise) and training, and agreeing with float32."""

import numpy as np
import pytest
import torch
from old_checkpoints import load_version_1_config, version_1_config

from napari_isorecon.core import ReconConfig, TrainConfig
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.settings import precision as precision_module
from napari_isorecon.core.settings.precision import (
    Precision,
    cpu_flags_have_bf16,
    resolve_precision,
    usable_precisions,
)

X86_BF16 = "processor\t: 0\nmodel name\t: Intel Xeon\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n"
X86_AMX = "flags\t\t: fpu avx2 avx512f amx_bf16 amx_tile\n"
X86_OLD = "model name\t: Intel Xeon bf16-less\nflags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n"
ARM_BF16 = "Features\t: fp asimd evtstrm aes bf16 i8mm\n"


@pytest.mark.parametrize("text, expected", [(X86_BF16, True), (X86_AMX, True), (X86_OLD, False),
                                            (ARM_BF16, True), ("", False)])
def test_cpu_bf16_is_read_from_the_flags_lines(text, expected):
    assert cpu_flags_have_bf16(text) is expected


def test_auto_takes_bf16_only_where_the_hardware_has_it():
    assert resolve_precision("auto", "cpu", cpu_bf16=True) == Precision("bfloat16", "cpu")
    assert resolve_precision("auto", "cpu", cpu_bf16=False) == Precision("float32", "cpu")
    assert resolve_precision("auto", "cuda", cuda_bf16=True).name == "bfloat16"
    assert resolve_precision("auto", "cuda", cuda_bf16=False).name == "float16"
    assert resolve_precision("auto", "mps").name == "float16"
    assert resolve_precision("float32", "cuda").name == "float32"


@pytest.mark.parametrize("name, device, match", [
    ("float16", "cpu", "float16 is not supported on a CPU"),
    ("bfloat16", "cpu", "no bfloat16 instructions"),
    ("bfloat16", "mps", "not supported on MPS"),
    ("half", "cpu", "Unknown precision 'half'"),
])
def test_what_the_device_cannot_do_is_refused_in_one_line(name, device, match):
    with pytest.raises(IsoReconError, match=match) as info:
        resolve_precision(name, device, cpu_bf16=False, cuda_bf16=False)
    assert "\n" not in str(info.value)


def test_the_settings_refuse_an_unknown_precision():
    with pytest.raises(IsoReconError, match="Unknown precision"):
        TrainConfig(precision="fp8")
    with pytest.raises(IsoReconError, match="Unknown precision"):
        ReconConfig(precision="fp8")


def test_usable_precisions_follow_the_devices(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: False)
    assert usable_precisions(["cpu"]) == ["auto", "float32"]
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    assert usable_precisions(["cpu"]) == ["auto", "float32", "bfloat16"]


def test_old_checkpoints_say_they_trained_in_float32():
    data = version_1_config(TrainConfig().to_dict())
    del data["precision"]
    assert load_version_1_config(data).precision == "float32"


@pytest.fixture
def busy_model(em_volume):
    """A tiny model whose reconstructor is far from interpolation (random weights), so that precision shows."""
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel

    torch.manual_seed(0)
    model = IsoModel(TrainConfig(z_factor=5, steps=1, minutes=None, channels=8, blocks=2, device="cpu"),
                     Normalizer.fit(em_volume))
    model.reconstructor = model.new_reconstructor()
    with torch.no_grad():
        for p in model.reconstructor.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def _reconstruct(volume, model, name):
    from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end

    return run_to_end(reconstruct(volume, model, ReconConfig(device="cpu", precision=name)))


def test_bf16_reconstruction_agrees_with_float32(em_volume, busy_model, monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)  # emulated where missing
    exact, reduced = _reconstruct(em_volume, busy_model, "float32"), _reconstruct(em_volume, busy_model, "bfloat16")
    assert exact.info["precision"] == "float32" and reduced.info["precision"] == "bfloat16"
    diff = np.abs(exact.volume.astype(np.float64) - reduced.volume)
    assert 0 < diff.mean() < 1.0  # different arithmetic, the same result within a grey level on average
    assert np.percentile(diff, 99.9) <= 6
    # a wrong precision path (e.g. the output left in bfloat16: 8 bits of mantissa) would be far off
    assert np.corrcoef(exact.volume.ravel(), reduced.volume.ravel())[0, 1] > 0.999


def test_auto_falls_back_to_float32_without_bf16(em_volume, busy_model, monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: False)
    auto, exact = _reconstruct(em_volume, busy_model, "auto"), _reconstruct(em_volume, busy_model, "float32")
    assert auto.info["precision"] == "float32"
    assert np.array_equal(auto.volume, exact.volume)
    with pytest.raises(IsoReconError, match="no bfloat16 instructions"):
        _reconstruct(em_volume, busy_model, "bfloat16")


def test_blockwise_honours_the_precision(em_volume, busy_model, monkeypatch):
    from napari_isorecon.core.inference.blockwise import reconstruct_model_blockwise

    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    exact = _reconstruct(em_volume, busy_model, "float32").volume
    blocks = {name: np.asarray(reconstruct_model_blockwise(em_volume, busy_model, ReconConfig(
        device="cpu", precision=name), block=(8, 64, 64)).compute(scheduler="synchronous"))
        for name in ("float32", "bfloat16")}
    assert np.abs(blocks["float32"].astype(int) - exact).max() <= 1  # float32 blockwise == whole volume
    diff = np.abs(blocks["bfloat16"].astype(np.float64) - exact)
    assert 0 < diff.mean() < 1.0


def test_interpolation_stays_float32(em_volume, monkeypatch):
    from napari_isorecon.core.inference.reconstruct import interpolate, run_to_end

    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    exact = run_to_end(interpolate(em_volume, 5, "cubic", ReconConfig(device="cpu", precision="float32")))
    asked = run_to_end(interpolate(em_volume, 5, "cubic", ReconConfig(device="cpu", precision="bfloat16")))
    assert asked.info["precision"] == "float32"
    assert np.array_equal(exact.volume, asked.volume)


def test_training_runs_the_networks_in_bf16_and_the_losses_in_float32(em_volume, tiny_config, monkeypatch):
    from napari_isorecon.core.events import StageStarted, TrainFinished
    from napari_isorecon.core.training import train as train_module

    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    seen = []

    def supervised(model, opts, hr, lr_rows, degrade, noise, updates):
        conv = next(m for m in model.reconstructor.modules() if isinstance(m, torch.nn.Conv2d))
        conv_out = []
        hook = conv.register_forward_hook(lambda module, args, out: conv_out.append(out.dtype))
        with updates.forward():
            model.reconstructor(torch.zeros(1, 1, 4, 32), hr.shape[-2])
            kernel_path = model.g_hl.kernel_path(hr[:1])
        hook.remove()
        seen.append((conv_out[0], kernel_path.dtype))
        return train_module.TrainingSteps().supervised(model, opts, hr, lr_rows, degrade, noise, updates)

    events = list(train_module.train(em_volume, tiny_config.replace(precision="bfloat16"),
                                     steps=train_module.TrainingSteps(supervised=supervised)))
    assert {e.precision for e in events if isinstance(e, StageStarted)} == {"bfloat16"}
    assert seen and set(seen) == {(torch.bfloat16, torch.float32)}  # the learned kernel stays float32
    final = events[-1]
    assert isinstance(final, TrainFinished)
    assert all(p.dtype == torch.float32 for p in final.model.reconstructor.parameters())  # master weights


def test_float32_training_announces_float32(em_volume, tiny_config):
    from napari_isorecon.core.events import StageStarted
    from napari_isorecon.core.training.train import train

    started = [e for e in train(em_volume, tiny_config.replace(precision="float32", steps=2))
               if isinstance(e, StageStarted)]
    assert started and all(e.precision == "float32" and e.device == "cpu" for e in started)


def test_the_command_line_says_which_precision_ran_and_refuses_what_the_cpu_cannot(capsys, tmp_path,
                                                                                   tiny_model_file):
    from napari_isorecon.cli import main

    assert main(["run", "sample", "--steps", "2", "--precision", "float32", "--out-dir", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "Training on cpu in float32" in err and "The network ran in float32." in err
    out = tmp_path / "b.tif"
    assert main(["reconstruct", "sample", "--model", str(tiny_model_file), "--precision", "float16",
                 "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert "float16 is not supported on a CPU" in err and "Traceback" not in err
    assert not out.exists()  # refused before any work: nothing written
    with pytest.raises(SystemExit):  # argparse: not a precision at all
        main(["reconstruct", "sample", "--model", str(tiny_model_file), "--precision", "fp8", "--out", str(out)])


def test_the_options_of_both_front_ends_carry_the_precision():
    from napari_isorecon.core.jobs import TrainOptions, training_config

    assert training_config(TrainOptions(z_factor=5, precision="float32")).precision == "float32"
    assert training_config(TrainOptions(z_factor=5)).precision == "auto"
    assert TrainConfig(precision="float32").network_mismatch(TrainConfig(precision="bfloat16")) is None
