"""napari reader (npe2 ``readers`` contribution): tif / OME-TIFF and zarr / OME-Zarr volumes open with their
voxel size as the layer's scale (in nm, units set), so the Train widget's z-factor is filled in from it; an
OME-Zarr with several levels opens as one multiscale layer that napari reads lazily, level by level.

napari's own reader opens the same files without a scale; when both match a file napari asks which to
use (and can remember the choice)."""

from __future__ import annotations

import inspect
from pathlib import Path

from .core.io import TIF_SUFFIXES, is_zarr_path, read_volume, read_zarr_levels

LENGTH_UNIT = "nm"


def get_reader(path):
    """The reader for one tif or zarr path, or None (napari then tries another plugin)."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    path = Path(path)
    if path.suffix.lower() in TIF_SUFFIXES or is_zarr_path(path):
        return read_layers
    return None


def read_layers(path) -> list[tuple]:
    """[(data, layer kwargs, "image")]: a multiscale list for an OME-Zarr with several levels."""
    if isinstance(path, (list, tuple)):
        path = path[0]
    path = Path(path)
    if is_zarr_path(path):
        levels, voxels = read_zarr_levels(path)
        data, voxel = (levels if len(levels) > 1 else levels[0]), voxels[0]
        ndim = len(levels[0].shape)
    else:
        data, voxel = read_volume(path)
        ndim = data.ndim
    name = path.name[: -len(".ome.tif")] if path.name.lower().endswith(".ome.tif") else path.stem
    kwargs: dict = {"name": name, "metadata": {"voxel_size_nm": voxel, "source": str(path)}}
    if isinstance(data, list):
        kwargs["multiscale"] = True
    if voxel is not None and ndim >= 3:
        kwargs["scale"] = (1.0,) * (ndim - 3) + tuple(float(v) for v in voxel)
        if _layers_take_units():
            kwargs["units"] = ("pixel",) * (ndim - 3) + (LENGTH_UNIT,) * 3
    return [(data, kwargs, "image")]


def _layers_take_units() -> bool:
    """napari's layers gained ``units`` in later 0.5 releases; older ones would refuse the keyword."""
    from napari.layers import Image

    return "units" in inspect.signature(Image.__init__).parameters
