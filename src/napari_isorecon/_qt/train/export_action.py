"""*Export...* in the Train widget: the current model as a bioimage.io package (``core.bioimageio.export``).

The test tensors and the cover are cut from the picked image layer and the model is copied, both on the
GUI thread; the export (TorchScript, two small reconstructions, packaging and validation: seconds) runs in
a worker with a busy indicator, abandoned if the Train widget goes away.
"""

from __future__ import annotations

import copy
import getpass
from dataclasses import dataclass
from pathlib import Path

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QFileDialog, QPushButton

from ...core.errors import IsoReconError
from ..shared.job_controller import JobController
from ..shared.layers import snapshot, volume_problem
from ..shared.lifetime import WidgetLifetime
from ..shared.workers import Job

PACKAGE_FILTER = "bioimage.io model package (*.zip)"
LENGTH_UNITS = {"nanometer", "micrometer"}


@dataclass(frozen=True)
class ExportDone:
    facts: dict


def layer_voxel_size(layer) -> tuple[tuple[float, float, float] | None, str | None]:
    """(voxel size (z, y, x), unit) from the layer's scale and units; (None, None) for a unit-less scale of
    ones (nothing known), the scale without a unit when napari's units are pixels."""
    scale = tuple(float(s) for s in layer.scale[-3:])
    units = [str(u) for u in (getattr(layer, "units", None) or ())][-3:]
    unit = units[0] if units and len(set(units)) == 1 and units[0] in LENGTH_UNITS else None
    if unit is None and all(s == 1.0 for s in scale):
        return None, None
    return scale, unit


class ExportButton(QPushButton):
    """A button for the Train widget ``trainer`` (uses its ``model``, ``model_changed``, ``job_controller`` and
    ``layer_picker``)."""

    def __init__(self, trainer):
        super().__init__("Export...")
        self.trainer = trainer
        self._lifetime = WidgetLifetime(trainer)  # the job ends with the Train widget
        self.job_controller = JobController(self._lifetime, "Export", busy_message="An export is already running.")
        self.last_folder = str(Path.home())
        self.setToolTip("Save the model as a bioimage.io package (.zip) for deepImageJ, ilastik, BiaPy, "
                        "bioimageio.core; test data and cover come from the picked image layer.")
        self.setEnabled(trainer.model is not None)
        trainer.model_changed.connect(lambda model: self.setEnabled(model is not None and self.job is None))
        self.clicked.connect(self._on_clicked)

    @property
    def job(self) -> Job | None:
        return self.job_controller.job

    def _on_clicked(self) -> None:
        dialog = QFileDialog(self, "Export a bioimage.io model package", self.last_folder, PACKAGE_FILTER)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("zip")  # the dialog confirms overwriting
        if dialog.exec():
            path = dialog.selectedFiles()[0]
            self.last_folder = str(Path(path).parent)
            self.export_to(path, overwrite=True)

    def export_to(self, path, overwrite: bool = False) -> Job | None:
        """Start exporting the trainer's model to ``path``; None (and a notification) when it cannot."""
        from ...core.bioimageio.export import require_bioimageio
        from ...core.io.files import check_writable

        trainer, layer = self.trainer, self.trainer.layer_picker.layer()
        problem = ("No model to export yet: train one first (or load one)." if trainer.model is None
                   else "Stop training before exporting the model." if trainer.job_controller.busy
                   else "An export is already running." if self.job is not None
                   else "Pick the image layer the model is for: the package's test data come from it."
                   if layer is None else volume_problem(layer))
        if problem:
            show_warning(problem)
            return None
        try:
            require_bioimageio()
            target = check_writable(path, overwrite)
        except IsoReconError as exc:
            show_error(str(exc))
            return None
        data = snapshot(layer)
        voxel, unit = layer_voxel_size(layer)
        model, name = copy.deepcopy(trainer.model), data.name  # training may go on while this runs

        def events(stop):
            from ...core.bioimageio.export import export_package

            yield ExportDone(export_package(model, data.data, target, voxel_size=voxel, unit=unit,
                                            authors=[getpass.getuser()], source_name=name, overwrite=overwrite))

        self.setEnabled(False)
        self.setText("Exporting...")
        return self.job_controller.start(events, self._on_event, "Exporting a bioimage.io package",
                                         on_finished=self._on_finished, ticks=0)  # ticks 0: a busy indicator

    def _on_event(self, event) -> None:
        if isinstance(event, ExportDone):
            facts = event.facts
            self.job_controller.finish()
            show_info(f"bioimage.io package written to {facts['path']} ({facts['size_bytes'] / 1e6:.1f} MB).")

    def _on_finished(self) -> None:
        self.setText("Export...")
        self.setEnabled(self.trainer.model is not None)
