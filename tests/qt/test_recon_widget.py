"""The Reconstruct widget: model hand-off, placement of the new layers, refusals, cancel, comparison."""

from __future__ import annotations

import numpy as np
from qt_helpers import WAIT_MS, levels, wait_for_state

from napari_isorecon._qt.reconstruct.recon_settings import FROM_FILE


def use_file(widget, path):
    widget.settings.model_source = FROM_FILE
    widget.settings.model_path = str(path)


def test_reconstruct_adds_overlaying_layers_and_never_replaces(qtbot, viewer, sample_layer, recon_widget,
                                                                 tiny_model_file, notes):
    original = np.asarray(sample_layer.data).copy()
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.start_reconstruction()
    assert recon_widget.run_button.text() == "Cancel"
    wait_for_state(qtbot, recon_widget, "done")

    name = sample_layer.name
    iso, interp = viewer.layers[f"{name} isotropic"], viewer.layers[f"{name} interpolated"]
    for layer in (iso, interp):
        assert layer.data.shape == (50, 100, 200) and layer.data.dtype == np.uint8
        np.testing.assert_allclose(layer.scale, (10, 10, 10))
        # the sample's thick sections are centred at 20 + 50 k nm, so the 10 nm output starts at 0
        np.testing.assert_allclose(layer.translate, (0, 0, 0), atol=1e-9)
        np.testing.assert_allclose(layer.extent.world, sample_layer.extent.world[:, :] * 1 +
                                   np.array([[-20, 0, 0], [20, 0, 0]]))
    assert not np.array_equal(np.asarray(iso.data), np.asarray(interp.data))
    np.testing.assert_array_equal(np.asarray(sample_layer.data), original)  # input untouched
    assert "Train > Check on hidden sections" in recon_widget.status.text()  # not the circular score
    assert "Consistency" not in recon_widget.status.text()
    assert recon_widget.compare_button.isEnabled()

    first = dict(recon_widget.result_layers)
    first_data = {part: np.asarray(layer.data).copy() for part, layer in first.items()}
    assert recon_widget.start_reconstruction()  # again: new names, nothing replaced
    wait_for_state(qtbot, recon_widget, "done")
    for part, layer in first.items():
        assert layer in viewer.layers and recon_widget.result_layers[part] is not layer
        np.testing.assert_array_equal(np.asarray(layer.data), first_data[part])
    names = [layer.name for layer in viewer.layers]
    assert names.count(f"{name} isotropic") == 1 and f"{name} isotropic [1]" in names
    assert f"{name} interpolated [1]" in names and len(names) == 5
    assert not levels(notes, "error")


def test_model_trained_in_the_train_widget_is_offered(qtbot, viewer, sample_layer, train_widget, recon_widget,
                                                      notes):
    assert recon_widget.start_reconstruction() is False  # nothing trained yet
    assert any("No trained model yet" in m for m in levels(notes, "error"))
    assert train_widget.start_training()
    wait_for_state(qtbot, train_widget, "done")
    assert "z-factor 5" in recon_widget.model_info.text()  # updated through model_changed
    assert recon_widget.resolve_model() is train_widget.model
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    assert f"{sample_layer.name} isotropic" in [layer.name for layer in viewer.layers]


def test_model_for_another_z_factor_is_refused(viewer, recon_widget, tiny_model_file, notes):
    other = viewer.add_image(np.zeros((12, 64, 64), np.uint16), name="z-factor 3", scale=(30, 10, 10))
    recon_widget.layer_picker.set_layer(other)
    use_file(recon_widget, tiny_model_file)
    recon_widget.refresh_model_info()
    assert "does not fit" in recon_widget.model_info.text()
    count = len(viewer.layers)
    assert recon_widget.start_reconstruction() is False
    assert any("trained for z-factor 5" in m and "z-factor 3" in m for m in levels(notes, "error"))
    assert len(viewer.layers) == count and recon_widget.job_controller.job is None


def test_bad_model_files_are_explained(viewer, recon_widget, tmp_path, notes):
    use_file(recon_widget, tmp_path / "missing.pt")
    assert recon_widget.start_reconstruction() is False
    (tmp_path / "junk.pt").write_text("junk")
    use_file(recon_widget, tmp_path / "junk.pt")
    assert recon_widget.start_reconstruction() is False
    errors = levels(notes, "error")
    assert "does not exist" in errors[0] and "not a napari-isorecon model" in errors[1]


def test_isotropic_layer_uses_the_model_factor_with_a_warning(qtbot, viewer, recon_widget, tiny_model_file,
                                                              notes):
    plain = viewer.add_image(np.random.default_rng(0).integers(0, 255, (6, 40, 48), dtype=np.uint8),
                             name="no scale")
    recon_widget.layer_picker.set_layer(plain)
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.start_reconstruction()
    assert any("isotropic scale" in m for m in levels(notes, "warning"))
    wait_for_state(qtbot, recon_widget, "done")
    iso = viewer.layers["no scale isotropic"]
    assert iso.data.shape == (30, 40, 48)
    np.testing.assert_allclose(iso.scale, (0.2, 1, 1))
    np.testing.assert_allclose(iso.translate, (-0.4, 0, 0))


def test_layer_removed_mid_run_still_gets_results(qtbot, viewer, sample_layer, recon_widget, tiny_model_file,
                                                  notes):
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.start_reconstruction()
    viewer.layers.remove(sample_layer)
    wait_for_state(qtbot, recon_widget, "done")
    assert {f"{sample_layer.name} isotropic", f"{sample_layer.name} interpolated"} <= \
        {layer.name for layer in viewer.layers}
    assert any("was removed" in m for m in levels(notes, "info"))


def test_cancel_at_once_adds_nothing(qtbot, viewer, sample_layer, recon_widget, tiny_model_file):
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.start_reconstruction()
    recon_widget.cancel()
    assert recon_widget.run_button.text() == "Cancelling..."
    wait_for_state(qtbot, recon_widget, "done")
    assert "Cancelled" in recon_widget.status.text()
    assert [layer.name for layer in viewer.layers] == [sample_layer.name]
    assert recon_widget.result_layers == {}
    qtbot.waitUntil(lambda: recon_widget.job_controller.job is None, timeout=WAIT_MS)
    assert not recon_widget.compare_button.isEnabled()


def test_cancel_stops_and_keeps_what_is_done(qtbot, viewer, sample_layer, recon_widget, tiny_model_file,
                                             monkeypatch, notes):
    """Cancelled once the interpolation is done: its layer stays, whole, and no half-made isotropic layer
    is added. The job waits after the interpolation until the test has pressed Cancel (a worker thread
    would otherwise race on to the end)."""
    from napari_isorecon._qt.reconstruct import recon_widget as module
    from napari_isorecon.core.events import ReconFinished
    from napari_isorecon.core.inference.reconstruct import interpolate, run_to_end

    real = module.reconstruct_with_twin

    def held_after_the_interpolation(*args, stop, **kwargs):
        for event in real(*args, stop=stop, **kwargs):
            yield event
            if event.part == "interpolated" and isinstance(event.event, ReconFinished):
                stop.wait(WAIT_MS / 1000)

    monkeypatch.setattr(module, "reconstruct_with_twin", held_after_the_interpolation)
    name = sample_layer.name
    volume = np.asarray(sample_layer.data).copy()
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.start_reconstruction()
    qtbot.waitUntil(lambda: f"{name} interpolated" in [layer.name for layer in viewer.layers], timeout=WAIT_MS)
    assert recon_widget.job_controller.state.value == "running"  # held: the reconstruction has not begun
    recon_widget.cancel()
    assert recon_widget.run_button.text() == "Cancelling..."
    wait_for_state(qtbot, recon_widget, "done")
    assert recon_widget.status.text() == "Cancelled; layers already made were kept."
    assert [layer.name for layer in viewer.layers] == [name, f"{name} interpolated"]  # no isotropic layer
    kept = viewer.layers[f"{name} interpolated"]
    assert set(recon_widget.result_layers) == {"interpolated"} and recon_widget.result_layers["interpolated"] is kept
    expected = run_to_end(interpolate(volume, 5, "cubic")).volume
    np.testing.assert_array_equal(np.asarray(kept.data), expected)  # whole, not cut short
    np.testing.assert_allclose(kept.scale, (10, 10, 10))
    qtbot.waitUntil(lambda: recon_widget.job_controller.job is None, timeout=WAIT_MS)
    assert [layer.name for layer in viewer.layers] == [name, f"{name} interpolated"]  # nothing late either
    assert not recon_widget.compare_button.isEnabled()  # one of the two volumes is missing
    assert not levels(notes, "error")


def test_side_by_side_shows_xz_grid_and_goes_back(qtbot, viewer, sample_layer, recon_widget, tiny_model_file,
                                                  notes):
    from napari_isorecon._qt.reconstruct.side_by_side import grid_of

    assert recon_widget.compare_side_by_side() is False  # nothing to compare yet
    assert levels(notes, "warning")
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    qtbot.waitUntil(lambda: recon_widget.compare_button.isEnabled(), timeout=WAIT_MS)
    recon_widget.compare_button.click()

    grid = grid_of(viewer)
    interp, iso = recon_widget.result_layers["interpolated"], recon_widget.result_layers["isotropic"]
    assert grid.enabled and recon_widget.compare_button.isChecked()
    assert [layer.name for layer in viewer.layers if layer.visible] == [interp.name, iso.name]
    layers = list(viewer.layers)
    assert grid.position(layers.index(interp), layers) == (0, 0)  # interpolated first
    assert grid.position(layers.index(iso), layers) == (1, 0)  # the 2000 x 500 nm xz planes: one above the other
    assert tuple(viewer.dims.order) == (1, 0, 2)  # displayed plane: z vertical, x horizontal
    assert viewer.dims.ndisplay == 2
    assert abs(viewer.dims.point[1] - interp.extent.world[:, 1].mean()) <= interp.scale[1]  # middle y slice

    recon_widget.compare_button.click()  # back
    assert not grid.enabled and tuple(viewer.dims.order) == (0, 1, 2) and tuple(grid.shape) == (-1, -1)
    assert all(layer.visible for layer in viewer.layers)


def test_lazy_layer_gets_lazy_results_equal_to_in_memory_ones(qtbot, viewer, sample_layer, recon_widget,
                                                                tiny_model_file, notes):
    """A dask (or zarr) layer is never loaded whole: the results are dask arrays computed as viewed."""
    import dask.array as da

    from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end
    from napari_isorecon.core.model.checkpoint import load_model

    volume = np.asarray(sample_layer.data)
    lazy = viewer.add_image(da.from_array(volume, chunks=(5, 50, 100)), name="lazy EM",
                            scale=sample_layer.scale, translate=sample_layer.translate)
    recon_widget.layer_picker.set_layer(lazy)
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")  # the sections are scanned in the worker
    iso = viewer.layers["lazy EM isotropic"]
    assert isinstance(iso.data, da.Array) and iso.data.shape == (50, 100, 200)
    np.testing.assert_allclose(iso.scale, (10, 10, 10))
    expected = run_to_end(reconstruct(volume, load_model(tiny_model_file))).volume
    assert np.abs(np.asarray(iso.data[20]).astype(int) - expected[20].astype(int)).max() <= 1
    assert isinstance(viewer.layers["lazy EM interpolated"].data, da.Array)
    assert not levels(notes, "error")


def test_reconstruct_started_twice_is_refused_with_a_warning(qtbot, viewer, sample_layer, recon_widget,
                                                              tiny_model_file, notes):
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.start_reconstruction()
    assert recon_widget.start_reconstruction() is False
    assert any("already running" in m for m in levels(notes, "warning"))
    wait_for_state(qtbot, recon_widget, "done")
    names = [layer.name for layer in viewer.layers]
    assert names.count(f"{sample_layer.name} isotropic") == 1 and len(names) == 3


def test_closing_the_dock_mid_run_stops_the_job_and_adds_nothing(qtbot, viewer, sample_layer, recon_widget,
                                                                  tiny_model_file, notes, monkeypatch):
    from napari_isorecon._qt.shared.workers import Job

    # the worker's finished signal reaches this thread after every event it yielded: once it has arrived, so has
    # any late callback. Listened to from before the worker starts, so that it cannot be missed.
    finished = []
    start = Job.start

    def listened_start(job):
        job.worker.finished.connect(lambda: finished.append(job))
        return start(job)

    monkeypatch.setattr(Job, "start", listened_start)
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.start_reconstruction()
    job = recon_widget.job_controller.job
    viewer.window.remove_dock_widget(recon_widget)
    assert not job.running  # the thread ended before remove_dock_widget returned
    qtbot.waitUntil(lambda: finished == [job], timeout=WAIT_MS)
    assert [layer.name for layer in viewer.layers] == [sample_layer.name]
    assert not levels(notes, "error")


def test_filled_sections_are_named_and_filling_can_be_switched_off(qtbot, viewer, recon_widget, tiny_model_file,
                                                                    notes):
    from planted import tissue

    volume = tissue(z=12, size=64)
    volume[6] = 0  # blank
    layer = viewer.add_image(volume, name="damaged", scale=(50, 10, 10))
    recon_widget.layer_picker.set_layer(layer)
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.settings_box.fields["fill_artefacts"].value is True
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    status = recon_widget.status.text()
    assert "Filled section 6 (blank) from the neighbouring sections" in status and "Done:" in status
    filled = np.asarray(recon_widget.result_layers["isotropic"].data)

    recon_widget.settings.fill_artefacts = False  # the form follows the settings and the run uses them
    assert recon_widget.settings_box.fields["fill_artefacts"].value is False
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    assert "Filled" not in recon_widget.status.text()
    kept = np.asarray(recon_widget.result_layers["isotropic"].data)
    rows = slice(30, 35)  # section 6's output rows at z-factor 5
    assert filled[rows].mean() > kept[rows].mean() + 20
    assert not levels(notes, "error")
