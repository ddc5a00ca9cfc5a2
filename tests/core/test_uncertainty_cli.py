"""`--uncertainty`: the standard deviation of the result's error per voxel (core.inference.error_model), written
beside the result (`reconstruct --uncertainty OUT.tif`, `run --uncertainty`: DIR/<name>_uncertainty.tif), its
scale (`--uncertainty-scale`), refused with a .zarr result, never overwritten."""

import numpy as np
import pytest

from napari_isorecon.cli import main
from napari_isorecon.core.inference.uncertainty import NOT_AN_ERROR_MAP
from napari_isorecon.core.io import read_volume
from napari_isorecon.core.jobs.outputs import UNCERTAINTY_IN_MEMORY


def no_work(*args, **kwargs):
    raise AssertionError("the arguments and outputs must be checked before any work")


def test_uncertainty_tif_is_written_beside_the_plain_result_and_never_overwritten(tiny_model_file, tmp_path, capsys,
                                                                                  monkeypatch, quick_error_model):
    from napari_isorecon.core import ReconConfig
    from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end
    from napari_isorecon.core.model.checkpoint import load_model
    from napari_isorecon.sample import anisotropic_sample

    iso, unc = tmp_path / "iso.tif", tmp_path / "unc.tif"
    assert main(["reconstruct", "sample", "--model", str(tiny_model_file), "--out", str(iso),
                 "--uncertainty", str(unc), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert f"Uncertainty (50, 100, 200) written to {unc}" in captured.out
    assert ("Uncertainty: the standard deviation of the result's error per voxel (error model fitted on 10 lateral "
            "planes in") in captured.out
    assert "scaled by 1.60 (measured on other volumes; `isorecon validate` measures" in captured.out
    assert NOT_AN_ERROR_MAP not in captured.out + captured.err  # the flips' caveat is not about this map
    spread, voxel = read_volume(unc)
    result, result_voxel = read_volume(iso)
    assert spread.dtype == np.float32 and spread.shape == result.shape == (50, 100, 200)
    assert voxel == pytest.approx(result_voxel) and voxel == pytest.approx((10, 10, 10))
    volume, _ = anisotropic_sample()
    plain = run_to_end(reconstruct(volume, load_model(tiny_model_file), ReconConfig(device="cpu"))).volume
    np.testing.assert_array_equal(result, plain)  # --out holds the plain result, unchanged by --uncertainty
    assert np.isfinite(spread).all() and spread.min() >= 0 and spread.mean() > 0

    before = unc.read_bytes()
    monkeypatch.setattr("napari_isorecon.core.inference.error_model.fit_error_model", no_work)
    monkeypatch.setattr("napari_isorecon.core.inference.reconstruct.reconstruct", no_work)
    assert main(["reconstruct", "sample", "--model", str(tiny_model_file), "--out", str(tmp_path / "other.tif"),
                 "--uncertainty", str(unc)]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and len(err.strip().splitlines()) == 1
    assert unc.read_bytes() == before and not (tmp_path / "other.tif").exists()  # refused before any work


def test_the_scale_multiplies_the_map_and_needs_the_uncertainty(tiny_model_file, tmp_path, capsys,
                                                                 quick_error_model):
    args = ["reconstruct", "sample", "--model", str(tiny_model_file), "--device", "cpu"]
    for scale in ("1", "2"):
        assert main(args + ["--out", str(tmp_path / f"iso{scale}.tif"), "--uncertainty",
                            str(tmp_path / f"unc{scale}.tif"), "--uncertainty-scale", scale]) == 0
        assert f"scaled by {float(scale):.2f} (the scale you gave)" in capsys.readouterr().out
    one, two = (read_volume(tmp_path / f"unc{scale}.tif")[0] for scale in ("1", "2"))
    assert one.mean() > 0
    np.testing.assert_allclose(two, 2 * one, rtol=1e-5)  # the same fit (seeded), twice the scale

    for argv in (args + ["--out", str(tmp_path / "alone.tif"), "--uncertainty-scale", "2"],
                 ["run", "sample", "--steps", "2", "--uncertainty-scale", "2", "--out-dir", str(tmp_path / "r")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "--uncertainty-scale calibrates the uncertainty: give --uncertainty too." in err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "alone.tif").exists() and not (tmp_path / "r").exists()
    assert main(args + ["--out", str(tmp_path / "neg.tif"), "--uncertainty", str(tmp_path / "neg_unc.tif"),
                        "--uncertainty-scale", "0"]) == 2
    assert "--uncertainty-scale must be positive" in capsys.readouterr().err


def test_a_zarr_result_with_the_uncertainty_is_refused_before_any_work(tiny_model_file, tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.setattr("napari_isorecon.core.inference.error_model.fit_error_model", no_work)
    monkeypatch.setattr("napari_isorecon.core.inference.blockwise.write_blockwise", no_work)
    args = ["reconstruct", "sample", "--model", str(tiny_model_file), "--device", "cpu"]
    for result, spread in (("iso.zarr", "unc.tif"), ("iso.zarr", "unc.zarr"), ("iso.tif", "unc.zarr")):
        assert main(args + ["--out", str(tmp_path / result), "--uncertainty", str(tmp_path / spread)]) == 2
        err = capsys.readouterr().err
        assert err.strip() == f"isorecon: error: {UNCERTAINTY_IN_MEMORY}"  # one line
        assert not (tmp_path / result).exists() and not (tmp_path / spread).exists()


def test_run_writes_the_uncertainty_into_its_folder(tmp_path, capsys, quick_error_model):
    out = tmp_path / "r"
    assert main(["run", "sample", "--steps", "2", "--uncertainty", "--out-dir", str(out)]) == 0
    captured = capsys.readouterr()
    written = out / "sample_uncertainty.tif"
    assert f"Uncertainty (50, 100, 200) written to {written}" in captured.out
    assert "Uncertainty: the standard deviation of the result's error per voxel" in captured.out
    spread, voxel = read_volume(written)
    result, result_voxel = read_volume(out / "sample_isotropic.tif")
    assert spread.dtype == np.float32 and spread.shape == result.shape == (50, 100, 200)
    assert voxel == pytest.approx(result_voxel)
    assert np.isfinite(spread).all() and spread.min() >= 0 and spread.mean() > 0
    assert main(["run", "sample", "--steps", "2", "--out-dir", str(tmp_path / "plain")]) == 0
    assert not list((tmp_path / "plain").glob("*uncertainty*"))  # only when asked
