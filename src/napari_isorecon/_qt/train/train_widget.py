"""The Train dock widget: settings, Start/Stop, live losses, degradation preview, save/load model.

The widget owns the trained model (``self.model``, announced with ``model_changed``) and publishes it to
its viewer's session (``shared.session.session_for``), where the Reconstruct widget picks it up.
"""

from __future__ import annotations

import copy
from pathlib import Path

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QPushButton, QWidget

from ...core.errors import IsoReconError
from ...core.events import (
    STAGE_NAMES,
    ArtefactsFound,
    CheckpointSaved,
    DegradationPreview,
    HeldOutScore,
    PrecisionFellBack,
    StageStarted,
    TrainFinished,
)
from ...core.geometry import check_volume, patch_geometry
from ...core.jobs import default_autosave_folder, new_autosave_file, train_with_autosave
from ...core.settings.config import TrainConfig
from ..checks.acquisition_comparison import CompareOnHiddenSections
from ..checks.hidden_section_check import HiddenSectionCheck
from ..shared.job_controller import JobController, JobLook
from ..shared.layers import snapshot
from ..shared.lifetime import WidgetLifetime
from ..shared.model_source import MODEL_FILTER, describe_model
from ..shared.session import ModelProvenance, session_for
from ..shared.ui import (
    format_duration,
    keep_min_height,
    path_label,
    scrolling_body,
    set_text_if_changed,
    small_hint,
)
from ..shared.workers import TrainStepBatch
from .degradation_preview import DegradationPreviewPane
from .export_action import ExportButton
from .kernel_plot import KernelPlot, lateral_axis
from .loss_plot import LossPlot, theme_colours
from .run_in_view import RunInView
from .train_settings import TrainSettings, TrainSettingsForm

TRAINING_LOOK = JobLook("Start training", "Stop training", "Stopping...", start_tip="Train on the picked layer.",
                        stop_tip="Stop ends training after the current step and keeps the model.",
                        running_note="Training: starting...",
                        stopping_note="Stopping after the current step; the model trained so far is kept.")
CHECKPOINT_TIP = ("Training saves the model here every few minutes and at the end: after a crash, load it "
                  "and continue training.")


def _why_it_ended(event: TrainFinished) -> str:
    """The end of a run in words for the status line: converged (the rule and the scores), the budget used, or
    the user's Stop."""
    if event.converged:
        return f"stopped early, {event.reason}"
    if event.stopped:
        return "stopped by the user"
    return "the whole budget was used"


class TrainWidget(QWidget):
    """Train an isotropic reconstruction model on a 3D image layer of the viewer."""

    model_changed = Signal(object)

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.model = None
        self.session = session_for(napari_viewer)  # where the model goes for the other widgets
        self.settings = TrainSettings()  # what the next run uses; the form shows and edits it
        self._run_layer_name = ""  # the layer the current run trains on
        self._lifetime = WidgetLifetime(self)
        self.job_controller = JobController(self._lifetime, "Training", busy_message=(
            "Training or a hidden-section check is already running: press Stop first, or wait for it to end."))
        self._run_config: TrainConfig | None = None
        self._kernel_axis = lateral_axis(None)  # (spacing, unit) of one kernel tap in the current run
        self._last_step = 0
        self._stage = 1
        self._ran_in = ""  # "device, precision" of the current run, from its StageStarted
        self.progress_fraction = 0.0  # of the current run's budget
        self._last_folder = str(Path.home())
        self.autosave_folder = default_autosave_folder()
        self.autosave_every_s = 300.0  # seconds of training between checkpoints
        self.checkpoint_path: Path | None = None  # the current run's checkpoint file
        self._build()
        self.job_controller.changed.connect(self._show_state)
        self._lifetime.connect(self.viewer.events.theme, self._apply_theme)
        self._apply_theme()
        self._show_state()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self._scroll, root = scrolling_body(self)
        self.settings_box = TrainSettingsForm(self.settings, self.viewer, self._lifetime)
        self.layer_picker, self.z_hint = self.settings_box.layer_picker, self.settings_box.z_hint
        root.addWidget(self.settings_box)

        self.continue_box = QCheckBox("Continue training the current model")
        self.continue_box.setToolTip("Train the current model (just trained or loaded, e.g. a checkpoint "
                                     "after a crash) on, up to the budget above (counted from its start), "
                                     "instead of starting a new one. The form then shows the model's "
                                     "settings: change the budget, seed or prior as you like.")
        self.continue_box.toggled.connect(self._on_continue_toggled)
        root.addWidget(self.continue_box)
        self.start_button = QPushButton()
        root.addWidget(self.start_button)
        self.status = small_hint()
        root.addWidget(self.status)
        self.artefacts_label = small_hint()  # what the scan of the stack found and what training leaves out
        self.artefacts_label.setVisible(False)
        root.addWidget(self.artefacts_label)

        self.loss_plot = LossPlot(self)
        root.addWidget(self.loss_plot)
        self.kernel_plot = KernelPlot(self)
        root.addWidget(self.kernel_plot)
        self.preview = DegradationPreviewPane(self)
        root.addWidget(self.preview)

        model_row = QHBoxLayout()
        self.save_button = QPushButton("Save model...")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.load_button = QPushButton("Load model...")
        self.load_button.clicked.connect(self._on_load_clicked)
        model_row.addWidget(self.save_button)
        model_row.addWidget(self.load_button)
        self.export_button = ExportButton(self)  # a bioimage.io package (.zip)
        model_row.addWidget(self.export_button)
        root.addLayout(model_row)
        self.model_label = small_hint("No model yet.")
        root.addWidget(self.model_label)
        self.checkpoint_label = path_label()
        self.checkpoint_label.setToolTip(CHECKPOINT_TIP)
        root.addWidget(self.checkpoint_label)
        self.hidden_check = HiddenSectionCheck(self)
        self.hidden_check.job_controller.changed.connect(self._show_state)
        root.addWidget(self.hidden_check)
        self.compare_check = CompareOnHiddenSections(self)  # acquisitions compared on the same hidden sections
        self.compare_check.job_controller.changed.connect(self._show_state)
        root.addWidget(self.compare_check)
        self.job_controller.blockers = (self.hidden_check.job_controller,  # one job at a time
                                        self.compare_check.job_controller)
        self.job_controller.show_on(self.start_button, self.status, TRAINING_LOOK, self.start_training)
        root.addStretch(1)
        keep_min_height(self._scroll, 260)
        self.run_in_view = RunInView(self._scroll, self.start_button, self.loss_plot,
                                     lambda: self.job_controller.busy, self)

    def training_config(self) -> TrainConfig:
        """The TrainConfig the widget shows (raises IsoReconError with a message for bad values)."""
        return self.settings.training_config()

    # ------------------------------------------------------------------ training
    def start_training(self) -> bool:
        """Start training on the picked layer; False (and a notification) when it cannot start."""
        if self.job_controller.refuse_start():
            return False
        layer = self.layer_picker.usable_layer("No 3D image layer to train on: open a volume (z, y, x), "
                                               "e.g. File > Open Sample > IsoRecon.")
        if layer is None:
            return False
        try:
            resume = self._model_to_continue()
            config = self.settings.training_config(resume)  # core.jobs: what a continued model keeps
            data = snapshot(layer).data
            check_volume(data, what=f"layer '{layer.name}'")
            patch_geometry(data.shape, config.z_factor, config.lr_rows, config.patch_width)
            from ...core.settings.precision import check_runtime

            check_runtime(config)
        except IsoReconError as exc:
            show_error(str(exc))
            return False
        self._run_config = config
        self._run_layer_name = layer.name
        self._kernel_axis = lateral_axis(layer)
        self._last_step, self._stage, self.progress_fraction, self._ran_in = 0, 1, 0.0, ""
        self.loss_plot.reset()
        self._show_artefacts(None)
        self.kernel_plot.clear()
        self.preview.clear()
        preview_every = self.settings.preview_every
        checkpoint = self.checkpoint_path = new_autosave_file(self.autosave_folder, layer.name)
        every = self.autosave_every_s
        self.checkpoint_label.setText("" if checkpoint is not None else
                                      f"No checkpoints: cannot write to {self.autosave_folder}.")

        def events(stop):  # imports torch: only in the worker thread
            return train_with_autosave(data, config, stop, resume, checkpoint, every, final=True,
                                       preview_every=preview_every)

        self.job_controller.start(events, self._on_event, "IsoRecon training")
        self.run_in_view.follow()
        return True

    def show_run(self) -> None:
        """Scroll the dock so that the run is in view, from the Stop button and the status line (the progress)
        down to the live loss plot (:class:`.run_in_view.RunInView`)."""
        self.run_in_view.show()

    def _model_to_continue(self):
        """With "Continue" ticked: a copy of the current model (the Reconstruct widget may be using the
        original); raises IsoReconError when there is none. Whether it can go on with the settings is
        core.jobs.training_config's to say."""
        if not self.continue_box.isChecked():
            return None
        if self.model is None:
            raise IsoReconError("No model to continue: train one, or load one (e.g. a checkpoint), first.")
        return copy.deepcopy(self.model)

    def _on_continue_toggled(self, checked: bool) -> None:
        """Continuing: the form shows the model's own settings (what may change: budget, seed, prior)."""
        if checked and self.model is not None:
            self.settings.show_model_settings(self.model.config)

    def stop_training(self) -> None:
        """End training after the current step; the model trained so far is kept."""
        self.job_controller.stop()

    def _show_artefacts(self, event: ArtefactsFound | None) -> None:
        """The scan's line under the status (shown while and after training; hidden for a clean stack)."""
        found = event is not None and bool(event.artefacts)
        self.artefacts_label.setText(event.describe() if found else "")
        self.artefacts_label.setToolTip("\n".join(f"Section {f.index}: {f.kind}, {f.detail}"
                                                  for f in event.artefacts.findings) if found else "")
        self.artefacts_label.setVisible(found)

    def _on_event(self, event) -> None:
        if isinstance(event, ArtefactsFound):
            self._show_artefacts(event)
            self.status.setText(event.describe())
            if event.artefacts:
                show_warning(f"IsoRecon: {event.describe()}")
        elif isinstance(event, TrainStepBatch):
            self._last_step = event.last.step
            self.loss_plot.add_steps(event.steps)
            self._show_progress(event.last)
        elif isinstance(event, StageStarted):
            self._stage = event.stage
            self.loss_plot.mark_stage(event.stage, self._last_step)
            self._ran_in = f"{event.device}, {event.precision}" if event.precision else ""
            self.status.setText(f"Stage {event.stage}: {event.name} ({self._ran_in}).")
        elif isinstance(event, PrecisionFellBack):
            self._ran_in = self._ran_in.replace(event.was, event.to)
            show_warning(f"IsoRecon: {event.describe()}")
        elif isinstance(event, DegradationPreview):
            self.preview.show_preview(event, self._run_config.z_factor)
            if event.kernel is not None:
                self.kernel_plot.show_kernel(event.kernel, self._run_config.z_factor, *self._kernel_axis,
                                             step=event.step, learned=self._run_config.learns_degradation)
        elif isinstance(event, HeldOutScore):
            self.loss_plot.add_held_out(event)
        elif isinstance(event, CheckpointSaved):
            self.checkpoint_label.setText(f"Checkpoint (step {event.step}): {event.path}")
            self.checkpoint_label.setToolTip(f"{event.path}\n\n{CHECKPOINT_TIP}")
        elif isinstance(event, TrainFinished):
            self._set_model(event.model, ModelProvenance("trained", self._run_layer_name))
            self.show_model_kernel(event.model, self._kernel_axis)
            how = "stopped" if event.stopped else "done"
            self.job_controller.finish()
            ran_in = f" ({self._ran_in})" if self._ran_in else ""
            self.status.setText(f"Training {how}: {event.steps} steps in {format_duration(event.elapsed)}{ran_in}; "
                                f"{_why_it_ended(event)}.")
            show_info(f"Training {how} after {event.steps} steps; the model is ready in the Reconstruct "
                      "widget (and can be saved).")
            self._warn_about(event.model)

    def _warn_about(self, model) -> None:
        """What says the result may not be trusted (the rules the command line prints too)."""
        from ...core.checks.kernel_summary import training_warnings

        for warning in training_warnings(model):
            show_warning(f"{warning} The result may be worse than interpolation: check it on hidden sections.")

    def _show_progress(self, step) -> None:
        """Progress bar and status line; each is touched only when its text or value changes, since
        every repaint of the window costs the training thread time on a small machine."""
        self.progress_fraction = step.progress
        left = format_duration(step.seconds_left)
        self.job_controller.advance(step.progress, f"IsoRecon training, stage {step.stage}: {left} left")
        set_text_if_changed(self.status, f"Stage {step.stage} ({STAGE_NAMES[step.stage]}): "
                            f"{int(step.progress * 100)}% of the budget, about {left} left.")

    def _show_state(self, *_) -> None:
        """Enable what may change now: nothing of the settings while training or the check runs."""
        training, checking = self.job_controller.busy, self.hidden_check.busy or self.compare_check.busy
        self.settings_box.setEnabled(not training and not checking)
        self.load_button.setEnabled(not training)
        self.continue_box.setEnabled(not training and not checking and self.model is not None)
        self.save_button.setEnabled(self.model is not None)

    # ------------------------------------------------------------------ model
    def _set_model(self, model, provenance: ModelProvenance) -> None:
        self.model = model
        self.model_label.setText(f"Model: {describe_model(model)}.")
        self.save_button.setEnabled(True)
        self.continue_box.setEnabled(not self.job_controller.busy)
        self.model_changed.emit(model)
        self.session.publish(model, provenance)

    def show_model_kernel(self, model, axis: tuple[float, str]) -> None:
        """Plot the axial kernel of ``model``'s stage-2 pairs; ``axis``: (spacing, unit) of one tap
        (``lateral_axis``)."""
        taps = model.pair_kernel().detach().cpu().numpy()
        self.kernel_plot.show_kernel(taps, model.z_factor, *axis, step=model.state.step,
                                     learned=model.config.learns_degradation)

    def save_model_to(self, path, overwrite: bool = False):
        """Save the current model; an existing file is replaced only with ``overwrite``. Returns the path."""
        from ...core.model.checkpoint import save_model

        if self.model is None:
            show_warning("No model to save yet: train one first (or load one).")
            return None
        try:
            saved = save_model(self.model, path, overwrite=overwrite)
        except IsoReconError as exc:
            show_error(str(exc))
            return None
        show_info(f"Model saved to {saved}.")
        return saved

    def load_model_from(self, path):
        """Load a model file as this widget's model (offered to the Reconstruct widget). Returns it."""
        from ...core.model.checkpoint import load_model

        if self.job_controller.busy:
            show_warning("Stop training before loading a model.")
            return None
        try:
            model = load_model(path)
        except IsoReconError as exc:
            show_error(str(exc))
            return None
        self.settings.show_model_settings(model.config)  # so that Continue goes on as the model was trained
        self._set_model(model, ModelProvenance("loaded", str(path)))
        self.show_model_kernel(model, lateral_axis(self.layer_picker.layer()))
        show_info(f"Model loaded: {describe_model(model)}.")
        return model

    def _on_save_clicked(self) -> None:
        path = self._ask_save_path()
        if path:
            # the file dialog has already asked before replacing an existing file
            self.save_model_to(path, overwrite=True)

    def _on_load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a napari-isorecon model", self._last_folder,
                                              MODEL_FILTER)
        if path:
            self._last_folder = str(Path(path).parent)
            self.load_model_from(path)

    def _ask_save_path(self) -> str | None:
        dialog = QFileDialog(self, "Save the napari-isorecon model", self._last_folder, MODEL_FILTER)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("pt")  # the dialog confirms overwriting, suffix included
        if not dialog.exec():
            return None
        path = dialog.selectedFiles()[0]
        self._last_folder = str(Path(path).parent)
        return path

    # ------------------------------------------------------------------ look and lifetime
    def _apply_theme(self, *_) -> None:
        from napari.utils.theme import get_theme

        try:
            theme = get_theme(self.viewer.theme)
        except ValueError:
            return
        self.loss_plot.set_theme(theme_colours(theme))
        self.kernel_plot.set_theme(theme_colours(theme))

    def closeEvent(self, event) -> None:
        self._lifetime.end()
        super().closeEvent(event)
