"""How a panel shows its results in a narrow dock: a read-only table that fits the dock's width
(:func:`result_table`, :func:`fit_height`) and a figure at the dock's width that opens full size on a click
(:class:`FigureThumbnail`). Used by the checks on hidden sections (``_qt/checks/``)."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QSizePolicy, QTableWidget

from .ui import set_small_font


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
    """A figure at the dock's width (it never widens the dock); a click shows it full size in a window of its
    own, titled ``title``."""

    MAX_WIDTH = 480

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.title = title
        self.full_size: QPixmap | None = None
        self.window_shown: QLabel | None = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def set_rgba(self, rgba: np.ndarray) -> None:
        """Show a figure drawn to RGBA pixels (height, width, 4), e.g. by a worker thread."""
        height, width = rgba.shape[:2]
        image = QImage(np.ascontiguousarray(rgba).data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
        self.set_figure(QPixmap.fromImage(image.copy()))

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
            self.window_shown.setWindowTitle(self.title)
        self.window_shown.setPixmap(self.full_size)
        self.window_shown.show()
        self.window_shown.raise_()
