"""The real EM sample shipped with the package (no download needed).

Two isotropic FIB-SEM crops (~10 nm voxels, BSD-licensed, see ``data/README.md``). The anisotropic
sample is crop "a" with every ``SAMPLE_Z_FACTOR`` z slices averaged, as a thick physical section
would integrate them: 10 x 100 x 200 voxels of 50 x 10 x 10 nm.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np

SAMPLE_Z_FACTOR = 5
ISO_VOXEL_NM = (10.0, 10.0, 10.0)
SAMPLE_NAMES = ("a", "b")


def isotropic_sample(name: str = "a") -> np.ndarray:
    """The isotropic crop ``name`` ("a" or "b"), uint8 (50, 100, 200), ~10 nm voxels."""
    import tifffile

    if name not in SAMPLE_NAMES:
        raise ValueError(f"sample must be one of {SAMPLE_NAMES}, got {name!r}")
    with files("napari_isorecon").joinpath(f"data/fibsem_medulla_mini_{name}.tif").open("rb") as fh:
        return tifffile.imread(fh)


def degrade_by_averaging(volume: np.ndarray, z_factor: int) -> np.ndarray:
    """Average every ``z_factor`` consecutive z slices (drops a remainder), keeping the dtype."""
    z = (volume.shape[0] // z_factor) * z_factor
    grouped = volume[:z].reshape(z // z_factor, z_factor, *volume.shape[1:]).astype(np.float32)
    out = grouped.mean(axis=1)
    if np.issubdtype(volume.dtype, np.integer):
        out = np.rint(out)
    return out.astype(volume.dtype)


def anisotropic_sample(name: str = "a") -> tuple[np.ndarray, tuple[float, float, float]]:
    """(volume, voxel size in nm as (z, y, x)) of the anisotropic sample."""
    volume = degrade_by_averaging(isotropic_sample(name), SAMPLE_Z_FACTOR)
    return volume, (ISO_VOXEL_NM[0] * SAMPLE_Z_FACTOR, ISO_VOXEL_NM[1], ISO_VOXEL_NM[2])
