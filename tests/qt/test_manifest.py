"""The npe2 manifest: it validates, and its widgets and sample data open in a real viewer."""

from __future__ import annotations

import numpy as np
from qt_helpers import PLUGIN


def test_manifest_validates_and_lists_contributions():
    import npe2

    manifest = npe2.PluginManifest.from_distribution(PLUGIN)
    manifest.validate_imports()  # every python_name resolves
    widgets = {w.display_name for w in manifest.contributions.widgets}
    samples = {s.key: s.display_name for s in manifest.contributions.sample_data}
    assert widgets == {"Train", "Reconstruct"}
    assert set(samples) == {"anisotropic_em", "isotropic_em"}
    assert "50x10x10 nm" in samples["anisotropic_em"]


def test_samples_carry_voxel_size_and_overlay(viewer):
    (aniso,) = viewer.open_sample(PLUGIN, "anisotropic_em")
    (iso,) = viewer.open_sample(PLUGIN, "isotropic_em")
    assert aniso.data.shape == (10, 100, 200) and iso.data.shape == (50, 100, 200)
    np.testing.assert_allclose(aniso.scale, (50, 10, 10))
    np.testing.assert_allclose(iso.scale, (10, 10, 10))
    # a thick section sits at the centre of the five thin slices it averages: same world extent
    np.testing.assert_allclose(aniso.extent.world[:, 0].mean(), iso.extent.world[:, 0].mean())
    np.testing.assert_allclose(aniso.data[0], iso.data[:5].astype(np.float32).mean(0), atol=0.51)


def test_widgets_dock_from_the_plugins_menu(viewer, sample_layer):
    from napari_isorecon._qt.reconstruct.recon_widget import ReconstructWidget
    from napari_isorecon._qt.train.train_widget import TrainWidget

    _, train = viewer.window.add_plugin_dock_widget(PLUGIN, "Train")
    _, recon = viewer.window.add_plugin_dock_widget(PLUGIN, "Reconstruct")
    assert isinstance(train, TrainWidget) and isinstance(recon, ReconstructWidget)
    assert train.layer_picker.currentText() == sample_layer.name
    assert recon.layer_picker.currentText() == sample_layer.name
