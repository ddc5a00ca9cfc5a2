"""The public Python API: the functions a script calls to train a model, reconstruct a volume, run both into
a folder, check the result on hidden sections and read or write models and volumes. Re-exported by
:mod:`napari_isorecon.core`.

Each runs its job to the end and returns the result; the generators of typed events underneath stay
available from their modules for GUI-like use. Importing this package does not import torch.
"""

from .files import (
    isotropic_voxel_size,
    load_model,
    open_volume,
    save_model,
    save_volume,
    z_factor_from_voxel_size,
)
from .tasks import (
    interpolate_volume,
    reconstruct_volume,
    run_to_folder,
    sharpen_volume,
    train_model,
    validate,
)

__all__ = [
    "interpolate_volume", "isotropic_voxel_size", "load_model", "open_volume", "reconstruct_volume",
    "run_to_folder", "save_model", "save_volume", "sharpen_volume", "train_model", "validate",
    "z_factor_from_voxel_size",
]
