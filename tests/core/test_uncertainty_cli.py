"""`isorecon reconstruct ... --uncertainty OUT`: written beside the result (tif or zarr), never overwritten."""

import numpy as np
import pytest
import tifffile

from napari_isorecon.cli import main
from napari_isorecon.core.io import read_volume


def test_uncertainty_tif_is_written_with_the_augmented_result_and_never_overwritten(tiny_model_file, tmp_path, capsys,
                                                                                    monkeypatch):
    from napari_isorecon.core import ReconConfig
    from napari_isorecon.core.inference.reconstruct import run_to_end
    from napari_isorecon.core.inference.uncertainty import reconstruct_with_uncertainty
    from napari_isorecon.core.model.checkpoint import load_model
    from napari_isorecon.sample import anisotropic_sample

    iso, unc = tmp_path / "iso.tif", tmp_path / "unc.tif"
    assert main(["reconstruct", "sample", "--model", str(tiny_model_file), "--out", str(iso),
                 "--uncertainty", str(unc), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert f"Uncertainty (50, 100, 200) written to {unc}" in captured.out
    assert "not a reliable predictor of the error" in captured.err  # what the benchmark found, said every time
    spread, voxel = read_volume(unc)
    result, result_voxel = read_volume(iso)
    assert spread.dtype == np.float32 and spread.shape == result.shape == (50, 100, 200)
    assert voxel == pytest.approx(result_voxel) and voxel == pytest.approx((10, 10, 10))
    volume, _ = anisotropic_sample()
    expected = run_to_end(reconstruct_with_uncertainty(volume, load_model(tiny_model_file), ReconConfig(device="cpu")))
    np.testing.assert_array_equal(result, expected.volume)  # --out holds the augmented mean
    np.testing.assert_allclose(spread, expected.uncertainty, atol=1e-4)
    assert spread.min() >= 0 and spread.mean() > 0

    before = unc.read_bytes()

    def no_work(*args, **kwargs):
        raise AssertionError("the output must be checked before any work")

    monkeypatch.setattr("napari_isorecon.core.inference.uncertainty.reconstruct_with_uncertainty", no_work)
    assert main(["reconstruct", "sample", "--model", str(tiny_model_file), "--out", str(tmp_path / "other.tif"),
                 "--uncertainty", str(unc)]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and len(err.strip().splitlines()) == 1
    assert unc.read_bytes() == before and not (tmp_path / "other.tif").exists()  # refused before any work


def test_uncertainty_zarr_is_written_block_by_block_with_a_zarr_result(tiny_model_file, tmp_path, capsys):
    import zarr

    args = ["reconstruct", "sample", "--model", str(tiny_model_file), "--device", "cpu", "--block-size", "5,50,100"]
    assert main(args + ["--out", str(tmp_path / "iso.tif"), "--uncertainty", str(tmp_path / "unc.tif")]) == 2
    assert "--scheduler and --block-size need a .zarr output" in capsys.readouterr().err
    args = args[:-2]
    assert main(args + ["--out", str(tmp_path / "iso.zarr"), "--uncertainty", str(tmp_path / "unc.tif")]) == 2
    assert "must both be .tif or both .zarr" in capsys.readouterr().err
    assert not (tmp_path / "iso.zarr").exists() and not (tmp_path / "unc.tif").exists()

    assert main(["reconstruct", "sample", "--model", str(tiny_model_file), "--device", "cpu", "--out",
                 str(tmp_path / "ref.tif"), "--uncertainty", str(tmp_path / "ref_unc.tif")]) == 0
    assert main(args + ["--block-size", "5,50,100", "--out", str(tmp_path / "iso.zarr"),
                        "--uncertainty", str(tmp_path / "unc.zarr")]) == 0
    assert "Uncertainty (50, 100, 200) written to" in capsys.readouterr().out
    spread = zarr.open_group(str(tmp_path / "unc.zarr"), mode="r")["0"][:]
    result = zarr.open_group(str(tmp_path / "iso.zarr"), mode="r")["0"][:]
    np.testing.assert_allclose(spread, tifffile.imread(tmp_path / "ref_unc.tif"), atol=1e-3)
    assert np.abs(result.astype(int) - tifffile.imread(tmp_path / "ref.tif").astype(int)).max() <= 1
    assert main(args + ["--out", str(tmp_path / "again.zarr"), "--uncertainty", str(tmp_path / "unc.zarr")]) == 2
    assert "exists" in capsys.readouterr().err and not (tmp_path / "again.zarr").exists()
