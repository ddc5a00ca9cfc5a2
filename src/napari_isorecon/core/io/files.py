"""Output safety shared by every writer (tif, zarr, checkpoints): refuse to overwrite unless asked, write a
file atomically (temporary file renamed into place), build a folder under ``OUT.partial`` and rename it when
complete. No numpy, no torch: anything may import this."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import IsoReconError

PARTIAL_SUFFIX = ".partial"


def check_writable(path, overwrite: bool = False) -> Path:
    """Refuse an existing path (unless overwrite), a directory, or a missing parent folder."""
    path = Path(path)
    if path.is_dir():
        raise IsoReconError(f"{path} is a directory; give a file name.")
    if path.exists() and not overwrite:
        raise IsoReconError(f"{path} exists; choose another name or allow overwriting (--overwrite).")
    return check_parent_folder(path)


def check_parent_folder(path: Path) -> Path:
    """Refuse a path whose folder is missing or not writable."""
    if not path.parent.exists():
        raise IsoReconError(f"Folder {path.parent} does not exist; create it first.")
    if not os.access(path.parent, os.W_OK):
        raise IsoReconError(f"Folder {path.parent} is not writable; choose another location.")
    return path


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``; clean up on failure."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:  # a read-only or full folder
        raise IsoReconError(f"Could not write {path}: {exc.strerror or exc}.") from exc
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        raise IsoReconError(f"Could not write {path}: {exc.strerror or exc}.") from exc
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def partial_path(path) -> Path:
    """Where an output folder is built before it is renamed into place: ``OUT.zarr.partial``."""
    path = Path(path)
    return path.with_name(path.name + PARTIAL_SUFFIX)


def rename_partial(partial, path, overwrite: bool = False) -> Path:
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
        remove_path(old)
    return path


def remove_path(path: Path) -> None:
    """Delete a file, a link or a whole folder; nothing when it is gone already."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
