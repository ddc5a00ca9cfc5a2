"""Small Qt helpers shared by the dock widgets."""

from __future__ import annotations

import math

from qtpy.QtCore import QSize, Qt
from qtpy.QtWidgets import QComboBox, QFrame, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget


def small_hint(text: str = "") -> QLabel:
    """A word-wrapped label in a slightly smaller font, for hints and status lines."""
    label = QLabel(text)
    label.setWordWrap(True)
    set_small_font(label)
    return label


def set_small_font(widget: QWidget) -> None:
    """A slightly smaller font for ``widget`` (hints, status lines, tables of results)."""
    font = widget.font()
    font.setPointSizeF(max(6.0, font.pointSizeF() * 0.9))
    widget.setFont(font)


def result_label() -> QLabel:
    """A word-wrapped label for a verdict or recommendation, selectable for copying."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def path_label() -> QLabel:
    """A small label for a file path: it never widens the dock (a path has no spaces to wrap at); the
    text is clipped at the dock's edge, selectable for copying, and whole in the tooltip."""
    label = small_hint()
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def format_duration(seconds: float) -> str:
    """"35 s", "4.2 min", "1.5 h"; "?" when not known yet (NaN or negative)."""
    if math.isnan(seconds) or seconds < 0:
        return "?"
    if seconds < 90:
        return f"{5 * round(seconds / 5):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def set_text_if_changed(label: QLabel, text: str) -> None:
    """Every repaint of the window costs time (a lot under software OpenGL): skip the unchanged ones."""
    if label.text() != text:
        label.setText(text)


DOCK_WIDTH_LINES = 25  # the widest a dock widget asks to be, in lines of text (350 px with napari's 9 pt font)


class BodyScrollArea(QScrollArea):
    """A scroll area that scrolls only vertically, whose body is never cut off at the right edge.

    Its size hint, the width napari's dock area gives it when it is docked, is its body's current hint with
    room for the vertical scroll bar, at most ``DOCK_WIDTH_LINES`` lines of text wide; its minimum width is the
    body's minimum with that room, so that a dock area narrowed by the user, or set by a narrower widget docked
    first, still shows the whole body. The body's minimum width must fit in the hint
    (tests/qt/test_dock_width.py): keep long texts wrapping, rows wrapping, columns sized to their contents.

    QScrollArea's own hint is its body's hint from the first time it is asked (napari asks before the theme
    and the body's texts are set), and neither leaves room for the scroll bar, which covers the body's right
    edge when the dock is short."""

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        body = self.widget()
        if body is None:
            return hint
        width = self._with_scroll_bar(body.sizeHint().expandedTo(body.minimumSizeHint()).width())
        return QSize(min(width, DOCK_WIDTH_LINES * self.fontMetrics().height()), hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        body = self.widget()
        if body is None:
            return hint
        return QSize(max(hint.width(), self._with_scroll_bar(body.minimumSizeHint().width())), hint.height())

    def _with_scroll_bar(self, body_width: int) -> int:
        return body_width + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()


def scrolling_body(widget: QWidget) -> tuple[QScrollArea, QVBoxLayout]:
    """Give ``widget`` a vertically scrolling body; return the scroll area and the body's layout. When
    the dock area is short (two widgets stacked on a small screen) the content scrolls instead of
    being squashed; it never scrolls sideways, it narrows down to the body's minimum width
    (:class:`BodyScrollArea`)."""
    outer = QVBoxLayout(widget)
    outer.setContentsMargins(0, 0, 0, 0)
    area = BodyScrollArea(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    body = QWidget()
    area.setWidget(body)
    outer.addWidget(area)
    return area, QVBoxLayout(body)


def keep_min_height(area: QScrollArea, cap: int) -> None:
    """Do not let a stacked dock squash ``area`` below its content's height (at most ``cap`` pixels)."""
    area.setMinimumHeight(min(cap, area.widget().sizeHint().height()))


DEVICE_TIP = "auto: CUDA GPU, else Apple GPU (mps), else CPU. Greyed: not on this machine."
PRECISION_TIP = ("The networks' arithmetic. auto: bfloat16 on a CPU with bfloat16 instructions and on recent GPUs "
                 "(2-4x faster, the same result within a grey level), float16 on other GPUs, float32 elsewhere. "
                 "Interpolation is always float32. Greyed: not on this machine.")


def mark_unavailable_precisions(combo: QComboBox) -> None:
    """Grey out the precisions of a precision combo box that no device of this machine can run."""
    from ...core.settings.device import available_devices
    from ...core.settings.precision import usable_precisions

    usable = set(usable_precisions(available_devices()))
    for index in range(combo.count()):
        if combo.itemText(index) not in usable:
            combo.model().item(index).setEnabled(False)


def mark_unavailable_devices(combo: QComboBox) -> None:
    """Grey out the devices of a device combo box (auto / cpu / cuda / mps) that this machine lacks."""
    from ...core.settings.device import available_devices

    available = set(available_devices())
    for index in range(combo.count()):
        name = combo.itemText(index)
        if name != "auto" and name not in available:
            combo.model().item(index).setEnabled(False)
