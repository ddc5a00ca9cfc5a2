"""The Reconstruct dock widget: apply a model to a layer, add the isotropic and interpolated volumes (and, when
asked for, the uncertainty map and the sharp output) placed to overlay the input, and compare them side by side."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import numpy as np
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QFileDialog, QPushButton, QWidget

from ...core.errors import IsoReconError
from ...core.events import (
    InputConsistency,
    PartEvent,
    ReconFinished,
    ReconProgress,
    SectionsFilled,
)
from ...core.geometry import check_volume, isotropic_placement
from ...core.jobs import lazy_reconstruct_events, reconstruct_with_twin
from ...core.settings.config import ReconConfig
from ...core.settings.precision import check_runtime
from ...core.settings.zfactor import same_z_factor
from ..shared.job_controller import JobController, JobLook
from ..shared.layers import snapshot, unique_layer_name, unwrap, z_factor_of
from ..shared.lifetime import WidgetLifetime
from ..shared.model_source import MODEL_FILTER, CheckpointCache, describe_model
from ..shared.session import session_for
from ..shared.ui import keep_min_height, scrolling_body, set_text_if_changed, small_hint
from .recon_results import done_text, sharp_note, uncertainty_layer_kwargs, uncertainty_note
from .recon_settings import FROM_FILE, ReconSettings, ReconSettingsForm
from .side_by_side import show_side_by_side, xy_reference

PARTS = ("interpolated", "isotropic")  # interpolation first: it is quick and shows up at once
# the share of the progress bar each part takes, relative to one another, in the order they run; the sharp output
# has no progress of its own, and the uncertainty's error model fits in about a minute
PART_WEIGHT = {"interpolated": 0.1, "isotropic": 0.9, "sharp": 0.05, "uncertainty": 0.4}
RECONSTRUCT_LOOK = JobLook("Reconstruct", "Cancel", "Cancelling...", running_note="Starting...")


class ReconstructWidget(QWidget):
    """Make an isotropic volume from a 3D image layer with a trained model (and its cubic baseline)."""

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.result_layers: dict[str, object] = {}  # part -> layer added by the last run
        self._lifetime = WidgetLifetime(self)
        self.job_controller = JobController(self._lifetime, "Reconstruction", busy_message=(
            "A reconstruction is already running: cancel it first, or wait for it to end."))
        self._checkpoints = CheckpointCache()
        self.session = session_for(napari_viewer)  # the model the Train widget published
        self.settings = ReconSettings()  # what the next run uses; the form shows and edits it
        self._run = None  # what the running job needs to place its results
        self._saved_view = None
        self._build()
        self.job_controller.changed.connect(self._show_state)
        self._show_state()
        for emitter in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            self._lifetime.connect(emitter, self._update_compare_button)
        self._lifetime.connect(self.session.model_changed, self.refresh_model_info)
        self._lifetime.at_end(self._restore_view_at_end)  # a dock closed mid-comparison: the viewer goes back too
        self.refresh_model_info()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self._scroll, root = scrolling_body(self)
        self.settings_box = ReconSettingsForm(self.settings, self.viewer, self._lifetime)
        self.layer_picker, self.model_info = self.settings_box.layer_picker, self.settings_box.model_info
        self.layer_picker.layer_changed.connect(self.refresh_model_info)
        self.settings_box.browse_button.clicked.connect(self._on_browse)
        for changed in (self.settings.events.model_source, self.settings.events.model_path):
            self._lifetime.connect(changed, self.refresh_model_info)
        root.addWidget(self.settings_box)

        self.run_button = QPushButton()
        root.addWidget(self.run_button)
        self.status = small_hint()
        root.addWidget(self.status)
        self.job_controller.show_on(self.run_button, self.status, RECONSTRUCT_LOOK, self.start_reconstruction)
        self.compare_button = QPushButton("Compare side by side")
        self.compare_button.setCheckable(True)
        self.compare_button.setToolTip("Interpolated and reconstructed volumes next to each other in an xz "
                                       "plane (z vertical), with a linked camera; with a sharp output, the "
                                       "interpolated, isotropic and sharp volumes, and an xy section of the input "
                                       "at the same scale for reference. Click again to go back.")
        self.compare_button.toggled.connect(self._on_compare_toggled)
        root.addWidget(self.compare_button)
        root.addStretch(1)
        self.refresh_model_info()  # its lines count in the height kept below
        keep_min_height(self._scroll, 400)

    # ------------------------------------------------------------------ model choice
    def _on_browse(self) -> None:
        start = self.settings.model_path or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose a napari-isorecon model", start, MODEL_FILTER)
        if path:
            self.settings.model_path = path
            self.refresh_model_info()  # also when the same file was picked again (it may have changed)

    def resolve_model(self):
        """The model chosen in the widget; raises IsoReconError saying what to do when there is none."""
        if self.settings.model_source == FROM_FILE:
            return self._checkpoints.load(self.settings.model_path)
        model = self.session.model
        if model is None:
            raise IsoReconError("No trained model yet: train one in the Train widget (Plugins > IsoRecon > "
                                "Train), or choose 'Model file' and a saved model.")
        return model

    def refresh_model_info(self, *_) -> None:
        """Describe the chosen model and whether it fits the picked layer."""
        try:
            model = self.resolve_model()
        except IsoReconError as exc:
            self.model_info.setText(str(exc))
            return
        provenance = self.session.provenance if model is self.session.model else None
        origin = f" ({provenance.describe()})" if provenance is not None else ""
        text = f"Model{origin}: {describe_model(model)}."
        layer = self.layer_picker.layer()
        if layer is not None:
            factor, _ = z_factor_of(layer.scale)
            if factor is None:
                text += " The layer's scale is isotropic: the model's z-factor will be assumed."
            elif not same_z_factor(factor, model.z_factor):
                text += f" It does not fit '{layer.name}' (z-factor {factor:g} from its scale)."
        self.model_info.setText(text)

    # ------------------------------------------------------------------ reconstruction
    def start_reconstruction(self) -> bool:
        """Reconstruct the picked layer; False (and a notification) when it cannot start."""
        if self.job_controller.refuse_start():
            return False
        layer = self.layer_picker.usable_layer("No 3D image layer to reconstruct: open a volume (z, y, x).")
        if layer is None:
            return False
        try:
            model = self.resolve_model()
            config = ReconConfig(device=self.settings.device, precision=self.settings.precision,
                                 fill_artefacts=self.settings.fill_artefacts)
            check_runtime(config)
            source = snapshot(layer)
            check_volume(source.data, what=f"layer '{layer.name}'")
        except IsoReconError as exc:
            show_error(str(exc))
            return False
        z_factor = model.z_factor
        layer_factor, _ = z_factor_of(source.scale)
        if layer_factor is None:
            show_warning(f"'{source.name}' has an isotropic scale; assuming the model's z-factor {z_factor:g}. "
                         "Set the layer's scale to its voxel size (z, y, x) to place the result correctly.")
        elif not same_z_factor(layer_factor, z_factor):
            show_error(f"The model was trained for z-factor {z_factor:g}, but '{source.name}' has z-factor "
                       f"{layer_factor:g} (from its scale): train a model on this layer, or load one trained "
                       f"for z-factor {layer_factor:g}.")
            return False
        data = source.data
        with_consistency = self.settings.consistency
        lazy = not isinstance(data, np.ndarray)  # a dask / zarr layer: lazy results, computed block by block
        with_sharp = self.settings.sharp and not lazy  # made in memory from the whole result
        with_uncertainty = self.settings.uncertainty and not lazy  # likewise
        scale = self.session.uncertainty_scale_for(layer)  # measured by this layer's hidden-section check, or None

        def events(stop):  # the twin, the result, its checks (core.jobs); torch is imported in the worker
            if lazy:  # the scan for sections to fill reads every section: in the worker, as the rest
                return lazy_reconstruct_events(data, model, config, stop=stop)
            return reconstruct_with_twin(data, model, config, uncertainty=with_uncertainty,
                                         consistency=with_consistency, sharp=with_sharp, stop=stop,
                                         uncertainty_scale=scale)

        self.end_comparison()
        runs = {"interpolated": True, "isotropic": True, "sharp": with_sharp, "uncertainty": with_uncertainty}
        self._run = {"source": source, "layer": unwrap(layer), "z_factor": z_factor, "cancelled": False, "lazy": lazy,
                     "parts": [part for part in PART_WEIGHT if runs[part]],
                     "sharp_skipped": self.settings.sharp and lazy,
                     "uncertainty_skipped": self.settings.uncertainty and lazy}
        self.result_layers = {}
        desc = "IsoRecon: looking for damaged sections" if lazy and config.fill_artefacts else "IsoRecon: interpolating"
        self.job_controller.start(events, self._on_event, desc, on_finished=self._on_job_finished)
        return True

    def cancel(self) -> None:
        """Stop after the current batch of slices; what is already added stays."""
        self.job_controller.stop()

    def _on_event(self, event) -> None:
        if not isinstance(event, PartEvent):
            return
        part, inner = event.part, event.event
        if isinstance(inner, SectionsFilled):
            self._run["filled"] = inner.describe()
            self.status.setText(inner.describe())
        elif isinstance(inner, ReconProgress):
            self._show_progress(part, inner)
        elif isinstance(inner, ReconFinished):
            if inner.stopped:
                self._run["cancelled"] = True
            else:
                self._add_result(part, inner.volume)
                if part == "isotropic" and inner.info.get("precision"):
                    self._run["precision"] = inner.info["precision"]
                if part == "sharp":
                    self._run["sharp_note"] = sharp_note(inner.info)
                    self.status.setText(self._run["sharp_note"].strip())
                if part == "uncertainty":
                    self._run["uncertainty_note"] = uncertainty_note(inner.info)
                    self.status.setText(self._run["uncertainty_note"].strip())
                self._announce_next(part)
        elif isinstance(inner, InputConsistency):
            self._run["consistency"] = inner.scores

    def _fraction(self, part: str, progress: float) -> float:
        """The share of the job done at ``progress`` (0..1) of ``part``, over the parts this run makes."""
        parts = self._run["parts"]
        done_before = sum(PART_WEIGHT[p] for p in parts[:parts.index(part)])
        return (done_before + PART_WEIGHT[part] * progress) / sum(PART_WEIGHT[p] for p in parts)

    def _show_progress(self, part: str, event: ReconProgress) -> None:
        if part not in self._run["parts"]:
            return
        fraction = self._fraction(part, event.progress)
        if part == "uncertainty":
            self.job_controller.advance(fraction, f"IsoRecon: estimating the uncertainty ({event.axis})")
            set_text_if_changed(self.status, f"Estimating the uncertainty: {event.axis}, {event.progress:.0%}.")
            return
        verb = "interpolating" if part == "interpolated" else "reconstructing"
        self.job_controller.advance(fraction, f"IsoRecon: {verb} ({event.axis} slices)")
        set_text_if_changed(self.status, f"{verb.capitalize()}: {event.axis} slices, {event.progress:.0%}.")

    def _announce_next(self, finished: str) -> None:
        """After ``finished``, say which of the parts without progress of their own at the start comes next: the
        sharp output (none at all), or the uncertainty (its error model first reconstructs the lateral planes)."""
        parts = self._run["parts"]
        following = parts[parts.index(finished) + 1] if finished in parts[:-1] else None
        if following == "sharp":
            self.job_controller.advance(self._fraction("sharp", 0.0), "IsoRecon: making the sharp output")
            self.status.setText("Making the sharp output...")
        elif following == "uncertainty":
            self.job_controller.advance(self._fraction("uncertainty", 0.0), "IsoRecon: estimating the uncertainty")
            self.status.setText("Estimating the uncertainty: fitting an error model on the lateral planes...")

    def _add_result(self, part: str, volume) -> None:
        run = self._run
        source = run["source"]
        scale, translate = isotropic_placement(source.scale, source.translate, source.data.shape[-3],
                                               run["z_factor"])
        name = unique_layer_name(self.viewer.layers, f"{source.name} {part}")
        looks = uncertainty_layer_kwargs(volume) if part == "uncertainty" else \
            {"colormap": source.colormap, "contrast_limits": source.contrast_limits}
        layer = self.viewer.add_image(volume, name=name, scale=scale, translate=translate, **looks)
        self.result_layers[part] = unwrap(layer)
        if not any(unwrap(known) is run["layer"] for known in self.viewer.layers):
            show_info(f"'{source.name}' was removed while it was being processed; '{name}' was made from "
                      "the data as it was when you pressed Reconstruct.")

    def _on_job_finished(self) -> None:
        run = self._run or {}
        if self.job_controller.busy:
            if run.get("cancelled"):
                self.status.setText("Cancelled; layers already made were kept.")
            else:
                self.status.setText(done_text(run, list(self.result_layers)))
            self.job_controller.finish()
        self._show_state()

    def _show_state(self, *_) -> None:
        self.settings_box.setEnabled(not self.job_controller.busy)
        self._update_compare_button()

    # ------------------------------------------------------------------ comparison
    def _update_compare_button(self, *_) -> None:
        comparing = self._saved_view is not None
        self.compare_button.setEnabled(not self.job_controller.busy and (comparing or self._results_present()))

    def _results_present(self) -> bool:
        present = {id(unwrap(layer)) for layer in self.viewer.layers}
        return all(part in self.result_layers and id(self.result_layers[part]) in present for part in PARTS)

    def compare_side_by_side(self) -> bool:
        """Grid view of the interpolated (left or top) and reconstructed volumes in an xz plane; when the last run
        also made a sharp output that is still open: interpolated, isotropic, sharp and, for reference, an xy
        section of the input at the same scale (a layer added for the comparison only)."""
        if not self._results_present():
            show_warning("Nothing to compare yet: reconstruct a layer first (both result layers must be open).")
            self._set_comparing(False)
            return False
        if self._saved_view is None:
            shown = [self.result_layers[part] for part in (*PARTS, "sharp") if self._present(part)]
            reference = xy_reference(self._run["source"], shown[-1]) if self._present("sharp") else None
            self._saved_view = show_side_by_side(self.viewer, *shown, reference=reference)
        self._set_comparing(True)
        return True

    def _present(self, part: str) -> bool:
        layer = self.result_layers.get(part)
        return layer is not None and any(unwrap(known) is layer for known in self.viewer.layers)

    def end_comparison(self) -> None:
        """Put the viewer back as it was before :meth:`compare_side_by_side`."""
        self._restore_view()
        self._set_comparing(False)

    def _restore_view(self) -> None:
        """The viewer as it was before the comparison (its reference layer removed); touches no widget."""
        if self._saved_view is not None:
            saved, self._saved_view = self._saved_view, None
            saved.restore(self.viewer)

    def _restore_view_at_end(self) -> None:
        """:meth:`_restore_view` when the dock goes away: the viewer may be closing too."""
        with suppress(RuntimeError):  # a viewer whose canvas Qt has already deleted
            self._restore_view()

    def _set_comparing(self, on: bool) -> None:
        self.compare_button.blockSignals(True)
        self.compare_button.setChecked(on)
        self.compare_button.setText("Back to the normal view" if on else "Compare side by side")
        self.compare_button.blockSignals(False)

    def _on_compare_toggled(self, checked: bool) -> None:
        if checked:
            self.compare_side_by_side()
        else:
            self.end_comparison()

    def closeEvent(self, event) -> None:
        self._lifetime.end()
        super().closeEvent(event)
