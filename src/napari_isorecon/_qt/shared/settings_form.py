"""magicgui widgets bound to the fields of an evented settings dataclass (psygnal ``@evented``).

The settings object is what the widget reads when it starts a job; the form only shows and edits it. Both
ways are kept in step: editing a field in the form sets the attribute, and setting the attribute (from
code, a test or a rule of the settings such as a preset) shows in the form. A value the form cannot show
(out of its range, more decimals) is written back as the form shows it, so the object and the form never
disagree.

A field says how it is shown in its metadata, made by :func:`ui`:
``channels: int = field(default=32, metadata=ui("Channels", "Feature channels...", min=4, max=256))``.
The options are magicgui's (``min``, ``max``, ``step``, ``choices``, ``widget_type``...) plus ``decimals``
for a float spin box.
"""

from __future__ import annotations

import dataclasses
import typing

from magicgui.widgets import create_widget
from magicgui.widgets.bases import ButtonWidget, ValueWidget, Widget
from qtpy.QtWidgets import QFormLayout, QHBoxLayout, QWidget


def ui(label: str | None = None, tooltip: str | None = None, **options) -> dict:
    """The metadata of a settings field: its label, tooltip and magicgui widget options."""
    return {"ui": {"label": label, "tooltip": tooltip, **options}}


def field_widget(settings, name: str, lifetime):
    """The magicgui widget of the field ``name`` of ``settings``, bound to it both ways; the connection
    from the settings to the widget is undone when ``lifetime`` (a :class:`.lifetime.WidgetLifetime`) ends."""
    field = next(f for f in dataclasses.fields(settings) if f.name == name)
    options = dict(field.metadata.get("ui", {}))
    label, tooltip, decimals = options.pop("label", None), options.pop("tooltip", None), options.pop("decimals", None)
    annotation = typing.get_type_hints(type(settings))[name]
    widget = create_widget(value=getattr(settings, name), annotation=annotation, name=name, label=label,
                           options={**options, "tooltip": tooltip})
    if decimals is not None:
        set_decimals(widget, decimals, getattr(settings, name))

    def show(value) -> None:
        widget.value = _in_range(widget, value)
        if widget.value != value:  # clamped or rounded: the settings hold what the form shows
            setattr(settings, name, widget.value)

    widget.changed.connect(lambda value: setattr(settings, name, value))
    lifetime.connect(getattr(settings.events, name), show)
    return widget


def _in_range(widget, value):
    """``value`` clamped to a spin box's range (magicgui refuses a value outside it)."""
    low, high = getattr(widget, "min", None), getattr(widget, "max", None)
    if low is None or high is None or not isinstance(value, (int, float)):
        return value
    return min(max(value, low), high)


def set_decimals(widget, decimals: int, value) -> None:
    """Show ``decimals`` decimals in a float spin box, then ``value`` (set after: Qt rounds to the decimals)."""
    widget.native.setDecimals(decimals)
    widget.value = value


def form(rows, inset: bool = False) -> QWidget:
    """A form of labelled rows, as napari lays out its layer controls: Qt aligns the labels whatever font the
    napari theme sets (a magicgui ``Container`` measures its labels before the theme applies, and its fields
    come out ragged). A row is a magicgui widget (labelled with its ``label``; a check box carries its own),
    a tuple ``(label, widget, ...)`` (several widgets side by side, the first stretched), or a Qt widget that
    spans the row. ``inset``: keep Qt's margins around the form (e.g. inside a collapsible box).

    A row too wide for the dock puts its field under its label instead of widening the dock (a long choice
    such as an acquisition's stays whole)."""
    box = QWidget()
    layout = QFormLayout(box)
    layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    if not inset:
        layout.setContentsMargins(0, 0, 0, 0)
    for entry in rows:
        if isinstance(entry, tuple):
            label, *widgets = entry
            layout.addRow(label, _side_by_side([_native(widget) for widget in widgets]))
        elif isinstance(entry, ValueWidget) and not isinstance(entry, ButtonWidget):
            layout.addRow(entry.label, entry.native)
        else:
            layout.addRow(_native(entry))
    return box


def _native(widget) -> QWidget:
    return widget.native if isinstance(widget, Widget) else widget


def _side_by_side(natives: list[QWidget]) -> QWidget | QHBoxLayout:
    if len(natives) == 1:
        return natives[0]
    line = QHBoxLayout()
    for index, native in enumerate(natives):
        line.addWidget(native, 1 if index == 0 else 0)
    return line
