"""The Reconstruct widget's options: the uncertainty layer (the standard deviation of the result's error per voxel,
after the result, with its own progress), left out for a lazy layer; the circular score only when asked for, and
the pointer to the hidden-section check after every run."""

from __future__ import annotations

import numpy as np
from qt_helpers import levels, wait_for_state

from napari_isorecon._qt.reconstruct.recon_results import QUALITY_POINTER, UNCERTAINTY_COLORMAP
from napari_isorecon._qt.reconstruct.recon_settings import FROM_FILE, UNCERTAINTY_LAZY_TIP, UNCERTAINTY_TIP


def use_file(widget, path):
    widget.settings.model_source = FROM_FILE
    widget.settings.model_path = str(path)


def test_uncertainty_option_adds_a_layer_placed_like_the_result(qtbot, viewer, sample_layer, recon_widget,
                                                                tiny_model_file, notes, monkeypatch,
                                                                quick_error_model):
    from napari_isorecon.core import ReconConfig
    from napari_isorecon.core.events import ReconFinished
    from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end
    from napari_isorecon.core.inference.uncertainty import NOT_AN_ERROR_MAP
    from napari_isorecon.core.jobs import reconstruct_with_twin
    from napari_isorecon.core.model.checkpoint import load_model

    field = recon_widget.settings_box.fields["uncertainty"]
    assert not recon_widget.settings.uncertainty and field.enabled  # off by default: it costs about a minute
    assert field.tooltip == UNCERTAINTY_TIP and "standard deviation of the result's error per voxel" in field.tooltip
    assert "90 % interval" in field.tooltip and NOT_AN_ERROR_MAP not in field.tooltip
    shown, advanced = [], []
    real_set_text = recon_widget.status.setText
    monkeypatch.setattr(recon_widget.status, "setText", lambda text: shown.append(text) or real_set_text(text))
    real_advance = recon_widget.job_controller.advance
    monkeypatch.setattr(recon_widget.job_controller, "advance",
                        lambda fraction, desc: advanced.append((fraction, desc)) or real_advance(fraction, desc))
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
    assert spread.contrast_limits[0] == 0 and spread.contrast_limits[1] > 0
    volume, model, cpu = np.asarray(sample_layer.data), load_model(tiny_model_file), ReconConfig(device="cpu")
    np.testing.assert_array_equal(np.asarray(iso.data), run_to_end(reconstruct(volume, model, cpu)).volume)
    expected = [e.event for e in reconstruct_with_twin(volume, model, cpu, uncertainty=True)
                if e.part == "uncertainty" and isinstance(e.event, ReconFinished)]
    np.testing.assert_allclose(np.asarray(spread.data), expected[0].volume, rtol=1e-5)  # the job's, as it made it
    assert np.asarray(spread.data).min() >= 0

    note = ("Uncertainty: standard deviation of the error per voxel, scale 1.60 (measured on other volumes; "
            "Train > Check on hidden sections measures this volume's).")
    status = recon_widget.status.text()
    assert "'interpolated', 'isotropic' and 'uncertainty' layers added" in status
    assert note in status and QUALITY_POINTER in status and "Consistency with the input" not in status
    assert "Estimating the uncertainty: error model, 100%." in shown and note in shown  # its progress, its note
    assert shown.index("Estimating the uncertainty: error model, 100%.") > max(
        i for i, text in enumerate(shown) if text.startswith("Reconstructing"))  # after the result
    fractions = [fraction for fraction, _ in advanced]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0  # the bar over all the parts
    fitting = [fraction for fraction, desc in advanced if desc == "IsoRecon: estimating the uncertainty (error model)"]
    reconstructing = [fraction for fraction, desc in advanced if desc.startswith("IsoRecon: reconstructing")]
    assert fitting and max(reconstructing) < 0.8 < fitting[-1]  # the result no longer fills the whole bar
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


def test_uncertainty_is_greyed_and_skipped_for_a_lazy_layer(qtbot, viewer, sample_layer, recon_widget,
                                                            tiny_model_file, notes, monkeypatch):
    import dask.array as da

    def no_fit(*args, **kwargs):
        raise AssertionError("no error model for a lazy layer")

    monkeypatch.setattr("napari_isorecon.core.inference.error_model.fit_error_model", no_fit)
    field = recon_widget.settings_box.fields["uncertainty"]
    recon_widget.settings.uncertainty = True  # ticked on the in-memory layer, then a lazy one is picked
    volume = np.asarray(sample_layer.data)
    lazy = viewer.add_image(da.from_array(volume, chunks=(5, 50, 100)), name="lazy EM",
                            scale=sample_layer.scale, translate=sample_layer.translate)
    recon_widget.layer_picker.set_layer(lazy)
    assert not field.enabled and field.tooltip == UNCERTAINTY_LAZY_TIP and "lazy (dask/zarr)" in field.tooltip
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")  # the sections are scanned in the worker
    names = [layer.name for layer in viewer.layers]
    assert "lazy EM isotropic" in names and "lazy EM uncertainty" not in names
    status = recon_widget.status.text()
    assert "No uncertainty: " in status and "made in memory from the whole result" in status
    assert QUALITY_POINTER in status
    assert not field.enabled  # still greyed once the form is enabled again after the run
    recon_widget.layer_picker.set_layer(sample_layer)
    assert field.enabled and field.tooltip == UNCERTAINTY_TIP
    assert not levels(notes, "error")


def test_the_uncertainty_of_a_checked_layer_uses_the_scale_its_check_measured(qtbot, viewer, sample_layer,
                                                                               recon_widget, tiny_model_file,
                                                                               notes, quick_error_model):
    from napari_isorecon.core.inference.error_model import DEFAULT_SCALE

    use_file(recon_widget, tiny_model_file)
    recon_widget.settings.uncertainty = True
    assert recon_widget.session.uncertainty_scale_for(sample_layer) is None
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    default = np.asarray(viewer.layers[f"{sample_layer.name} uncertainty"].data)
    recon_widget.session.publish_uncertainty_scale(sample_layer, 2 * DEFAULT_SCALE)  # as the check does
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    scaled = np.asarray(viewer.layers[f"{sample_layer.name} uncertainty [1]"].data)
    np.testing.assert_allclose(scaled, 2 * default, rtol=1e-5)
    assert "hidden-section check" in recon_widget.status.text() and f"{2 * DEFAULT_SCALE:.2f}" in \
        recon_widget.status.text()
