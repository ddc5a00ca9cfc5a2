"""OME-TIFF in and out: the voxel size and its units travel with the file (OME-XML first, ImageJ tags for
older files), the CLI takes the z-factor from it, and reading a tif stays light (no torch)."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from napari_isorecon.cli import main
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.io import open_volume, write_volume


def _volume(shape=(6, 24, 20), dtype=np.uint16):
    rng = np.random.default_rng(0)
    return (rng.random(shape) * 200).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.int16, np.float64])
def test_isorecon_writes_ome_tiff_whose_voxel_size_round_trips(tmp_path, dtype):
    volume = _volume(dtype=dtype)
    path = write_volume(tmp_path / "iso.tif", volume, voxel_size=(40.0, 8.0, 8.0))
    array, voxel = open_volume(path)
    np.testing.assert_array_equal(array, volume)
    assert array.dtype == volume.dtype
    assert voxel == pytest.approx((40.0, 8.0, 8.0))
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome and tif.series[0].axes == "ZYX"
        pixels = tif.ome_metadata
        page = tif.pages[0]
        x_per_cm = page.tags["XResolution"].value
        assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER
    for attribute in ('PhysicalSizeZ="40.0"', 'PhysicalSizeX="8.0"', 'PhysicalSizeZUnit="nm"'):
        assert attribute in pixels
    assert x_per_cm[0] / x_per_cm[1] == pytest.approx(1e7 / 8.0)  # baseline TIFF readers see x/y too


def test_ome_tiff_without_voxel_size_reads_none(tmp_path):
    path = write_volume(tmp_path / "plain.tif", _volume())
    assert open_volume(path)[1] is None
    with pytest.raises(IsoReconError, match="exists"):
        write_volume(path, _volume())  # nothing is replaced without overwrite


@pytest.mark.parametrize("sizes, expected", [
    ({"PhysicalSizeZ": 0.04, "PhysicalSizeY": 0.008, "PhysicalSizeX": 0.008}, (40.0, 8.0, 8.0)),  # µm default
    ({"PhysicalSizeZ": 0.05, "PhysicalSizeZUnit": "µm", "PhysicalSizeY": 100.0, "PhysicalSizeYUnit": "Å",
      "PhysicalSizeX": 10.0, "PhysicalSizeXUnit": "nm"}, (50.0, 10.0, 10.0)),
    ({"PhysicalSizeZ": 3.0, "PhysicalSizeZUnit": "pixel", "PhysicalSizeY": 1.0, "PhysicalSizeX": 1.0}, None),
    ({"PhysicalSizeY": 0.008, "PhysicalSizeX": 0.008}, None),  # no z size: nothing to derive a factor from
])
def test_ome_tiff_made_by_tifffile_gives_its_voxel_size_in_nm(tmp_path, sizes, expected):
    volume = _volume()
    path = tmp_path / "acquired.ome.tif"
    tifffile.imwrite(path, volume, ome=True, metadata={"axes": "ZYX", **sizes})
    array, voxel = open_volume(path)
    np.testing.assert_array_equal(array, volume)
    if expected is None:
        assert voxel is None
    else:
        assert voxel == pytest.approx(expected)


def test_ome_tiff_with_a_unit_that_is_no_length_is_one_line_error(tmp_path):
    path = tmp_path / "odd.ome.tif"
    tifffile.imwrite(path, _volume(), ome=True, metadata={"axes": "ZYX", "PhysicalSizeZ": 1.0,
                                                          "PhysicalSizeZUnit": "parsecs per hour",
                                                          "PhysicalSizeY": 1.0, "PhysicalSizeX": 1.0})
    with pytest.raises(IsoReconError, match="unknown length unit 'parsecs per hour'") as info:
        open_volume(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("unit, sizes", [("nm", (40.0, 8.0)), ("micron", (0.04, 0.008))])
def test_imagej_hyperstacks_still_read_in_their_unit(tmp_path, unit, sizes):
    """What earlier isorecon versions wrote (unit nm), and Fiji's usual micron."""
    z, xy = sizes
    path = tmp_path / "imagej.tif"
    tifffile.imwrite(path, _volume(), imagej=True, resolution=(1 / xy, 1 / xy),
                     metadata={"spacing": z, "unit": unit, "axes": "ZYX"})
    assert open_volume(path)[1] == pytest.approx((40.0, 8.0, 8.0))


def test_cli_takes_the_z_factor_from_an_ome_tiff(tmp_path, capsys):
    volume = _volume((6, 32, 40), np.uint8)
    src = tmp_path / "stack.ome.tif"
    tifffile.imwrite(src, volume, ome=True, metadata={"axes": "ZYX", "PhysicalSizeZ": 0.05,
                                                      "PhysicalSizeY": 0.01, "PhysicalSizeX": 0.01})
    out = tmp_path / "iso.ome.tif"
    assert main(["interpolate", str(src), "--out", str(out), "--device", "cpu"]) == 0
    result, voxel = open_volume(out)
    assert result.shape == (30, 32, 40)  # z-factor 5 from 50 nm / 10 nm
    assert voxel == pytest.approx((10.0, 10.0, 10.0))


def test_reading_a_tif_does_not_import_torch(tmp_path):
    path = write_volume(tmp_path / "v.tif", _volume(), voxel_size=(40.0, 8.0, 8.0))
    code = ("import sys, json; from napari_isorecon.core.io import open_volume; "
            f"v = open_volume({str(path)!r}); print(json.dumps([list(v[1]), sorted(sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    voxel, modules = json.loads(out.strip().splitlines()[-1])
    assert voxel == [40.0, 8.0, 8.0] and "tifffile" in modules
    assert "torch" not in modules
