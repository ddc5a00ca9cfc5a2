"""The engine: numpy / torch / dask only. Never imports napari, qtpy or magicgui.

The public Python API is what this package exports (see :mod:`.api`): functions a script calls and gets
a result from. Importing it does not import torch; the engine is imported when a job runs.
"""

from .api import (
    interpolate_volume,
    isotropic_voxel_size,
    load_model,
    open_volume,
    reconstruct_volume,
    run_to_folder,
    save_model,
    save_volume,
    sharpen_volume,
    train_model,
    validate,
    z_factor_from_voxel_size,
)
from .errors import IsoReconError
from .settings.config import ReconConfig, TrainConfig, preset

__all__ = [
    "IsoReconError", "ReconConfig", "TrainConfig", "interpolate_volume", "isotropic_voxel_size", "load_model",
    "open_volume", "preset", "reconstruct_volume", "run_to_folder", "save_model", "save_volume", "sharpen_volume",
    "train_model", "validate", "z_factor_from_voxel_size",
]
