"""The Train widget: layer choice, z-factor, training through the worker, Stop, save/load, closing."""

from __future__ import annotations

import numpy as np
import pytest
from qt_helpers import WAIT_MS, levels, set_tiny_settings, wait_for_state

STAGE1_LOSSES = {"G_hl adversarial", "G_lh adversarial", "cycle LR", "cycle HR", "D_l", "D_h"}


def test_picker_lists_only_single_channel_3d_images(viewer, sample_layer, train_widget, notes):
    viewer.add_image(np.zeros((64, 64), np.uint8), name="flat 2D")
    viewer.add_image(np.zeros((8, 64, 64, 3), np.uint8), name="rgb stack", rgb=True)
    viewer.add_image(np.zeros((2, 8, 64, 64), np.uint8), name="two channels in one layer")
    viewer.add_labels(np.zeros((8, 64, 64), np.uint8), name="segmentation")
    volume = viewer.add_image(np.zeros((8, 64, 64), np.uint16), name="another volume", scale=(30, 10, 10))
    picker = train_widget.layer_picker
    names = [picker.itemText(i) for i in range(picker.count())]
    assert names == [sample_layer.name, "another volume"]

    picker.set_layer(volume)
    assert train_widget.settings.z_factor == pytest.approx(3.0)
    volume.name = "renamed volume"  # the choice follows the layer, not its old name
    assert picker.currentText() == "renamed volume" and picker.layer() is volume
    viewer.layers.remove(volume)
    assert picker.layer() is sample_layer
    viewer.layers.remove(sample_layer)
    assert picker.layer() is None and not picker.isEnabled()
    assert train_widget.start_training() is False  # only 2D, RGB, 4D and labels layers are left
    assert any("No 3D image layer" in m for m in levels(notes, "error"))


def test_z_factor_comes_from_the_scale_with_a_hint_when_isotropic(viewer, train_widget, sample_layer, notes):
    assert train_widget.settings.z_factor == pytest.approx(5.0)
    assert "layer scale" in train_widget.z_hint.text()
    sample_layer.scale = (10, 10, 10)
    assert train_widget.settings.z_factor == pytest.approx(1.0)
    assert "isotropic" in train_widget.z_hint.text()
    assert train_widget.start_training() is False  # z-factor 1 is refused with a message
    assert any("z-factor" in m for m in levels(notes, "error"))
    assert train_widget.job_controller.state.value == "idle" and train_widget.job_controller.job is None


def test_training_feeds_plot_preview_progress_and_keeps_the_model(qtbot, viewer, train_widget, notes):
    announced = []
    train_widget.model_changed.connect(announced.append)
    assert train_widget.start_training()
    assert train_widget.start_button.text() == "Stop training"
    assert train_widget.start_training() is False  # started twice: refused with a warning
    assert any("already running" in m for m in levels(notes, "warning"))
    wait_for_state(qtbot, train_widget, "done")

    plot = train_widget.loss_plot
    assert STAGE1_LOSSES | {"reconstruction L2"} <= set(plot.loss_names)
    assert plot.point_count("D_l") == 3 and plot.point_count("reconstruction L2") == 3  # 6 steps, half each
    assert plot._stage_marks == [3]
    assert plot.held_out_count == 2  # the held-back pairs, scored when stage 2 started and at the end
    assert train_widget.status.text().endswith("; the whole budget was used.")
    assert train_widget.preview.step == 6 and train_widget.preview.axial_image.pixmap() is not None
    model = train_widget.model
    assert model is not None and announced == [model]
    assert model.state.step == 6 and model.reconstructor is not None and model.z_factor == 5
    assert train_widget.start_button.text() == "Start training" and train_widget.save_button.isEnabled()
    assert "Model: z-factor 5" in train_widget.model_label.text()
    assert ("assumes serial sections (ssTEM, ATUM, ssSEM); pairs from the learned degradation (kernel) "
            "(overridden: stage-2 pairs kernel instead of section)") in train_widget.model_label.text()
    # stage 1 ran 3 steps: the same warning as the command line's (core.checks.kernel_summary)
    assert any(m.startswith("Stage 1 ran only 3 steps") for m in levels(notes, "warning"))
    qtbot.waitUntil(lambda: train_widget.job_controller.job is None, timeout=WAIT_MS)  # worker gone, progress closed
    assert train_widget.job_controller.progress is None
    assert not levels(notes, "error")


def test_stop_ends_early_and_keeps_a_usable_model(qtbot, train_widget, sample_layer, viewer, notes):
    set_tiny_settings(train_widget, steps=None, minutes=30)
    assert train_widget.start_training()
    qtbot.waitUntil(lambda: train_widget.loss_plot.point_count("D_l") >= 2, timeout=WAIT_MS)
    viewer.layers.remove(sample_layer)  # the worker trains on its own snapshot
    train_widget.stop_training()
    assert train_widget.job_controller.state.value == "stopping"
    assert not train_widget.start_button.isEnabled()
    wait_for_state(qtbot, train_widget, "done")
    model = train_widget.model
    assert model is not None and 2 <= model.state.step < 1000
    assert any("stopped" in m for m in levels(notes, "info"))
    degraded = model.degrade(np.zeros((40, 32), np.uint8))  # the kept model runs
    assert degraded.shape == (8, 32)


def test_a_converged_run_says_so_and_draws_the_held_back_curve(qtbot, train_widget, monkeypatch):
    """Stage 2 ends early when the held-back pairs stop improving (here the rule says so at once): the plot has
    the held-back curve beside the stage-2 loss, and the status line says why training ended."""
    from napari_isorecon.core.training.early_stop import PlateauRule

    monkeypatch.setattr(PlateauRule, "should_stop", lambda self, progress: self.evaluations >= 2)
    set_tiny_settings(train_widget, steps=400, pairs="section")
    assert train_widget.start_training()
    wait_for_state(qtbot, train_widget, "done")
    plot, status = train_widget.loss_plot, train_widget.status.text()
    assert plot.held_out_count == 2 and train_widget.model.state.step == 100  # scored at steps 0 and 100
    line = next(line for line in plot.axes.get_lines() if line.get_label() == "held-back L2")
    psnr = [entry[2] for entry in train_widget.model.state.held_out]
    np.testing.assert_allclose(line.get_ydata(), [10 ** (-p / 10) for p in psnr])  # the L2 behind each PSNR
    assert "steps" in status and "stopped early, converged: the held-back PSNR rose less than 0.02 dB" in status


def test_failure_in_the_worker_becomes_a_notification(qtbot, train_widget, notes, monkeypatch):
    from napari_isorecon.core.training import train as core_train

    def broken_train(*args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")
        yield  # makes this a generator

    monkeypatch.setattr(core_train, "train", broken_train)
    assert train_widget.start_training()
    wait_for_state(qtbot, train_widget, "failed")
    assert any("out of memory" in m for m in levels(notes, "error"))
    assert train_widget.model is None and train_widget.start_button.isEnabled()


def test_save_refuses_to_overwrite_and_load_restores(qtbot, train_widget, tmp_path, notes, tiny_model_file):
    assert train_widget.save_model_to(tmp_path / "m.pt") is None  # nothing to save yet
    assert levels(notes, "warning")
    model = train_widget.load_model_from(tiny_model_file)
    assert model is not None and train_widget.model is model

    target = tmp_path / "m.pt"
    assert train_widget.save_model_to(target) == target
    before = target.read_bytes()
    assert train_widget.save_model_to(target) is None  # exists: refused without the dialog's confirmation
    assert any("exists" in m for m in levels(notes, "error"))
    assert target.read_bytes() == before
    assert train_widget.save_model_to(target, overwrite=True) == target

    (tmp_path / "junk.pt").write_bytes(b"not a model")
    assert train_widget.load_model_from(tmp_path / "junk.pt") is None
    assert any("not a napari-isorecon model" in m for m in levels(notes, "error"))
    assert train_widget.model is model  # a bad file does not replace the model


def test_save_button_uses_the_dialog_answer(train_widget, tmp_path, monkeypatch, tiny_model_file, notes):
    from napari_isorecon.core.model import checkpoint

    writes = []
    real_save = checkpoint.save_model

    def recorded_save(*args, **kwargs):
        writes.append(args)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(checkpoint, "save_model", recorded_save)
    model = train_widget.load_model_from(tiny_model_file)
    target = tmp_path / "existing.pt"
    target.write_bytes(b"old")
    monkeypatch.setattr(train_widget, "_ask_save_path", lambda: str(target))  # the user confirmed replacing
    train_widget.save_button.click()
    assert len(writes) == 1 and target.read_bytes() != b"old"
    assert checkpoint.load_model(target).state.step == model.state.step  # the model, saved
    saved = target.read_bytes()
    files = sorted(tmp_path.rglob("*"))

    monkeypatch.setattr(train_widget, "_ask_save_path", lambda: None)  # the user cancelled
    notes.clear()
    train_widget.save_button.click()
    assert len(writes) == 1  # nothing saved, anywhere
    assert sorted(tmp_path.rglob("*")) == files and target.read_bytes() == saved
    assert notes == []  # neither "saved" nor an error
    assert train_widget.model is model and train_widget.save_button.isEnabled()  # the model is kept


def test_closing_the_dock_stops_training(qtbot, viewer, train_widget):
    set_tiny_settings(train_widget, steps=None, minutes=30)
    assert train_widget.start_training()
    job = train_widget.job_controller.job
    qtbot.waitUntil(lambda: train_widget.loss_plot.point_count() > 0, timeout=WAIT_MS)
    viewer.window.remove_dock_widget(train_widget)
    assert job.stop_flag.is_set() and not job.running  # thread ended before remove_dock_widget returned
    assert train_widget.job_controller.progress is None


def test_closing_the_viewer_stops_training(qtbot, make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-isorecon", "anisotropic_em")
    _, widget = viewer.window.add_plugin_dock_widget("napari-isorecon", "Train")
    set_tiny_settings(widget, steps=None, minutes=30)
    assert widget.start_training()
    job = widget.job_controller.job
    qtbot.waitUntil(lambda: widget.loss_plot.point_count() > 0, timeout=WAIT_MS)
    viewer.close()
    assert job.stop_flag.is_set() and job.wait(10)


def test_plot_follows_the_napari_theme_without_touching_rcparams(viewer, train_widget):
    import matplotlib
    from matplotlib.colors import to_hex
    from napari.utils.theme import get_theme

    rc_before = dict(matplotlib.rcParams)
    viewer.theme = "light"
    face = to_hex(train_widget.loss_plot.figure.get_facecolor())
    assert face == get_theme("light").background.as_hex()
    viewer.theme = "dark"
    assert to_hex(train_widget.loss_plot.figure.get_facecolor()) == get_theme("dark").background.as_hex()
    assert dict(matplotlib.rcParams) == rc_before


def test_checkpoints_survive_a_crash_and_training_continues_from_one(qtbot, train_widget, autosave_folder,
                                                                      notes):
    from napari_isorecon.core.model.checkpoint import load_model

    train_widget.autosave_every_s = 1e-6  # a checkpoint after every step
    assert not train_widget.continue_box.isEnabled()  # no model yet
    assert train_widget.start_training()
    wait_for_state(qtbot, train_widget, "done")
    (checkpoint,) = autosave_folder.glob("*.autosave.pt")
    assert checkpoint == train_widget.checkpoint_path
    assert str(checkpoint) in train_widget.checkpoint_label.text()
    assert str(checkpoint) in train_widget.checkpoint_label.toolTip()
    assert load_model(checkpoint).state.step == 6  # the final model is in the checkpoint too

    # after a crash: a new session loads the checkpoint and trains it on to a larger budget
    qtbot.waitUntil(lambda: train_widget.job_controller.job is None, timeout=WAIT_MS)
    assert train_widget.load_model_from(checkpoint) is not None
    loaded = train_widget.model
    assert train_widget.continue_box.isEnabled()
    train_widget.continue_box.setChecked(True)
    assert train_widget.start_training() is False  # the budget of 6 steps is used up: say so
    assert any("already used 6 of a budget of 6 steps" in m for m in levels(notes, "error"))
    train_widget.settings.budget = 10
    assert train_widget.start_training()
    wait_for_state(qtbot, train_widget, "done")
    assert train_widget.model.state.step == 10 and train_widget.model is not loaded
    assert loaded.state.step == 6  # the loaded model (maybe in use by Reconstruct) was not touched
    assert len(list(autosave_folder.glob("*.autosave.pt"))) == 2 or \
        load_model(train_widget.checkpoint_path).state.step == 10  # same second: the same file name
    assert not [m for m in levels(notes, "error") if "already used" not in m]


def test_continue_refuses_a_model_for_another_z_factor(train_widget, notes):
    import numpy as np

    from napari_isorecon._qt.shared.session import ModelProvenance
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel

    cfg = TrainConfig(z_factor=4, steps=1, minutes=None, channels=8, blocks=1)
    train_widget._set_model(IsoModel(cfg, Normalizer(0.0, 255.0, np.dtype(np.uint8).str)),
                            ModelProvenance("trained", "elsewhere"))
    train_widget.continue_box.setChecked(True)
    assert train_widget.start_training() is False
    assert any("trained for z-factor 4, not 5" in m for m in levels(notes, "error"))


def test_continue_applies_what_the_form_sets_by_the_rules_of_the_command_line(qtbot, train_widget, notes):
    from napari_isorecon._qt.shared.session import ModelProvenance
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.jobs import training_config
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel

    cfg = TrainConfig(z_factor=5, steps=2, minutes=None, channels=8, blocks=1, seed=1, device="cpu")
    model = IsoModel(cfg, Normalizer(0.0, 255.0, np.dtype(np.uint8).str))
    train_widget._set_model(model, ModelProvenance("trained", "elsewhere"))
    train_widget.continue_box.setChecked(True)
    assert (train_widget.settings.seed, train_widget.settings.budget) == (1, 2)  # the form shows the model's
    train_widget.settings.seed = 7
    train_widget.settings.smooth_kernel = False
    train_widget.settings.budget = 6
    assert train_widget.start_training()
    run = train_widget._run_config
    assert (run.seed, run.weights.kernel_smooth, run.steps) == (7, 0.0, 6)  # once silently the model's own
    assert run == training_config(train_widget.settings.train_options(model), model)  # core.jobs decides
    wait_for_state(qtbot, train_widget, "done")
    assert train_widget.model.config.seed == 7 and train_widget.model.state.step == 6


def test_a_loaded_model_with_other_settings_continues_as_it_was_trained(qtbot, train_widget, sample_layer, tmp_path,
                                                                       notes):
    """After a crash: Load model... + Continue works out of the box for a model made with settings other than
    the form's (another backbone, generator sizes the form does not show, no prior, its own seed and budget),
    on a layer without a voxel size (the z-factor is then the model's)."""
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.model.checkpoint import save_model
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel

    cfg = TrainConfig(z_factor=5, steps=4, minutes=None, backbone="vdsr", channels=8, blocks=1, ghl_channels=4,
                      ghl_blocks=1, disc_channels=8, lr_rows=4, patch_width=48, batch_size=3,
                      stage2_fraction=0.3, seed=3, device="cpu").replace_weights(kernel_smooth=0.0)
    path = save_model(IsoModel(cfg, Normalizer(0.0, 255.0, np.dtype(np.uint8).str)), tmp_path / "crashed.pt")
    sample_layer.scale = (1.0, 1.0, 1.0)
    assert train_widget.settings.z_factor == 1.0  # the form has no z-factor
    assert train_widget.load_model_from(path) is not None
    assert train_widget.settings.z_factor == 5.0
    train_widget.continue_box.setChecked(True)
    assert train_widget.start_training(), levels(notes, "error")
    assert train_widget._run_config == cfg  # every setting the model's: it goes on as it ran
    wait_for_state(qtbot, train_widget, "done")
    assert train_widget.model.state.step == 4 and train_widget.model.config.backbone == "vdsr"
    assert not levels(notes, "error")


def test_continuing_a_paper_model_shows_the_paper_preset_and_keeps_what_may_change(train_widget, notes):
    from napari_isorecon._qt.shared.session import ModelProvenance
    from napari_isorecon.core import preset
    from napari_isorecon.core.errors import IsoReconError
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel
    from napari_isorecon.core.settings.config import LossWeights

    cfg = preset("paper", z_factor=5, seed=2)
    train_widget._set_model(IsoModel(cfg, Normalizer(0.0, 255.0, np.dtype(np.uint8).str)),
                            ModelProvenance("trained", "elsewhere"))
    settings = train_widget.settings
    settings.device = "cpu"
    train_widget.continue_box.setChecked(True)
    assert (settings.preset, settings.backbone, settings.channels, settings.seed) == ("paper (GPU)", "drcnet", 64, 2)
    assert (settings.budget_unit, settings.budget) == ("minutes", 60.0)
    assert train_widget.settings.training_config(train_widget.model) == cfg.replace(device="cpu")
    settings.seed, settings.budget, settings.smooth_kernel = 5, 90.0, False  # what may change, changes
    changed = train_widget.settings.training_config(train_widget.model)
    assert (changed.seed, changed.minutes, changed.weights.kernel_smooth) == (5, 90.0, 0.0)
    settings.smooth_kernel = True
    assert train_widget.settings.training_config(train_widget.model).weights == LossWeights()
    settings.backbone = "edsr"  # what shapes the networks cannot
    with pytest.raises(IsoReconError, match="backbone"):
        train_widget.settings.training_config(train_widget.model)


def test_a_long_checkpoint_path_does_not_widen_the_dock(train_widget):
    from napari_isorecon.core.events import CheckpointSaved

    body = train_widget._scroll.widget()  # what the dock shows; wider than the dock = clipped on the right
    width = body.minimumSizeHint().width()
    long_path = "/a/very/deep/folder/" + "x" * 300 + ".autosave.pt"  # nothing to wrap at
    train_widget._on_event(CheckpointSaved(path=long_path, step=3))
    assert long_path in train_widget.checkpoint_label.text()
    assert body.minimumSizeHint().width() <= width


def test_the_kernel_smoothness_prior_is_on_by_default_and_can_be_switched_off(train_widget):
    from napari_isorecon.core.settings.config import LossWeights

    assert train_widget.settings.smooth_kernel
    assert train_widget.training_config().weights.kernel_smooth == LossWeights().kernel_smooth > 0
    train_widget.settings.smooth_kernel = False
    assert train_widget.training_config().weights.kernel_smooth == 0.0


def test_by_default_stage_2_trains_alone_on_the_declared_sections(qtbot, train_widget):
    from napari_isorecon._qt.train.train_settings import TrainSettings

    assert TrainSettings().stage2_pairs == "section" and TrainSettings().section_thickness == 1.0
    assert TrainSettings().acquisition == "serial-sections"
    hint = train_widget.settings_box.acquisition_hint
    train_widget.settings.stage2_pairs = "section"  # the fixture's tiny settings learn the kernel
    assert hint.text().startswith("Pairs from sections 1 z-step thick +-50%.") and "overrides" not in hint.text()
    train_widget.settings.section_thickness = 0.0
    assert hint.text().startswith("Pairs from single planes.")
    assert "Advanced > Section thickness 0 overrides the serial-sections acquisition's 1." in hint.text()
    train_widget.settings.section_thickness, train_widget.settings.thickness_spread = 1.0, 0.25
    assert "sections 1 z-step thick +-25%" in hint.text() and "Thickness spread 0.25 overrides" in hint.text()
    set_tiny_settings(train_widget, pairs="section")
    train_widget.settings.section_thickness = 0.5
    assert "sections 0.5 z-steps thick" in hint.text()
    assert train_widget.start_training()
    wait_for_state(qtbot, train_widget, "done")
    assert set(train_widget.loss_plot.loss_names) == {"reconstruction L2"}  # no CycleGAN
    model = train_widget.model
    assert model.state.stage_steps == (0, 6) and model.config.section_thickness == 0.5
    assert model.config.thickness_spread == 0.25  # the Advanced field reaches the run
    caption = train_widget.kernel_plot.caption.text()
    assert caption.startswith("Section kernel (declared)") and "Warning" not in caption
    labels = [line.get_label() for line in train_widget.kernel_plot.canvas.axes.get_lines()]
    assert "section (declared)" in labels and "learned" not in labels


def _damaged_layer(viewer, blank=(6,), z=12):
    """A synthetic stack (z-factor 5 from its scale) with blank sections planted."""
    from planted import tissue

    volume = tissue(z=z, size=64)
    volume[list(blank)] = 0
    return viewer.add_image(volume, name="damaged", scale=(50, 10, 10))


def test_the_sections_set_aside_are_shown_with_the_training(qtbot, viewer, train_widget, notes):
    train_widget.layer_picker.set_layer(_damaged_layer(viewer))
    assert train_widget.artefacts_label.isHidden()
    assert train_widget.start_training()
    wait_for_state(qtbot, train_widget, "done")
    text = train_widget.artefacts_label.text()
    assert text.startswith("1 of 12 sections look like artefacts: section 6 (blank). Training leaves out section 6.")
    # 12 sections, windows of 8: each holds section 6, and the line says what is done instead
    assert text.endswith("No 8-section z window is free of them: the real axial patches come from the 5 windows "
                         "that hold the fewest.")
    assert not train_widget.artefacts_label.isHidden() and "Section 6: blank" in train_widget.artefacts_label.toolTip()
    assert any("section 6 (blank)" in m for m in levels(notes, "warning"))
    assert "Training done" in train_widget.status.text() and train_widget.model is not None


def test_a_stack_with_too_few_real_sections_fails_in_one_line(qtbot, viewer, train_widget, notes):
    train_widget.layer_picker.set_layer(_damaged_layer(viewer, blank=(1, 3, 5), z=6))
    assert train_widget.start_training()
    wait_for_state(qtbot, train_widget, "failed")
    status = train_widget.status.text()
    assert status.startswith("Training failed: Only 3 of 6 sections are real images") and "\n" not in status
    assert "Traceback" not in status and train_widget.model is None
