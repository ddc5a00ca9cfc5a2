"""One checkpoint file per model: weights, the full config, normalisation, training state, versions.

Writing is atomic (a temporary file renamed into place) and never replaces an existing file unless
asked; loading is strict and names what is wrong with a file that is not ours. A checkpoint of an older
format version is brought to today's layout first (:mod:`.migrations`, which owns ``FORMAT_VERSION``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import IsoReconError
from ..events import CheckpointSaved, TrainFinished, TrainSnapshot
from ..io.files import atomic_write, check_writable
from ..settings.config import TrainConfig
from ..settings.zfactor import same_z_factor
from .intensity import Normalizer
from .iso_model import IsoModel, TrainState, build_networks
from .migrations import FORMAT_VERSION, migrate

FORMAT = "napari-isorecon/checkpoint"


def _versions() -> dict:
    import numpy

    from ... import __version__

    return {"napari_isorecon": __version__, "torch": str(torch.__version__), "numpy": str(numpy.__version__)}


def autosave_path(path) -> Path:
    """Where a run writing the model ``path`` keeps its periodic checkpoint: ``path.autosave``."""
    path = Path(path)
    return path.with_name(path.name + ".autosave")


def autosaving(events, path, final: bool = False):
    """Pass training events through, saving the model of every TrainSnapshot to ``path`` (replaced each
    time, atomically; the snapshot becomes a CheckpointSaved) and, with ``final``, the finished model too
    (a CheckpointSaved before the TrainFinished)."""
    path = Path(path)
    for event in events:
        if isinstance(event, TrainSnapshot):
            save_model(event.model, path, overwrite=True)
            yield CheckpointSaved(path=path, step=event.step)
            continue
        if final and isinstance(event, TrainFinished):
            save_model(event.model, path, overwrite=True)
            yield CheckpointSaved(path=path, step=event.steps)
        yield event


def save_model(model: IsoModel, path, overwrite: bool = False) -> Path:
    path = check_writable(path, overwrite)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "config": model.config.to_dict(),
        "normalizer": model.normalizer.to_dict(),
        "state": model.state.to_dict(),
        "networks": {name: net.state_dict() for name, net in model.networks.items()},
        "reconstructor": None if model.reconstructor is None else model.reconstructor.state_dict(),
        "phase_levels": None if model.phase_levels is None else [float(c) for c in model.phase_levels],
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return path


def _checkpoint_source(path: Path):
    """The file itself, or the checkpoint inside a bioimage.io package from ``isorecon export`` (checked)."""
    from ..bioimageio.package import is_package, packaged_checkpoint

    if path.suffix.lower() == ".zip" or is_package(path):
        return packaged_checkpoint(path)
    return path


def load_model(path, z_factor: float | None = None, device="cpu") -> IsoModel:
    """Load a checkpoint (a .pt, or a bioimage.io package .zip made by ``isorecon export``); with
    ``z_factor``, refuse a model trained for another factor."""
    path = Path(path)
    if not path.is_file():
        raise IsoReconError(f"Model file {path} does not exist." if not path.exists()
                            else f"{path} is not a file; give a model file (.pt).")
    source = _checkpoint_source(path)
    try:
        payload = torch.load(source, map_location=device, weights_only=True)
    except Exception as exc:  # torch.load raises many types (struct, pickle, zip errors) for foreign files
        raise IsoReconError(
            f"{path} is damaged or not a napari-isorecon model (could not be read: "
            f"{str(exc).splitlines()[0][:120]})."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise IsoReconError(f"{path} is not a napari-isorecon model (no '{FORMAT}' header).")
    version = payload.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise IsoReconError(f"{path} is a damaged napari-isorecon model (its format version {version!r} is not a "
                            "whole number).")
    if version > FORMAT_VERSION:
        raise IsoReconError(f"{path} was written by a newer napari-isorecon; upgrade to load it.")
    try:
        payload = migrate(payload)
        try:
            config = TrainConfig.from_dict(payload["config"])
        except IsoReconError as exc:
            raise IsoReconError(f"{path} is a damaged or incompatible napari-isorecon model (format version "
                                f"{version}: {str(exc).rstrip('.')}).") from None
        normalizer = Normalizer(**payload["normalizer"])
        networks = build_networks(config)
        for name, net in networks.items():
            net.load_state_dict(payload["networks"][name])
        model = IsoModel(config, normalizer, networks, state=TrainState.from_dict(payload["state"]))
        if payload.get("reconstructor") is not None:
            model.reconstructor = model.new_reconstructor()
            model.reconstructor.load_state_dict(payload["reconstructor"])
        if payload.get("phase_levels") is not None:
            model.phase_levels = np.asarray(payload["phase_levels"], dtype=np.float32)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise IsoReconError(f"{path} is a damaged or incompatible napari-isorecon model ({exc!s:.160}).") from None
    if z_factor is not None and not same_z_factor(z_factor, config.z_factor):
        raise IsoReconError(
            f"{path} was trained for z-factor {config.z_factor:g}, not {float(z_factor):g}; "
            "train a model for this volume's z-factor."
        )
    return model.to(device)
