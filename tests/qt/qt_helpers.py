"""Helpers shared by the widget tests."""

from __future__ import annotations

PLUGIN = "napari-isorecon"
WAIT_MS = 60_000


def levels(notes, level: str) -> list[str]:
    return [message for kind, message in notes if kind == level]


def set_tiny_settings(widget, steps: int | None = 6, minutes: float | None = None, preview_every: int = 3,
                      pairs: str = "kernel"):
    """Small networks and patches: a step takes a few hundredths of a second on a CPU. ``pairs``: the stage-2
    pairs; "kernel" (both stages, the learned degradation) unless a test is about the default sections."""
    settings = widget.settings
    settings.stage2_pairs = pairs
    settings.channels = 8
    settings.blocks = 1
    settings.patch_width = 32
    settings.batch_size = 2
    settings.device = "cpu"
    settings.preview_every = preview_every
    if steps is not None:
        settings.budget_unit = "steps"
        settings.budget = steps
    else:
        settings.budget_unit = "minutes"
        settings.budget = minutes


def wait_for_state(qtbot, widget, *names: str, timeout: int = WAIT_MS):
    qtbot.waitUntil(lambda: widget.job_controller.state.value in names, timeout=timeout)
