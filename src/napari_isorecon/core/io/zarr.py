"""zarr and OME-Zarr volumes: read lazily (a zarr.Array, or a dask array when singleton t/c axes are
dropped) with the voxel size from the OME-NGFF multiscales metadata (0.4 on zarr v2, 0.5 on zarr v3, any
length unit); written as a multiscale OME-Zarr (see :mod:`.pyramid`), built under ``OUT.zarr.partial`` and
renamed into place when complete. Voxel sizes cross this module in nanometres.

Readers accept what ome-zarr-py writes, what isorecon's earlier hand-written writer wrote (one level "0",
a scale transform only), and levels named anything (``s0``, ``0``): the ``datasets`` list is the truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import IsoReconError
from . import pyramid
from .files import check_parent_folder, partial_path, remove_path, rename_partial
from .ngff import array_kwargs, ome_entry, ome_format, voxel_of_entry, write_metadata

ZARR_SUFFIX = ".zarr"
_ZARR_METADATA = (".zarray", ".zgroup", "zarr.json")


def is_zarr_path(path) -> bool:
    """True for a path ending in .zarr (or inside one, like ``vol.zarr/0``) or a folder holding zarr metadata."""
    path = Path(path)
    if any(part.lower().endswith(ZARR_SUFFIX) for part in path.parts):
        return True
    return path.is_dir() and any((path / name).exists() for name in _ZARR_METADATA)


def _open(path):
    import zarr

    path = Path(path)
    if not path.exists():
        raise IsoReconError(f"{path} does not exist.")
    try:
        return zarr.open(store=str(path), mode="r")
    except Exception as exc:  # zarr raises many types for folders that are not zarr stores
        raise IsoReconError(f"Cannot read {path} as zarr: {_first_line(exc)}.") from exc


def read_zarr(path):
    """(lazy 3D array, voxel size (z, y, x) in nm or None) from a zarr array, or an OME-Zarr group (its
    first, finest, multiscale level). Leading axes of length 1 (t, c) are dropped. A chunk that cannot be read
    or decoded is an IsoReconError naming ``path`` when it is read (:mod:`.zarr_source`)."""
    levels, voxels = read_zarr_levels(path, first_only=True, named=True)
    return levels[0], voxels[0]


def read_zarr_levels(path, first_only: bool = False, named: bool = False):
    """([lazy 3D array per level], [voxel size (z, y, x) in nm or None per level]), finest first: every
    level of an OME-Zarr group, or the one array of a plain zarr array (or of a group holding one). With
    ``named``, each level is a :class:`.zarr_source.SourceArray` (reading a damaged chunk names ``path``); else
    plain zarr arrays (what napari is given)."""
    import zarr

    path = Path(path)
    node = _open(path)
    if named:
        from .zarr_source import SourceArray

        def opened(array):
            return _squeeze(SourceArray.of(array, path), path)
    else:
        def opened(array):
            return _squeeze(array, path)
    if isinstance(node, zarr.Group):
        entry = ome_entry(node)
        if entry is None:
            arrays = [name for name, _ in node.arrays()]
            if len(arrays) != 1:
                raise IsoReconError(
                    f"{path} is a zarr group without OME-Zarr metadata holding {len(arrays)} arrays; give the "
                    f"path of one array inside it (e.g. {path / (arrays[0] if arrays else '0')}).")
            return [opened(node[arrays[0]])], [None]
        datasets = entry.get("datasets") or []
        if not datasets:
            raise IsoReconError(f"{path}: the OME-Zarr multiscales metadata lists no datasets.")
        arrays, voxels = [], []
        for level, dataset in enumerate(datasets[:1] if first_only else datasets):
            try:
                array = node[dataset["path"]]
            except KeyError:
                raise IsoReconError(f"{path}: the OME-Zarr level {dataset['path']!r} is missing.") from None
            arrays.append(opened(array))
            voxels.append(voxel_of_entry(entry, level, path))
        return arrays, voxels
    # an array: when it is a level of an OME-Zarr group, the group's metadata gives its voxel size
    parent = path.parent
    if any((parent / name).exists() for name in (".zattrs", "zarr.json")):
        try:
            entry = ome_entry(zarr.open_group(store=str(parent), mode="r"))
        except Exception:  # noqa: BLE001 (whatever the parent is, if it is not an OME-Zarr group: no voxel size)
            entry = None
        if entry:
            for level, dataset in enumerate(entry.get("datasets") or []):
                if dataset.get("path") == path.name:
                    return [opened(node)], [voxel_of_entry(entry, level, path)]
    return [opened(node)], [None]


def _first_line(exc) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


def _squeeze(array, path):
    """Drop leading singleton axes (t, c); refuse other extra axes."""
    shape = tuple(array.shape)
    if len(shape) > 3:
        extra = shape[:-3]
        if any(n != 1 for n in extra):
            raise IsoReconError(
                f"{path} has shape {shape}; a single 3D volume (z, y, x) is needed: the leading axes "
                f"{extra} must have length 1 (pick one channel or time point first).")
        import dask.array as da

        array = da.from_zarr(array)[(0,) * len(extra)]
    return array


def check_zarr_writable(path, overwrite: bool = False) -> Path:
    """Like :func:`files.check_writable` for a .zarr folder; only a zarr store (or a file) is ever replaced."""
    path = Path(path)
    if not path.name.lower().endswith(ZARR_SUFFIX):
        raise IsoReconError(f"Output {path.name} must end in .zarr (or .tif for a single file).")
    if path.exists():
        if not overwrite:
            raise IsoReconError(f"{path} exists; choose another name or allow overwriting (--overwrite).")
        if path.is_dir() and not any((path / n).exists() for n in _ZARR_METADATA):
            raise IsoReconError(f"{path} is a folder that is not a zarr store; refusing to replace it.")
    return check_parent_folder(path)


def create_ome_zarr(path, shape, dtype, chunks, voxel_size=None, version: str = "0.4", name="isotropic"):
    """A new one-level OME-Zarr group at ``path`` (which must not exist) with an empty level "0" and its
    metadata; returns the array. :func:`finish_partial` adds the other levels once "0" is written."""
    import zarr

    fmt = ome_format(version)
    group = zarr.open_group(store=str(path), mode="w-", zarr_format=fmt.zarr_format)
    shape = tuple(int(s) for s in shape)
    array = group.create_array("0", shape=shape, chunks=tuple(int(c) for c in chunks), dtype=np.dtype(dtype),
                               fill_value=0, **array_kwargs(version))
    write_metadata(group, version, [], voxel_size, name)
    return array


def finish_partial(partial, path, overwrite: bool = False, top: int | None = None, progress=None) -> Path:
    """Complete an output built under ``partial`` and rename it onto ``path`` (see
    :func:`files.rename_partial`): an OME-Zarr image that has only its level "0" first gets its downsampled
    levels (:func:`pyramid.add_levels`; ``progress(level, levels)`` after each)."""
    import zarr

    try:
        group = zarr.open_group(store=str(partial), mode="r")
        entry = ome_entry(group)
    except Exception:  # noqa: BLE001 (not a zarr group, whatever zarr raises: nothing to add)
        entry = None
    if entry is not None and len(entry.get("datasets") or []) == 1:
        pyramid.add_levels(partial, top=top, progress=progress)
    return rename_partial(partial, path, overwrite)


def write_zarr(path, volume, voxel_size=None, chunks=None, overwrite: bool = False,
               version: str = "0.4", top: int | None = None) -> Path:
    """Write a (Z, Y, X) numpy or dask array as a multiscale OME-Zarr (levels down to ``top`` voxels, see
    :mod:`.pyramid`), built under ``path.partial`` and renamed into place when complete (a dask array is
    stored block by block, never loaded whole)."""
    import dask.array as da

    path = check_zarr_writable(path, overwrite)
    if len(volume.shape) != 3:
        raise IsoReconError(f"Only 3D (z, y, x) volumes are written, got shape {tuple(volume.shape)}.")
    ome_format(version)  # an unknown version is refused before anything is written
    if chunks is None:
        chunks = (tuple(c[0] for c in volume.chunks) if isinstance(volume, da.Array)
                  else default_chunks(volume.shape))
    partial = partial_path(path)
    if partial.exists():
        remove_path(partial)
    try:
        array = create_ome_zarr(partial, volume.shape, volume.dtype, chunks, voxel_size, version)
        if isinstance(volume, da.Array):
            da.store(volume.rechunk(array.chunks) if volume.chunks != _dask_chunks(volume.shape, array.chunks)
                     else volume, array, lock=False)
        else:
            array[...] = np.asarray(volume)
        return finish_partial(partial, path, overwrite, top)
    except OSError as exc:
        raise IsoReconError(f"Could not write {path}: {exc.strerror or exc}.") from exc
    finally:
        if partial.exists():
            remove_path(partial)


def _dask_chunks(shape, chunks):
    return tuple(tuple(min(c, n - s) for s in range(0, n, c)) for n, c in zip(shape, chunks, strict=True))


def default_chunks(shape, target=(64, 256, 256)):
    """Chunks for viewing: ~4 M voxels, thin enough in z that one plane does not read the whole depth."""
    return tuple(max(1, min(int(n), t)) for n, t in zip(shape, target, strict=True))
