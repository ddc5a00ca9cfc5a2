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

It is a front-end's door to the engine below: besides the jobs, what the command line reports or checks with
(a model's kernel and history, the hidden-section check and the comparison, the bioimage.io export, ...) is
re-exported here from the module that defines it, imported when first asked for (PEP 562: most import torch).
"""

import importlib as _importlib

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

# name -> (module that defines it, its name there); looked up when first asked for, then kept
_LAZY = {
    "autosave_path": ("..model.checkpoint", "autosave_path"),
    "check_writable": ("..io.files", "check_writable"),
    "comparison_paths": ("..checks.compare_report", "comparison_paths"),
    "compare_settings": ("..checks.compare_settings", "compare_settings"),
    "consistency_summary": ("..checks.metrics", "consistency_summary"),
    "DEFAULT_BLOCK": ("..inference.blockwise", "DEFAULT_BLOCK"),
    "DEFAULT_CALIBRATION": ("..inference.error_model", "DEFAULT_CALIBRATION"),
    "DEGRADATION_KINDS": ("..training.sections", "KINDS"),
    "describe_held_out": ("..training.early_stop", "describe_held_out"),
    "describe_kernel": ("..checks.kernel_summary", "describe_kernel"),
    "describe_phase_levels": ("..model.phase_levels", "describe_phase_levels"),
    "export_package": ("..bioimageio.export", "export_package"),
    "model_kernel_summary": ("..checks.kernel_summary", "model_kernel_summary"),
    "parse_settings": ("..checks.compare_settings", "parse_settings"),
    "require_bioimageio": ("..bioimageio.export", "require_bioimageio"),
    "run_hidden_section_check": ("..checks.hidden_sections", "run_hidden_section_check"),
    "training_warnings": ("..checks.kernel_summary", "training_warnings"),
}


def __getattr__(name: str):
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(_importlib.import_module(module, __name__), attribute)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
