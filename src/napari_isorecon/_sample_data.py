"""Sample data contributions: the shipped FIB-SEM crop, anisotropic (thick z sections) and its original.

Both layers carry their voxel size in nm as ``scale``, so they overlay each other in the viewer and the
Train widget reads the z-factor (50 / 10 = 5) from the anisotropic one.
"""

from __future__ import annotations

from .sample import ISO_VOXEL_NM, SAMPLE_Z_FACTOR, anisotropic_sample, isotropic_sample

ANISOTROPIC_NAME = "EM sample (anisotropic, 50x10x10 nm)"
ISOTROPIC_NAME = "EM sample (isotropic original, 10x10x10 nm)"


def _placement_of_averaged_slices(z_factor: int) -> tuple[float, float, float]:
    """Translate (nm) putting each thick section at the centre of the thin slices it averages."""
    return ((z_factor - 1) / 2 * ISO_VOXEL_NM[0], 0.0, 0.0)


def anisotropic_em_sample():
    """[(data, metadata, "image")] for napari: 10 x 100 x 200 voxels of 50 x 10 x 10 nm."""
    volume, voxel_nm = anisotropic_sample("a")
    meta = {"name": ANISOTROPIC_NAME, "scale": voxel_nm,
            "translate": _placement_of_averaged_slices(SAMPLE_Z_FACTOR), "colormap": "gray"}
    return [(volume, meta, "image")]


def isotropic_em_sample():
    """[(data, metadata, "image")] for napari: the 50 x 100 x 200 isotropic original, 10 nm voxels."""
    meta = {"name": ISOTROPIC_NAME, "scale": ISO_VOXEL_NM, "colormap": "gray", "visible": True}
    return [(isotropic_sample("a"), meta, "image")]
