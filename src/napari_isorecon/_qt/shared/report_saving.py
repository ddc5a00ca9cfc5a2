"""*Save report...*: the one way a panel writes its result's report into a folder the user picks.

A :class:`ReportSaver` is the button and the line under it saying where the report went. The folder comes from a
dialog; files the report would replace are named in a "replace?" question first, and replaced only on Yes (the
result's own ``save`` refuses to replace anything unless told to). Used by the hidden-section check and the
comparison of acquisitions (``_qt/checks/``); the result is anything with ``save(folder, overwrite=...)`` that
returns its paths, ``"md"`` among them (``core.checks.hidden_report``, ``core.checks.compare_report``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QMessageBox, QPushButton, QVBoxLayout, QWidget

from ...core.errors import IsoReconError
from .ui import path_label

SHOWN_EXISTING = 4  # files named in the "replace?" question; the others are counted


@dataclass(frozen=True)
class ReportKind:
    """What a panel saves, in the words of its messages."""

    name: str  # "hidden-section report": "Folder for the ...", "Replace the ...?", "... written to ..."
    files: str  # what the folder receives, said after the folder once written
    missing: str  # the warning when there is no result to save yet
    tip: str  # the button's tooltip


class ReportSaver(QWidget):
    """The *Save report...* button and the line saying where the report went.

    ``report()`` gives the result to save (None: nothing yet); ``existing(folder)`` the files, relative to
    ``folder``, that saving there would replace.
    """

    def __init__(self, kind: ReportKind, report: Callable[[], object | None],
                 existing: Callable[[Path], list[str]], parent=None):
        super().__init__(parent)
        self.kind, self.report, self.existing = kind, report, existing
        self.paths: dict | None = None  # what the last save wrote
        self.last_folder = str(Path.home())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.button = QPushButton("Save report...")
        self.button.setToolTip(kind.tip)
        self.button.clicked.connect(self._on_clicked)
        row.addWidget(self.button)
        row.addStretch(1)
        layout.addLayout(row)
        self.label = path_label()
        layout.addWidget(self.label)

    def show_for(self, available: bool) -> None:
        """A new result (``available``) or none: the button shown only with one, nothing said saved yet."""
        self.paths = None
        self.label.setText("")
        self.button.setEnabled(available)
        self.button.setVisible(available)

    def save_to(self, folder, overwrite: bool = False) -> dict | None:
        """Write the report into ``folder`` (existing files replaced only with ``overwrite``); its paths, or None
        (and a notification) when there is nothing to save or it cannot be written."""
        report = self.report()
        if report is None:
            show_warning(self.kind.missing)
            return None
        try:
            paths = report.save(folder, overwrite=overwrite)
        except (IsoReconError, OSError) as exc:
            show_error(str(exc) if isinstance(exc, IsoReconError) else f"Cannot write the {self.kind.name}: {exc}")
            return None
        self.paths = paths
        written = f"{self.kind.name[0].upper()}{self.kind.name[1:]} written to"
        self.label.setText(f"{written} {Path(folder)} ({self.kind.files})")
        self.label.setToolTip(str(paths["md"]))
        show_info(f"{written} {paths['md']}.")
        return paths

    def _on_clicked(self) -> None:
        folder = self.ask_folder()
        if not folder:
            return
        existing = self.existing(Path(folder))
        if existing and not self.confirm_replace(folder, existing):
            return
        self.save_to(folder, overwrite=bool(existing))

    def ask_folder(self) -> str | None:
        """The folder the user picks (None: cancelled); the next dialog opens there."""
        folder = QFileDialog.getExistingDirectory(self, f"Folder for the {self.kind.name}", self.last_folder)
        if folder:
            self.last_folder = folder
        return folder or None

    def confirm_replace(self, folder: str, existing: list[str]) -> bool:
        """Whether the user lets the report replace ``existing`` in ``folder``."""
        shown = ", ".join(existing[:SHOWN_EXISTING])
        if len(existing) > SHOWN_EXISTING:
            shown += f" and {len(existing) - SHOWN_EXISTING} more"
        answer = QMessageBox.question(self, f"Replace the {self.kind.name}?", f"{shown} already in {folder}: replace?")
        return answer == QMessageBox.StandardButton.Yes
