"""The Train and Reconstruct settings: evented dataclasses shown by magicgui forms, kept in step both ways,
with the fields, defaults, tooltips and rules the forms always had."""

from __future__ import annotations

import pytest
from expected_presets import PAPER
from expected_presets import fields as config_fields
from qtpy.QtWidgets import QFormLayout, QLabel

from napari_isorecon._qt.reconstruct.recon_settings import FROM_FILE, FROM_TRAIN_WIDGET, ReconSettings
from napari_isorecon._qt.train.train_settings import TrainSettings
from napari_isorecon.core.settings.config import preset
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
    assert (settings.preset, settings.budget_unit, settings.budget) == ("fast, CPU", "minutes", 10.0)
    settings.channels = 8
    settings.preset = "paper (GPU)"  # a preset fills the budget and the advanced fields
    assert (settings.backbone, settings.channels, settings.blocks, settings.budget) == \
        (PAPER["backbone"], PAPER["channels"], PAPER["blocks"], PAPER["minutes"]) == ("drcnet", 64, 9, 60.0)
    settings.budget_unit = "steps"
    assert settings.budget == 2000
    settings.budget = 7
    settings.z_factor = 4.0
    config = settings.training_config()
    assert (config.steps, config.minutes, config.channels) == (7, None, 64)
    assert config_fields(config, PAPER) == {**PAPER, "minutes": None}
    settings.smooth_kernel = False
    assert settings.training_config().weights.kernel_smooth == 0.0


def test_train_form_follows_the_settings_and_edits_them(train_widget):
    settings, fields = train_widget.settings, train_widget.settings_box.fields
    assert form_labels(train_widget.settings_box) == [
        "Image", "z-factor", "Acquisition", "Preset", "Budget", "Device", "Precision", "Seed",
        "Backbone", "Channels", "Blocks", "Patch width", "Batch size", "Stage-2 share", "Stage-2 pairs",
        "Section thickness", "Thickness spread", "Preview every"]
    assert fields["smooth_kernel"].native.text() == "Smooth axial kernel"
    assert fields["early_stop"].native.text() == "Stop when learned" and fields["early_stop"].native.isChecked()
    assert train_widget.settings_box.advanced.isAncestorOf(fields["early_stop"].native)
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
    assert fields["channels"].native.value() == settings.channels == PAPER["channels"] == 64
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


# what each acquisition sets in the form: pairs, section thickness, spread, the kernel prior ticked
ACQUISITION_FIELDS = {
    "serial sections (ssTEM, ATUM, ssSEM)": ("serial-sections", "section", 1.0, 0.5, True),
    "block-face SEM (SBF-SEM)": ("block-face", "section", 0.5, 0.5, True),
    "FIB-SEM (single planes)": ("fib-sem", "section", 0.0, 0.5, False),
    "unknown: learn it from the volume": ("learn", "kernel", 1.0, 0.5, True),
}


PAIR_SETTINGS = ("acquisition", "stage2_pairs", "section_thickness", "thickness_spread")


def test_the_acquisition_is_a_basic_field_that_sets_the_pairs_and_reaches_the_run(train_widget):
    """Chosen in the form (above the Advanced box), an acquisition fills the pair settings and is the run's;
    an Advanced setting then overrides it (the form says so) and wins, as on the command line."""
    settings, fields = train_widget.settings, train_widget.settings_box.fields
    combo = fields["acquisition"].native
    assert [combo.itemText(i) for i in range(combo.count())] == list(ACQUISITION_FIELDS)
    assert not train_widget.settings_box.advanced.isAncestorOf(combo)
    assert "SBF-SEM" in combo.toolTip() and "physically motivated assumption" in combo.toolTip()
    for label, (name, pairs, thickness, spread, smooth) in reversed(ACQUISITION_FIELDS.items()):
        combo.setCurrentText(label)  # the form -> the settings -> the run's config
        assert settings.acquisition == name
        assert (settings.stage2_pairs, settings.section_thickness, settings.thickness_spread,
                settings.smooth_kernel) == (pairs, thickness, spread, smooth)
        assert fields["section_thickness"].native.value() == thickness
        config, expected = settings.training_config(), preset("fast", acquisition=name, z_factor=5.0)
        wanted = dict(zip(PAIR_SETTINGS, (name, pairs, thickness, spread), strict=True))
        assert {key: getattr(config, key) for key in PAIR_SETTINGS} == wanted
        assert {key: getattr(expected, key) for key in PAIR_SETTINGS} == wanted
        assert config.weights.kernel_smooth == expected.weights.kernel_smooth == (3e-4 if smooth else 0.0)
        assert "overrides" not in train_widget.settings_box.acquisition_hint.text()
    combo.setCurrentText("FIB-SEM (single planes)")
    fields["section_thickness"].native.setValue(1.0)  # an Advanced override
    assert "Advanced > Section thickness 1 overrides the fib-sem acquisition's 0." in \
        train_widget.settings_box.acquisition_hint.text()
    config = settings.training_config()
    assert (config.acquisition, config.section_thickness) == ("fib-sem", 1.0)
    assert "(overridden: section thickness 1 instead of 0)" in config.describe_acquisition()
    settings.preset = "paper (GPU)"  # a preset keeps the acquisition and puts its pair settings back
    assert (settings.acquisition, settings.section_thickness) == ("fib-sem", 0.0)


def test_every_training_option_the_form_shows_reaches_the_run(train_widget):
    """The form's fields for the training options are made from their declarations (label, help, range):
    each one, changed in the form, is in the run's config."""
    from napari_isorecon._qt.train.train_settings import OPTIONS

    settings, fields = train_widget.settings, train_widget.settings_box.fields
    assert {"backbone", "channels", "blocks", "patch_width", "batch_size", "stage2_pairs", "section_thickness",
            "thickness_spread", "stage2_fraction", "seed"} <= {opt.name for opt in OPTIONS}
    for opt in OPTIONS:
        widget = fields[opt.name]
        assert widget.label == opt.label and widget.native.toolTip() == opt.help
        if opt.allowed() is not None:
            value = next(v for v in opt.allowed() if v != getattr(settings, opt.name))
            widget.native.setCurrentText(str(value))
        elif opt.type is bool:  # a check box
            value = not getattr(settings, opt.name)
            widget.native.setChecked(value)
        else:
            value = getattr(settings, opt.name) + (opt.step or 1)
            widget.native.setValue(value)
        assert getattr(settings.training_config(), opt.name) == pytest.approx(value), opt.name
    assert fields["section_thickness"].native.maximum() == 2.0  # the limit the config and the check share


def test_recon_form_follows_the_settings(recon_widget, tiny_model_file):
    settings, fields = recon_widget.settings, recon_widget.settings_box.fields
    assert (settings.model_source, settings.device, settings.uncertainty, settings.consistency) == \
        (FROM_TRAIN_WIDGET, "auto", False, False) == (ReconSettings().model_source, "auto", False, False)
    assert form_labels(recon_widget.settings_box) == ["Image", "Model", "Device", "Precision"]
    assert settings.precision == "auto" and "Interpolation is always float32" in fields["precision"].native.toolTip()
    assert fields["uncertainty"].native.text() == "Uncertainty map (error model)"
    assert not recon_widget.settings_box.file_row.isVisibleTo(recon_widget)  # only for a model file
    settings.model_source = FROM_FILE
    assert recon_widget.settings_box.file_row.isVisibleTo(recon_widget)
    assert fields["model_path"].native.placeholderText() == "model file (.pt)"
    fields["model_path"].native.setText(str(tiny_model_file))  # typed in the form
    assert settings.model_path == str(tiny_model_file)
    assert "z-factor 5" in recon_widget.model_info.text()  # the model info follows
    settings.consistency = True
    assert fields["consistency"].native.isChecked()
