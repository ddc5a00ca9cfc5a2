"""The Train widget's *Check on hidden sections*: quality without ground truth, in the background.

Every other section of the picked layer is hidden; a model trained with the Train widget's settings on the
rest (at twice the z-factor) predicts them, and they are scored against the real ones, beside cubic
interpolation and the mean of the two neighbours (``core.checks.hidden_sections``). Dataset artefacts of the
input are found first and set aside from the verdict (said here by index). The verdict (``VERDICT_RULE``: medians
and sections won), a summary table (scores, intensity bias and contrast ratio per method) and the figure of the
worst and the median section are shown here; *Save report...* (``shared/report_saving.py``) writes
report.json, .md and .png. The job (``check_jobs.py``) runs like training (a worker with a progress bar and Stop)
but with its own state, and neither can start while the other runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from napari.utils.notifications import show_info
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ...core.events import CheckProgress, HiddenSectionsChecked, StageStarted
from ..shared.job_controller import JobController, JobLook
from ..shared.lifetime import WidgetLifetime
from ..shared.report_saving import ReportKind, ReportSaver
from ..shared.result_views import FigureThumbnail, fit_height, result_table
from ..shared.ui import format_duration, result_label, set_text_if_changed, small_hint
from ..shared.workers import TrainStepBatch
from .check_jobs import RenderedFigure, check_events, check_input

TRAIN_SHARE = 0.9  # of the progress bar: training at 2F; the rest is reconstructing and scoring
METHODS = ("ours", "cubic", "neighbour mean", "sharp")
COLUMNS = ("PSNR\ndB", "SSIM", "bias", "contrast")  # the unit under its name: the table fits a narrow dock
REPORT_FILES = ("report.json", "report.md", "report.png")
REPORT = ReportKind("hidden-section report", ", ".join(REPORT_FILES), "No hidden-section report yet: run the check "
                    "first.", "Write report.json, report.md and report.png into a folder.")
CHECK_LOOK = JobLook("Check on hidden sections", "Stop check", "Stopping...",
                     stopping_note="Check: stopping after the current step (no verdict).")
CHECK_TIP = ("Hides every other section, trains with the settings above (same budget) on the rest at twice "
             "the z-factor, and scores its predictions of the hidden sections against the real ones. Takes "
             "about as long as training.")
MEASURES = ("Quality at twice your z spacing, on your own data: a lower bound for the model trained on all "
            "sections.")


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
        self.figure_rgba: np.ndarray | None = None
        self._check_z_factor = 0.0
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
        self.uncertainty_label = small_hint()
        self.uncertainty_label.setWordWrap(True)
        layout.addWidget(self.uncertainty_label)
        self.figure_label = FigureThumbnail("Hidden-section check: worst and median section")
        self.figure_label.setToolTip("The worst and the median hidden section (by our PSNR): real, ours, "
                                     "cubic. Click to see it full size.")
        layout.addWidget(self.figure_label)
        self.saver = ReportSaver(REPORT, lambda: self.report, self._existing)
        self.save_button, self.saved_label = self.saver.button, self.saver.label
        layout.addWidget(self.saver)
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
        self._checked_layer = layer
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
            if event.report.uncertainty:  # the Reconstruct widget's uncertainty of this layer uses it
                self.owner.session.publish_uncertainty_scale(self._checked_layer, event.report.uncertainty["scale"])
            self.status.setText(f"Check done: {event.report.n_scored} of {len(event.report.sections)} hidden "
                                "sections scored.")
            show_info(f"Hidden-section check: {event.report.verdict}")

    # ------------------------------------------------------------------ the result
    def _show_report(self, report) -> None:
        self.report = report
        self.saver.show_for(report is not None)
        for widget in (self.verdict, self.artefacts, self.measures, self.table, self.figure_label):
            widget.setVisible(report is not None)
        self._show_spectra(report)
        self.uncertainty_label.setText(uncertainty_summary(report))
        self.uncertainty_label.setVisible(bool(self.uncertainty_label.text()))
        if report is None:
            return
        from ...core.checks.hidden_report import VERDICT_RULE

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
        from ...core.checks.spectra import NO_TRUTH_MEANS, peaks_summary, share_cell

        shares = "; ".join(f"{name}: " + ", ".join(f"{band} rows {share_cell(entry)}" for band, entry in bands.items())
                           for name, bands in spectra["z_vs_x"].items())
        self.spectra_label.setText(peaks_summary(spectra))
        self.spectra_label.setToolTip(f"{NO_TRUTH_MEANS} z/x at the check's z-factor {spectra['z_factor']:g}: "
                                      f"{shares}.")

    def _show_figure(self) -> None:
        if self.figure_rgba is None:
            self.figure_label.setVisible(False)
            return
        self.figure_label.set_rgba(self.figure_rgba)

    def save_report_to(self, folder, overwrite: bool = False) -> dict | None:
        """Write report.json/md/png into ``folder`` (existing ones replaced only with ``overwrite``)."""
        return self.saver.save_to(folder, overwrite=overwrite)

    @staticmethod
    def _existing(folder: Path) -> list[str]:
        return [name for name in REPORT_FILES if (folder / name).exists()]


def uncertainty_summary(report) -> str:
    """The uncertainty's calibration at the hidden sections, in one sentence ('' without one)."""
    u = getattr(report, "uncertainty", None) or {}
    if not u:
        return ""
    coverage = "" if u.get("coverage") is None else f"its 90 % interval held {100 * u['coverage']:.0f} % of them, "
    return (f"Uncertainty at the hidden sections: rank correlation with the error {u['spearman']:.2f}; "
            f"{coverage}with this volume's scale {u['scale']:.2f}, which the Reconstruct widget now uses for this "
            f"layer's uncertainty (on the command line: --uncertainty-scale {u['scale']:.2f}).")
