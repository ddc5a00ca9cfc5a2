"""Reading and writing volumes (tif, zarr, OME-Zarr) with their voxel size; outputs are written atomically."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from .checkpoint import atomic_write, check_parent_folder, check_writable
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


# --------------------------------------------------------------------------------------------------------
# zarr and OME-Zarr: read lazily (a zarr.Array, or a dask array when singleton t/c axes are dropped) and
# write with the voxel size in the OME-NGFF multiscales metadata (0.4 on zarr v2 by default, or 0.5 on
# zarr v3). Voxel sizes cross this module in nanometres, like the tif writer's "nm" unit.
# --------------------------------------------------------------------------------------------------------

ZARR_SUFFIX = ".zarr"
PARTIAL_SUFFIX = ".partial"
OME_VERSIONS = ("0.4", "0.5")
_UNIT_TO_NM = {
    "angstrom": 0.1, "nanometer": 1.0, "nm": 1.0, "micrometer": 1e3, "micron": 1e3, "um": 1e3, "µm": 1e3,
    "millimeter": 1e6, "mm": 1e6, "centimeter": 1e7, "meter": 1e9, "m": 1e9, "picometer": 1e-3,
}


def is_zarr_path(path) -> bool:
    """True for a path ending in .zarr (or inside one, like ``vol.zarr/0``) or a folder holding zarr metadata."""
    path = Path(path)
    if any(part.lower().endswith(ZARR_SUFFIX) for part in path.parts):
        return True
    return path.is_dir() and any((path / name).exists() for name in (".zarray", ".zgroup", "zarr.json"))


def open_volume(path):
    """(array, voxel size (z, y, x) in nm or None) from a tif (read into memory) or a zarr / OME-Zarr
    (opened lazily: nothing is read until sliced)."""
    return read_zarr(path) if is_zarr_path(path) else read_volume(path)


def read_zarr(path):
    """(lazy 3D array, voxel size (z, y, x) in nm or None) from a zarr array, or an OME-Zarr group (its
    first, finest, multiscale level). Leading axes of length 1 (t, c) are dropped."""
    import zarr

    path = Path(path)
    if not path.exists():
        raise IsoReconError(f"{path} does not exist.")
    try:
        node = zarr.open(store=str(path), mode="r")
    except Exception as exc:  # zarr raises many types for folders that are not zarr stores
        raise IsoReconError(f"Cannot read {path} as zarr: {_first_line(exc)}.") from None
    if isinstance(node, zarr.Group):
        multiscales = _multiscales(node.attrs)
        if multiscales is None:
            arrays = [name for name, _ in node.arrays()]
            if len(arrays) != 1:
                raise IsoReconError(
                    f"{path} is a zarr group without OME-Zarr metadata holding {len(arrays)} arrays; give the "
                    f"path of one array inside it (e.g. {path / (arrays[0] if arrays else '0')}).")
            return _squeeze(node[arrays[0]], None, None, path)
        entry = multiscales[0]
        datasets = entry.get("datasets") or []
        if not datasets:
            raise IsoReconError(f"{path}: the OME-Zarr multiscales metadata lists no datasets.")
        try:
            array = node[datasets[0]["path"]]
        except KeyError:
            raise IsoReconError(f"{path}: the OME-Zarr level {datasets[0]['path']!r} is missing.") from None
        return _squeeze(array, entry.get("axes"), _ome_scale(entry, 0), path)
    # an array: when it is a level of an OME-Zarr group, the group's metadata gives its voxel size
    parent = path.parent
    if (parent / ".zattrs").exists() or (parent / "zarr.json").exists():
        try:
            group = zarr.open_group(store=str(parent), mode="r")
            multiscales = _multiscales(group.attrs)
        except Exception:
            multiscales = None
        if multiscales:
            entry = multiscales[0]
            for level, dataset in enumerate(entry.get("datasets") or []):
                if dataset.get("path") == path.name:
                    return _squeeze(node, entry.get("axes"), _ome_scale(entry, level), path)
    return _squeeze(node, None, None, path)


def _first_line(exc) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


def _multiscales(attrs):
    attrs = dict(attrs)
    ome = attrs.get("ome")
    if isinstance(ome, dict) and ome.get("multiscales"):
        return ome["multiscales"]
    return attrs.get("multiscales") or None


def _ome_scale(entry: dict, level: int):
    """Per-axis scale of dataset ``level``: its own scale transform times the multiscale-wide one."""
    def scale_of(transforms):
        for t in transforms or []:
            if t.get("type") == "scale":
                return [float(s) for s in t["scale"]]
        return None

    scale = scale_of(entry["datasets"][level].get("coordinateTransformations"))
    outer = scale_of(entry.get("coordinateTransformations"))
    if scale is not None and outer is not None:
        scale = [a * b for a, b in zip(scale, outer)]
    return scale or outer


def _squeeze(array, axes, scale, path):
    """Drop leading singleton axes; return (array, voxel size in nm of the last three axes or None)."""
    shape = tuple(array.shape)
    if len(shape) > 3:
        extra = shape[:-3]
        if any(n != 1 for n in extra):
            raise IsoReconError(
                f"{path} has shape {shape}; a single 3D volume (z, y, x) is needed: the leading axes "
                f"{extra} must have length 1 (pick one channel or time point first).")
        import dask.array as da

        array = da.from_zarr(array)[(0,) * len(extra)]
    voxel = None
    if scale is not None and len(scale) >= 3:
        units = [None, None, None]
        if axes and len(axes) == len(scale):
            units = [(a.get("unit") if isinstance(a, dict) else None) for a in axes[-3:]]
        try:
            voxel = tuple(float(s) * _UNIT_TO_NM[str(u).lower()] if u else float(s)
                          for s, u in zip(scale[-3:], units))
        except KeyError:
            raise IsoReconError(f"{path}: unknown length unit in {units}; use e.g. 'nanometer'.") from None
    return array, voxel


def ome_metadata(voxel_size=None, name: str = "isotropic", version: str = "0.4") -> dict:
    """The group attributes of a one-level OME-Zarr (axes z, y, x; voxel size in nm when given)."""
    if version not in OME_VERSIONS:
        raise IsoReconError(f"OME-Zarr version must be one of {OME_VERSIONS}, got {version!r}.")
    axes = [{"name": n, "type": "space", **({"unit": "nanometer"} if voxel_size is not None else {})}
            for n in "zyx"]
    scale = [1.0, 1.0, 1.0] if voxel_size is None else [float(v) for v in voxel_size]
    entry = {"name": name, "axes": axes,
             "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}]}
    if version == "0.4":
        return {"multiscales": [{"version": "0.4", **entry}]}
    return {"ome": {"version": "0.5", "multiscales": [entry]}}


def check_zarr_writable(path, overwrite: bool = False) -> Path:
    """Like :func:`check_writable` for a .zarr folder; only a zarr store (or a file) is ever replaced."""
    path = Path(path)
    if not path.name.lower().endswith(ZARR_SUFFIX):
        raise IsoReconError(f"Output {path.name} must end in .zarr (or .tif for a single file).")
    if path.exists():
        if not overwrite:
            raise IsoReconError(f"{path} exists; choose another name or allow overwriting (--overwrite).")
        if path.is_dir() and not any((path / n).exists() for n in (".zarray", ".zgroup", "zarr.json")):
            raise IsoReconError(f"{path} is a folder that is not a zarr store; refusing to replace it.")
    return check_parent_folder(path)


def partial_path(path) -> Path:
    """Where an output is built before it is renamed into place: ``OUT.zarr.partial``."""
    path = Path(path)
    return path.with_name(path.name + PARTIAL_SUFFIX)


def create_ome_zarr(path, shape, dtype, chunks, voxel_size=None, version: str = "0.4", name="isotropic"):
    """A new OME-Zarr group at ``path`` (which must not exist) with an empty level "0"; returns the array."""
    import zarr

    attrs = ome_metadata(voxel_size, name, version)
    fmt = 2 if version == "0.4" else 3
    group = zarr.open_group(store=str(path), mode="w-", zarr_format=fmt)
    kwargs = {"chunk_key_encoding": {"name": "v2", "separator": "/"}} if fmt == 2 else {
        "dimension_names": ["z", "y", "x"]}
    array = group.create_array("0", shape=tuple(int(s) for s in shape), chunks=tuple(int(c) for c in chunks),
                               dtype=np.dtype(dtype), fill_value=0, **kwargs)
    group.attrs.update(attrs)
    return array


def finish_partial(partial, path, overwrite: bool = False) -> Path:
    """Rename a completed ``partial`` folder onto ``path``; an existing ``path`` (allowed by ``overwrite``)
    is moved aside first and deleted only after the new one is in place."""
    partial, path = Path(partial), Path(path)
    old = None
    try:
        if path.exists():
            if not overwrite:
                raise IsoReconError(f"{path} exists; choose another name or allow overwriting (--overwrite).")
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(partial, path)
    except OSError as exc:
        if old is not None and not path.exists():
            os.replace(old, path)
        raise IsoReconError(f"Could not move {partial} to {path}: {exc.strerror or exc}.") from exc
    if old is not None:
        _remove(old)
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_zarr(path, volume, voxel_size=None, chunks=None, overwrite: bool = False,
               version: str = "0.4") -> Path:
    """Write a (Z, Y, X) numpy or dask array as a one-level OME-Zarr, built under ``path.partial`` and
    renamed into place when complete (a dask array is stored block by block, never loaded whole)."""
    import dask.array as da

    path = check_zarr_writable(path, overwrite)
    if len(volume.shape) != 3:
        raise IsoReconError(f"Only 3D (z, y, x) volumes are written, got shape {tuple(volume.shape)}.")
    if chunks is None:
        chunks = (tuple(c[0] for c in volume.chunks) if isinstance(volume, da.Array)
                  else default_chunks(volume.shape))
    partial = partial_path(path)
    if partial.exists():
        _remove(partial)
    try:
        array = create_ome_zarr(partial, volume.shape, volume.dtype, chunks, voxel_size, version)
        if isinstance(volume, da.Array):
            da.store(volume.rechunk(array.chunks) if volume.chunks != _dask_chunks(volume.shape, array.chunks)
                     else volume, array, lock=False)
        else:
            array[...] = np.asarray(volume)
    except OSError as exc:
        if partial.exists():
            _remove(partial)
        raise IsoReconError(f"Could not write {path}: {exc.strerror or exc}.") from exc
    return finish_partial(partial, path, overwrite)


def _dask_chunks(shape, chunks):
    return tuple(tuple(min(c, n - s) for s in range(0, n, c)) for n, c in zip(shape, chunks))


def default_chunks(shape, target=(64, 256, 256)):
    """Chunks for viewing: ~4 M voxels, thin enough in z that one plane does not read the whole depth."""
    return tuple(max(1, min(int(n), t)) for n, t in zip(shape, target))
