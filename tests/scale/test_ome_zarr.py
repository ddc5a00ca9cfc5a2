"""zarr / OME-Zarr in and out, with the voxel size carried in the metadata."""

import json

import numpy as np
import pytest
import zarr
from scale_helpers import smooth_volume

from napari_isorecon.cli import main
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.io import open_volume, read_zarr, write_zarr
from napari_isorecon.core.settings.zfactor import z_factor_from_scale


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_voxel_size_round_trip(tmp_path, version):
    volume = smooth_volume((6, 32, 40))
    path = write_zarr(tmp_path / "v.zarr", volume, voxel_size=(40.0, 8.0, 8.0), chunks=(3, 16, 16),
                      version=version)
    assert not (tmp_path / "v.zarr.partial").exists()
    array, voxel = open_volume(path)
    assert isinstance(array, zarr.Array) and array.chunks == (3, 16, 16)  # lazy, chunked as asked
    np.testing.assert_array_equal(array[:], volume)
    assert voxel == pytest.approx((40.0, 8.0, 8.0))
    assert z_factor_from_scale(voxel) == pytest.approx(5.0)
    assert open_volume(path / "0")[1] == pytest.approx((40.0, 8.0, 8.0))  # the level's path finds its group
    meta = json.loads((path / (".zattrs" if version == "0.4" else "zarr.json")).read_text())
    multiscales = meta["multiscales"] if version == "0.4" else meta["attributes"]["ome"]["multiscales"]
    assert multiscales[0]["datasets"][0]["coordinateTransformations"] == [
        {"type": "scale", "scale": [40.0, 8.0, 8.0]}]
    assert [a["name"] for a in multiscales[0]["axes"]] == ["z", "y", "x"]


def test_ome_zarr_from_other_writers_units_and_singleton_axes(tmp_path):
    """A 5D (t, c, z, y, x) OME-Zarr in micrometres with a multiscale-wide scale, as other tools write it."""
    group = zarr.open_group(str(tmp_path / "ext.zarr"), mode="w", zarr_format=2)
    data = smooth_volume((4, 20, 24))[None, None]
    group.create_array("s0", data=data, chunks=(1, 1, 2, 20, 24))
    axes = [{"name": "t", "type": "time"}, {"name": "c", "type": "channel"}] + [
        {"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"]
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": [
        {"path": "s0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 0.02, 0.004, 0.004]}]}],
        "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 2, 1, 1]}]}]
    array, voxel = read_zarr(tmp_path / "ext.zarr")
    assert array.shape == (4, 20, 24)
    np.testing.assert_array_equal(np.asarray(array[1:3]), data[0, 0, 1:3])
    assert voxel == pytest.approx((40.0, 4.0, 4.0))  # nanometres


def test_zarr_errors_are_one_line(tmp_path):
    with pytest.raises(IsoReconError, match="does not exist"):
        read_zarr(tmp_path / "missing.zarr")
    group = zarr.open_group(str(tmp_path / "two.zarr"), mode="w")
    group.create_array("a", shape=(4, 16, 16), dtype="u1")
    group.create_array("b", shape=(4, 16, 16), dtype="u1")
    with pytest.raises(IsoReconError, match="give the path of one array"):
        read_zarr(tmp_path / "two.zarr")
    zarr.open_array(str(tmp_path / "multi.zarr"), mode="w", shape=(2, 4, 16, 16), dtype="u1")
    with pytest.raises(IsoReconError, match="pick one channel"):
        read_zarr(tmp_path / "multi.zarr")
    write_zarr(tmp_path / "v.zarr", smooth_volume((4, 16, 16)))
    with pytest.raises(IsoReconError, match="exists"):
        write_zarr(tmp_path / "v.zarr", smooth_volume((4, 16, 16)))
    (tmp_path / "folder.zarr").mkdir()
    with pytest.raises(IsoReconError, match="not a zarr store"):
        write_zarr(tmp_path / "folder.zarr", smooth_volume((4, 16, 16)), overwrite=True)


def test_cli_reconstructs_zarr_to_ome_zarr_with_factor_from_metadata(tmp_path, capsys):
    """`isorecon interpolate VOL.zarr --out OUT.zarr`: the z-factor comes from the OME metadata, the output
    carries the isotropic voxel size, equals the in-memory tif path, and is not replaced without --overwrite."""
    import tifffile

    volume = smooth_volume((8, 40, 48))
    src = write_zarr(tmp_path / "in.zarr", volume, voxel_size=(30.0, 10.0, 10.0), chunks=(4, 20, 24))
    out = tmp_path / "out.zarr"
    assert main(["interpolate", str(src), "--out", str(out), "--block-size", "3,16,16", "--device", "cpu"]) == 0
    array, voxel = read_zarr(out)
    assert array.shape == (24, 40, 48) and voxel == pytest.approx((10.0, 10.0, 10.0))
    assert main(["interpolate", str(src), "--out", str(tmp_path / "ref.tif"), "--device", "cpu"]) == 0
    np.testing.assert_array_equal(array[:], tifffile.imread(tmp_path / "ref.tif"))
    before = array[:]
    capsys.readouterr()
    assert main(["interpolate", str(src), "--out", str(out), "--order", "linear"]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    np.testing.assert_array_equal(read_zarr(out)[0][:], before)
    assert main(["interpolate", str(src), "--out", str(out), "--order", "linear", "--overwrite"]) == 0
    assert not np.array_equal(read_zarr(out)[0][:], before)
    assert main(["interpolate", str(src), "--out", str(tmp_path / "x.tif"), "--scheduler", "tcp://nowhere:1"]) == 2
    assert "need a .zarr output" in capsys.readouterr().err


def test_zarr_stores_without_a_usable_array_are_named(tmp_path):
    (tmp_path / "empty_folder.zarr").mkdir()
    with pytest.raises(IsoReconError, match="Cannot read .*empty_folder.zarr as zarr"):
        read_zarr(tmp_path / "empty_folder.zarr")
    zarr.open_group(str(tmp_path / "empty.zarr"), mode="w")
    with pytest.raises(IsoReconError, match="holding 0 arrays"):
        read_zarr(tmp_path / "empty.zarr")
    group = zarr.open_group(str(tmp_path / "nolevel.zarr"), mode="w")
    group.attrs["multiscales"] = [{"version": "0.4", "axes": [{"name": a} for a in "zyx"],
                                   "datasets": [{"path": "0"}]}]
    with pytest.raises(IsoReconError, match="level '0' is missing"):
        read_zarr(tmp_path / "nolevel.zarr")
    group = zarr.open_group(str(tmp_path / "nodata.zarr"), mode="w")
    group.attrs["multiscales"] = [{"version": "0.4", "datasets": []}]
    with pytest.raises(IsoReconError, match="lists no datasets"):
        read_zarr(tmp_path / "nodata.zarr")
