"""The Reconstruct widget's settings: :class:`ReconSettings`, an evented dataclass holding what a run uses (which
model, the device, the uncertainty map, the sharp output and the circular diagnostic, all three off by default)
with each option's help, and :class:`ReconSettingsForm`, its magicgui form under the image layer picker, with the
model file row shown only for a model file and the uncertainty and the sharp output greyed for a lazy layer (both
are made in memory: :func:`is_lazy`). What the options add to a run's results: ``recon_results.py``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from psygnal import evented
from qtpy.QtWidgets import QHBoxLayout, QPushButton, QWidget

from ...core.settings.device import DEVICE_NAMES
from ...core.settings.precision import PRECISION_NAMES
from ..shared.layer_picker import LayerPicker
from ..shared.settings_form import field_widget, form, ui
from ..shared.ui import (
    DEVICE_TIP,
    PRECISION_TIP,
    mark_unavailable_devices,
    mark_unavailable_precisions,
    small_hint,
)
from .recon_results import QUALITY_POINTER, SHARP_LAZY_NOTE, UNCERTAINTY_LAZY_NOTE

FROM_TRAIN_WIDGET = "Trained in the Train widget"
FROM_FILE = "Model file"
FILL_TIP = ("Sections found to be duplicated (a copy of a neighbour), blank or saturated are no image of the "
            "tissue at their place: filled from the nearest real sections before the network runs, instead of "
            "printing a dark band or a copy through the result. The status line names them. Untick to "
            "reconstruct the layer exactly as it is.")
UNCERTAINTY_TIP = (
    "Also add '<layer> uncertainty': the standard deviation of the result's error per voxel, in the layer's grey "
    "levels (the result +-1.645 times it is a 90 % interval). It comes from a small error model fitted on the "
    "volume's own lateral (xy) planes, made into sections and reconstructed like the volume: about a minute more. "
    "It is calibrated by a scale measured on other volumes; Train > Check on hidden sections measures this "
    "volume's. The result itself is unchanged.")
UNCERTAINTY_LAZY_TIP = f"Not for this layer. {UNCERTAINTY_LAZY_NOTE} Load it into memory to get the uncertainty."
SHARP_TIP = (
    "Also add '<layer> sharp': the result with its fine detail evened out between the sections (as strong midway "
    "as at a section) and corrected to agree with every section. Looks more like a section; the isotropic result "
    "is the more faithful on average.")
SHARP_LAZY_TIP = f"Not for this layer. {SHARP_LAZY_NOTE} Load it into memory to get the sharp output."
CONSISTENCY_TIP = (
    "Diagnostic: degrade the result again with the degradation of the training pairs and compare with the "
    "input. It is circular (the network was trained to invert that very degradation): it scores ours high whether ours is "
    "better or worse than interpolation, so it is not a quality score. " + QUALITY_POINTER)


def is_lazy(layer) -> bool:
    """Whether the widget reconstructs ``layer`` lazily, block by block (its data, or its full resolution, is no
    numpy array: dask, zarr); None (no layer) is not."""
    if layer is None:
        return False
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    return not isinstance(data, np.ndarray)


@evented
@dataclass
class ReconSettings:
    """What the Reconstruct widget's next run uses, as the form shows it (set a field here and the form follows)."""

    model_source: str = field(default=FROM_TRAIN_WIDGET, metadata=ui("Model", choices=(FROM_TRAIN_WIDGET, FROM_FILE)))
    model_path: str = ""  # the model file, used with model_source FROM_FILE
    device: str = field(default="auto", metadata=ui("Device", DEVICE_TIP, choices=DEVICE_NAMES))
    precision: str = field(default="auto", metadata=ui("Precision", PRECISION_TIP, choices=PRECISION_NAMES))
    uncertainty: bool = field(default=False, metadata=ui("Uncertainty map (error model)", UNCERTAINTY_TIP))
    sharp: bool = field(default=False, metadata=ui("Sharp output", SHARP_TIP))
    fill_artefacts: bool = field(default=True, metadata=ui("Fill damaged sections\nfrom their neighbours", FILL_TIP))
    consistency: bool = field(default=False, metadata=ui("Circular consistency score\n(diagnostic only)",
                                                         CONSISTENCY_TIP))


class ReconSettingsForm(QWidget):
    """The image layer picker and the magicgui form of ``settings``; ``fields`` holds the field widgets by
    name, ``model_info`` is the line under the model choice, ``browse_button`` opens a file dialog (the
    Reconstruct widget connects it)."""

    def __init__(self, settings: ReconSettings, viewer, lifetime, parent=None):
        super().__init__(parent)
        names = ("model_source", "model_path", "device", "precision", "uncertainty", "sharp", "fill_artefacts",
                 "consistency")
        self.fields = fields = {name: field_widget(settings, name, lifetime) for name in names}
        self.layer_picker = LayerPicker(viewer, lifetime)
        self.model_info = small_hint()
        fields["model_path"].native.setPlaceholderText("model file (.pt)")
        self.browse_button = QPushButton("Browse...")
        self.file_row = QWidget()
        file_layout = QHBoxLayout(self.file_row)
        file_layout.setContentsMargins(0, 0, 0, 0)
        file_layout.addWidget(fields["model_path"].native, 1)
        file_layout.addWidget(self.browse_button)
        mark_unavailable_devices(fields["device"].native)
        mark_unavailable_precisions(fields["precision"].native)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(form([("Image", self.layer_picker), fields["model_source"], self.file_row, self.model_info,
                               fields["device"], fields["precision"], fields["uncertainty"], fields["sharp"],
                               fields["fill_artefacts"], fields["consistency"]]))
        lifetime.connect(settings.events.model_source, self._show_source)
        self._show_source(settings.model_source)
        self.layer_picker.layer_changed.connect(self.show_layer)
        self.show_layer(self.layer_picker.layer())

    def show_layer(self, layer) -> None:
        """Grey the uncertainty and the sharp output, saying why in their tooltips, when ``layer`` is lazy (dask /
        zarr)."""
        lazy = is_lazy(layer)
        for name, tip, lazy_tip in (("uncertainty", UNCERTAINTY_TIP, UNCERTAINTY_LAZY_TIP),
                                    ("sharp", SHARP_TIP, SHARP_LAZY_TIP)):
            self.fields[name].enabled = not lazy
            self.fields[name].tooltip = lazy_tip if lazy else tip

    def _show_source(self, source: str) -> None:
        self.file_row.setVisible(source == FROM_FILE)
