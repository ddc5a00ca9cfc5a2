"""The dock widgets fit the width napari gives them when it docks them: no control, button or table column is
cut off at the dock's right edge (the body never scrolls sideways).

The viewer is shown (under Xvfb) at napari's default window size, so that its main window lays the docks out
as it does for a user; the width is measured there, not assumed. What a dock asks for is its scroll area's size
hint (``_qt.shared.ui.BodyScrollArea``): at most ``DOCK_WIDTH_LINES`` lines of text wide, whatever the body wants. Its
minimum is the body's: a body too wide for the default would widen the dock past it, and fail here."""

from __future__ import annotations

import numpy as np
import pytest
from qt_helpers import PLUGIN
from qtpy.QtCore import QPoint
from qtpy.QtWidgets import QAbstractScrollArea, QDockWidget, QTableWidgetItem, QWidget

from napari_isorecon._qt.checks.acquisition_comparison import pair_cells
from napari_isorecon._qt.shared.ui import DOCK_WIDTH_LINES
from napari_isorecon.core.checks.paired_stats import paired_difference


@pytest.fixture
def shown_viewer(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.open_sample(PLUGIN, "anisotropic_em")
    return viewer


LAYOUT_MS = 5_000  # what laying the docks out may take on a loaded machine (it takes a few event loop turns)


def laid_out(widget: QWidget) -> bool:
    """Whether no layout that places ``widget`` is waiting to be redone: none of its own, of its children's or of
    its ancestors' (napari's main window) layouts was invalidated since it last ran (``QLayout::invalidate``
    nulls a layout's geometry until the posted LayoutRequest runs it again; a QDockWidget's layout never keeps
    one), and its scroll area has resized its body to the viewport as ``QScrollArea`` does when it lays out a
    resizable body (the viewport's width, or the body's minimum if that is wider)."""
    ancestors, parent = [], widget.parentWidget()
    while parent is not None:
        ancestors.append(parent)
        parent = parent.parentWidget()
    for each in (*ancestors, widget, *widget.findChildren(QWidget)):
        layout = each.layout()
        if (each.isVisible() and layout is not None and not isinstance(each, QDockWidget)
                and layout.geometry().isNull()):
            return False
    area = widget._scroll
    body = area.widget()
    return body.width() == max(area.viewport().width(), body.minimumSizeHint().width(), body.minimumWidth())


def wait_laid_out(qtbot, *widgets: QWidget) -> None:
    qtbot.waitUntil(lambda: all(laid_out(widget) for widget in widgets), timeout=LAYOUT_MS)


def dock(viewer, qtbot, *names: str) -> list:
    """Dock ``names`` as napari's Plugins menu does; wait until the main window has laid them out."""
    docked = [widget for _, widget in (viewer.window.add_plugin_dock_widget(PLUGIN, name) for name in names)]
    qtbot.waitUntil(lambda: all(widget._scroll.viewport().width() > 100 for widget in docked), timeout=LAYOUT_MS)
    wait_laid_out(qtbot, *docked)  # and the layout requests posted while docking have run
    return docked


def inside_scroll_area(widget: QWidget, body: QWidget) -> bool:
    """Whether ``widget`` is part of a scroll area of the body (a table's header and cells): those are
    checked by their own rules."""
    parent = widget.parentWidget()
    while parent is not None and parent is not body:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def assert_fits(widget) -> None:
    """Nothing of ``widget``'s body lies right of what its dock shows, and the dock is no wider than a dock
    asks to be by default (a body too wide for that would widen the dock past it)."""
    area = widget._scroll
    assert area.width() <= DOCK_WIDTH_LINES * area.fontMetrics().height()
    body, shown = area.widget(), area.viewport().width()
    assert area.horizontalScrollBar().maximum() == 0
    assert body.minimumSizeHint().width() <= shown, (
        f"{type(widget).__name__}: the body needs {body.minimumSizeHint().width()} px, the dock shows {shown}")
    assert body.width() <= shown
    for child in body.findChildren(QWidget):
        if child.isVisible() and not inside_scroll_area(child, body):
            right = child.mapTo(body, QPoint(child.width(), 0)).x()
            assert right <= shown, f"{type(child).__name__} {getattr(child, 'text', str)()!r} ends at {right} > {shown}"


def assert_columns_fit(table) -> None:
    """Every column of ``table`` within its width, none narrower than its header or cells."""
    header = table.horizontalHeader()
    assert header.length() <= table.viewport().width()
    for column in range(table.columnCount()):
        wanted = max(header.sectionSizeHint(column), table.sizeHintForColumn(column))
        assert wanted <= header.sectionSize(column), f"column {column}: {wanted} > {header.sectionSize(column)}"


def test_the_train_widget_fits_its_default_dock_width(shown_viewer, qtbot):
    (train,) = dock(shown_viewer, qtbot, "Train")
    width = train._scroll.width()
    assert_fits(train)
    train.settings_box.advanced.expand(animate=False)
    qtbot.waitUntil(lambda: train.settings_box.advanced.isExpanded())
    wait_laid_out(qtbot, train)  # the expanded section's rows placed
    assert_fits(train)

    # the results of the checks: the hidden-section table and the widest pair of the comparison
    check, compare = train.hidden_check, train.compare_check
    for part in (check.verdict, check.measures, check.table, check.save_button, compare.recommendation,
                 compare.scores, compare.table, compare.save_button):
        part.setVisible(True)
    rng = np.random.default_rng(0)
    psnr = paired_difference(rng.normal(-10, 1, 12), rng.normal(10, 1, 12), bootstrap=True)
    pair = {"a": "serial-sections", "b": "block-face", "better": "block-face", "recommendation": "Use block-face.",
            "psnr": psnr}
    compare.table.setRowCount(1)
    for column, (text, _) in enumerate(pair_cells(pair)):
        compare.table.setItem(0, column, QTableWidgetItem(text))
    compare.table.resizeRowsToContents()
    wait_laid_out(qtbot, train)
    assert train._scroll.width() == width
    assert_fits(train)
    assert_columns_fit(check.table)
    assert_columns_fit(compare.table)


def test_the_reconstruct_widget_fits_alone_and_under_the_train_widget(shown_viewer, qtbot):
    (recon,) = dock(shown_viewer, qtbot, "Reconstruct")
    assert_fits(recon)
    recon.settings.model_source = "Model file"  # the file row: path and Browse...
    wait_laid_out(qtbot, recon)
    assert_fits(recon)
    (train,) = dock(shown_viewer, qtbot, "Train")  # both in the right area, stacked: short docks scroll
    # the docks are laid out again after the event loop runs: under load that takes longer than a fixed wait
    qtbot.waitUntil(recon._scroll.verticalScrollBar().isVisible, timeout=LAYOUT_MS)
    wait_laid_out(qtbot, train, recon)  # and the layout requests its appearing posts
    assert_fits(train)
    assert_fits(recon)
