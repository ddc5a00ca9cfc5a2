"""While training, the Train dock shows the run: with the Reconstruct dock stacked under it in a 1400 x 900
window, the dock's body is taller than what it shows, and pressing Start scrolls it so that the status line
(the progress) and the live loss plot are in view, not left below the settings form."""

from __future__ import annotations

from qt_helpers import PLUGIN, WAIT_MS, set_tiny_settings, wait_for_state
from qtpy.QtCore import QPoint, QRect

LAYOUT_MS = 5_000


def shown_rect(widget, area) -> QRect:
    """``widget``'s rectangle in the viewport of the scroll area ``area`` (it may lie outside it)."""
    return QRect(widget.mapTo(area.viewport(), QPoint(0, 0)), widget.size())


def in_view(widget, area) -> bool:
    """Whether the whole of ``widget`` lies within what ``area`` shows."""
    viewport = area.viewport().rect()
    return widget.isVisible() and viewport.intersected(shown_rect(widget, area)) == shown_rect(widget, area)


def test_starting_training_brings_the_progress_and_the_loss_plot_into_view(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    viewer.open_sample(PLUGIN, "anisotropic_em")
    (_, train), (_, recon) = (viewer.window.add_plugin_dock_widget(PLUGIN, name) for name in ("Train", "Reconstruct"))
    area = train._scroll
    qtbot.waitUntil(lambda: area.viewport().height() > 100 and recon._scroll.viewport().height() > 100,
                    timeout=LAYOUT_MS)
    # the situation users met: the form fills the dock, the plot lies below what it shows
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0, timeout=LAYOUT_MS)
    assert area.verticalScrollBar().value() == 0 and not in_view(train.loss_plot, area)

    set_tiny_settings(train, steps=400)
    train.start_button.click()
    qtbot.waitUntil(lambda: train.loss_plot.point_count() > 0, timeout=WAIT_MS)
    # the Stop button, the status line (the progress) and the plot, all in view while it trains
    qtbot.waitUntil(lambda: all(in_view(widget, area) for widget in (train.start_button, train.status, train.loss_plot)),
                    timeout=LAYOUT_MS)
    assert train.job_controller.busy

    area.verticalScrollBar().setValue(0)  # the user scrolls back up to the (disabled) form: the dock stays there
    qtbot.waitUntil(lambda: train.loss_plot.point_count() > 4, timeout=WAIT_MS)
    assert area.verticalScrollBar().value() == 0
    train.stop_training()
    wait_for_state(qtbot, train, "done")
