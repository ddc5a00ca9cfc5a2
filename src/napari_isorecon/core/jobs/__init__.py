"""The jobs layer: what the command line and the napari widgets both do, written once. A front-end only
collects options and consumes the typed events (core/events.py).

- :mod:`.settings`: ``TrainOptions`` -> ``TrainConfig`` (:func:`training_config`), with the rules for
  continuing a model;
- :mod:`.autosave`: where a training run keeps its periodic checkpoint, never overwriting another's;
- :mod:`.outputs`: where volumes go (.tif whole, .zarr block by block), checked before any work;
- :mod:`.twin`: :func:`reconstruct_with_twin`, the interpolated twin + the result + its optional checks;
  :func:`lazy_reconstruct_events`, the same as lazy dask arrays for a volume larger than memory;
- :mod:`.main_job`: :func:`run_main_job`, the main job (``isorecon run``): train, save the model, reconstruct
  with the twin, all into one folder (:func:`run_files`).

``same_z_factor`` (one relative tolerance for "is this the model's z-factor") lives in
:mod:`..settings.zfactor`, which the checkpoint and training code below this layer use too.

Importing this package does not import torch (the jobs import it when they run).
"""

from .autosave import (
    AUTOSAVE_ENV,
    check_autosave,
    default_autosave_folder,
    finish_autosave,
    new_autosave_file,
    train_with_autosave,
)
from .main_job import run_autosave, run_files, run_main_job
from .outputs import Outputs, check_output, is_zarr_output
from .settings import TrainOptions, acquisition_notes, check_budget_left, training_config
from .twin import (
    interpolation,
    lazy_reconstruct_events,
    lazy_reconstruct_with_twin,
    reconstruct_with_twin,
    reconstruction,
)

__all__ = [
    "AUTOSAVE_ENV", "Outputs", "TrainOptions", "acquisition_notes", "check_autosave", "check_budget_left",
    "check_output", "default_autosave_folder", "finish_autosave", "interpolation", "is_zarr_output",
    "lazy_reconstruct_events", "lazy_reconstruct_with_twin", "new_autosave_file", "reconstruct_with_twin",
    "reconstruction", "run_autosave", "run_files", "run_main_job", "train_with_autosave", "training_config",
]
