"""bioimage.io export: the package passes bioimageio.core's model test, gives what `isorecon reconstruct` gives
(through bioimageio.core and through `--model package.zip`), and bad packages are refused with one line."""

import io
import zipfile

import numpy as np
import pytest
import tifffile
import torch
import yaml
from optional_deps import optional_import

from napari_isorecon.cli import main
from napari_isorecon.core.bioimageio.export import declared_scales, z_fraction
from napari_isorecon.core.bioimageio.network import IsotropicVolumeNetwork
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.geometry import output_depth
from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end
from napari_isorecon.core.model.checkpoint import load_model
from napari_isorecon.core.settings.config import ReconConfig

optional_import("bioimageio.core")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small model trained on the shipped sample for a few steps (both stages; a high learning rate so that
    it departs from interpolation and a missing pass or a wrong normalisation shows), then `isorecon export`."""
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.model.checkpoint import save_model
    from napari_isorecon.core.training.train import train
    from napari_isorecon.sample import anisotropic_sample

    out = tmp_path_factory.mktemp("export")
    cfg = TrainConfig(z_factor=5, steps=6, minutes=None, channels=8, blocks=2, ghl_channels=4, ghl_blocks=1,
                      disc_channels=8, lr_rows=4, patch_width=32, batch_size=2, device="cpu", lr_generators=5e-3)
    model = run_to_end(train(anisotropic_sample()[0], cfg)).model
    assert model.reconstructor is not None  # stage 2 ran: the package holds the supervised network
    save_model(model, out / "model.pt")
    assert main(["export", str(out / "model.pt"), "--volume", "sample", "--out", str(out / "model.zip"),
                 "--author", "Test Author"]) == 0
    return out


@pytest.fixture(scope="module")
def engine_result(exported):
    """`isorecon reconstruct sample --model model.pt` in float32, as the package's TorchScript runs."""
    assert main(["reconstruct", "sample", "--model", str(exported / "model.pt"), "--precision", "float32",
                 "--out", str(exported / "pt.tif")]) == 0
    return tifffile.imread(exported / "pt.tif")


@pytest.mark.slow
def test_the_package_passes_bioimageio_core_model_test(exported):
    from bioimageio.core import test_model

    summary = test_model(exported / "model.zip")
    failed = [(d.name, [e.msg[:200] for e in d.errors]) for d in summary.details if d.status == "failed"]
    assert summary.status == "passed", failed
    names = " ".join(d.name for d in summary.details)
    assert "Reproduce test outputs" in names and "size parameter n: 2" in names  # inference really ran


@pytest.mark.slow
def test_bioimageio_core_reconstructs_the_sample_like_isorecon_reconstruct(exported, engine_result, em_volume):
    from bioimageio.core import predict

    engine = engine_result
    sample = predict(model=str(exported / "model.zip"), inputs=em_volume[None, None])
    result = next(iter(sample.members.values())).data.values[0, 0]
    assert result.shape == engine.shape == (50, 100, 200) and result.dtype == engine.dtype == np.uint8
    diff = np.abs(result.astype(int) - engine.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-4  # one grey level where float rounding meets .5
    one_pass = run_to_end(reconstruct(em_volume, load_model(exported / "model.pt"),
                                      ReconConfig(axes=("xz",), precision="float32")))
    assert (np.abs(one_pass.volume.astype(int) - engine) > 1).mean() > 0.005  # the comparison could tell


@pytest.mark.slow
def test_reconstruct_takes_the_package_back(exported, engine_result, tmp_path):
    assert main(["reconstruct", "sample", "--model", str(exported / "model.zip"), "--precision", "float32",
                 "--out", str(tmp_path / "b.tif")]) == 0
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "b.tif"), engine_result)
    model = load_model(exported / "model.zip")
    assert model.g_hl is not None and model.state.step == 6  # the full model, not only the TorchScript


@pytest.mark.slow
def test_the_package_holds_what_a_consumer_needs(exported):
    with zipfile.ZipFile(exported / "model.zip") as archive:
        rdf = yaml.safe_load(archive.read("rdf.yaml"))
        readme = archive.read("README.md").decode()
        names = set(archive.namelist())
        test_in = np.load(io.BytesIO(archive.read("test_input.npy")))
        test_out = np.load(io.BytesIO(archive.read("test_output.npy")))
    assert rdf["format_version"].startswith("0.5.") and rdf["type"] == "model"
    assert {"weights_torchscript.pt", "cover.png", "README.md", "napari_isorecon_model.pt", "sample_input.tif",
            "sample_output.tif"} <= names
    z_in, z_out = rdf["inputs"][0]["axes"][2], rdf["outputs"][0]["axes"][2]
    assert z_out["size"] == {"tensor_id": "raw", "axis_id": "z"}  # output z: a scaled reference to input z
    assert z_in["scale"] / z_out["scale"] == 5 and z_in["unit"] == "nanometer"
    assert test_out.shape[2] == 5 * test_in.shape[2] and test_in.dtype == test_out.dtype == np.uint8
    assert rdf["cite"][0]["doi"] == "10.1007/978-3-030-59722-1_16" and rdf["license"] == "BSD-3-Clause"
    assert rdf["authors"] == [{"name": "Test Author"}]
    for words in ("raw intensities", "Tile large volumes", "z-factor 5", "Section kernel (declared)", "## The section",
                  "sections 1 z-step thick +-50% (as declared)", "Validation",
                  "the exported network takes the offsets off itself"):
        assert words in readme


@pytest.mark.slow
def test_export_declares_the_voxel_size_given(exported, tmp_path, capsys):
    """--voxel-size replaces the volume's own (the sample's is 50 x 10 x 10 nm) in the package's axes."""
    out = tmp_path / "voxel.zip"
    assert main(["export", str(exported / "model.pt"), "--volume", "sample", "--voxel-size", "25,5,5",
                 "--out", str(out), "--author", "Test Author"]) == 0
    with zipfile.ZipFile(out) as archive:
        rdf = yaml.safe_load(archive.read("rdf.yaml"))
    axes = {axis["id"]: axis for axis in rdf["inputs"][0]["axes"] if axis.get("type") == "space"}
    assert {name: (axes[name]["scale"], axes[name]["unit"]) for name in "zyx"} == {
        "z": (25.0, "nanometer"), "y": (5.0, "nanometer"), "x": (5.0, "nanometer")}
    out_axes = {axis["id"]: axis for axis in rdf["outputs"][0]["axes"] if axis.get("type") == "space"}
    assert out_axes["z"]["scale"] == pytest.approx(5.0) and out_axes["y"]["scale"] == pytest.approx(5.0)
    capsys.readouterr()
    for voxel, words in (("25,5", "needs three numbers Z,Y,X"), ("40,10,10", "implies z-factor 4")):
        bad = tmp_path / f"bad_{voxel}.zip"
        assert main(["export", str(exported / "model.pt"), "--volume", "sample", "--voxel-size", voxel,
                     "--out", str(bad)]) == 2
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert last.startswith("isorecon: error:") and words in last
        assert not bad.exists()


def _rewrite(src, dst, edit_rdf=None, drop=()):
    """A copy of the package ``src`` with its rdf edited and/or files left out."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name in drop:
                continue
            data = zin.read(name)
            if name == "rdf.yaml" and edit_rdf is not None:
                rdf = yaml.safe_load(data)
                edit_rdf(rdf)
                data = yaml.safe_dump(rdf).encode()
            zout.writestr(name, data)
    return dst


def _two_d(rdf):
    rdf["inputs"][0]["axes"] = [a for a in rdf["inputs"][0]["axes"] if a.get("id") != "z"]


@pytest.mark.slow
@pytest.mark.parametrize("edit, drop, words", [
    (lambda rdf: rdf.update(format_version="0.4.10"), (), "spec 0.4.10"),
    (lambda rdf: rdf.update(type="dataset"), (), "not a model"),
    (None, ("weights_torchscript.pt",), "missing its weights"),
    (lambda rdf: rdf.update(weights={}), (), "no TorchScript weights"),
    (_two_d, (), "a 2D model"),
    (lambda rdf: rdf["config"].pop("napari_isorecon"), (), "not exported by napari-isorecon"),
    (None, ("napari_isorecon_model.pt",), "lacks its napari-isorecon checkpoint"),
    (None, ("rdf.yaml",), "not a bioimage.io model package"),
])
def test_bad_packages_are_refused_with_one_line(exported, tmp_path, edit, drop, words):
    bad = _rewrite(exported / "model.zip", tmp_path / "bad.zip", edit, drop)
    with pytest.raises(IsoReconError, match=words) as info:
        load_model(bad)
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_export_refuses_to_overwrite_and_says_how_to_install_the_extra(exported, capsys, monkeypatch):
    before = (exported / "model.zip").read_bytes()
    assert main(["export", str(exported / "model.pt"), "--volume", "sample", "--out", str(exported / "model.zip")]) == 2
    assert "exists" in capsys.readouterr().err
    assert (exported / "model.zip").read_bytes() == before
    import builtins

    real_import = builtins.__import__

    def no_bioimageio(name, *args, **kwargs):
        if name.startswith("bioimageio"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_bioimageio)
    assert main(["export", str(exported / "model.pt"), "--volume", "sample", "--out", str(exported / "x.zip")]) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install" in err and "bioimageio" in err and "\n" not in err
    assert not (exported / "x.zip").exists()


@pytest.mark.parametrize("backbone, z_factor, dtype", [
    ("edsr", 5, np.uint8), ("rcan", 2.5, np.uint16), ("drcnet", 3, np.float32), ("vdsr", 4, np.uint8)])
def test_the_torchscript_network_equals_the_engine(backbone, z_factor, dtype, rng):
    """Every backbone, a fractional factor, integer and float data: the scripted 3D module gives what
    reconstruct() gives (exactly on a CPU), on a volume whose depth is off the package's z lattice too."""
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel

    cfg = TrainConfig(z_factor=z_factor, backbone=backbone, channels=8, blocks=1, device="cpu")
    volume = (rng.random((7, 20, 24)) * 1000).astype(dtype)
    model = IsoModel(cfg, Normalizer.fit(volume))
    torch.manual_seed(0)
    with torch.no_grad():  # untrained backbones are plain interpolation: make the learned branch count
        for p in model.reconstruction_network().parameters():
            p.add_(0.05 * torch.randn_like(p))
    expected = run_to_end(reconstruct(volume, model, ReconConfig(device="cpu", precision="float32"))).volume
    norm = model.normalizer
    out_range = (np.iinfo(dtype).min, np.iinfo(dtype).max) if np.dtype(dtype).kind == "u" else None
    scripted = torch.jit.script(IsotropicVolumeNetwork(model.reconstruction_network(), z_factor, norm.low, norm.high,
                                                       out_range, slice_batch=3))
    with torch.no_grad():
        out = scripted(torch.from_numpy(np.stack([volume, volume]).astype(np.float32))[:, None]).numpy()
    assert out.shape == (2, 1, output_depth(7, z_factor), 20, 24)
    np.testing.assert_allclose(out[1, 0], expected.astype(np.float32), rtol=1e-6, atol=1e-6 * 1000)
    np.testing.assert_array_equal(out[0], out[1])


@pytest.mark.parametrize("z_factor, voxel", [(5, (50, 10, 10)), (2.5, (10, 4, 4)), (10 / 3, None), (7.25, (29, 4, 4)),
                                             (10, (40, 3.9, 4.1))])
def test_declared_output_depth_is_the_engines(z_factor, voxel):
    """The spec computes the output z size as int(z * in_scale / out_scale): it must be round(z * f) for every
    z the package accepts (its z lattice)."""
    scales = declared_scales(z_factor, voxel)
    (sz, sy, _), (oz, oy, _) = scales["input"], scales["output"]
    for z in range(scales["z_min"], 3000, scales["z_step"]):
        assert int(z * sz / oz) == output_depth(z, z_factor)
    for y in range(16, 3000):
        assert int(y * sy / oy) == y


def test_factors_without_a_whole_output_depth_and_wrong_voxel_sizes_are_refused():
    assert z_fraction(7.5) == (15, 2)
    with pytest.raises(IsoReconError, match="not a ratio"):
        z_fraction(3.14159)
    with pytest.raises(IsoReconError, match="implies z-factor"):
        declared_scales(5, (40, 10, 10))
    with pytest.raises(IsoReconError, match="implies z-factor 10.1"):  # one z-factor tolerance: same_z_factor
        declared_scales(10, (40.4, 4, 4))
    declared_scales(10, (40.02, 4, 4))  # a voxel size rounded in a file header is the model's
    with pytest.raises(IsoReconError, match="not positive"):
        declared_scales(5, (50, 0, 0))


def test_export_refuses_a_volume_unlike_the_training_one(tmp_path):
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.bioimageio.export import export_package
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel

    model = IsoModel(TrainConfig(z_factor=5, channels=8, blocks=1), Normalizer(0.0, 255.0, "|u1"))
    with pytest.raises(IsoReconError, match="uint16 but the model was trained on uint8"):
        export_package(model, np.zeros((10, 32, 32), np.uint16), tmp_path / "a.zip")
    model = IsoModel(TrainConfig(z_factor=2.25, channels=8, blocks=1), Normalizer(0.0, 255.0, "|u1"))
    with pytest.raises(IsoReconError, match="3 z slices; the package's test input needs at least 4"):
        export_package(model, np.zeros((3, 32, 32), np.uint8), tmp_path / "a.zip")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", ["--sharp", "--uncertainty"])
def test_export_refuses_the_sharp_output_and_the_uncertainty_in_one_line(flag, tiny_model_file, tmp_path, capsys):
    out = tmp_path / "model.zip"
    assert main(["export", str(tiny_model_file), "--volume", "sample", "--out", str(out), flag]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err and "isorecon reconstruct --model PACKAGE.zip" in err
    assert not out.exists()
