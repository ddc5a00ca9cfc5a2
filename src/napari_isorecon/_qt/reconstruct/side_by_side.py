"""Side-by-side comparison: two or more layers in napari's grid mode, seen in an axial (xz) plane.

Grid mode gives every visible layer its own viewbox under one camera, so zoom and pan are linked and
the dims slider moves them all. The xz plane is shown with z vertical and x horizontal (dims order
``(..., y, z, x)``), at the middle y, which is where anisotropy shows. Everything changed is recorded
in a :class:`SavedView` so that leaving the comparison puts the viewer back as it was.

The camera and the dims are shared, so an xy section cannot be shown beside the xz planes as it is: the
reference (:func:`xy_reference`) is an xy section of the input laid into the xz plane, rows of y as rows of z
at the lateral pixel size, in a layer added for the comparison only (and removed when it ends).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

import numpy as np

from ..shared.layers import REFERENCE_KEY, unwrap

DEFAULT_CANVAS = (600, 1000)  # (height, width) assumed when the viewer does not say


def grid_of(viewer):
    """The grid model: ``viewer.canvas.grid`` (napari >= 0.9) or ``viewer.grid`` (older)."""
    canvas = getattr(viewer, "canvas", None)
    grid = getattr(canvas, "grid", None)
    return grid if grid is not None else viewer.grid


@dataclass
class SavedView:
    visible: dict = field(default_factory=dict)  # id(layer) -> (layer, visible)
    name_overlays: dict = field(default_factory=dict)  # id(layer) -> (layer, visible)
    grid_enabled: bool = False
    grid_stride: int = 1
    grid_shape: tuple = (-1, -1)
    ndisplay: int = 2
    order: tuple = ()
    point: tuple = ()
    added: list = field(default_factory=list)  # layers added for the comparison: removed by restore
    selected: tuple = ()  # the layer selection, given back when layers were added (adding one selects it)
    active: object = None

    @classmethod
    def capture(cls, viewer) -> SavedView:
        grid = grid_of(viewer)
        layers = [unwrap(layer) for layer in viewer.layers]
        overlays = {id(layer): (layer, layer.name_overlay.visible) for layer in layers
                    if getattr(layer, "name_overlay", None) is not None}
        selection = viewer.layers.selection
        return cls(visible={id(layer): (layer, layer.visible) for layer in layers}, name_overlays=overlays,
                   selected=tuple(unwrap(layer) for layer in selection), active=unwrap(selection.active),
                   grid_enabled=grid.enabled, grid_stride=grid.stride, grid_shape=tuple(grid.shape),
                   ndisplay=viewer.dims.ndisplay,
                   order=tuple(viewer.dims.order), point=tuple(viewer.dims.point))

    def restore(self, viewer) -> None:
        present = {id(unwrap(layer)) for layer in viewer.layers}
        if self.added:
            added = {id(layer) for layer in self.added}
            for index in reversed(range(len(viewer.layers))):
                if id(unwrap(viewer.layers[index])) in added:
                    del viewer.layers[index]
            self.added.clear()
            present -= added
            selection = viewer.layers.selection
            selection.clear()
            selection.update(layer for layer in self.selected if id(layer) in present)
            if self.active is not None and id(self.active) in present:
                selection.active = self.active
        for key, (layer, visible) in self.visible.items():
            if key in present:
                layer.visible = visible
        for key, (layer, visible) in self.name_overlays.items():
            if key in present:
                layer.name_overlay.visible = visible
        grid = grid_of(viewer)
        grid.enabled, grid.stride, grid.shape = self.grid_enabled, self.grid_stride, self.grid_shape
        viewer.dims.ndisplay = self.ndisplay
        if len(self.order) == viewer.dims.ndim:
            viewer.dims.order = self.order
            viewer.dims.point = self.point
        viewer.reset_view()


def axial_order(ndim: int) -> tuple[int, ...]:
    """Dims order showing the last two displayed axes as (z, x): y becomes the slider."""
    z, y, x = ndim - 3, ndim - 2, ndim - 1
    return tuple(range(ndim - 3)) + (y, z, x)


def canvas_size(viewer) -> tuple[float, float]:
    """(height, width) of the viewer's canvas: ``viewer.canvas.size`` (napari >= 0.9), ``viewer._canvas_size``
    (older), else :data:`DEFAULT_CANVAS`."""
    size = getattr(getattr(viewer, "canvas", None), "size", None)
    if size is None:
        size = getattr(viewer, "_canvas_size", None)
    try:
        height, width = (float(value) for value in size)
    except (TypeError, ValueError):
        return DEFAULT_CANVAS
    return (height, width) if height > 0 and width > 0 else DEFAULT_CANVAS


def axial_grid_shape(layer, count: int = 2, canvas: tuple[float, float] = DEFAULT_CANVAS) -> tuple[int, int]:
    """(rows, columns) for ``count`` xz planes the size of ``layer``'s: the grid that shows them largest on a
    canvas of ``canvas`` (height, width). Two planes wider than tall go one above the other, so each gets the
    full width; more go in rows, columns or both, whichever leaves each the most room."""
    z_extent, _, x_extent = (high - low for low, high in zip(*layer.extent.world[:, -3:], strict=True))
    height, width = canvas

    def zoom(shape):
        rows, columns = shape
        return min(width / columns / max(x_extent, 1e-12), height / rows / max(z_extent, 1e-12))

    shapes = [(rows, ceil(count / rows)) for rows in range(1, count + 1)]
    wide = x_extent > z_extent  # on a tie, wide planes go one above the other, tall ones side by side
    return max(shapes, key=lambda shape: (zoom(shape), shape[0] if wide else shape[1]))


def xy_reference(source, like):
    """A new image layer (not yet in a viewer) that shows, in the xz plane of ``like`` (a result layer), an xy
    section of ``source`` (a :class:`..shared.layers.LayerSnapshot` of the input): what an isotropic xz plane should
    look like. The middle section's rows around the middle y, as many as span ``like``'s z extent at the
    input's y pixel size, go in z from its top; x as ``like``'s. The section is repeated along y (a broadcast
    view, no copy), so it shows whichever y the slider is at. Marked with :data:`..shared.layers.REFERENCE_KEY`."""
    from napari.layers import Image

    like = unwrap(like)
    data = source.data
    index = data.shape[-3] // 2
    section = np.asarray(data[index])
    height, width = section.shape
    y_step, z_step = float(source.scale[-2]), float(like.scale[-3])
    depth, like_height = like.data.shape[-3], like.data.shape[-2]
    rows = int(min(height, max(1, round(depth * z_step / y_step))))
    top = (height - rows) // 2
    plane = np.broadcast_to(section[top:top + rows, None, :], (rows, like_height, width))
    first_row = like.translate[-3] - z_step / 2 + y_step / 2  # the two tops meet
    return Image(plane, name=f"{source.name} xy section {index} (reference)",
                 scale=(y_step, like.scale[-2], like.scale[-1]),
                 translate=(first_row, like.translate[-2], like.translate[-1]),
                 colormap=source.colormap, contrast_limits=source.contrast_limits,
                 metadata={REFERENCE_KEY: True})


def show_side_by_side(viewer, *layers, reference=None) -> SavedView:
    """Show only ``layers``, each in its own grid viewbox (the first top or left, then in their order when
    their order in the layer list allows it; each shows its name), in an xz plane. ``reference``: a layer
    (:func:`xy_reference`) added after them for the comparison only: :meth:`SavedView.restore` removes it."""
    saved = SavedView.capture(viewer)
    shown = [unwrap(layer) for layer in layers]
    index = {id(unwrap(layer)): i for i, layer in enumerate(viewer.layers)}
    # a positive stride fills viewboxes from the bottom of the layer list; flip it when needed
    stride = 1 if index[id(shown[0])] < index[id(shown[1])] else -1
    if reference is not None:
        last = index[id(shown[-1])]
        viewer.layers.insert(last + 1 if stride > 0 else last, reference)
        saved.added.append(reference)
        shown.append(reference)
    for layer in (unwrap(layer) for layer in viewer.layers):
        layer.visible = any(layer is each for each in shown)
    grid = grid_of(viewer)
    grid.stride = stride
    left = shown[0]
    grid.shape = axial_grid_shape(left, len(shown), canvas_size(viewer)) if left.ndim >= 3 else (1, len(shown))
    grid.enabled = True
    for layer in shown:
        if getattr(layer, "name_overlay", None) is not None:
            layer.name_overlay.visible = True
    viewer.dims.ndisplay = 2
    ndim = viewer.dims.ndim
    if ndim >= 3:
        viewer.dims.order = axial_order(ndim)
        low, high = left.extent.world[:, -2] if left.ndim == ndim else (None, None)
        if low is not None:
            point = list(viewer.dims.point)
            point[ndim - 2] = (low + high) / 2
            viewer.dims.point = tuple(point)
    viewer.reset_view()
    return saved
