"""The Train and Reconstruct settings: evented dataclasses shown by magicgui forms, kept in step both ways,
with the fields, defaults, tooltips and rules the forms always had."""

from __future__ import annotations

import pytest
from qtpy.QtWidgets import QFormLayout, QLabel

from napari_isorecon._qt.recon_settings import FROM_FILE, FROM_TRAIN_WIDGET, ReconSettings
from napari_isorecon._qt.train_settings import TrainSettings
from napari_isorecon.core.settings.config import PRESETS, TrainConfig
from napari_isorecon.core.settings.device import available_devices


def form_labels(widget) -> list[str]:
    """The row labels of every form inside ``widget``, top to bottom."""
    labels = []
    for layout in widget.findChildren(QFormLayout):
        for row in range(layout.rowCount()):
            item = layout.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and isinstance(item.widget(), QLabel) and item.widget().text():
                labels.append(item.widget().text())
    return labels


def test_train_settings_rules_hold_without_a_form():
    settings = TrainSettings()
    paper = TrainConfig(**PRESETS["paper"])
    assert (settings.preset, settings.budget_unit, settings.budget) == ("fast, CPU", "minutes", 10.0)
    settings.channels = 8
    settings.preset = "paper (GPU)"  # a preset fills the budget and the advanced fields
    assert (settings.backbone, settings.channels, settings.blocks, settings.budget) == \
        (paper.backbone, paper.channels, paper.blocks, paper.minutes)
    settings.budget_unit = "steps"
    assert settings.budget == 2000
    settings.budget = 7
    settings.z_factor = 4.0
    config = settings.training_config()
    assert (config.steps, config.minutes, config.channels) == (7, None, paper.channels)
    settings.smooth_kernel = False
    assert settings.training_config().weights.kernel_smooth == 0.0


def test_train_form_follows_the_settings_and_edits_them(train_widget):
    settings, fields = train_widget.settings, train_widget.settings_box.fields
    assert form_labels(train_widget.settings_box) == [
        "Image", "z-factor", "Section thickness", "Preset", "Budget", "Device", "Precision", "Seed",
        "Backbone", "Channels", "Blocks", "Patch width", "Batch size", "Stage-2 pairs", "Thickness spread",
        "Stage-2 share",
        "Preview every"]
    assert fields["smooth_kernel"].native.text() == "Smooth axial kernel"
    assert fields["z_factor"].native.toolTip().startswith("z spacing / xy spacing")
    assert "Greyed: not on this machine" in fields["device"].native.toolTip()
    fields["precision"].native.setCurrentText("float32")  # the form -> the object -> the run's config
    assert settings.precision == "float32" and settings.training_config().precision == "float32"
    float16 = fields["precision"].native.findText("float16")
    if available_devices() == ["cpu"]:  # float16 is for GPUs: greyed on a machine without one
        assert not fields["precision"].native.model().item(float16).isEnabled()

    settings.seed = 42  # the object -> the form
    assert fields["seed"].native.value() == 42
    fields["blocks"].native.setValue(3)  # the form -> the object
    assert settings.blocks == 3
    fields["preset"].native.setCurrentText("paper (GPU)")  # a rule of the settings, shown in the form
    assert fields["channels"].native.value() == settings.channels == TrainConfig(**PRESETS["paper"]).channels
    settings.budget_unit = "steps"
    assert fields["budget"].native.text() == "2000" and fields["budget_unit"].native.currentText() == "steps"
    settings.budget_unit = "minutes"
    assert fields["budget"].native.text() == "60.0"

    settings.z_factor = 10 / 3  # what the form cannot show is written back as it shows it
    assert fields["z_factor"].native.text() == "3.333" and settings.z_factor == pytest.approx(3.333)
    settings.z_factor = 0.5
    assert settings.z_factor == fields["z_factor"].native.value() == 1.0
    settings.z_factor = 0.7  # the form already shows 1.0: written back all the same
    assert settings.z_factor == 1.0


def test_recon_form_follows_the_settings(recon_widget, tiny_model_file):
    settings, fields = recon_widget.settings, recon_widget.settings_box.fields
    assert (settings.model_source, settings.device, settings.uncertainty, settings.consistency) == \
        (FROM_TRAIN_WIDGET, "auto", False, False) == (ReconSettings().model_source, "auto", False, False)
    assert form_labels(recon_widget.settings_box) == ["Image", "Model", "Device", "Precision"]
    assert settings.precision == "auto" and "Interpolation is always float32" in fields["precision"].native.toolTip()
    assert fields["uncertainty"].native.text() == "Uncertainty map (flipped predictions)"
    assert not recon_widget.settings_box.file_row.isVisibleTo(recon_widget)  # only for a model file
    settings.model_source = FROM_FILE
    assert recon_widget.settings_box.file_row.isVisibleTo(recon_widget)
    assert fields["model_path"].native.placeholderText() == "model file (.pt)"
    fields["model_path"].native.setText(str(tiny_model_file))  # typed in the form
    assert settings.model_path == str(tiny_model_file)
    assert "z-factor 5" in recon_widget.model_info.text()  # the model info follows
    settings.consistency = True
    assert fields["consistency"].native.isChecked()
