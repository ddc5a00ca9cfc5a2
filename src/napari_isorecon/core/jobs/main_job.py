"""The main job (``isorecon run``): train on a volume, save the model, then reconstruct the volume with it
(the cubic twin, the result, the sharp output and the uncertainty when asked), all into one folder, as one
stream of typed events. The volume is scanned once for sections that are no real image: training sets them
aside, the reconstruction fills them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import IsoReconError
from ..events import ModelSaved, TrainFinished
from ..geometry import check_volume
from ..settings.config import ReconConfig, TrainConfig
from .autosave import check_autosave, finish_autosave, train_with_autosave
from .outputs import Outputs
from .twin import reconstruct_with_twin

MODEL_FILE = "model.pt"


def run_files(out_dir, name: str, *, sharp: bool = False, uncertainty: bool = False) -> dict[str, Path]:
    """What the main job writes into ``out_dir``, by key, in this order: ``<name>_model.pt``,
    ``<name>_isotropic.tif``, ``<name>_interpolated.tif``, then ``<name>_sharp.tif`` and
    ``<name>_uncertainty.tif`` when asked for."""
    keys = (MODEL_FILE, "isotropic.tif", "interpolated.tif") + (("sharp.tif",) if sharp else ()) + \
        (("uncertainty.tif",) if uncertainty else ())
    return {key: Path(out_dir) / f"{name}_{key}" for key in keys}


def run_autosave(out_dir, name: str) -> Path:
    """Where the main job keeps its periodic checkpoint: ``<name>_model.pt.autosave`` in ``out_dir``."""
    from ..model.checkpoint import autosave_path  # imports torch

    return autosave_path(run_files(out_dir, name)[MODEL_FILE])


def run_main_job(volume, cfg: TrainConfig, out_dir, name: str, *, voxel=None, overwrite: bool = False,
                 recon_config: ReconConfig | None = None, consistency: bool = False, sharp: bool = False,
                 uncertainty: bool = False, uncertainty_scale: float | None = None, resume=None,
                 checkpoint_every: float = 0.0, stop=None, reconstruction_stop=None,
                 artefacts=None) -> Iterator:
    """Train on ``volume`` with ``cfg``, save the model to ``out_dir/<name>_model.pt``, then reconstruct
    ``volume`` with it into the same folder (the files of :func:`run_files`; ``voxel``: the input's voxel
    size, the outputs get the isotropic one).

    Yields, in this order: the training's events (``core.training.train.train``: ArtefactsFound first, then
    StageStarted, TrainStep, ... and TrainFinished; a CheckpointSaved each time the model so far is saved to
    ``<name>_model.pt.autosave``, every ``checkpoint_every`` minutes of training when > 0); ModelSaved once the
    model is written (the autosave is then removed); then the reconstruction's PartEvents
    (:func:`.twin.reconstruct_with_twin`: "interpolated", "isotropic", then "sharp" with ``sharp``,
    "uncertainty" with ``uncertainty`` (scaled by ``uncertainty_scale``), "checks" with ``consistency``).

    ``stop`` ends training early: the model trained so far is still saved and reconstructed.
    ``reconstruction_stop`` (a flag of its own, so that a stop of the training does not also end the
    reconstruction) ends the reconstruction; the part it stops is not written and ends the job.
    ``resume``: a model from an interrupted run to continue (see :func:`.settings.training_config` for its
    settings); without one, an interrupted run's checkpoint in the folder is refused, never overwritten.
    ``artefacts``: a scan of ``volume`` already made (``core.checks.artefacts.find_section_artefacts``).

    Checks at the call, before any work: the volume's shape and dtype, that ``out_dir`` is a folder and, when
    it exists, that no file the job writes is there (unless ``overwrite``); the volume is scanned here. The
    training checks the rest when iteration starts; ``out_dir`` is made once they pass (a refused run makes
    no folder). The reconstruction's settings and outputs are checked once the model is saved.
    """
    from ..checks.artefacts import find_section_artefacts
    from ..io.files import check_writable

    check_volume(volume)  # shape and dtype only: a 2D image is refused before any folder is made
    out_dir = Path(out_dir)
    files = run_files(out_dir, name, sharp=sharp, uncertainty=uncertainty)
    if out_dir.exists() and not out_dir.is_dir():
        raise IsoReconError(f"{out_dir} is a file; --out-dir needs a folder.")
    if out_dir.exists():  # a new folder holds nothing to refuse; it is made only once all else is checked
        for path in files.values():
            check_writable(path, overwrite)
    autosave = run_autosave(out_dir, name)
    if resume is None:
        check_autosave(autosave, None)  # an interrupted run's checkpoint is continued or deleted, not overwritten
    if artefacts is None:
        artefacts = find_section_artefacts(volume)  # once: training sets them aside, the reconstruction fills them
    outputs = Outputs({"isotropic": files["isotropic.tif"], "interpolated": files["interpolated.tif"],
                       "sharp": files.get("sharp.tif"), "uncertainty": files.get("uncertainty.tif")},
                      voxel=voxel, overwrite=overwrite)

    def events() -> Iterator:
        from ..model.checkpoint import save_model

        training = train_with_autosave(volume, cfg, stop, resume, autosave, checkpoint_every * 60.0,
                                       artefacts=artefacts)  # checks the input first
        out_dir.mkdir(parents=True, exist_ok=True)  # once training has checked the volume, its sections included
        finished = None
        for event in training:
            if isinstance(event, TrainFinished):
                finished = event
            yield event
        save_model(finished.model, files[MODEL_FILE], overwrite=overwrite)
        finish_autosave(autosave)
        yield ModelSaved(files[MODEL_FILE])
        yield from reconstruct_with_twin(volume, finished.model, recon_config, consistency=consistency, sharp=sharp,
                                         uncertainty=uncertainty, uncertainty_scale=uncertainty_scale,
                                         outputs=outputs, stop=reconstruction_stop,
                                         artefacts=artefacts)  # checks its settings and outputs first

    return events()
