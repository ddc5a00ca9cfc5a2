"""Helpers shared by the widget tests."""

from __future__ import annotations

PLUGIN = "napari-isorecon"
WAIT_MS = 60_000


def levels(notes, level: str) -> list[str]:
    return [message for kind, message in notes if kind == level]


def set_tiny_settings(widget, steps: int | None = 6, minutes: float | None = None, preview_every: int = 3):
    """Small networks and patches: a step takes a few hundredths of a second on a CPU."""
    widget.channels.setValue(8)
    widget.blocks.setValue(1)
    widget.patch_width.setValue(32)
    widget.batch_size.setValue(2)
    widget.device.setCurrentText("cpu")
    widget.preview_every.setValue(preview_every)
    if steps is not None:
        widget.budget_unit.setCurrentText("steps")
        widget.budget.setValue(steps)
    else:
        widget.budget_unit.setCurrentText("minutes")
        widget.budget.setValue(minutes)


def wait_for_state(qtbot, widget, *names: str, timeout: int = WAIT_MS):
    qtbot.waitUntil(lambda: widget.job_controller.state.value in names, timeout=timeout)
