"""Side-by-side comparison: two layers in napari's grid mode, seen in an axial (xz) plane.

Grid mode gives every visible layer its own viewbox under one camera, so zoom and pan are linked and
the dims slider moves both. The xz plane is shown with z vertical and x horizontal (dims order
``(..., y, z, x)``), at the middle y, which is where anisotropy shows. Everything changed is recorded
in a :class:`SavedView` so that leaving the comparison puts the viewer back as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .layers import unwrap


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

    @classmethod
    def capture(cls, viewer) -> SavedView:
        grid = grid_of(viewer)
        layers = [unwrap(layer) for layer in viewer.layers]
        overlays = {id(layer): (layer, layer.name_overlay.visible) for layer in layers
                    if getattr(layer, "name_overlay", None) is not None}
        return cls(visible={id(layer): (layer, layer.visible) for layer in layers}, name_overlays=overlays,
                   grid_enabled=grid.enabled, grid_stride=grid.stride, grid_shape=tuple(grid.shape),
                   ndisplay=viewer.dims.ndisplay,
                   order=tuple(viewer.dims.order), point=tuple(viewer.dims.point))

    def restore(self, viewer) -> None:
        present = {id(unwrap(layer)) for layer in viewer.layers}
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


def axial_grid_shape(layer) -> tuple[int, int]:
    """(rows, columns): xz planes wider than tall go one above the other, so each gets the full width."""
    z_extent, _, x_extent = (high - low for low, high in zip(*layer.extent.world[:, -3:], strict=True))
    return (2, 1) if x_extent > z_extent else (1, 2)


def show_side_by_side(viewer, left, right) -> SavedView:
    """Show only ``left`` and ``right``, each in its own grid viewbox (``left`` first: top or left), in
    an xz plane."""
    saved = SavedView.capture(viewer)
    left, right = unwrap(left), unwrap(right)
    layers = [unwrap(layer) for layer in viewer.layers]
    for layer in layers:
        layer.visible = layer is left or layer is right
    index = {id(layer): i for i, layer in enumerate(layers)}
    grid = grid_of(viewer)
    # a positive stride fills viewboxes from the bottom of the layer list; flip it when needed
    grid.stride = 1 if index[id(left)] < index[id(right)] else -1
    grid.shape = axial_grid_shape(left) if left.ndim >= 3 else (1, 2)
    grid.enabled = True
    for layer in (left, right):
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
