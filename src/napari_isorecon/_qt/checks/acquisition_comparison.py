"""The Train widget's *Compare on hidden sections*: which acquisition to use, decided on the user's own data.

The ticked acquisitions (core.settings.acquisition: serial sections, block-face, FIB-SEM, learn) are each
applied to the Train widget's settings, and the hidden-section check runs once per acquisition on the same
hidden sections (core.checks.compare_settings, as ``isorecon validate --compare acquisition=...``). The
result is the core comparison's own: one row per pair of acquisitions (the paired difference of ours' PSNR,
its bootstrap 95% interval, the median and the sections won) and its recommendation. *Save report...*
(``shared/report_saving.py``) writes comparison.json, comparison.md and each acquisition's report. The job
(``check_jobs.py``) runs like the single check (a worker, a progress bar, Stop), and it cannot start while
training or a check runs, nor they while it runs.
"""

from __future__ import annotations

from pathlib import Path

from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QCheckBox, QFrame, QPushButton, QTableWidgetItem, QVBoxLayout, QWidget

from ...core.events import CheckProgress, HiddenSectionsChecked, PartEvent, SettingsCompared, StageStarted
from ...core.settings.acquisition import ACQUISITIONS
from ..shared.job_controller import JobController, JobLook
from ..shared.lifetime import WidgetLifetime
from ..shared.report_saving import ReportKind, ReportSaver
from ..shared.result_views import fit_height, result_table
from ..shared.ui import format_duration, result_label, set_text_if_changed, small_hint
from ..shared.workers import TrainStepBatch
from .check_jobs import check_input, comparison_events

TRAIN_SHARE = 0.9  # of one acquisition's share of the bar: training; the rest is reconstructing and scoring
DEFAULT_TICKED = ("serial-sections", "learn")
COLUMNS = ("A - B", "mean\ndB", "median\ndB", "95%\ninterval", "A\nwon", "use")
COMPARE_LOOK = JobLook("Compare on hidden sections", "Stop comparison", "Stopping...",
                       stopping_note="Comparison: stopping after the current step (no recommendation).")
COMPARE_TIP = ("Runs the hidden-section check once per ticked acquisition (the settings above with that "
               "acquisition's pair settings, the same budget and seed each) on the same hidden sections, and "
               "says which to use. Takes about as long as training, once per acquisition.")
REPORT = ReportKind("comparison", "comparison.md, a folder per acquisition", "No comparison yet: run it first.",
                    "Write comparison.json, comparison.md and each acquisition's report (in a folder of its own) "
                    "into a folder.")
INTRO = ("Not sure how your microscope made the stack? Compare acquisitions on your own hidden sections: "
         "each pair's difference of ours' PSNR (A - B) with its 95% interval, and which one to use.")


def pair_cells(pair: dict) -> list[tuple[str, str]]:
    """(text, tooltip) of each column for one pair of the comparison: its own numbers, formatted."""
    from ...core.checks.paired_stats import wins_text

    d = pair["psnr"]
    lo, hi = d["ci95"]
    first = f"{pair['a']} - {pair['b']}"
    use = {pair["a"]: "A", pair["b"]: "B", None: "either"}[pair["better"]]
    return [(f"{pair['a']}\n- {pair['b']}", f"A: {pair['a']}, B: {pair['b']}"),
            (f"{d['mean']:+.2f}", f"{first}: mean {d['mean']:+.3f} dB PSNR, standard error {d['sem']:.3f}"),
            (f"{d['median']:+.2f}", f"{first}: median difference, dB PSNR"),
            (f"{lo:+.2f} to\n{hi:+.2f}", f"{first}: bootstrap 95% interval of the mean difference, dB PSNR"),
            (f"{d['sections_won']}/{d['sections']}", f"{pair['a']} better on {wins_text(d)}"),
            (use, pair["recommendation"])]


class CompareOnHiddenSections(QWidget):
    """Acquisition boxes, button, status, recommendation, pair table and *Save report...* for one Train widget
    (``owner``: its layer picker, settings, training and single check are read from there)."""

    def __init__(self, owner, parent=None):
        super().__init__(parent)
        self.owner = owner
        self._lifetime = WidgetLifetime(owner)  # ends the job when the Train widget goes away
        others = (owner.job_controller, owner.hidden_check.job_controller)
        self.job_controller = JobController(
            self._lifetime, "Comparison", notice_title="Comparison on hidden sections", blockers=others,
            busy_message="Training or a check is already running: stop it or wait for it to end first.")
        for other in others:  # and neither starts while the comparison runs
            other.add_blocker(self.job_controller)
        self.comparison = None
        self.names: list[str] = []  # the acquisitions of the running or last comparison
        self._current = 0
        self._build()
        self.job_controller.show_on(self.button, self.status, COMPARE_LOOK, self.start_comparison)
        self.job_controller.changed.connect(self._enable_boxes)

    def _enable_boxes(self, *_) -> None:
        for box in self.boxes.values():
            box.setEnabled(not self.busy)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        layout.addWidget(small_hint(INTRO))
        self.boxes: dict[str, QCheckBox] = {}
        for entry in ACQUISITIONS:
            box = QCheckBox(entry.label)
            box.setToolTip(f"{entry.name}: {entry.help}")
            box.setChecked(entry.name in DEFAULT_TICKED)
            layout.addWidget(box)
            self.boxes[entry.name] = box
        self.button = QPushButton()
        self.button.setToolTip(COMPARE_TIP)
        layout.addWidget(self.button)
        self.status = small_hint()
        layout.addWidget(self.status)
        self.recommendation = result_label()
        layout.addWidget(self.recommendation)
        self.scores = small_hint()
        self.scores.setToolTip("Ours' mean PSNR over the scored hidden sections, per acquisition, and whether "
                               "ours beats interpolation there (each acquisition's own check verdict).")
        layout.addWidget(self.scores)
        self.table = result_table(0, COLUMNS)  # the first column (the pair's names) takes what is left
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("One row per pair A - B (ours' PSNR of A minus that of B, section by section, dB): "
                              "the mean, the median, the bootstrap 95% interval of the mean, the sections A wins, "
                              "and which to use (either: within the uncertainty). A row's last cell says it in "
                              "words.")
        layout.addWidget(self.table)
        self.saver = ReportSaver(REPORT, lambda: self.comparison, self._existing)
        self.save_button, self.saved_label = self.saver.button, self.saver.label
        layout.addWidget(self.saver)
        self._show_comparison(None)

    # ------------------------------------------------------------------ running
    @property
    def busy(self) -> bool:
        return self.job_controller.busy

    def ticked(self) -> list[str]:
        """The ticked acquisitions, in the order of the list."""
        return [name for name, box in self.boxes.items() if box.isChecked()]

    def start_comparison(self) -> bool:
        """Start comparing the ticked acquisitions on the Train widget's layer and settings; False (and a
        notification) when it cannot."""
        if self.job_controller.refuse_start():
            return False
        names = self.ticked()
        if len(names) < 2:
            show_error("Tick at least two acquisitions to compare.")
            return False
        picked = check_input(self.owner)
        if picked is None:
            return False
        layer, data, config = picked
        self.names, self._current = names, 0
        self._show_comparison(None)
        self.job_controller.start(lambda stop: comparison_events(data, config, names, stop), self._on_event,
                                  "IsoRecon comparison on hidden sections")
        self.status.setText(f"Comparing {', '.join(names)} on every other section of '{layer.name}'...")
        return True

    def stop_comparison(self) -> None:
        """End the comparison after the current step; no recommendation is given."""
        self.job_controller.stop()

    def _advance(self, within: float, what: str, status: str) -> None:
        n, i = len(self.names), self._current
        self.job_controller.advance((i + within) / n, f"compare, {self.names[i]}: {what}")
        set_text_if_changed(self.status, f"Comparing: {self.names[i]} ({i + 1} of {n}), {status}.")

    def _on_event(self, event) -> None:
        if isinstance(event, PartEvent):
            if event.part in self.names:
                self._current = self.names.index(event.part)
            event = event.event
        if isinstance(event, TrainStepBatch):
            step = event.last
            left = format_duration(step.seconds_left)
            self._advance(TRAIN_SHARE * step.progress, f"stage {step.stage}, {left} left",
                          f"training stage {step.stage}: {int(step.progress * 100)}% of the budget, about {left} "
                          "left")
        elif isinstance(event, StageStarted):
            self._advance(0.0, f"stage {event.stage}", f"training stage {event.stage}")
        elif isinstance(event, CheckProgress):
            self._advance(TRAIN_SHARE + (1 - TRAIN_SHARE) * event.progress, event.phase,
                          f"{event.phase}, {int(event.progress * 100)}%")
        elif isinstance(event, HiddenSectionsChecked) and event.report is not None:
            set_text_if_changed(self.status, f"Comparing: {self.names[self._current]} checked.")
        elif isinstance(event, SettingsCompared):
            self.job_controller.finish()
            if event.comparison is None:
                self.status.setText("Comparison stopped: no recommendation.")
                return
            self._show_comparison(event.comparison)
            self.status.setText(f"Comparison done: {len(self.names)} acquisitions on the same "
                                f"{len(event.comparison.sections)} hidden sections.")
            show_info(f"Comparison on hidden sections: {event.comparison.recommendation}")

    # ------------------------------------------------------------------ the result
    def _show_comparison(self, comparison) -> None:
        self.comparison = comparison
        self.saver.show_for(comparison is not None)
        for widget in (self.recommendation, self.scores, self.table):
            widget.setVisible(comparison is not None)
        if comparison is None:
            return
        from ...core.checks.compare_report import PAIR_RULE

        self.recommendation.setText(f"Recommendation: {comparison.recommendation}")
        self.recommendation.setToolTip(f"{PAIR_RULE} ({comparison.base}.)")
        self.scores.setText("Ours' PSNR: " + ", ".join(
            f"{s['name']} {s['summary']['ours']['psnr']:.2f} dB"
            f"{'' if s['ours_beats_interpolation'] else ' (not better than interpolation)'}"
            for s in comparison.settings) + ".")
        self.table.setRowCount(len(comparison.pairs))
        for row, pair in enumerate(comparison.pairs):
            for col, (text, tip) in enumerate(pair_cells(pair)):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                item.setTextAlignment(Qt.AlignmentFlag.AlignVCenter | (Qt.AlignmentFlag.AlignLeft if col == 0
                                                                       else Qt.AlignmentFlag.AlignCenter))
                self.table.setItem(row, col, item)
        self.table.resizeRowsToContents()
        fit_height(self.table)

    def save_report_to(self, folder, overwrite: bool = False) -> dict | None:
        """Write comparison.json/md and each acquisition's report into ``folder`` (existing files replaced only
        with ``overwrite``)."""
        return self.saver.save_to(folder, overwrite=overwrite)

    def _existing(self, folder) -> list[str]:
        from ...core.checks.compare_report import comparison_paths

        names = [s["name"] for s in self.comparison.settings]
        return [str(p.relative_to(folder)) for p in comparison_paths(Path(folder), names) if p.exists()]
