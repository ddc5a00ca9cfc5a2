"""The Reconstruct widget's sharp output: a layer placed like the result, never replacing one, its numbers in the
status line; greyed (and skipped) for a lazy layer; three volumes and an xy reference in the comparison."""

from __future__ import annotations

import numpy as np
from qt_helpers import WAIT_MS, levels, wait_for_state

from napari_isorecon._qt.reconstruct.recon_results import QUALITY_POINTER
from napari_isorecon._qt.reconstruct.recon_settings import FROM_FILE, SHARP_LAZY_TIP, SHARP_TIP
from napari_isorecon._qt.shared.layers import REFERENCE_KEY, unwrap


def use_file(widget, path):
    widget.settings.model_source = FROM_FILE
    widget.settings.model_path = str(path)


def run_sharp(qtbot, widget, path):
    use_file(widget, path)
    widget.settings.sharp = True
    assert widget.start_reconstruction()
    wait_for_state(qtbot, widget, "done")


def test_sharp_option_adds_a_layer_placed_like_the_result_and_never_replaces(qtbot, viewer, sample_layer,
                                                                           recon_widget, tiny_model_file, notes):
    from napari_isorecon.core.inference.sharp import model_section_thickness, sharpen
    from napari_isorecon.core.model.checkpoint import load_model

    field = recon_widget.settings_box.fields["sharp"]
    assert not recon_widget.settings.sharp and field.enabled and field.tooltip == SHARP_TIP  # off by default
    assert field.tooltip.startswith("Also add '<layer> sharp'")
    run_sharp(qtbot, recon_widget, tiny_model_file)

    name = sample_layer.name
    iso, sharp = viewer.layers[f"{name} isotropic"], viewer.layers[f"{name} sharp"]
    assert recon_widget.result_layers["sharp"] is unwrap(sharp)
    assert sharp.data.shape == iso.data.shape == (50, 100, 200) and sharp.data.dtype == iso.data.dtype == np.uint8
    np.testing.assert_allclose(sharp.scale, iso.scale)
    np.testing.assert_allclose(sharp.translate, iso.translate)
    assert tuple(sharp.contrast_limits) == tuple(iso.contrast_limits)
    model = load_model(tiny_model_file)
    expected, info = sharpen(np.asarray(iso.data), np.asarray(sample_layer.data), model.z_factor,
                             model_section_thickness(model))
    np.testing.assert_array_equal(np.asarray(sharp.data), expected)  # the sharp output of this very result
    status = recon_widget.status.text()
    assert "'interpolated', 'isotropic' and 'sharp' layers added" in status and QUALITY_POINTER in status
    assert (f"Sharp: agrees with the sections to {info['consistency_sharp']:.2f} grey levels (result "
            f"{info['consistency_faithful']:.2f}); detail pulse ") in status

    first = np.asarray(sharp.data).copy()
    assert recon_widget.start_reconstruction()  # again: a new name, nothing replaced
    wait_for_state(qtbot, recon_widget, "done")
    names = [layer.name for layer in viewer.layers]
    assert names.count(f"{name} sharp") == 1 and f"{name} sharp [1]" in names and len(names) == 7
    assert unwrap(sharp) in [unwrap(layer) for layer in viewer.layers]
    np.testing.assert_array_equal(np.asarray(viewer.layers[f"{name} sharp"].data), first)
    assert recon_widget.result_layers["sharp"] is unwrap(viewer.layers[f"{name} sharp [1]"])
    assert not levels(notes, "error")


def test_sharp_output_is_greyed_and_skipped_for_a_lazy_layer(qtbot, viewer, sample_layer, recon_widget,
                                                             tiny_model_file, notes):
    import dask.array as da

    field = recon_widget.settings_box.fields["sharp"]
    recon_widget.settings.sharp = True  # ticked on the in-memory layer, then a lazy one is picked
    lazy = viewer.add_image(da.from_array(np.asarray(sample_layer.data), chunks=(5, 50, 100)), name="lazy EM",
                            scale=sample_layer.scale, translate=sample_layer.translate)
    recon_widget.layer_picker.set_layer(lazy)
    assert not field.enabled and field.tooltip == SHARP_LAZY_TIP and "lazy (dask/zarr)" in field.tooltip
    use_file(recon_widget, tiny_model_file)
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    assert "lazy EM sharp" not in [layer.name for layer in viewer.layers]
    assert "lazy EM isotropic" in [layer.name for layer in viewer.layers]
    status = recon_widget.status.text()
    assert "No sharp output: " in status and "made in memory from the whole result" in status
    assert not field.enabled  # still greyed once the form is enabled again after the run
    recon_widget.layer_picker.set_layer(sample_layer)
    assert field.enabled and field.tooltip == SHARP_TIP
    assert not levels(notes, "error")


def test_compare_shows_three_volumes_and_an_xy_reference_with_a_sharp_output(qtbot, viewer, sample_layer,
                                                                           recon_widget, tiny_model_file, notes):
    from napari_isorecon._qt.reconstruct.side_by_side import grid_of

    run_sharp(qtbot, recon_widget, tiny_model_file)
    qtbot.waitUntil(lambda: recon_widget.compare_button.isEnabled(), timeout=WAIT_MS)
    before = [layer.name for layer in viewer.layers]
    active = unwrap(viewer.layers.selection.active)
    recon_widget.compare_button.click()

    grid = grid_of(viewer)
    parts = [recon_widget.result_layers[part] for part in ("interpolated", "isotropic", "sharp")]
    layers = [unwrap(layer) for layer in viewer.layers]
    (reference,) = [layer for layer in layers if layer.metadata.get(REFERENCE_KEY)]
    assert grid.enabled and recon_widget.compare_button.isChecked()
    assert [layer.name for layer in layers if layer.visible] == [layer.name for layer in (*parts, reference)]
    cells = [grid.position(layers.index(layer), layers) for layer in (*parts, reference)]
    rows, columns = grid.actual_shape(layers)
    assert len(set(cells)) == 4 and rows * columns >= 4  # one viewbox each,
    assert cells == sorted(cells)  # in this order: interpolated, isotropic, sharp, then the reference
    assert tuple(viewer.dims.order) == (1, 0, 2) and viewer.dims.ndisplay == 2

    # the reference: section 5 of the 10 (the middle one), 50 of its 100 rows (the 500 nm of z at 10 nm), over the
    # result's z range and at every y, its x as the result's
    iso = parts[1]
    assert reference.name == f"{sample_layer.name} xy section 5 (reference)"
    assert reference.data.shape == (50, 100, 200)
    np.testing.assert_array_equal(np.asarray(reference.data[:, 37]), np.asarray(sample_layer.data)[5, 25:75])
    np.testing.assert_allclose(reference.extent.world, iso.extent.world)
    assert reference.name not in [recon_widget.layer_picker.itemText(i) for i in range(recon_widget.layer_picker.count())]

    recon_widget.compare_button.click()  # back: the reference goes, the rest is as it was
    assert [layer.name for layer in viewer.layers] == before
    assert active is not None and unwrap(viewer.layers.selection.active) is active  # adding it selected it
    assert not grid.enabled and tuple(viewer.dims.order) == (0, 1, 2) and tuple(grid.shape) == (-1, -1)
    assert all(layer.visible for layer in viewer.layers)

    recon_widget.settings.sharp = False  # a run without one: the two volumes again
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    qtbot.waitUntil(lambda: recon_widget.compare_button.isEnabled(), timeout=WAIT_MS)
    recon_widget.compare_button.click()
    visible = [layer.name for layer in viewer.layers if layer.visible]
    assert visible == [recon_widget.result_layers[part].name for part in ("interpolated", "isotropic")]
    recon_widget.compare_button.click()
    assert not levels(notes, "error")


def test_closing_the_dock_mid_comparison_removes_the_reference(qtbot, viewer, sample_layer, recon_widget,
                                                               tiny_model_file):
    run_sharp(qtbot, recon_widget, tiny_model_file)
    qtbot.waitUntil(lambda: recon_widget.compare_button.isEnabled(), timeout=WAIT_MS)
    before = [layer.name for layer in viewer.layers]
    assert recon_widget.compare_side_by_side()
    assert len(viewer.layers) == len(before) + 1
    viewer.window.remove_dock_widget(recon_widget)
    assert [layer.name for layer in viewer.layers] == before
    assert all(layer.visible for layer in viewer.layers)
