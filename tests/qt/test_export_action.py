"""*Export...* in the Train widget writes a bioimage.io package that *Load model...* takes back."""

from __future__ import annotations

import pytest
from optional_deps import optional_import
from qt_helpers import WAIT_MS

optional_import("bioimageio.spec")


@pytest.fixture
def export_notes(notes, monkeypatch):
    from napari_isorecon._qt.train import export_action

    for level in ("error", "warning", "info"):
        monkeypatch.setattr(export_action, f"show_{level}", lambda message, level=level: notes.append((level, message)))
    return notes


def test_export_writes_a_package_that_load_model_takes_back(qtbot, train_widget, tmp_path, export_notes,
                                                            tiny_model_file):
    button = train_widget.export_button
    assert not button.isEnabled()
    assert button.export_to(tmp_path / "m.zip") is None  # no model yet
    assert export_notes[-1][0] == "warning" and "No model" in export_notes[-1][1]
    train_widget.load_model_from(tiny_model_file)
    assert button.isEnabled()
    job = button.export_to(tmp_path / "m.zip")
    assert job is not None and not button.isEnabled()
    qtbot.waitUntil(lambda: button.job is None, timeout=WAIT_MS)
    assert export_notes[-1][0] == "info" and "m.zip" in export_notes[-1][1], export_notes
    assert button.isEnabled() and button.text() == "Export..."
    before = (tmp_path / "m.zip").read_bytes()
    assert button.export_to(tmp_path / "m.zip") is None  # exists: refused unless the dialog confirmed it
    assert export_notes[-1][0] == "error" and "exists" in export_notes[-1][1]
    assert (tmp_path / "m.zip").read_bytes() == before
    model = train_widget.load_model_from(tmp_path / "m.zip")
    assert model is not None and model.z_factor == 5


def test_the_sample_layers_scale_becomes_the_packages_voxel_size(sample_layer):
    from napari_isorecon._qt.train.export_action import layer_voxel_size

    assert layer_voxel_size(sample_layer) == ((50.0, 10.0, 10.0), None)  # napari's units: pixels
    sample_layer.scale = (1, 1, 1)
    assert layer_voxel_size(sample_layer) == (None, None)
