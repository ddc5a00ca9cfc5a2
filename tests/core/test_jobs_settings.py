"""core.jobs: options -> TrainConfig with the resume rules, one z-factor tolerance, the autosave policy; and
that the command line reaches the same TrainConfig through them (the Train widget: tests/qt)."""

import os
import time

import numpy as np
import pytest
from expected_presets import FAST, PAPER, fields

from napari_isorecon.core import TrainConfig
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.jobs import (
    AUTOSAVE_ENV,
    TrainOptions,
    check_autosave,
    default_autosave_folder,
    finish_autosave,
    new_autosave_file,
    training_config,
)
from napari_isorecon.core.jobs.autosave import AUTOSAVE_KEEP
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.model.iso_model import IsoModel
from napari_isorecon.core.settings.zfactor import Z_FACTOR_RTOL, same_z_factor


def _model(step=3, **settings):
    """An untrained model that has 'used' ``step`` steps, made with ``settings``."""
    cfg = TrainConfig(**{"z_factor": 5.0, "steps": 10, "minutes": None, "channels": 8, "blocks": 1,
                         "stage2_fraction": 0.3, "seed": 1, **settings})
    model = IsoModel(cfg, Normalizer(0.0, 255.0, np.dtype(np.uint8).str))
    model.state.step = step
    return model


def test_a_new_model_takes_what_was_set_over_the_preset():
    cfg = training_config(TrainOptions(z_factor=7.5, preset="paper", backbone="edsr", steps=20, seed=4,
                                       kernel_smooth=0.0, device="cpu", other_settings={"batch_size": 3}))
    assert fields(cfg, PAPER) == {**PAPER, "backbone": "edsr", "batch_size": 3, "minutes": None}
    assert (cfg.z_factor, cfg.steps, cfg.seed, cfg.device, cfg.weights.kernel_smooth) == (7.5, 20, 4, "cpu", 0.0)
    expected = TrainConfig(**{**PAPER, "backbone": "edsr", "batch_size": 3, "minutes": None}, z_factor=7.5, steps=20,
                           seed=4, device="cpu").replace_weights(kernel_smooth=0.0)
    assert cfg == expected  # and nothing else differs from the defaults
    assert training_config(TrainOptions(z_factor=4)) == TrainConfig(**FAST, z_factor=4)  # nothing set: fast
    with pytest.raises(IsoReconError, match="Give the z-factor"):
        training_config(TrainOptions())


def test_continuing_applies_seed_prior_budget_and_device_and_keeps_the_rest():
    resume = _model()
    cfg = training_config(TrainOptions(steps=30, seed=9, kernel_smooth=0.0, device="cpu"), resume)
    assert (cfg.steps, cfg.minutes, cfg.seed, cfg.device) == (30, None, 9, "cpu")
    assert cfg.weights.kernel_smooth == 0.0 and resume.config.weights.kernel_smooth > 0
    assert cfg.replace(steps=10, seed=1, device="auto", weights=resume.config.weights) == resume.config
    unset = training_config(TrainOptions(), resume)  # nothing set: the model's own settings and budget
    assert unset.replace(device="auto") == resume.config


def test_continuing_takes_the_models_exact_z_factor_and_refuses_another():
    resume = _model()
    close = 5.0 * (1 + Z_FACTOR_RTOL / 2)  # e.g. typed with three decimals
    assert training_config(TrainOptions(z_factor=close), resume).z_factor == 5.0
    with pytest.raises(IsoReconError, match="trained for z-factor 5, not 4"):
        training_config(TrainOptions(z_factor=4.0), resume)


def test_continuing_refuses_other_networks_and_a_used_budget():
    resume = _model(step=10)
    with pytest.raises(IsoReconError, match="already used 10 of a budget of 10 steps"):
        training_config(TrainOptions(), resume)
    resume.state.step = 3
    with pytest.raises(IsoReconError, match="trained with backbone 'edsr', not 'rcan'"):
        training_config(TrainOptions(backbone="rcan"), resume)
    with pytest.raises(IsoReconError, match="trained with channels 8, not 64"):
        training_config(TrainOptions(preset="paper", backbone="edsr"), resume)
    # a preset counts as set: its values replace the model's (the network must still be the model's)
    cfg = training_config(TrainOptions(preset="fast", other_settings={"channels": 8, "blocks": 1}), resume)
    assert cfg.stage2_fraction == TrainConfig().stage2_fraction != resume.config.stage2_fraction


def _cli_config(argv, resume, voxel=(50.0, 10.0, 10.0)):
    from napari_isorecon.cli.commands import _training_config
    from napari_isorecon.cli.parser import build_parser

    return _training_config(build_parser().parse_args(argv), voxel, resume)


def test_the_command_line_continues_a_model_by_the_same_rules():
    resume = _model()
    argv = ["train", "sample", "--out", "m.pt", "--resume", "r.pt"]
    cfg = _cli_config(argv + ["--seed", "9", "--kernel-smooth", "0", "--steps", "30", "--device", "cpu"], resume)
    assert cfg == training_config(TrainOptions(steps=30, seed=9, kernel_smooth=0.0, device="cpu"), resume)
    assert (cfg.seed, cfg.weights.kernel_smooth, cfg.steps) == (9, 0.0, 30)
    assert _cli_config(argv, resume).replace(device="auto") == resume.config  # the file's voxel size is not asked
    with pytest.raises(IsoReconError, match="trained for z-factor 5, not 7"):
        _cli_config(argv + ["--z-factor", "7"], resume)  # once silently ignored
    new = _cli_config(["train", "sample", "--out", "m.pt", "--steps", "5"], None)
    assert new == TrainConfig(**{**FAST, "minutes": None}, z_factor=5.0, steps=5)  # the factor from the voxel size


def test_one_relative_tolerance_decides_the_same_z_factor(tiny_model_file):
    from napari_isorecon.core.model.checkpoint import load_model

    assert same_z_factor(10.0, 10.0 * (1 + 0.9 * Z_FACTOR_RTOL))
    assert not same_z_factor(10.0, 10.0 * (1 + 1.1 * Z_FACTOR_RTOL))
    assert same_z_factor(3.333, 10 / 3)  # three decimals
    assert load_model(tiny_model_file, z_factor=5.004).z_factor == 5.0
    with pytest.raises(IsoReconError, match="trained for z-factor 5, not 5.01"):
        load_model(tiny_model_file, z_factor=5.01)


def test_autosave_never_replaces_a_checkpoint(tmp_path, monkeypatch):
    autosave = tmp_path / "m.pt.autosave"
    check_autosave(autosave, None)  # nothing there: fine
    autosave.write_bytes(b"interrupted run")
    with pytest.raises(IsoReconError, match="--resume"):
        check_autosave(autosave, None)
    with pytest.raises(IsoReconError, match="--resume"):
        check_autosave(autosave, tmp_path / "other.pt")
    check_autosave(autosave, autosave)  # resuming it is fine
    finish_autosave(autosave)
    assert not autosave.exists()

    folder = tmp_path / "cache"
    first = new_autosave_file(folder, "my layer/1")
    assert first.parent == folder and first.name.startswith("my_layer_1-") and first.name.endswith(".autosave.pt")
    first.write_bytes(b"x")
    second = new_autosave_file(folder, "my layer/1")  # the same second: still a new file
    assert second != first and not second.exists()
    for n in range(AUTOSAVE_KEEP + 3):
        old = folder / f"old{n}.autosave.pt"
        old.write_bytes(b"x")
        os.utime(old, (time.time() - 1000 + n,) * 2)
    new_autosave_file(folder, "layer")
    assert len(list(folder.glob("*.autosave.pt"))) == AUTOSAVE_KEEP - 1  # the new run's file comes next
    assert first.exists()  # the newest are kept
    blocked = tmp_path / "a file"
    blocked.write_bytes(b"x")
    assert new_autosave_file(blocked / "sub", "layer") is None  # cannot be made: train without checkpoints

    monkeypatch.setenv(AUTOSAVE_ENV, str(tmp_path / "here"))
    assert default_autosave_folder() == tmp_path / "here"
    monkeypatch.delenv(AUTOSAVE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_autosave_folder() == tmp_path / "xdg" / "napari-isorecon" / "autosave"



def test_an_acquisition_sets_the_pairs_first_and_what_was_set_overrides_it():
    from napari_isorecon.core.jobs import acquisition_notes

    cfg = training_config(TrainOptions(z_factor=4, acquisition="block-face", other_settings={"thickness_spread": 0.0}))
    assert (cfg.acquisition, cfg.stage2_pairs, cfg.section_thickness, cfg.thickness_spread) == \
        ("block-face", "section", 0.5, 0.0)
    assert acquisition_notes(cfg) == ["--thickness-spread 0 overrides the block-face acquisition's 0.5."]
    assert acquisition_notes(training_config(TrainOptions(z_factor=4, acquisition="block-face"))) == []
    # continuing a model: a given acquisition replaces the model's pair settings, none keeps them
    resume = _model(section_thickness=0.5, thickness_spread=0.1)
    assert resume.config.acquisition == "custom"
    kept = training_config(TrainOptions(), resume)
    assert (kept.acquisition, kept.section_thickness, kept.thickness_spread) == ("custom", 0.5, 0.1)
    planes = training_config(TrainOptions(acquisition="fib-sem"), resume)
    assert (planes.acquisition, planes.section_thickness, planes.weights.kernel_smooth) == ("fib-sem", 0.0, 0.0)
    with pytest.raises(IsoReconError, match="Unknown acquisition 'tem'"):
        training_config(TrainOptions(z_factor=4, acquisition="tem"))
