"""The command line end to end on the shipped sample, and its answers to bad input."""

import numpy as np
import pytest
import tifffile

from napari_isorecon.cli import main
from napari_isorecon.core.io import read_volume, write_volume
from napari_isorecon.core.model.checkpoint import load_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`isorecon run sample` with a short budget: the README's main job."""
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "sample", "--steps", "12", "--out-dir", str(out)]) == 0
    return out


@pytest.mark.slow
def test_run_points_to_the_hidden_section_check_and_keeps_the_circular_score_behind_an_option(capsys, tmp_path):
    assert main(["run", "sample", "--steps", "2", "--out-dir", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "Consistency with the input" not in err  # circular: ours always scores high, so not by default
    assert "isorecon validate sample --z-factor 5 --out" in err
    assert ("assumes serial sections (ssTEM, ATUM, ssSEM); pairs from sections 1 z-step thick +-50% "
            "(--acquisition serial-sections | block-face | fib-sem | learn)") in err
    # the default: stage 2 on declared sections, nothing learned that could be unreliable
    assert "Section kernel (declared): centroid" in err and " nm," in err  # the sample's voxel size is known
    assert "Stage 1 ran only" not in err
    assert main(["run", "sample", "--steps", "2", "--pairs", "kernel", "--out-dir", str(tmp_path / "k")]) == 0
    err = capsys.readouterr().err
    assert "Learned axial kernel: centroid" in err
    assert "warning: Stage 1 ran only 1 steps" in err  # 2 steps: one per stage; never silently trusted
    assert "custom acquisition: pairs from the learned degradation (kernel)" in err
    assert "isorecon validate sample --z-factor 5 --pairs kernel --out" in err  # the check trains the same way
    assert main(["run", "sample", "--steps", "2", "--section-thickness", "0", "--out-dir", str(tmp_path / "p")]) == 0
    err = capsys.readouterr().err
    assert "pairs from single planes" in err and "validate sample --z-factor 5 --section-thickness 0 --out" in err
    assert main(["run", "sample", "--steps", "2", "--consistency", "--out-dir", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert "Consistency with the input" in err and "isotropic " in err and "interpolated " in err


@pytest.mark.slow
def test_run_writes_model_isotropic_and_interpolated_volumes(trained):
    iso, voxel = read_volume(trained / "sample_isotropic.tif")
    interp, _ = read_volume(trained / "sample_interpolated.tif")
    assert iso.shape == interp.shape == (50, 100, 200)
    assert iso.dtype == np.uint8
    assert voxel == pytest.approx((10.0, 10.0, 10.0))
    assert not np.array_equal(iso, interp)  # the trained network is not plain interpolation
    model = load_model(trained / "sample_model.pt")
    assert model.z_factor == 5 and model.state.step == 12


@pytest.mark.slow
def test_run_refuses_to_overwrite(trained, capsys):
    before = (trained / "sample_isotropic.tif").read_bytes()
    assert main(["run", "sample", "--steps", "2", "--out-dir", str(trained)]) == 2
    assert "exists" in capsys.readouterr().err
    assert (trained / "sample_isotropic.tif").read_bytes() == before


@pytest.mark.slow
def test_train_then_reconstruct_a_tif_with_voxel_size(trained, tmp_path):
    from napari_isorecon.sample import anisotropic_sample

    volume, voxel = anisotropic_sample()
    src = write_volume(tmp_path / "aniso.tif", volume, voxel)
    assert main(["train", str(src), "--steps", "3", "--out", str(tmp_path / "m.pt")]) == 0
    assert load_model(tmp_path / "m.pt").z_factor == 5  # read from the tif's voxel size
    assert main(["reconstruct", str(src), "--model", str(tmp_path / "m.pt"), "--out", str(tmp_path / "iso.tif"),
                 "--interpolated", str(tmp_path / "cubic.tif")]) == 0
    assert tifffile.imread(tmp_path / "iso.tif").shape == (50, 100, 200)
    assert tifffile.imread(tmp_path / "cubic.tif").shape == (50, 100, 200)
    assert main(["interpolate", str(src), "--order", "linear", "--out", str(tmp_path / "lin.tif")]) == 0
    assert main(["train", str(tmp_path / "m.pt"), "--steps", "3", "--out", str(tmp_path / "m2.pt"),
                 "--resume", str(tmp_path / "m.pt")]) == 2  # a model is not a volume


@pytest.mark.slow
def test_resume_from_cli(trained, tmp_path):
    model = trained / "sample_model.pt"
    assert main(["train", "sample", "--steps", "16", "--resume", str(model), "--out", str(tmp_path / "m.pt")]) == 0
    assert load_model(tmp_path / "m.pt").state.step == 16


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("isorecon: error:") and "Traceback" not in err and len(err.splitlines()) == 1
    return err


@pytest.mark.slow
def test_bad_input_gets_one_line_and_writes_nothing(trained, tmp_path, capsys):
    flat = tmp_path / "flat.tif"
    tifffile.imwrite(flat, np.zeros((64, 64), np.uint8))
    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, np.zeros((64, 64, 3), np.uint8))
    const = tmp_path / "const.tif"
    tifffile.imwrite(const, np.full((6, 64, 64), 9, np.uint8))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    damaged = tmp_path / "damaged.tif"
    damaged.write_bytes(flat.read_bytes()[:100])
    out = tmp_path / "out.tif"
    model = str(trained / "sample_model.pt")
    assert "2D" in _error(capsys, ["interpolate", str(flat), "--z-factor", "4", "--out", str(out)])
    assert "RGB" in _error(capsys, ["interpolate", str(rgb), "--z-factor", "4", "--out", str(out)])
    assert "constant" in _error(capsys, ["train", str(const), "--z-factor", "4", "--steps", "2",
                                         "--out", str(tmp_path / "m.pt")])
    assert "z-factor" in _error(capsys, ["interpolate", "sample", "--z-factor", "1", "--out", str(out)])
    assert "z-factor" in _error(capsys, ["interpolate", "sample", "--z-factor", "nan", "--out", str(out)])
    assert "does not exist" in _error(capsys, ["interpolate", str(tmp_path / "nope.tif"), "--z-factor", "4",
                                               "--out", str(out)])
    assert "Cannot read" in _error(capsys, ["interpolate", str(damaged), "--z-factor", "4", "--out", str(out)])
    assert "not a napari-isorecon model" in _error(capsys, ["reconstruct", "sample", "--model", str(junk),
                                                            "--out", str(out)])
    assert "trained for z-factor 5" in _error(capsys, ["reconstruct", "sample", "--z-factor", "10",
                                                       "--model", model, "--out", str(out)])
    assert "voxel size" in _error(capsys, ["train", str(const), "--steps", "2", "--out", str(tmp_path / "m.pt")])
    assert not out.exists() and not (tmp_path / "m.pt").exists()


def test_help_explains_every_command(capsys):
    for command in ("run", "train", "reconstruct", "interpolate"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
        assert "--device" in capsys.readouterr().out


def test_kernel_smoothness_prior_can_be_set_or_switched_off(tmp_path, capsys):
    from napari_isorecon.core.settings.config import LossWeights

    assert main(["train", "sample", "--steps", "2", "--out", str(tmp_path / "default.pt")]) == 0
    assert load_model(tmp_path / "default.pt").config.weights.kernel_smooth == LossWeights().kernel_smooth > 0
    assert main(["train", "sample", "--steps", "2", "--kernel-smooth", "0", "--out", str(tmp_path / "off.pt")]) == 0
    assert load_model(tmp_path / "off.pt").config.weights.kernel_smooth == 0.0
    with pytest.raises(SystemExit):
        main(["train", "sample", "--steps", "2", "--kernel-smooth", "-1", "--out", str(tmp_path / "bad.pt")])
    assert "must be a finite number >= 0" in capsys.readouterr().err
    assert not (tmp_path / "bad.pt").exists()


def test_train_takes_the_section_thickness_and_the_pairs(tmp_path, capsys):
    assert main(["train", "sample", "--steps", "2", "--section-thickness", "0.5", "--out", str(tmp_path / "a.pt")]) == 0
    model = load_model(tmp_path / "a.pt")
    assert model.config.section_thickness == 0.5 and model.config.stage2_pairs == "section"
    assert "Training for custom acquisition: pairs from sections 0.5 z-steps thick" in capsys.readouterr().err
    assert model.state.stage_steps == (0, 2)  # no stage 1: the sections are declared, not learned
    assert main(["train", "sample", "--steps", "2", "--pairs", "kernel", "--out", str(tmp_path / "b.pt")]) == 0
    model = load_model(tmp_path / "b.pt")
    assert model.config.stage2_pairs == "kernel" and model.state.stage_steps == (1, 1)
    with pytest.raises(SystemExit):
        main(["train", "sample", "--steps", "2", "--pairs", "residual", "--out", str(tmp_path / "c.pt")])
    assert main(["train", "sample", "--steps", "2", "--section-thickness", "5", "--out", str(tmp_path / "d.pt")]) == 2


@pytest.mark.slow
def test_the_thickness_spread_reaches_training_and_the_suggested_check(tmp_path, capsys):
    argv = ["--steps", "2", "--thickness-spread", "0.25"]
    assert main(["train", "sample", *argv, "--out", str(tmp_path / "a.pt")]) == 0
    assert load_model(tmp_path / "a.pt").config.thickness_spread == 0.25
    assert main(["run", "sample", *argv, "--out-dir", str(tmp_path / "r")]) == 0
    assert "validate sample --z-factor 5 --thickness-spread 0.25 --out" in capsys.readouterr().err
    assert main(["train", "sample", "--steps", "2", "--thickness-spread", "2", "--out", str(tmp_path / "b.pt")]) == 2
    assert "thickness_spread must be in [0, 1]" in capsys.readouterr().err


def test_version_prints_the_package_version(capsys):
    from napari_isorecon import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"isorecon {__version__}"
    assert __version__ and __version__[0].isdigit()


def test_backbone_reaches_the_saved_model(tmp_path):
    from napari_isorecon.core.settings.config import TrainConfig

    assert main(["train", "sample", "--steps", "2", "--backbone", "vdsr", "--out", str(tmp_path / "vdsr.pt")]) == 0
    model = load_model(tmp_path / "vdsr.pt")
    assert model.config.backbone == "vdsr" != TrainConfig().backbone
    assert model.reconstruction_network().name == "vdsr"  # the weights saved are a VDSR's


@pytest.mark.slow
def test_preset_reaches_the_saved_model(tmp_path, rng):
    """'paper' (64 filters, 9 blocks, DRCNet, batch 16) on a tiny volume, so that one step stays short."""
    from expected_presets import FAST, PAPER, fields

    src = write_volume(tmp_path / "tiny.tif", rng.integers(0, 256, (8, 32, 32)).astype(np.uint8), (20.0, 10.0, 10.0))
    assert main(["train", str(src), "--steps", "1", "--preset", "paper", "--out", str(tmp_path / "paper.pt")]) == 0
    model = load_model(tmp_path / "paper.pt")
    assert fields(model.config, PAPER) == {**PAPER, "minutes": None}  # --steps replaces the minutes
    assert model.config.channels != FAST["channels"] and model.config.z_factor == 2
    assert model.reconstruction_network().name == "drcnet" and model.state.step == 1
    assert main(["train", str(src), "--steps", "1", "--preset", "paper", "--backbone", "vdsr",
                 "--out", str(tmp_path / "paper_vdsr.pt")]) == 0
    config = load_model(tmp_path / "paper_vdsr.pt").config
    assert config.backbone == "vdsr" and config.channels == 64  # a backbone overrides; the paper's 64 filters stay


def test_batch_size_sets_the_slices_per_forward_pass(tmp_path, monkeypatch):
    from napari_isorecon.core.inference import reconstruct as engine

    batches = []
    real = engine._run_slices

    def counted(net, slices, *args, **kwargs):
        batches.append(slices.shape[0])
        return real(net, slices, *args, **kwargs)

    monkeypatch.setattr(engine, "_run_slices", counted)
    assert main(["interpolate", "sample", "--batch-size", "7", "--out", str(tmp_path / "b7.tif")]) == 0
    # the sample is (10, 100, 200): 100 xz slices, then 200 yz slices, 7 at a time
    assert batches == [7] * 14 + [2] + [7] * 28 + [4]
    batches.clear()
    assert main(["interpolate", "sample", "--out", str(tmp_path / "b8.tif")]) == 0
    assert batches == [8] * 12 + [4] + [8] * 25  # the default, 8
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "b7.tif"), tifffile.imread(tmp_path / "b8.tif"))


# what each acquisition sets: the pairs, the section thickness and spread, the learned kernel's prior weight
ACQUISITION_SETTINGS = {
    "serial-sections": ("section", 1.0, 0.5, 3e-4),
    "block-face": ("section", 0.5, 0.5, 3e-4),
    "fib-sem": ("section", 0.0, 0.5, 0.0),
    "learn": ("kernel", 1.0, 0.5, 3e-4),
}


@pytest.mark.parametrize("command", ["train", "run", "validate"])
@pytest.mark.parametrize("name", list(ACQUISITION_SETTINGS))
def test_every_acquisition_sets_its_pairs_on_the_command_line(name, command):
    from napari_isorecon.cli.commands import _training_config
    from napari_isorecon.cli.parser import build_parser
    from napari_isorecon.core.settings.acquisition import ACQUISITION_NAMES

    assert set(ACQUISITION_NAMES) == set(ACQUISITION_SETTINGS)  # every acquisition of the registry is tested
    out = ["--out-dir", "d"] if command == "run" else ["--out", "m.pt"]
    args = build_parser().parse_args([command, "sample", "--acquisition", name, "--steps", "3", *out])
    cfg = _training_config(args, (50.0, 10.0, 10.0), None)
    assert cfg.acquisition == name
    assert (cfg.stage2_pairs, cfg.section_thickness, cfg.thickness_spread, cfg.weights.kernel_smooth) == \
        ACQUISITION_SETTINGS[name]
    assert "overridden" not in cfg.describe_acquisition()


def test_an_override_wins_over_the_acquisition_with_a_note_and_info_shows_both(tmp_path, capsys):
    """--acquisition fib-sem with --section-thickness 1: the explicit number wins, and the run says so in a
    note; the model records the acquisition and `isorecon info` says what it assumed."""
    assert main(["train", "sample", "--steps", "1", "--acquisition", "fib-sem", "--section-thickness", "1",
                 "--out", str(tmp_path / "m.pt")]) == 0
    err = capsys.readouterr().err
    assert "isorecon: note: --section-thickness 1 overrides the fib-sem acquisition's 0." in err
    assert ("FIB-SEM (single planes); pairs from sections 1 z-step thick +-50% (overridden: section thickness 1 "
            "instead of 0)") in err
    config = load_model(tmp_path / "m.pt").config
    assert (config.acquisition, config.section_thickness, config.weights.kernel_smooth) == ("fib-sem", 1.0, 0.0)
    assert main(["info", str(tmp_path / "m.pt")]) == 0
    assert "acquisition assumed: FIB-SEM (single planes); pairs from sections 1 z-step thick" in \
        capsys.readouterr().out
    assert main(["train", "sample", "--steps", "1", "--acquisition", "block-face", "--out",
                 str(tmp_path / "b.pt")]) == 0
    assert "note:" not in capsys.readouterr().err  # nothing overridden, nothing to say
    assert main(["info", str(tmp_path / "b.pt")]) == 0
    out = capsys.readouterr().out
    assert "acquisition assumed: block-face SEM (SBF-SEM); pairs from sections 0.5 z-steps thick" in out
    assert "mean between sections held to the sections'" in out
    with pytest.raises(SystemExit):
        main(["train", "sample", "--acquisition", "ssTEM", "--out", str(tmp_path / "x.pt")])
    assert "invalid choice: 'ssTEM'" in capsys.readouterr().err


def test_every_training_option_with_a_flag_reaches_the_config():
    """The flags are made from the options' declarations (core/settings/options.py): each one given on the
    command line ends up in the TrainConfig, the range checks are the config's."""
    from napari_isorecon.cli.commands import _training_config
    from napari_isorecon.cli.parser import build_parser
    from napari_isorecon.core.errors import IsoReconError

    argv = ["train", "sample", "--out", "m.pt", "--channels", "12", "--blocks", "3", "--patch-width", "48",
            "--train-batch-size", "5", "--stage2-fraction", "0.25", "--seed", "4", "--backbone", "rcan"]
    cfg = _training_config(build_parser().parse_args(argv), (50.0, 10.0, 10.0), None)
    assert (cfg.channels, cfg.blocks, cfg.patch_width, cfg.batch_size, cfg.stage2_fraction, cfg.seed,
            cfg.backbone) == (12, 3, 48, 5, 0.25, 4, "rcan")
    args = build_parser().parse_args(["run", "sample", "--out-dir", "d", "--batch-size", "3",
                                      "--train-batch-size", "6"])
    assert _training_config(args, (50.0, 10.0, 10.0), None).batch_size == 6 and args.batch_size == 3
    with pytest.raises(IsoReconError, match="stage2_fraction must be in \\[0, 1\\)"):
        _training_config(build_parser().parse_args(argv + ["--stage2-fraction", "1"]), (50.0, 10.0, 10.0), None)


def test_artefacts_are_named_by_train_and_reconstruct_and_filling_can_be_switched_off(tmp_path, capsys):
    from planted import tissue

    volume = tissue(z=12, size=64)
    volume[6] = 0  # a blank section
    path = tmp_path / "damaged.tif"
    tifffile.imwrite(path, volume)
    model = tmp_path / "m.pt"
    assert main(["train", str(path), "--z-factor", "4", "--steps", "2", "--out", str(model)]) == 0
    err = capsys.readouterr().err
    assert "Sections: 1 of 12 sections look like artefacts: section 6 (blank). Training leaves out section 6." in err
    assert main(["reconstruct", str(path), "--model", str(model), "--out", str(tmp_path / "iso.tif")]) == 0
    assert "Filled section 6 (blank) from the neighbouring sections" in capsys.readouterr().err
    iso, _ = read_volume(tmp_path / "iso.tif")
    assert main(["reconstruct", str(path), "--model", str(model), "--keep-artefacts",
                 "--out", str(tmp_path / "kept.tif")]) == 0
    assert "Filled" not in capsys.readouterr().err
    kept, _ = read_volume(tmp_path / "kept.tif")
    rows = slice(24, 28)  # section 6's output rows at z-factor 4
    assert iso[rows].mean() > kept[rows].mean() + 20  # filled: no dark band where the blank section was


def test_too_few_real_sections_get_one_line_and_nothing_is_written(tmp_path, capsys):
    from planted import tissue

    volume = tissue(z=6, size=64)
    volume[[1, 3, 5]] = 0
    path = tmp_path / "few.tif"
    tifffile.imwrite(path, volume)
    err = _error(capsys, ["train", str(path), "--z-factor", "4", "--steps", "2", "--out", str(tmp_path / "m.pt")])
    assert "Only 3 of 6 sections are real images" in err
    err = _error(capsys, ["run", str(path), "--z-factor", "4", "--steps", "2", "--out-dir", str(tmp_path / "out")])
    assert "at least 4 are needed" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["few.tif"]  # no model, no folder


def test_run_scans_the_volume_once_for_training_and_reconstruction(tmp_path, capsys, monkeypatch):
    """`isorecon run` scans the stack for sections that are no real image once: training sets the blank one
    aside and the reconstruction fills it from the same findings, exactly as a reconstruction that scans on its
    own does."""
    from planted import tissue

    from napari_isorecon.core.checks import artefacts

    volume = tissue(z=12, size=64)
    volume[6] = 0  # a blank section
    path = tmp_path / "damaged.tif"
    tifffile.imwrite(path, volume)
    scans = []
    real_measure = artefacts._measure  # every scan makes one pass, however the scan function was imported
    monkeypatch.setattr(artefacts, "_measure", lambda *a, **k: scans.append(1) or real_measure(*a, **k))
    out = tmp_path / "out"
    assert main(["run", str(path), "--z-factor", "4", "--steps", "2", "--out-dir", str(out)]) == 0
    assert len(scans) == 1
    err = capsys.readouterr().err
    assert err.count("Sections: 1 of 12 sections look like artefacts: section 6 (blank). Training leaves out "
                     "section 6.") == 1
    assert err.count("Filled section 6 (blank) from the neighbouring sections") == 1
    iso, _ = read_volume(out / "damaged_isotropic.tif")
    interpolated, _ = read_volume(out / "damaged_interpolated.tif")
    assert iso[24:28].mean() > 0.8 * volume[[5, 7]].mean()  # section 6's output rows: filled, not dark
    assert interpolated[24:28].mean() > 0.8 * volume[[5, 7]].mean()
    assert main(["reconstruct", str(path), "--model", str(out / "damaged_model.pt"), "--out", str(tmp_path / "r.tif"),
                 "--interpolated", str(tmp_path / "c.tif")]) == 0
    assert len(scans) == 2  # a reconstruction alone scans for itself
    np.testing.assert_array_equal(iso, read_volume(tmp_path / "r.tif")[0])
    np.testing.assert_array_equal(interpolated, read_volume(tmp_path / "c.tif")[0])
