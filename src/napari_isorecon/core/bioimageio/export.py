"""Export a trained model as a bioimage.io model package (spec 0.5), built with ``bioimageio.spec``.

    export_package(model, volume, "model.zip", voxel_size=(50, 10, 10), unit="nanometer")

The package's network is :class:`export_network.IsotropicVolumeNetwork` as TorchScript: raw intensities
(batch, 1, z, y, x) in, the isotropic volume (batch, 1, round(z * f), y, x) out, both slice passes fused
and the model's fixed intensity normalisation inside, so a generic consumer (bioimageio.core, deepImageJ,
ilastik, BiaPy) gets what ``isorecon reconstruct`` gives. The rdf declares:

- the input's z size as ``min + n * q`` slices with ``f = p / q`` in lowest terms (so ``z * f`` is whole)
  and y, x as any size from 16 pixels;
- the output z axis as a :class:`SizeReference` to the input's z axis with scales ``s_z`` and ``s_z / f``
  (``size = int(z * s_z / (s_z / f)) = z * f``), y and x as references with the same scales;
- data types: the training volume's dtype in and out (``ensure_dtype`` casts; the network rounds and clips
  integer outputs itself, so the cast is exact).

Test tensors are a crop of ``volume`` and what :func:`reconstruct.reconstruct` makes of it; the export
checks that the TorchScript module reproduces them before writing anything. The package also holds our
checkpoint (attachment) so that ``load_model`` gives back the full model, a cover image and a README
(:mod:`.docs`). Nothing is tiled for the consumer: see the README's "What a consumer must do".
"""

from __future__ import annotations

import copy
import math
import tempfile
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ..errors import IsoReconError
from ..geometry import MIN_WIDTH, check_volume
from ..inference.reconstruct import reconstruct, run_to_end
from ..io.files import atomic_write, check_writable
from ..model.checkpoint import save_model
from ..settings.config import ReconConfig
from ..settings.zfactor import same_z_factor, z_spacing_ratio
from .package import CHECKPOINT_FILE, PACKAGE_FORMAT, PACKAGE_FORMAT_VERSION

INSTALL_HINT = "pip install 'napari-isorecon[bioimageio]' (or: pip install bioimageio.core)"
PAPER_DOI = "10.1007/978-3-030-59722-1_16"
PAPER_TEXT = ("Deng S, Fu X, Xiong Z, Chen C, Liu D, Chen X, Ling Q, Wu F. Isotropic Reconstruction of 3D EM Images "
              "with Unsupervised Degradation Learning. MICCAI 2020, LNCS 12265, pp. 163-173.")
MAX_DENOMINATOR = 64  # z-factors p / q with q up to this are exported exactly
TEST_SIZE = (16, 64, 64)  # largest test input (z slices, y, x)
UNITS = {"nm": "nanometer", "nanometer": "nanometer", "um": "micrometer", "µm": "micrometer",
         "micrometer": "micrometer"}


def require_bioimageio():
    """Import bioimageio.spec, or a one-line error with the pip command."""
    try:
        import bioimageio.spec  # noqa: F401
        from bioimageio.spec.model import v0_5
    except ImportError:
        raise IsoReconError(f"Exporting a bioimage.io package needs the 'bioimageio' extra: {INSTALL_HINT}.") from None
    return v0_5


def z_fraction(z_factor: float) -> tuple[int, int]:
    """(p, q) with p / q == z_factor (to 1e-9) and q <= MAX_DENOMINATOR, or a clear error."""
    frac = Fraction(z_factor).limit_denominator(MAX_DENOMINATOR)
    if abs(float(frac) - z_factor) > 1e-9 * z_factor:
        raise IsoReconError(
            f"z-factor {z_factor:g} is not a ratio p/q with q <= {MAX_DENOMINATOR}; a bioimage.io package declares "
            "its output depth as z * f, which must be a whole number: train with a rounded z-factor (e.g. "
            f"{round(z_factor * 4) / 4:g}).")
    return frac.numerator, frac.denominator


def _scaled_output_scale(in_scale: float, p: int, q: int, sizes) -> float:
    """The output scale ``s ~ in_scale * q / p`` for which the spec's ``int(n * in_scale / s)`` is exactly
    ``n * p / q`` for every ``n`` in ``sizes`` (multiples of q); nudged down by a few ulps if rounding needs it."""
    sizes = np.asarray(sizes, dtype=np.int64)
    out = in_scale * q / p
    for _ in range(64):
        declared = np.floor(sizes.astype(np.float64) * in_scale / out).astype(np.int64)
        if np.array_equal(declared, sizes * p // q):
            return out
        out = float(np.nextafter(out, 0.0))
    raise IsoReconError(f"Could not find an exact output scale for input scale {in_scale:g}; give another voxel size.")


def declared_scales(z_factor: float, voxel_size=None) -> dict:
    """Input and output scales (z, y, x) the rdf declares; without a voxel size, in lateral pixels."""
    p, q = z_fraction(z_factor)
    if voxel_size is None:
        sz, sy, sx = float(p) / q, 1.0, 1.0
    else:
        implied = z_spacing_ratio(voxel_size, advice="give the voxel size the model is for")
        sz, sy, sx = (float(s) for s in voxel_size)
        if not same_z_factor(implied, z_factor):
            raise IsoReconError(f"Voxel size {tuple(voxel_size)} implies z-factor {implied:.3g}, but the model was "
                                f"trained for {z_factor:g}; give the voxel size the model is for.")
    z_sizes = np.arange(q, 100_000, q)
    xy_sizes = np.arange(MIN_WIDTH, 100_000)
    return {"input": (sz, sy, sx),
            "output": (_scaled_output_scale(sz, p, q, z_sizes), _scaled_output_scale(sy, 1, 1, xy_sizes),
                       _scaled_output_scale(sx, 1, 1, xy_sizes)),
            "z_step": q, "z_min": q * math.ceil(2 / q)}


def scripted_network(model, slice_batch: int = 8) -> torch.jit.ScriptModule:
    """The model's whole reconstruction as a TorchScript module on the CPU (the model is not moved)."""
    from .network import IsotropicVolumeNetwork

    net = copy.deepcopy(model.reconstruction_network()).cpu().eval()
    norm = model.normalizer
    dtype = norm.np_dtype
    out_range = (float(np.iinfo(dtype).min), float(np.iinfo(dtype).max)) if dtype.kind in "ui" else None
    module = IsotropicVolumeNetwork(net, model.z_factor, norm.low, norm.high, out_range, slice_batch).eval()
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated in torch, but it is the spec's format
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.script(module)
    except Exception as exc:  # a backbone with no scriptable form
        raise IsoReconError(f"Could not convert the network to TorchScript ({str(exc).splitlines()[0][:120]}).") from exc


def _centre(n: int, size: int) -> slice:
    start = (n - size) // 2
    return slice(start, start + size)


def test_crop(volume, z_step: int, z_min: int) -> np.ndarray:
    """A centre crop of at most TEST_SIZE voxels whose depth is on the input's z lattice."""
    z, y, x = volume.shape
    depth = (min(z, TEST_SIZE[0]) // z_step) * z_step
    if depth < z_min:
        raise IsoReconError(f"The volume has {z} z slices; the package's test input needs at least {z_min}.")
    region = (_centre(z, depth), _centre(y, min(y, TEST_SIZE[1])), _centre(x, min(x, TEST_SIZE[2])))
    return np.asarray(volume[region])


def _engine(volume, model) -> np.ndarray:
    return run_to_end(reconstruct(volume, model, ReconConfig(device="cpu", precision="float32"))).volume


def check_reproduces(scripted, crop: np.ndarray, expected: np.ndarray, dtype: np.dtype) -> float:
    """Run the TorchScript module on ``crop``; refuse when it does not give the engine's ``expected``."""
    with torch.inference_mode():
        out = scripted(torch.from_numpy(crop.astype(np.float32))[None, None])[0, 0].numpy()
    if out.shape != expected.shape:
        raise IsoReconError(f"The TorchScript network gives shape {out.shape}, the engine {expected.shape}; "
                            "not exporting.")
    error = np.abs(out.astype(np.float64) - expected.astype(np.float64))
    diff = float(error.max())
    if dtype.kind in "ui":  # rounding may flip where the float result meets .5: one level, rarely
        wrong = diff > 1 or (error > 0).mean() > 1e-4
    else:
        wrong = diff > 1e-4 * max(1.0, float(np.abs(expected).max()))
    if wrong:
        raise IsoReconError(f"The TorchScript network does not reproduce the engine (max difference {diff:.3g}); "
                            "not exporting.")
    return diff


def export_package(model, volume, out, *, voxel_size=None, unit: str | None = "nanometer", authors=("unknown",),
                   name: str | None = None, license_id: str = "BSD-3-Clause", source_name: str = "volume",
                   overwrite: bool = False) -> dict:
    """Write the bioimage.io package of ``model`` to ``out`` (a .zip); the test tensors and the cover are cut
    from ``volume`` (the training volume or one like it). Returns facts about what was written."""
    v0_5 = require_bioimageio()
    out = check_writable(out, overwrite)
    if out.suffix.lower() != ".zip":
        raise IsoReconError(f"{out}: a bioimage.io package is a .zip file; name it e.g. {out.with_suffix('.zip').name}.")
    check_volume(volume)
    dtype = model.normalizer.np_dtype
    if np.dtype(volume.dtype) != dtype:
        raise IsoReconError(f"The volume is {np.dtype(volume.dtype)} but the model was trained on {dtype} data; "
                            "give a volume like the training one.")
    unit = UNITS.get(unit) if unit else None
    scales = declared_scales(model.z_factor, voxel_size)
    crop = test_crop(volume, scales["z_step"], scales["z_min"])
    expected = _engine(crop, model)
    scripted = scripted_network(model)
    max_diff = check_reproduces(scripted, crop, expected, dtype)
    with tempfile.TemporaryDirectory(prefix="isorecon-export-") as tmp:
        folder = Path(tmp)
        facts = _write_contents(folder, model, volume, crop, expected, scripted, scales, voxel_size, unit,
                                source_name)
        descr = _describe(v0_5, folder, model, facts, scales, unit, authors, name, license_id)
        _save(descr, out)
    facts.update(path=out, max_diff=max_diff, size_bytes=out.stat().st_size)
    return facts


def _write_contents(folder, model, volume, crop, expected, scripted, scales, voxel_size, unit, source_name):
    import tifffile

    from .docs import cover_image, package_readme

    np.save(folder / "test_input.npy", crop[None, None])
    np.save(folder / "test_output.npy", expected[None, None])
    tifffile.imwrite(folder / "sample_input.tif", crop, compression="zlib")  # the same, for people (Fiji)
    tifffile.imwrite(folder / "sample_output.tif", expected, compression="zlib")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(scripted, str(folder / "weights_torchscript.pt"))
    save_model(model, folder / CHECKPOINT_FILE)
    before, after = _cover_slices(volume, model)
    cover_image(before, after, model.normalizer, folder / "cover.png")
    facts = {"test_input_shape": crop.shape, "test_output_shape": expected.shape, "source_name": source_name,
             "source_shape": tuple(volume.shape), "voxel_size": voxel_size, "unit": unit, "scales": scales,
             "receptive_radius": int(getattr(model.reconstruction_network(), "receptive_radius", 0))}
    (folder / "README.md").write_text(package_readme(model, facts), encoding="utf-8")
    return facts


def _cover_slices(volume, model, max_width: int = 256, max_rows: int = 192):
    """(input xz slice, reconstructed xz slice) through the middle of ``volume``: a slab around the middle
    row, wide enough for the yz pass to see what the whole volume would give it."""
    z, y, x = volume.shape
    depth = max(2, min(z, int(max_rows // model.z_factor)))
    half = max(MIN_WIDTH // 2, int(getattr(model.reconstruction_network(), "receptive_radius", 0)))
    rows = _centre(y, min(y, 2 * half + 1))
    slab = np.asarray(volume[_centre(z, depth), rows, _centre(x, min(x, max_width))])
    middle = slab.shape[1] // 2
    return slab[:, middle, :], _engine(slab, model)[:, middle, :]


def _tolerance(v0_5, model):
    dtype = model.normalizer.np_dtype
    if dtype.kind in "ui":  # the output is rounded: a float difference can flip a voxel by one level
        return v0_5.ReproducibilityTolerance(absolute_tolerance=1.0, relative_tolerance=0.0,
                                             mismatched_elements_per_million=100)
    span = model.normalizer.high - model.normalizer.low
    return v0_5.ReproducibilityTolerance(absolute_tolerance=1e-4 * span, relative_tolerance=1e-4)


def _describe(v0_5, folder, model, facts, scales, unit, authors, name, license_id):
    from .docs import architecture_text, describe_training, model_name

    cfg = model.config
    dtype = model.normalizer.np_dtype.name
    (sz, sy, sx), (oz, oy, ox) = scales["input"], scales["output"]
    width = v0_5.ParameterizedSize(min=MIN_WIDTH, step=1)
    inp = v0_5.TensorId("raw")

    def ref(axis):
        return v0_5.SizeReference(tensor_id=inp, axis_id=v0_5.AxisId(axis))

    input_axes = [v0_5.BatchAxis(), v0_5.ChannelAxis(channel_names=[v0_5.Identifier("intensity")]),
                  v0_5.SpaceInputAxis(id=v0_5.AxisId("z"), size=v0_5.ParameterizedSize(
                      min=scales["z_min"], step=scales["z_step"]), scale=sz, unit=unit),
                  v0_5.SpaceInputAxis(id=v0_5.AxisId("y"), size=width, scale=sy, unit=unit),
                  v0_5.SpaceInputAxis(id=v0_5.AxisId("x"), size=width, scale=sx, unit=unit)]
    output_axes = [v0_5.BatchAxis(), v0_5.ChannelAxis(channel_names=[v0_5.Identifier("intensity")]),
                   v0_5.SpaceOutputAxis(id=v0_5.AxisId("z"), size=ref("z"), scale=oz, unit=unit),
                   v0_5.SpaceOutputAxis(id=v0_5.AxisId("y"), size=ref("y"), scale=oy, unit=unit),
                   v0_5.SpaceOutputAxis(id=v0_5.AxisId("x"), size=ref("x"), scale=ox, unit=unit)]
    data = v0_5.IntervalOrRatioDataDescr(type=dtype)
    to_float = v0_5.EnsureDtypeDescr(kwargs=v0_5.EnsureDtypeKwargs(dtype="float32"))
    to_dtype = v0_5.EnsureDtypeDescr(kwargs=v0_5.EnsureDtypeKwargs(dtype=dtype))
    torch_version = v0_5.Version(str(torch.__version__).split("+")[0])
    p, q = z_fraction(cfg.z_factor)
    return v0_5.ModelDescr(
        name=name or model_name(model),
        description=(f"Isotropic reconstruction of anisotropic 3D EM (z-factor {cfg.z_factor:g}): raw volume in, "
                     "isotropic volume out (Deng et al., MICCAI 2020; napari-isorecon)."),
        authors=[v0_5.Author(name=author) for author in authors],
        cite=[v0_5.CiteEntry(text=PAPER_TEXT, doi=v0_5.Doi(PAPER_DOI))],
        license=license_id,
        tags=["electron-microscopy", "3d", "pytorch", "image-reconstruction", "resnet", "isotropic-reconstruction",
              "super-resolution", "napari-isorecon"],
        documentation=v0_5.FileDescr(source=folder / "README.md"),
        covers=[v0_5.FileDescr(source=folder / "cover.png")],
        attachments=[v0_5.FileDescr(source=folder / CHECKPOINT_FILE)],
        inputs=[v0_5.InputTensorDescr(
            id=inp, description="raw intensities, not normalised (the network normalises)", axes=input_axes,
            test_tensor=v0_5.FileDescr(source=folder / "test_input.npy"),
            sample_tensor=v0_5.FileDescr(source=folder / "sample_input.tif"), data=data,
            preprocessing=[to_float])],
        outputs=[v0_5.OutputTensorDescr(
            id=v0_5.TensorId("isotropic"), description=f"z upsampled by {cfg.z_factor:g}, input intensities",
            axes=output_axes, test_tensor=v0_5.FileDescr(source=folder / "test_output.npy"),
            sample_tensor=v0_5.FileDescr(source=folder / "sample_output.tif"), data=data,
            postprocessing=[to_dtype])],
        weights=v0_5.WeightsDescr(torchscript=v0_5.TorchscriptWeightsDescr(
            source=folder / "weights_torchscript.pt", pytorch_version=torch_version,
            comment="torch.jit.script of napari_isorecon.core.bioimageio.network.IsotropicVolumeNetwork")),
        config=v0_5.Config(
            bioimageio=v0_5.BioimageioConfig(
                reproducibility_tolerance=[_tolerance(v0_5, model)], architecture_type=f"{cfg.backbone} x2 passes",
                architecture_description=architecture_text(model), modality="electron microscopy",
                task="isotropic reconstruction (axial super-resolution)",
                model_parameter_count=sum(t.numel() for t in model.reconstruction_network().parameters()),
                training=v0_5.TrainingDetails(**describe_training(model))),
            napari_isorecon={"format": PACKAGE_FORMAT, "format_version": PACKAGE_FORMAT_VERSION,
                             "checkpoint": CHECKPOINT_FILE, "z_factor": cfg.z_factor, "z_factor_fraction": [p, q],
                             "receptive_radius": facts["receptive_radius"],
                             "normalizer": model.normalizer.to_dict()}),
    )


def _save(descr, out: Path) -> None:
    from bioimageio.spec import save_bioimageio_package

    def write(tmp):
        try:
            save_bioimageio_package(descr, output_path=Path(tmp))
        except ValueError as exc:
            raise IsoReconError(f"bioimage.io rejected the package: {str(exc).splitlines()[0][:200]}") from None

    atomic_write(out, write)
