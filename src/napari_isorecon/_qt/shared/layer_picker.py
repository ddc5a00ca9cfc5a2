"""A combo box of the viewer's 3D image layers that follows layers as they come, go and are renamed."""

from __future__ import annotations

from napari.utils.notifications import show_error
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox

from .layers import unwrap, volume_layers, volume_problem

NO_LAYER_TEXT = "(no 3D image layer open)"


class LayerPicker(QComboBox):
    """Lists only single-channel 3D image layers (no 2D, RGB, multichannel or labels layers).

    ``layer_changed`` is emitted with the picked layer (or None) whenever the choice changes, including
    when the picked layer is removed.
    """

    layer_changed = Signal(object)

    def __init__(self, viewer, lifetime, parent=None):
        super().__init__(parent)
        self._viewer = viewer
        self._layers: list = []
        self._current = None
        self.setToolTip("Single-channel 3D image layers (z, y, x) of the viewer.")
        # long layer names must not widen the dock
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(12)
        for emitter in (viewer.layers.events.inserted, viewer.layers.events.removed,
                        viewer.layers.events.renamed, viewer.layers.events.reordered):
            lifetime.connect(emitter, self.refresh)
        self.currentIndexChanged.connect(self._on_index_changed)
        self.refresh()

    def layer(self):
        """The picked layer, or None."""
        return self._current

    def problem(self, missing: str) -> str | None:
        """Why the picked layer cannot be used now (``missing`` when none is picked), in words a user can act
        on; None when it can."""
        layer = self._current
        return missing if layer is None else volume_problem(layer)

    def usable_layer(self, missing: str):
        """The picked layer when it can be used now; else None, after an error notification that says why
        (``missing`` when none is picked)."""
        problem = self.problem(missing)
        if problem:
            show_error(problem)
            return None
        return self._current

    def set_layer(self, layer) -> None:
        ids = [id(known) for known in self._layers]
        if id(unwrap(layer)) not in ids:
            raise ValueError(f"'{layer.name}' is not a 3D image layer of this viewer.")
        self.setCurrentIndex(ids.index(id(unwrap(layer))))

    def refresh(self, *_) -> None:
        """Rebuild the list, keeping the current layer when it is still there."""
        self._layers = volume_layers(self._viewer.layers)
        ids = [id(layer) for layer in self._layers]
        self.blockSignals(True)
        self.clear()
        if self._layers:
            self.addItems([layer.name for layer in self._layers])
            self.setEnabled(True)
            keep = ids.index(id(self._current)) if id(self._current) in ids else len(ids) - 1  # top-most
            self.setCurrentIndex(keep)
        else:
            self.addItem(NO_LAYER_TEXT)
            self.setEnabled(False)
        self.blockSignals(False)
        self._on_index_changed(self.currentIndex())

    def _on_index_changed(self, index: int) -> None:
        layer = self._layers[index] if 0 <= index < len(self._layers) else None
        if layer is not self._current:
            self._current = layer
            self.layer_changed.emit(layer)
