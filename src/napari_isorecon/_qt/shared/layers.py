"""Which napari layers are volumes we can use, snapshots of them for workers, and new layer names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...core.errors import IsoReconError
from ...core.settings.zfactor import z_factor_from_scale


def unwrap(obj):
    """The napari object behind a ``PublicOnlyProxy`` (napari hands plugins a proxied viewer whose
    layers are new proxies on every access, so identity checks need the object itself)."""
    return getattr(obj, "__wrapped__", obj)


def volume_problem(layer) -> str | None:
    """Why ``layer`` is not a single-channel 3D image (z, y, x), in words a user can act on; None if it is."""
    from napari.layers import Image, Labels

    name = getattr(layer, "name", "?")
    if isinstance(layer, Labels):
        return f"'{name}' is a labels layer; pick an image layer (intensities), not a segmentation."
    if not isinstance(layer, Image):
        return f"'{name}' is a {type(layer).__name__.lower()} layer; pick an image layer."
    if layer.rgb:
        return f"'{name}' is an RGB(A) image; convert it to a single greyscale channel first."
    if layer.ndim == 2:
        return f"'{name}' is 2D; a 3D volume (z, y, x) is needed."
    if layer.ndim != 3:
        return (f"'{name}' has {layer.ndim} dimensions; a single-channel 3D volume (z, y, x) is needed: open "
                "channels as separate layers (channel_axis) or pick one time point.")
    return None


REFERENCE_KEY = "napari_isorecon_reference"  # in the metadata of a layer shown only during a comparison


def volume_layers(layers: Iterable) -> list:
    """The layers that :func:`volume_problem` accepts, in layer-list order, but for the comparison's temporary
    reference (:func:`..reconstruct.side_by_side.xy_reference`): it is no volume to train on or reconstruct."""
    return [unwrap(layer) for layer in layers
            if volume_problem(layer) is None and not getattr(layer, "metadata", {}).get(REFERENCE_KEY)]


@dataclass(frozen=True)
class LayerSnapshot:
    """What a worker needs from a layer, taken on the GUI thread: the layer may change or go away later."""

    name: str
    data: Any  # numpy copy, or the lazy (dask / zarr) array itself
    scale: tuple[float, ...]
    translate: tuple[float, ...]
    contrast_limits: tuple[float, float]
    colormap: str


def snapshot(layer) -> LayerSnapshot:
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    if isinstance(data, np.ndarray):
        data = data.copy()  # later edits of the layer must not reach the worker
    colormap = getattr(getattr(layer, "colormap", None), "name", "gray")
    return LayerSnapshot(name=layer.name, data=data, scale=tuple(float(s) for s in layer.scale),
                         translate=tuple(float(t) for t in layer.translate),
                         contrast_limits=tuple(float(c) for c in layer.contrast_limits), colormap=colormap)


def unique_layer_name(layers: Iterable, base: str) -> str:
    """``base``, or ``base [1]``, ``base [2]``... whichever is not taken: existing layers are never replaced."""
    taken = {layer.name for layer in layers}
    if base not in taken:
        return base
    index = 1
    while f"{base} [{index}]" in taken:
        index += 1
    return f"{base} [{index}]"


def z_factor_of(scale) -> tuple[float | None, str]:
    """(z-factor, hint) from a layer's scale; the factor is None when the scale cannot give one."""
    shown = ", ".join(f"{s:g}" for s in scale[-3:])
    try:
        factor = z_factor_from_scale(scale)
    except IsoReconError:
        return None, (f"Layer scale ({shown}) is isotropic: set the z-factor (z spacing / xy spacing) "
                      "here, or set the layer's scale to its voxel size.")
    return factor, f"From the layer scale ({shown})."
