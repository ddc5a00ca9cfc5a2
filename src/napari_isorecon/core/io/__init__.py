"""Reading and writing volumes with their voxel size (z, y, x) in nanometres; outputs are written atomically
and never replace an existing path unless asked.

- :mod:`.tiff`: tif in (OME-XML or ImageJ voxel size), OME-TIFF out.
- :mod:`.zarr`: zarr / OME-Zarr in (lazily, any level), multiscale OME-Zarr out.
- :mod:`.pyramid`: OME-Zarr downsampled levels.
- :mod:`.ngff`: OME-NGFF multiscales metadata (axes, units, transforms), written through ome-zarr-py and read.
- :mod:`.files`: overwrite checks, atomic files, ``OUT.partial`` folders renamed when complete.
- :mod:`.units`: length units of OME-TIFF, OME-Zarr and ImageJ in nanometres.

Nothing here imports torch: reading a volume stays light.
"""

from __future__ import annotations

from .files import (
    PARTIAL_SUFFIX,
    atomic_write,
    check_parent_folder,
    check_writable,
    partial_path,
    remove_path,
)
from .ngff import OME_VERSIONS
from .pyramid import add_levels
from .tiff import TIF_SUFFIXES, read_volume, write_volume
from .zarr import (
    ZARR_SUFFIX,
    check_zarr_writable,
    create_ome_zarr,
    default_chunks,
    finish_partial,
    is_zarr_path,
    read_zarr,
    read_zarr_levels,
    write_zarr,
)

__all__ = [
    "OME_VERSIONS", "PARTIAL_SUFFIX", "TIF_SUFFIXES", "ZARR_SUFFIX", "add_levels", "atomic_write",
    "check_parent_folder", "check_writable", "check_zarr_writable", "create_ome_zarr", "default_chunks",
    "finish_partial", "is_zarr_path", "open_volume", "partial_path", "read_volume", "read_zarr",
    "read_zarr_levels", "remove_path", "write_volume", "write_zarr",
]


def open_volume(path):
    """(array, voxel size (z, y, x) in nm or None) from a tif (read into memory) or a zarr / OME-Zarr
    (opened lazily: nothing is read until sliced)."""
    return read_zarr(path) if is_zarr_path(path) else read_volume(path)
