"""Keeping a training run in view in the Train dock: from the Start/Stop button and the status line (the
progress) down to the live loss plot.

Pressing Start scrolls the dock there: the settings above, disabled while training, scroll away (the user may
scroll back). While the run goes on, the lines above the plot may change height (the status, the form's hints)
and move it: the dock follows, until the user scrolls it themselves (tests/qt/test_train_dock_in_view.py).
"""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import QCoreApplication, QEvent, QObject, QPoint, QTimer
from qtpy.QtWidgets import QScrollArea, QWidget


class RunInView(QObject):
    """Scrolls ``area`` (the dock's scrolling body) to show ``first`` down to ``plot``, and keeps them shown while
    ``busy()`` until the user scrolls; a child of the widget that owns ``area`` (``parent``)."""

    def __init__(self, area: QScrollArea, first: QWidget, plot: QWidget, busy: Callable[[], bool], parent=None):
        super().__init__(parent)
        self.area, self.first, self.plot, self.busy = area, first, plot, busy
        self.following = False  # whether the dock keeps the run in view until the user scrolls
        self._shown_at = 0  # the scroll value show() set
        area.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        plot.installEventFilter(self)

    def follow(self) -> None:
        """Show the run now and keep it shown while it runs (a run starts)."""
        self.following = True
        self.show()

    def show(self) -> None:
        """Scroll so that the run is in view: from ``first`` down to ``plot``; no further than that. Too short for
        all of it, it shows the whole plot, or the plot's top if even that does not fit."""
        # the layouts that the new texts and hidden lines (the button's, the form's hints) asked for, done
        # before measuring: the form above the button may have changed its height
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        body = self.area.widget()

        def top(widget) -> int:
            return widget.mapTo(body, QPoint(0, 0)).y()

        first, plot_top = top(self.first), top(self.plot)
        last = plot_top + self.plot.height()
        bar, shown = self.area.verticalScrollBar(), self.area.viewport().height()
        lowest, highest = last - shown, first  # the scroll values that show it all, when lowest <= highest
        value = min(max(bar.value(), lowest), highest) if lowest <= highest else min(lowest, plot_top)
        self._shown_at = value
        bar.setValue(value)

    def _on_scrolled(self, value: int) -> None:
        if value != self._shown_at:  # the user scrolled: leave the dock where they put it
            self.following = False

    def _follow(self) -> None:
        if self.following and self.busy():
            self.show()

    def eventFilter(self, watched, event) -> bool:
        """The plot moved while the dock follows the run (the lines above it changed): show the run again, once
        the layouts are done."""
        if watched is self.plot and event.type() == QEvent.Type.Move and self.following:
            QTimer.singleShot(0, self._follow)
        return super().eventFilter(watched, event)
