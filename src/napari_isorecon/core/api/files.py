"""The public API's files: models (save, load) and volumes (open, save) with their voxel size, and what the
voxel size implies (the z-factor; the voxel size of an isotropic result). No torch is imported until a
model is saved or loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..settings.zfactor import z_factor_from_scale

__all__ = ["isotropic_voxel_size", "load_model", "open_volume", "save_model", "save_volume",
           "z_factor_from_voxel_size"]


def save_model(model, path, overwrite: bool = False) -> Path:
    """Write a model to one file (weights, settings, normalisation, training state), atomically.

    Parameters
    ----------
    model : IsoModel
        From :func:`train_model` or :func:`load_model`.
    path : str or path
        The file to write, conventionally ``.pt``.
    overwrite : bool
        Replace an existing file (else refused).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    IsoReconError
        The file exists (without ``overwrite``) or its folder does not.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from napari_isorecon.core import save_model, train_model
    >>> from napari_isorecon.sample import anisotropic_sample
    >>> model = train_model(anisotropic_sample()[0], z_factor=5, steps=2, device="cpu")
    >>> save_model(model, pathlib.Path(tempfile.mkdtemp()) / "model.pt").name
    'model.pt'
    """
    from ..model.checkpoint import save_model as save_checkpoint

    return save_checkpoint(model, path, overwrite=overwrite)


def load_model(path, z_factor: float | None = None, device: str = "cpu"):
    """Read a model written by :func:`save_model` (or ``isorecon train``), or the one inside a bioimage.io
    package made by ``isorecon export``.

    Parameters
    ----------
    path : str or path
        A ``.pt`` model file or a bioimage.io ``.zip``.
    z_factor : float, optional
        Refuse a model trained for another z-factor.
    device : str
        Where to put its networks ("cpu", "cuda", ...).

    Returns
    -------
    IsoModel
        The model, for :func:`reconstruct_volume` or to continue training (``train_model(resume=...)``).

    Raises
    ------
    IsoReconError
        No such file, not a napari-isorecon model, damaged, trained for another z-factor, a z-factor that is
        not one, or a device this machine lacks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from napari_isorecon.core import load_model, save_model, train_model
    >>> from napari_isorecon.sample import anisotropic_sample
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.pt"
    >>> _ = save_model(train_model(anisotropic_sample()[0], z_factor=5, steps=2, device="cpu"), path)
    >>> model = load_model(path, z_factor=5)
    >>> model.z_factor, model.config.steps
    (5.0, 2)
    """
    from ..model.checkpoint import load_model as load_checkpoint
    from ..settings.device import resolve_device
    from ..settings.zfactor import check_z_factor

    if z_factor is not None:
        z_factor = check_z_factor(z_factor)  # not a model problem: "trained for z-factor 5, not nan" misleads
    # an absent device is named as such, before torch.load would call the file damaged for it
    return load_checkpoint(path, z_factor=z_factor, device=resolve_device(device))


def open_volume(path) -> tuple[Any, tuple[float, float, float] | None]:
    """Read a volume and its voxel size from a tif / OME-TIFF (into memory) or a zarr / OME-Zarr (lazily).

    Parameters
    ----------
    path : str or path
        A 3D (Z, Y, X) ``.tif`` / ``.tiff`` file or ``.zarr`` folder.

    Returns
    -------
    volume : numpy.ndarray or dask.array.Array
        The volume (a zarr is opened lazily: nothing is read until sliced).
    voxel_size : tuple of 3 floats or None
        (z, y, x) in nanometres, from the OME / ImageJ / NGFF metadata; None when the file has none.

    Raises
    ------
    IsoReconError
        A missing or unreadable file, or one that is not a 3D volume.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from napari_isorecon.core import open_volume, save_volume
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "stack.tif"
    >>> _ = save_volume(path, np.zeros((4, 32, 32), np.uint16), voxel_size=(40.0, 4.0, 4.0))
    >>> volume, voxel_size = open_volume(path)
    >>> volume.shape, volume.dtype, voxel_size
    ((4, 32, 32), dtype('uint16'), (40.0, 4.0, 4.0))
    """
    from ..io import open_volume as open_file

    return open_file(path)


def save_volume(path, volume, voxel_size=None, *, overwrite: bool = False) -> Path:
    """Write a volume as OME-TIFF (``.tif``, ``.tiff``) or multiscale OME-Zarr (``.zarr``), atomically.

    Parameters
    ----------
    path : str or path
        The output; its suffix chooses the format.
    volume : array-like, shape (Z, Y, X)
        The volume (numpy, or dask for ``.zarr``).
    voxel_size : tuple of 3 floats, optional
        (z, y, x) in nanometres; for a reconstruction, :func:`isotropic_voxel_size`.
    overwrite : bool
        Replace an existing output (else refused).

    Returns
    -------
    pathlib.Path
        The output written.

    Raises
    ------
    IsoReconError
        Another suffix, not a 3D volume, an existing output without ``overwrite``, or a missing or read-only
        folder (or the disk filled up while writing: nothing is left behind).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from napari_isorecon.core import open_volume, save_volume
    >>> volume = np.arange(4 * 32 * 32, dtype=np.uint16).reshape(4, 32, 32)
    >>> path = save_volume(pathlib.Path(tempfile.mkdtemp()) / "stack.zarr", volume, voxel_size=(40.0, 4.0, 4.0))
    >>> again, voxel_size = open_volume(path)  # a zarr opens lazily
    >>> bool((np.asarray(again) == volume).all()), voxel_size
    (True, (40.0, 4.0, 4.0))
    """
    import numpy as np

    from ..errors import IsoReconError
    from ..io import is_zarr_path, write_volume, write_zarr

    shape = tuple(int(n) for n in np.shape(volume))
    if len(shape) != 3:  # for a .tif too: open_volume would refuse what was written
        raise IsoReconError(f"Only 3D (z, y, x) volumes are written, got shape {shape}.")
    if is_zarr_path(path):
        return write_zarr(path, volume, voxel_size, overwrite=overwrite)
    return write_volume(path, volume, voxel_size, overwrite=overwrite)


def isotropic_voxel_size(voxel_size, n_slices: int, z_factor: float):
    """The voxel size of a reconstruction or interpolation of ``n_slices`` sections.

    Parameters
    ----------
    voxel_size : tuple of 3 floats or None
        The input's (z, y, x).
    n_slices : int
        The input's number of z slices.
    z_factor : float
        The z-factor it was reconstructed with (``model.z_factor``).

    Returns
    -------
    tuple of 3 floats or None
        (z spacing * Z / round(Z * z_factor), y, x): the output spans the input's z extent exactly. None
        for None.

    Examples
    --------
    >>> from napari_isorecon.core import isotropic_voxel_size
    >>> isotropic_voxel_size((40.0, 4.0, 4.0), n_slices=25, z_factor=10)
    (4.0, 4.0, 4.0)
    """
    from ..inference.blockwise.plan import iso_voxel_size

    return iso_voxel_size(voxel_size, n_slices, z_factor)


def z_factor_from_voxel_size(voxel_size) -> float:
    """The z-factor (z spacing / xy spacing) of a voxel size.

    Parameters
    ----------
    voxel_size : tuple of 3 floats
        (z, y, x), in any one unit (e.g. from :func:`open_volume`).

    Returns
    -------
    float
        z spacing / the mean of the y and x spacings.

    Raises
    ------
    IsoReconError
        No voxel size (None), a non-positive one, or one that is isotropic or finer in z (give the z-factor
        yourself then).

    Examples
    --------
    >>> from napari_isorecon.core import z_factor_from_voxel_size
    >>> z_factor_from_voxel_size((40.0, 4.0, 4.0))
    10.0
    """
    return z_factor_from_scale(voxel_size)
