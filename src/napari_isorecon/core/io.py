"""Reading and writing volumes (tif) with their voxel size; outputs are written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .checkpoint import atomic_write, check_writable
from .errors import IsoReconError

TIF_SUFFIXES = (".tif", ".tiff")


def read_volume(path) -> tuple[np.ndarray, tuple[float, float, float] | None]:
    """(array, voxel size (z, y, x) or None) from a tif file."""
    import tifffile

    path = Path(path)
    if not path.exists():
        raise IsoReconError(f"File {path} does not exist.")
    if path.is_dir():
        raise IsoReconError(f"{path} is a directory; give a volume file (.tif).")
    if path.suffix.lower() not in TIF_SUFFIXES:
        raise IsoReconError(f"Cannot read {path.name}: volumes are read from .tif/.tiff files.")
    try:
        with tifffile.TiffFile(path) as tif:
            array = tif.asarray()
            voxel = _tif_voxel_size(tif)
    except Exception as exc:  # tifffile raises many types for damaged files
        raise IsoReconError(f"Cannot read {path}: {str(exc).splitlines()[0][:160] or type(exc).__name__}.") from None
    return array, voxel


def _tif_voxel_size(tif) -> tuple[float, float, float] | None:
    """Voxel size from ImageJ metadata (spacing + resolution) when present."""
    meta = tif.imagej_metadata or {}
    page = tif.pages[0]
    try:
        xres = page.tags["XResolution"].value
        yres = page.tags["YResolution"].value
        sx = xres[1] / xres[0]
        sy = yres[1] / yres[0]
    except (KeyError, ZeroDivisionError, TypeError, IndexError):
        return None
    sz = meta.get("spacing")
    if sz is None or not sx > 0 or not sy > 0:
        return None
    return float(sz), float(sy), float(sx)


def write_volume(path, volume: np.ndarray, voxel_size=None, overwrite: bool = False) -> Path:
    """Write a (Z, Y, X) array to a tif (ImageJ hyperstack, with the voxel size when given)."""
    import tifffile

    path = Path(path)
    if path.suffix.lower() not in TIF_SUFFIXES:
        raise IsoReconError(f"Output {path.name} must end in .tif or .tiff.")
    path = check_writable(path, overwrite)
    volume = np.ascontiguousarray(volume)
    imagej = volume.dtype in (np.uint8, np.uint16, np.float32)
    kwargs = {}
    if voxel_size is not None and imagej:
        sz, sy, sx = (float(v) for v in voxel_size)
        kwargs = dict(resolution=(1.0 / sx, 1.0 / sy), metadata={"spacing": sz, "unit": "nm", "axes": "ZYX"})
    elif imagej:
        kwargs = dict(metadata={"axes": "ZYX"})

    def write(tmp):
        tifffile.imwrite(tmp, volume, imagej=imagej, compression="zlib" if not imagej else None, **kwargs)

    atomic_write(path, write)
    return path
