"""Fixtures for the widget tests: a viewer with the sample, docked widgets, tiny training settings,
recorded notifications. They run under Xvfb (pytest-xvfb); offscreen Qt cannot draw layers."""

from __future__ import annotations

import pytest
from optional_deps import optional_import
from qt_helpers import PLUGIN, set_tiny_settings

optional_import("napari")
optional_import("pytestqt")


@pytest.fixture(autouse=True)
def autosave_folder(tmp_path, monkeypatch):
    """Training checkpoints go to a fresh folder per test, never to the user's cache."""
    folder = tmp_path / "autosave"
    monkeypatch.setenv("NAPARI_ISORECON_AUTOSAVE", str(folder))
    return folder


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """On a small shared CI machine, torch's two spinning OpenMP threads can make a tiny step 100x
    slower when another process is busy; one thread keeps these tests fast and their timing stable."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def notes(monkeypatch):
    """Every notification the widgets show, as (level, message) pairs."""
    from napari_isorecon._qt.checks import check_jobs, hidden_section_check
    from napari_isorecon._qt.reconstruct import recon_widget
    from napari_isorecon._qt.shared import job_controller, layer_picker, report_saving
    from napari_isorecon._qt.train import train_widget

    shown: list[tuple[str, str]] = []
    for module in (train_widget, recon_widget, hidden_section_check, check_jobs, report_saving, job_controller,
                   layer_picker):
        for level in ("error", "warning", "info"):
            if hasattr(module, f"show_{level}"):
                monkeypatch.setattr(module, f"show_{level}", lambda message, level=level: shown.append((level, message)))
    return shown


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


@pytest.fixture
def sample_layer(viewer):
    """The anisotropic sample opened through the plugin's sample-data contribution."""
    (layer,) = viewer.open_sample(PLUGIN, "anisotropic_em")
    return layer


@pytest.fixture
def train_widget(viewer, sample_layer):
    """The Train widget docked through the manifest (napari passes a proxied viewer), tiny settings."""
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train")
    set_tiny_settings(widget, steps=6)
    return widget


@pytest.fixture
def recon_widget(viewer, sample_layer):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Reconstruct")
    return widget


