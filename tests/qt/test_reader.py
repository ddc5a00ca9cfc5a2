"""The plugin's reader: OME-TIFF and OME-Zarr open with their voxel size as the layer scale (and units), an
OME-Zarr output as a lazy multiscale layer with the right scale at every level, and the Train widget's
z-factor comes from an OME-TIFF straight from acquisition software."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from qt_helpers import PLUGIN

from napari_isorecon.core.io import read_zarr_levels, write_zarr


def _volume(shape):
    rng = np.random.default_rng(0)
    return (rng.random(shape) * 250).astype(np.uint8)


def _metadata_scales(path):
    import zarr

    attrs = dict(zarr.open_group(str(path), mode="r").attrs)
    entry = (attrs.get("ome") or attrs)["multiscales"][0]
    return [np.array(d["coordinateTransformations"][0]["scale"]) for d in entry["datasets"]]


def test_manifest_lists_the_reader():
    import npe2

    manifest = npe2.PluginManifest.from_distribution(PLUGIN)
    (reader,) = manifest.contributions.readers
    assert {"*.tif", "*.tiff", "*.zarr"} <= set(reader.filename_patterns) and reader.accepts_directories


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_output_opens_as_multiscale_with_the_right_scale_at_every_level(viewer, tmp_path, version):
    path = write_zarr(tmp_path / "iso.zarr", _volume((32, 64, 96)), voxel_size=(8.0, 8.0, 8.0),
                      chunks=(16, 32, 32), version=version, top=16)
    expected = _metadata_scales(path)
    assert [tuple(s) for s in expected] == [(8.0,) * 3, (16.0,) * 3, (32.0,) * 3, (64.0,) * 3]
    (layer,) = viewer.open(path, plugin=PLUGIN)
    assert layer.multiscale and len(layer.data) == 4
    np.testing.assert_allclose(layer.scale, expected[0])
    assert [str(u) for u in layer.units] == ["nanometer"] * 3
    for level, scale in enumerate(expected):  # napari's own placement of each level agrees with the metadata
        np.testing.assert_allclose(layer.downsample_factors[level] * layer.scale, scale)
    # the same through add_image with the levels our reader returns (no napari-ome-zarr involved)
    levels, voxels = read_zarr_levels(path)
    added = viewer.add_image(levels, scale=voxels[0], multiscale=True, name="added")
    for level, scale in enumerate(expected):
        np.testing.assert_allclose(added.downsample_factors[level] * added.scale, scale)
        np.testing.assert_allclose(voxels[level], scale)
    assert type(added.data[0]).__module__.startswith("zarr")  # lazy: napari reads chunks as it shows them


def test_ome_tiff_opens_with_its_scale_and_fills_the_z_factor(viewer, tmp_path):
    path = tmp_path / "acquired.ome.tif"
    tifffile.imwrite(path, _volume((8, 48, 64)), ome=True, metadata={
        "axes": "ZYX", "PhysicalSizeZ": 0.05, "PhysicalSizeY": 0.01, "PhysicalSizeX": 0.01})  # µm
    (layer,) = viewer.open(path, plugin=PLUGIN)
    assert layer.name == "acquired" and not layer.multiscale
    np.testing.assert_allclose(layer.scale, (50.0, 10.0, 10.0))
    assert layer.metadata["voxel_size_nm"] == pytest.approx((50.0, 10.0, 10.0))
    _, train = viewer.window.add_plugin_dock_widget(PLUGIN, "Train")
    train.layer_picker.setCurrentText(layer.name)
    assert train.settings.z_factor == pytest.approx(5.0)


def test_a_tif_without_voxel_size_opens_unscaled(viewer, tmp_path):
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, _volume((4, 16, 16)))
    (layer,) = viewer.open(path, plugin=PLUGIN)
    np.testing.assert_allclose(layer.scale, (1.0, 1.0, 1.0))
    assert layer.metadata["voxel_size_nm"] is None
