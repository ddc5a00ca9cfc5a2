"""The Train widget's *Check on hidden sections*: quality without ground truth, in the background.

Every other section of the picked layer is hidden; a model trained with the Train widget's settings on the
rest (at twice the z-factor) predicts them, and they are scored against the real ones, beside cubic
interpolation and the mean of the two neighbours (``core.checks.hidden_sections``). Dataset artefacts of the
input are found first and set aside from the verdict (said here by index). The verdict (``VERDICT_RULE``: medians
and sections won), a summary table (scores, intensity bias and contrast ratio per method) and the figure of the
worst and the median section are shown here; *Save report...* writes report.json, .md
and .png. The job runs like training (a worker with a progress bar and Stop) but with its own state, and
neither can start while the other runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import Qt
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import IsoReconError
from ..core.events import CheckProgress, HiddenSectionsChecked, StageStarted
from .job_controller import JobController, JobLook
from .layers import snapshot
from .lifetime import WidgetLifetime
from .ui import format_duration, path_label, result_label, set_small_font, set_text_if_changed, small_hint
from .workers import TrainStepBatch

TRAIN_SHARE = 0.9  # of the progress bar: training at 2F; the rest is reconstructing and scoring
METHODS = ("ours", "cubic", "neighbour mean", "sharp")
COLUMNS = ("PSNR\ndB", "SSIM", "bias", "contrast")  # the unit under its name: the table fits a narrow dock
REPORT_FILES = ("report.json", "report.md", "report.png")
CHECK_LOOK = JobLook("Check on hidden sections", "Stop check", "Stopping...",
                     stopping_note="Check: stopping after the current step (no verdict).")
CHECK_TIP = ("Hides every other section, trains with the settings above (same budget) on the rest at twice "
             "the z-factor, and scores its predictions of the hidden sections against the real ones. Takes "
             "about as long as training.")
MEASURES = ("Quality at twice your z spacing, on your own data: a lower bound for the model trained on all "
            "sections.")


@dataclass(frozen=True)
class RenderedFigure:
    """The report's figure drawn to RGBA pixels in the worker (drawing costs the GUI thread ~0.5 s)."""

    rgba: np.ndarray


def render_figure(figure) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def check_events(volume, config, stop):
    """The core check's events, with the figure rendered just before the final ``HiddenSectionsChecked``."""
    from ..core.checks.hidden_sections import (
        run_hidden_section_check,  # imports torch: only in the worker thread
    )

    for event in run_hidden_section_check(volume, config, stop=stop):
        if isinstance(event, HiddenSectionsChecked) and event.report is not None:
            yield RenderedFigure(render_figure(event.report.figure()))
        yield event


def check_input(owner):
    """(layer, its data, the training config) for a check of the Train widget ``owner``'s picked layer with its
    settings; None (and a notification) when there is no layer to check or the settings' device is missing."""
    layer = owner.layer_picker.usable_layer("No 3D image layer to check: open a volume (z, y, x).")
    if layer is None:
        return None
    try:
        config = owner.training_config()
        from ..core.settings.device import resolve_device

        resolve_device(config.device)
    except IsoReconError as exc:
        show_error(str(exc))
        return None
    return layer, snapshot(layer).data, config


def result_table(rows: int, columns) -> QTableWidget:
    """A read-only table of results in the small font, that fits the dock's width: each column as wide as its
    header and cells, the first one taking what is left (equal widths would cut a long header in a narrow
    dock), no scroll bars (``fit_height`` shows every row)."""
    table = QTableWidget(rows, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    set_small_font(table)
    return table


def fit_height(table: QTableWidget) -> None:
    """Fix ``table``'s height to its header and rows."""
    height = table.horizontalHeader().sizeHint().height() + sum(table.rowHeight(r) for r in range(table.rowCount()))
    table.setFixedHeight(height + 2 * table.frameWidth())


class FigureThumbnail(QLabel):
    """The report's figure at the dock's width (it never widens the dock); a click shows it full size in a
    window of its own."""

    MAX_WIDTH = 480

    def __init__(self, parent=None):
        super().__init__(parent)
        self.full_size: QPixmap | None = None
        self.window_shown: QLabel | None = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def set_figure(self, pixmap: QPixmap) -> None:
        self.full_size = pixmap
        self._fit()

    def _fit(self) -> None:
        if self.full_size is None:
            return
        width = max(1, min(self.width(), self.MAX_WIDTH))
        scaled = self.full_size.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(scaled)
        self.setFixedHeight(scaled.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.pixmap() is None or self.pixmap().width() != min(self.width(), self.MAX_WIDTH):
            self._fit()

    def mousePressEvent(self, event) -> None:
        if self.full_size is None:
            return
        if self.window_shown is None:
            self.window_shown = QLabel(self, Qt.WindowType.Window)
            self.window_shown.setWindowTitle("Hidden-section check: worst and median section")
        self.window_shown.setPixmap(self.full_size)
        self.window_shown.show()
        self.window_shown.raise_()


class HiddenSectionCheck(QWidget):
    """Button, status, verdict, summary table, figure and *Save report...* for one Train widget (``owner``:
    its layer picker, settings and training state are read from there)."""

    def __init__(self, owner, parent=None):
        super().__init__(parent)
        self.owner = owner
        self._lifetime = WidgetLifetime(owner)  # ends the job when the Train widget goes away
        self.job_controller = JobController(
            self._lifetime, "Check", notice_title="Hidden-section check", blockers=(owner.job_controller,),
            busy_message="Training or a check is already running: stop it or wait for it to end first.")
        self.report = None
        self.report_paths: dict | None = None
        self.figure_rgba: np.ndarray | None = None
        self._check_z_factor = 0.0
        self._last_folder = str(Path.home())
        self._build()
        self.job_controller.show_on(self.button, self.status, CHECK_LOOK, self.start_check)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.button = QPushButton()
        self.button.setToolTip(CHECK_TIP)
        layout.addWidget(self.button)
        self.status = small_hint()
        layout.addWidget(self.status)
        self.verdict = result_label()
        layout.addWidget(self.verdict)
        self.artefacts = small_hint()
        self.artefacts.setWordWrap(True)
        self.artefacts.setToolTip("Duplicated, blank, saturated or misaligned sections of the input "
                                  "(core.checks.artefacts): a score over them measures the artefact, not the method.")
        layout.addWidget(self.artefacts)
        self.measures = small_hint(MEASURES)
        layout.addWidget(self.measures)
        self.table = self._summary_table()
        layout.addWidget(self.table)
        self.spectra_label = small_hint()
        self.spectra_label.setWordWrap(True)
        layout.addWidget(self.spectra_label)
        self.figure_label = FigureThumbnail()
        self.figure_label.setToolTip("The worst and the median hidden section (by our PSNR): real, ours, "
                                     "cubic. Click to see it full size.")
        layout.addWidget(self.figure_label)
        row = QHBoxLayout()
        self.save_button = QPushButton("Save report...")
        self.save_button.setToolTip("Write report.json, report.md and report.png into a folder.")
        self.save_button.clicked.connect(self._on_save_clicked)
        row.addWidget(self.save_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.saved_label = path_label()
        layout.addWidget(self.saved_label)
        self._show_report(None)

    @staticmethod
    def _summary_table() -> QTableWidget:
        table = result_table(len(METHODS), COLUMNS)
        table.setVerticalHeaderLabels(list(METHODS))
        table.setToolTip("Over the scored hidden sections: mean PSNR and SSIM (a cell's tooltip gives the standard "
                         "deviation), the intensity bias (mean of prediction - real, grey levels) and the contrast "
                         "ratio (std of prediction / std of real, median over sections).")
        fit_height(table)
        return table

    # ------------------------------------------------------------------ running
    @property
    def busy(self) -> bool:
        return self.job_controller.busy

    def start_check(self) -> bool:
        """Start the check on the Train widget's layer and settings; False (and a notification) when it cannot."""
        if self.job_controller.refuse_start():
            return False
        picked = check_input(self.owner)
        if picked is None:
            return False
        layer, data, config = picked
        self._check_z_factor = 2 * config.z_factor
        self.figure_rgba = None
        self._show_report(None)
        self.job_controller.start(lambda stop: check_events(data, config, stop), self._on_event,
                                  "IsoRecon hidden-section check")
        self.status.setText(f"Check: training at z-factor {self._check_z_factor:g} on every other section of "
                            f"'{layer.name}'...")
        return True

    def stop_check(self) -> None:
        """End the check after the current step; no verdict is given."""
        self.job_controller.stop()

    def _on_event(self, event) -> None:
        if isinstance(event, TrainStepBatch):
            step = event.last
            self.job_controller.advance(TRAIN_SHARE * step.progress, f"check, stage {step.stage}: "
                          f"{format_duration(step.seconds_left)} left")
            set_text_if_changed(self.status, f"Check: training at z-factor {self._check_z_factor:g}, stage "
                                f"{step.stage}: {int(step.progress * 100)}% of the budget, about "
                                f"{format_duration(step.seconds_left)} left.")
        elif isinstance(event, StageStarted):
            self.status.setText(f"Check: training at z-factor {self._check_z_factor:g}, stage {event.stage}.")
        elif isinstance(event, CheckProgress):
            self.job_controller.advance(TRAIN_SHARE + (1 - TRAIN_SHARE) * event.progress, f"check: {event.phase}")
            set_text_if_changed(self.status, f"Check: {event.phase}, {int(event.progress * 100)}%.")
        elif isinstance(event, RenderedFigure):
            self.figure_rgba = event.rgba
        elif isinstance(event, HiddenSectionsChecked):
            self.job_controller.finish()
            if event.report is None:
                self.status.setText("Check stopped: no verdict.")
                return
            self._show_report(event.report)
            self.status.setText(f"Check done: {event.report.n_scored} of {len(event.report.sections)} hidden "
                                "sections scored.")
            show_info(f"Hidden-section check: {event.report.verdict}")

    # ------------------------------------------------------------------ the result
    def _show_report(self, report) -> None:
        self.report = report
        self.report_paths = None
        self.saved_label.setText("")
        for widget in (self.verdict, self.artefacts, self.measures, self.table, self.figure_label):
            widget.setVisible(report is not None)
        self.save_button.setEnabled(report is not None)
        self.save_button.setVisible(report is not None)
        self._show_spectra(report)
        if report is None:
            return
        from ..core.checks.hidden_report import VERDICT_RULE

        self.verdict.setText(f"Verdict: {report.verdict}")
        self.verdict.setToolTip(VERDICT_RULE)
        self.artefacts.setText(report.artefact_summary)
        for row, method in enumerate(METHODS):
            scores, intensity = report.summary[method], report.intensity.get(method, {})
            cells = [(f"{scores[key]:.{digits}f}", (f"{method}: mean {scores[key]:.{digits}f}, standard deviation "
                      f"{scores[f'{key}_std']:.{digits}f} over {report.n_scored} scored hidden sections"))
                     for key, digits in (("psnr", 2), ("ssim", 3))]
            if intensity:
                cells += [(f"{intensity['bias']:+.1f}", (f"{method}: mean of prediction - real, "
                           f"{intensity['bias']:+.2f} grey levels")),
                          (f"{intensity['contrast_ratio']:.2f}", (f"{method}: std of prediction / std of real, "
                           f"{intensity['contrast_ratio']:.3f} (median over sections)"))]
            for col, (text, tip) in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, col, item)
        self.measures.setToolTip(report.to_dict()["what_it_measures"])
        self._show_figure()

    def _show_spectra(self, report) -> None:
        """The section-period peaks of ours and cubic at the check's 2F (core.checks.spectra); the z-vs-x power
        shares in the tooltip."""
        spectra = getattr(report, "spectra", None)
        self.spectra_label.setVisible(bool(spectra))
        if not spectra:
            return
        from ..core.checks.spectra import NO_TRUTH_MEANS, peaks_summary, share_cell

        shares = "; ".join(f"{name}: " + ", ".join(f"{band} rows {share_cell(entry)}" for band, entry in bands.items())
                           for name, bands in spectra["z_vs_x"].items())
        self.spectra_label.setText(peaks_summary(spectra))
        self.spectra_label.setToolTip(f"{NO_TRUTH_MEANS} z/x at the check's z-factor {spectra['z_factor']:g}: "
                                      f"{shares}.")

    def _show_figure(self) -> None:
        rgba = self.figure_rgba
        if rgba is None:
            self.figure_label.setVisible(False)
            return
        height, width = rgba.shape[:2]
        image = QImage(np.ascontiguousarray(rgba).data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
        self.figure_label.set_figure(QPixmap.fromImage(image.copy()))

    def save_report_to(self, folder, overwrite: bool = False) -> dict | None:
        """Write report.json/md/png into ``folder`` (existing ones replaced only with ``overwrite``)."""
        if self.report is None:
            show_warning("No hidden-section report yet: run the check first.")
            return None
        try:
            paths = self.report.save(folder, overwrite=overwrite)
        except (IsoReconError, OSError) as exc:
            show_error(str(exc) if isinstance(exc, IsoReconError) else f"Cannot write the report: {exc}")
            return None
        self.report_paths = paths
        self.saved_label.setText(f"Report written to {Path(folder)} (report.json, report.md, report.png)")
        self.saved_label.setToolTip(str(paths["md"]))
        show_info(f"Hidden-section report written to {paths['md']}.")
        return paths

    def _on_save_clicked(self) -> None:
        folder = self._ask_report_folder()
        if not folder:
            return
        existing = [name for name in REPORT_FILES if (Path(folder) / name).exists()]
        if existing and not self._confirm_replace(folder, existing):
            return
        self.save_report_to(folder, overwrite=bool(existing))

    def _ask_report_folder(self) -> str | None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the hidden-section report", self._last_folder)
        if folder:
            self._last_folder = folder
        return folder or None

    def _confirm_replace(self, folder: str, existing: list[str]) -> bool:
        answer = QMessageBox.question(self, "Replace the report?", f"{', '.join(existing)} already in {folder}: "
                                      "replace?")
        return answer == QMessageBox.StandardButton.Yes
