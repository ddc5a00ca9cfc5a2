"""The Reconstruct widget's settings: :class:`ReconSettings`, an evented dataclass holding what a run uses (which
model, the device, the uncertainty map, the sharp output and the circular diagnostic, all three off by default),
and :class:`ReconSettingsForm`, its magicgui form under the image layer picker, with the model file row shown
only for a model file and the sharp output greyed for a lazy layer (it is made in memory)."""

from __future__ import annotations

from dataclasses import dataclass, field

from psygnal import evented
from qtpy.QtWidgets import QHBoxLayout, QPushButton, QWidget

from ..core.settings.device import DEVICE_NAMES
from ..core.settings.precision import PRECISION_NAMES
from .layer_picker import LayerPicker
from .recon_options import CONSISTENCY_TIP, SHARP_LAZY_TIP, SHARP_TIP, UNCERTAINTY_TIP, is_lazy
from .settings_form import field_widget, form, ui
from .ui import DEVICE_TIP, PRECISION_TIP, mark_unavailable_devices, mark_unavailable_precisions, small_hint

FROM_TRAIN_WIDGET = "Trained in the Train widget"
FROM_FILE = "Model file"
FILL_TIP = ("Sections found to be duplicated (a copy of a neighbour), blank or saturated are no image of the "
            "tissue at their place: filled from the nearest real sections before the network runs, instead of "
            "printing a dark band or a copy through the result. The status line names them. Untick to "
            "reconstruct the layer exactly as it is.")


@evented
@dataclass
class ReconSettings:
    """What the Reconstruct widget's next run uses, as the form shows it (set a field here and the form follows)."""

    model_source: str = field(default=FROM_TRAIN_WIDGET, metadata=ui("Model", choices=(FROM_TRAIN_WIDGET, FROM_FILE)))
    model_path: str = ""  # the model file, used with model_source FROM_FILE
    device: str = field(default="auto", metadata=ui("Device", DEVICE_TIP, choices=DEVICE_NAMES))
    precision: str = field(default="auto", metadata=ui("Precision", PRECISION_TIP, choices=PRECISION_NAMES))
    uncertainty: bool = field(default=False, metadata=ui("Uncertainty map (flipped predictions)", UNCERTAINTY_TIP))
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
        """Grey the sharp output, saying why in its tooltip, when ``layer`` is lazy (dask / zarr)."""
        lazy = is_lazy(layer)
        self.fields["sharp"].enabled = not lazy
        self.fields["sharp"].tooltip = SHARP_LAZY_TIP if lazy else SHARP_TIP

    def _show_source(self, source: str) -> None:
        self.file_row.setVisible(source == FROM_FILE)
