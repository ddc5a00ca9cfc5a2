"""The Reconstruct widget's options: the uncertainty layer, the circular score only when asked for, and the
pointer to the hidden-section check after every run."""

from __future__ import annotations

import numpy as np
from qt_helpers import levels, wait_for_state

from napari_isorecon._qt.recon_options import QUALITY_POINTER, UNCERTAINTY_COLORMAP
from napari_isorecon._qt.recon_widget import FROM_FILE


def use_file(widget, path):
    widget.settings.model_source = FROM_FILE
    widget.settings.model_path = str(path)


def test_uncertainty_option_adds_a_layer_placed_like_the_result(qtbot, viewer, sample_layer, recon_widget,
                                                                tiny_model_file, notes):
    from napari_isorecon.core import ReconConfig
    from napari_isorecon.core.inference.reconstruct import run_to_end
    from napari_isorecon.core.inference.uncertainty import reconstruct_with_uncertainty
    from napari_isorecon.core.model.checkpoint import load_model

    assert not recon_widget.settings.uncertainty  # off by default: it costs 2-4x the time
    use_file(recon_widget, tiny_model_file)
    recon_widget.settings.uncertainty = True
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")

    name = sample_layer.name
    iso, spread = viewer.layers[f"{name} isotropic"], viewer.layers[f"{name} uncertainty"]
    assert spread.data.shape == iso.data.shape == (50, 100, 200) and spread.data.dtype == np.float32
    np.testing.assert_allclose(spread.scale, iso.scale)
    np.testing.assert_allclose(spread.translate, iso.translate)
    assert spread.colormap.name == UNCERTAINTY_COLORMAP and spread.blending == "additive"
    assert spread.contrast_limits[1] > 0
    expected = run_to_end(reconstruct_with_uncertainty(np.asarray(sample_layer.data), load_model(tiny_model_file),
                                                       ReconConfig(device="cpu")))
    np.testing.assert_array_equal(np.asarray(iso.data), expected.volume)  # the result is the augmented mean
    np.testing.assert_allclose(np.asarray(spread.data), expected.uncertainty, atol=1e-4)
    status = recon_widget.status.text()
    assert "Uncertainty: spread of" in status and "Not a reliable error map" in status and QUALITY_POINTER in status
    assert "not a reliable predictor of the error" in recon_widget.settings_box.fields["uncertainty"].tooltip
    assert "Consistency with the input" not in status
    assert not levels(notes, "error")


def test_circular_score_only_when_asked_and_labelled_a_diagnostic(qtbot, viewer, sample_layer, recon_widget,
                                                                  tiny_model_file):
    use_file(recon_widget, tiny_model_file)
    assert not recon_widget.settings.consistency
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    status = recon_widget.status.text()
    assert QUALITY_POINTER in status and "Consistency" not in status
    assert f"{sample_layer.name} uncertainty" not in [layer.name for layer in viewer.layers]

    recon_widget.settings.consistency = True
    assert "circular" in recon_widget.settings_box.fields["consistency"].tooltip
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    qtbot.waitUntil(lambda: "Circular diagnostic: Consistency with the input" in recon_widget.status.text())
    assert QUALITY_POINTER in recon_widget.status.text()


def test_lazy_layer_gets_a_lazy_uncertainty_layer(qtbot, viewer, sample_layer, recon_widget, tiny_model_file,
                                                  notes):
    import dask.array as da

    volume = np.asarray(sample_layer.data)
    lazy = viewer.add_image(da.from_array(volume, chunks=(5, 50, 100)), name="lazy EM",
                            scale=sample_layer.scale, translate=sample_layer.translate)
    recon_widget.layer_picker.set_layer(lazy)
    use_file(recon_widget, tiny_model_file)
    recon_widget.settings.uncertainty = True
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")  # the sections are scanned in the worker
    iso, spread = viewer.layers["lazy EM isotropic"], viewer.layers["lazy EM uncertainty"]
    assert isinstance(spread.data, da.Array) and spread.data.shape == (50, 100, 200)
    np.testing.assert_allclose(spread.scale, iso.scale)
    np.testing.assert_allclose(spread.translate, iso.translate)
    assert float(np.asarray(spread.data[20]).max()) > 0
    assert "'uncertainty'" in recon_widget.status.text() and QUALITY_POINTER in recon_widget.status.text()
    assert not levels(notes, "error")
