"""Small Qt helpers shared by the dock widgets."""

from __future__ import annotations

import math

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QComboBox, QFrame, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget


def small_hint(text: str = "") -> QLabel:
    """A word-wrapped label in a slightly smaller font, for hints and status lines."""
    label = QLabel(text)
    label.setWordWrap(True)
    font = label.font()
    font.setPointSizeF(max(6.0, font.pointSizeF() * 0.9))
    label.setFont(font)
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


def scrolling_body(widget: QWidget) -> tuple[QScrollArea, QVBoxLayout]:
    """Give ``widget`` a vertically scrolling body; return the scroll area and the body's layout. When
    the dock area is short (two widgets stacked on a small screen) the content scrolls instead of
    being squashed; it never scrolls sideways, it narrows."""
    outer = QVBoxLayout(widget)
    outer.setContentsMargins(0, 0, 0, 0)
    area = QScrollArea(widget)
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
    from ..core.settings.device import available_devices
    from ..core.settings.precision import usable_precisions

    usable = set(usable_precisions(available_devices()))
    for index in range(combo.count()):
        if combo.itemText(index) not in usable:
            combo.model().item(index).setEnabled(False)


def mark_unavailable_devices(combo: QComboBox) -> None:
    """Grey out the devices of a device combo box (auto / cpu / cuda / mps) that this machine lacks."""
    from ..core.settings.device import available_devices

    available = set(available_devices())
    for index in range(combo.count()):
        name = combo.itemText(index)
        if name != "auto" and name not in available:
            combo.model().item(index).setEnabled(False)
