"""Reading a bioimage.io model package made by ``isorecon export`` back, without the bioimageio libraries.

A package is a zip with an ``rdf.yaml`` (bioimage.io model spec 0.5), TorchScript weights and, as an
attachment, our own checkpoint (:data:`CHECKPOINT_FILE`): loading a package gives back the full
:class:`~napari_isorecon.core.model.iso_model.IsoModel` (G_hl included, so the consistency check, the kernel
summary and *Continue training* work), and ``reconstruct`` with it equals ``reconstruct`` with the ``.pt``.
What is checked, each failure one line: the zip and its rdf can be read, the rdf describes a model of
spec 0.5 with TorchScript weights that are in the zip, its input is a 3D (z, y, x) volume, and it was
exported by napari-isorecon with its checkpoint inside.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ..errors import IsoReconError

PACKAGE_FORMAT = "napari-isorecon/bioimageio-package"
PACKAGE_FORMAT_VERSION = 1
CHECKPOINT_FILE = "napari_isorecon_model.pt"
RDF_FILE = "rdf.yaml"
_RDF_NAMES = (RDF_FILE, "bioimageio.yaml")


def _rdf_name(names) -> str | None:
    for name in names:
        if name in _RDF_NAMES or (name.endswith(".bioimageio.yaml") and "/" not in name):
            return name
    return None


def is_package(path) -> bool:
    """True for a zip that holds a bioimage.io description at its top level (a ``.pt`` checkpoint is a
    zip too, but holds none)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _rdf_name(archive.namelist()) is not None
    except (OSError, zipfile.BadZipFile):
        return False


def read_package(path) -> dict:
    """The rdf of our package at ``path`` (checked as the module docstring says), or an IsoReconError."""
    import yaml

    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise IsoReconError(f"{path} is not a readable zip file ({exc}).") from None
    with archive:
        names = set(archive.namelist())
        rdf_name = _rdf_name(sorted(names))
        if rdf_name is None:
            raise IsoReconError(f"{path} is a zip but not a bioimage.io model package (no rdf.yaml inside).")
        try:
            rdf = yaml.safe_load(archive.read(rdf_name))
        except (yaml.YAMLError, zipfile.BadZipFile, OSError) as exc:
            raise IsoReconError(f"{path}: {rdf_name} cannot be read ({str(exc).splitlines()[0][:100]}).") from None
    if not isinstance(rdf, dict):
        raise IsoReconError(f"{path}: {rdf_name} is not a bioimage.io description (not a mapping).")
    _check_rdf(path, rdf, names)
    return rdf


def _check_rdf(path: Path, rdf: dict, names: set) -> None:
    kind, version = rdf.get("type"), str(rdf.get("format_version", "?"))
    if kind != "model":
        raise IsoReconError(f"{path} is a bioimage.io '{kind}' package, not a model.")
    if not version.startswith("0.5."):
        raise IsoReconError(f"{path} uses bioimage.io model spec {version}; napari-isorecon packages use spec "
                            "0.5 (export the model again with 'isorecon export').")
    torchscript = (rdf.get("weights") or {}).get("torchscript")
    source = torchscript.get("source") if isinstance(torchscript, dict) else None
    if not source:
        raise IsoReconError(f"{path} has no TorchScript weights; napari-isorecon packages carry them.")
    if source not in names:
        raise IsoReconError(f"{path} is missing its weights file {source!r} (the rdf lists it, the zip lacks it).")
    space = _input_space_axes(rdf)
    if space != ["z", "y", "x"]:
        what = "a 2D model" if len(space) == 2 else f"a model with space axes {space}"
        raise IsoReconError(f"{path} is {what}; napari-isorecon needs a 3D (z, y, x) volume model.")
    ours = ((rdf.get("config") or {}).get("napari_isorecon")) or {}
    if not isinstance(ours, dict) or ours.get("format") != PACKAGE_FORMAT:
        raise IsoReconError(f"{path} is a bioimage.io model not exported by napari-isorecon; only packages "
                            "from 'isorecon export' can be loaded.")
    if int(ours.get("format_version", 0)) > PACKAGE_FORMAT_VERSION:
        raise IsoReconError(f"{path} was exported by a newer napari-isorecon; upgrade to load it.")
    if ours.get("checkpoint") not in names:
        raise IsoReconError(f"{path} lacks its napari-isorecon checkpoint ({CHECKPOINT_FILE}); export it again.")


def _input_space_axes(rdf: dict) -> list:
    inputs = rdf.get("inputs") or []
    if len(inputs) != 1 or not isinstance(inputs[0], dict):
        return []
    return [axis.get("id") for axis in inputs[0].get("axes") or []
            if isinstance(axis, dict) and axis.get("type") == "space"]


def packaged_checkpoint(path) -> io.BytesIO:
    """The checkpoint inside our package at ``path``, as a file object for ``torch.load``."""
    rdf = read_package(path)
    with zipfile.ZipFile(path) as archive:
        return io.BytesIO(archive.read(rdf["config"]["napari_isorecon"]["checkpoint"]))
