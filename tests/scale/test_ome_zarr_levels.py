"""Multiscale OME-Zarr out: levels written through ome-zarr-py, metadata that the OME tools accept, the right
scale at every level, old one-level outputs still read, and blockwise outputs get their levels too."""

import json

import numpy as np
import pytest
import zarr
from scale_helpers import smooth_volume

from napari_isorecon.cli import main
from napari_isorecon.core.io import open_volume, pyramid, read_zarr, read_zarr_levels, write_zarr


def _entry(path):
    attrs = dict(zarr.open_group(str(path), mode="r").attrs)
    return (attrs.get("ome") or attrs)["multiscales"][0]


def _scales(path):
    entry = _entry(path)
    return [next(t["scale"] for t in d["coordinateTransformations"] if t["type"] == "scale")
            for d in entry["datasets"]]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_levels_have_the_right_scale_and_content(tmp_path, version):
    volume = smooth_volume((21, 40, 48))
    path = write_zarr(tmp_path / "iso.zarr", volume, voxel_size=(10.0, 10.0, 10.0), chunks=(8, 16, 16),
                      version=version, top=8)
    levels, voxels = read_zarr_levels(path)
    shapes = [tuple(level.shape) for level in levels]
    assert shapes == [(21, 40, 48), (10, 20, 24), (5, 10, 12), (2, 5, 6)]
    for k, voxel in enumerate(voxels):  # a level-k voxel is the mean of 2**k level-0 voxels per axis
        assert voxel == pytest.approx((10.0 * 2**k,) * 3)
    assert [list(s) for s in _scales(path)] == [list(v) for v in voxels]
    shifts = [d["coordinateTransformations"][1:] for d in _entry(path)["datasets"]]
    assert shifts[0] == [] and shifts[2] == [{"type": "translation", "translation": [15.0, 15.0, 15.0]}]
    assert [a["unit"] for a in _entry(path)["axes"]] == ["nanometer"] * 3
    # each level is the rounded 2x2x2 mean of the one above (trailing odd voxel left out)
    above = np.asarray(levels[0][:20]).astype(np.float64)
    expected = np.round(above.reshape(10, 2, 20, 2, 24, 2).mean(axis=(1, 3, 5)))
    np.testing.assert_array_equal(np.asarray(levels[1][:]), expected.astype(volume.dtype))
    assert levels[1].dtype == volume.dtype and levels[1].chunks == (8, 16, 16)
    # level 0 is exactly what was written, and open_volume still gives it with its voxel size
    array, voxel = open_volume(path)
    np.testing.assert_array_equal(array[:], volume)
    assert voxel == pytest.approx((10.0, 10.0, 10.0))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_tools_accept_the_output(tmp_path, version):
    """ome-zarr-models validates the metadata against the spec; ome-zarr-py's reader (what napari-ome-zarr
    uses) finds every level with its scale."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader
    from ome_zarr_models import open_ome_zarr

    path = write_zarr(tmp_path / "iso.zarr", smooth_volume((16, 40, 48)), voxel_size=(12.0, 12.0, 12.0),
                      version=version, top=16)
    model = open_ome_zarr(zarr.open_group(str(path), mode="r"))
    assert type(model).__name__ == "Image"
    (node,) = list(Reader(parse_url(str(path)))())[:1]
    assert [tuple(d.shape) for d in node.data] == [(16, 40, 48), (8, 20, 24), (4, 10, 12)]
    transforms = node.metadata["coordinateTransformations"]
    assert [t[0]["scale"] for t in transforms] == [[12.0] * 3, [24.0] * 3, [48.0] * 3]


def test_anisotropic_volumes_are_halved_in_z_only_once_xy_catch_up(tmp_path):
    assert pyramid.level_factors((10, 400, 400), (40.0, 10.0, 10.0), top=32) == [
        (1, 2, 2), (1, 2, 2), (2, 2, 2), (2, 2, 2)]
    assert pyramid.level_factors((64, 64, 64), None, top=64) == []  # small enough: one level
    path = write_zarr(tmp_path / "aniso.zarr", smooth_volume((6, 64, 64)), voxel_size=(40.0, 10.0, 10.0),
                      top=16)
    assert [tuple(level.shape) for level in read_zarr_levels(path)[0]] == [(6, 64, 64), (6, 32, 32),
                                                                            (6, 16, 16)]


def test_one_level_outputs_of_earlier_versions_still_read(tmp_path):
    """The hand-written metadata of isorecon <= 0.1: level "0", a scale transform only."""
    volume = smooth_volume((6, 20, 24))
    group = zarr.open_group(str(tmp_path / "old.zarr"), mode="w", zarr_format=2)
    group.create_array("0", data=volume, chunks=(3, 20, 24), chunk_key_encoding={"name": "v2", "separator": "/"})
    group.attrs["multiscales"] = [{"version": "0.4", "name": "isotropic", "axes": [
        {"name": n, "type": "space", "unit": "nanometer"} for n in "zyx"], "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [30.0, 10.0, 10.0]}]}]}]
    levels, voxels = read_zarr_levels(tmp_path / "old.zarr")
    assert len(levels) == 1 and voxels == [pytest.approx((30.0, 10.0, 10.0))]
    np.testing.assert_array_equal(read_zarr(tmp_path / "old.zarr")[0][:], volume)


def test_blockwise_cli_output_gets_its_levels(tmp_path, monkeypatch):
    """`isorecon interpolate IN.zarr --out OUT.zarr`: level 0 written block by block, then the levels."""
    monkeypatch.setattr(pyramid, "PYRAMID_TOP", 16)
    volume = smooth_volume((8, 40, 48))
    src = write_zarr(tmp_path / "in.zarr", volume, voxel_size=(40.0, 10.0, 10.0), chunks=(4, 20, 24), top=64)
    assert len(read_zarr_levels(src)[0]) == 1
    out = tmp_path / "out.zarr"
    assert main(["interpolate", str(src), "--out", str(out), "--block-size", "4,16,16", "--device", "cpu"]) == 0
    levels, voxels = read_zarr_levels(out)
    assert [tuple(level.shape) for level in levels] == [(32, 40, 48), (16, 20, 24), (8, 10, 12)]
    assert voxels == [pytest.approx((10.0, 10.0, 10.0)), pytest.approx((20.0, 20.0, 20.0)),
                      pytest.approx((40.0, 40.0, 40.0))]
    assert not (tmp_path / "out.zarr.partial").exists()
    assert not any(p.name == ".isorecon" for p in out.iterdir())
    meta = json.loads((out / ".zattrs").read_text())
    assert [d["path"] for d in meta["multiscales"][0]["datasets"]] == ["0", "1", "2"]


def test_a_run_that_fails_while_building_levels_resumes_without_recomputing_blocks(tmp_path, monkeypatch, capsys):
    import errno

    monkeypatch.setattr(pyramid, "PYRAMID_TOP", 16)
    src = write_zarr(tmp_path / "in.zarr", smooth_volume((8, 40, 48)), voxel_size=(40.0, 10.0, 10.0), top=64)
    out = tmp_path / "out.zarr"
    args = ["interpolate", str(src), "--out", str(out), "--block-size", "4,16,16", "--device", "cpu"]
    real = pyramid.downsample

    def full_disk(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pyramid, "downsample", full_disk)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar: one line
    assert err.startswith("isorecon: error: Could not write the downsampled levels") and "No space left" in err
    assert not out.exists() and (tmp_path / "out.zarr.partial" / ".isorecon" / "manifest.json").exists()
    monkeypatch.setattr(pyramid, "downsample", real)
    assert main(args) == 0
    assert "Resumed: 18 of 18 blocks were already written" in capsys.readouterr().err  # no block recomputed
    assert [tuple(level.shape) for level in read_zarr_levels(out)[0]] == [(32, 40, 48), (16, 20, 24), (8, 10, 12)]
