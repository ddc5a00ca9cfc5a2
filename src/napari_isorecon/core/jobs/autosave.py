"""Where a training run keeps its periodic checkpoint, so that a crash or a kill loses minutes, not the run;
an existing checkpoint is never overwritten by another run.

- The command line writes ``MODEL.autosave`` next to the model it will write (``checkpoint.autosave_path``);
  a new run refuses to start while an interrupted run's checkpoint is there (:func:`check_autosave`), and
  the file is removed once the model is saved (:func:`finish_autosave`).
- The Train widget writes a new file per run in a cache folder (:func:`default_autosave_folder`,
  :func:`new_autosave_file`), keeping the newest few.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from ..errors import IsoReconError

AUTOSAVE_ENV = "NAPARI_ISORECON_AUTOSAVE"  # overrides the folder of the Train widget's checkpoints
AUTOSAVE_KEEP = 10  # newest checkpoint files kept in that folder
AUTOSAVE_SUFFIX = ".autosave.pt"


def check_autosave(autosave: Path, resume_from) -> None:
    """An interrupted run's checkpoint is never overwritten by a new run: resume it or delete it."""
    autosave = Path(autosave)
    if autosave.exists() and (resume_from is None or Path(resume_from).resolve() != autosave.resolve()):
        raise IsoReconError(f"{autosave} holds the last checkpoint of an interrupted run; continue it with "
                            "--resume (the same command), or delete it to start over.")


def finish_autosave(autosave: Path) -> None:
    """The final model is saved: the interrupted-run checkpoint is no longer needed."""
    autosave = Path(autosave)
    if autosave.exists():
        autosave.unlink()


def default_autosave_folder() -> Path:
    """Where training in napari keeps its checkpoints: ``$NAPARI_ISORECON_AUTOSAVE``, else the user's cache."""
    if os.environ.get(AUTOSAVE_ENV):
        return Path(os.environ[AUTOSAVE_ENV])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "napari-isorecon" / "autosave"


def new_autosave_file(folder: Path, name: str) -> Path | None:
    """A checkpoint path for a new run on ``name`` in ``folder`` that no file holds yet (older checkpoints
    beyond the newest few are deleted); None when the folder cannot be made (train without checkpoints)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        old = sorted(folder.glob(f"*{AUTOSAVE_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in old[AUTOSAVE_KEEP - 1:]:
            stale.unlink()
    except OSError:
        return None
    stem = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('_') or 'layer'}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = folder / f"{stem}{AUTOSAVE_SUFFIX}", 1
    while path.exists():  # two runs in the same second
        n += 1
        path = folder / f"{stem}-{n}{AUTOSAVE_SUFFIX}"
    return path


def train_with_autosave(volume, cfg, stop=None, resume=None, autosave: Path | None = None,
                        every_s: float = 0.0, final: bool = False, preview_every: int = 0, artefacts=None):
    """``train.train`` whose model is saved to ``autosave`` every ``every_s`` seconds of training (and, with
    ``final``, at the end too); each save is a ``CheckpointSaved`` event. Checks the input at the call.
    ``artefacts``: a scan of the volume already made (see ``train.train``)."""
    from ..model.checkpoint import autosaving
    from ..training.train import train  # imports torch

    every = every_s if autosave is not None else 0.0
    events = train(volume, cfg, stop=stop, resume=resume, preview_every=preview_every, snapshot_every=every,
                   artefacts=artefacts)
    return autosaving(events, autosave, final=final) if autosave is not None and (every or final) else events
