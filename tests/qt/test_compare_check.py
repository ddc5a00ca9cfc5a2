"""The Train widget's *Compare on hidden sections*: acquisitions compared on the same hidden sections, in the
background, to the core comparison's table and recommendation; refusals, Stop, the saved report."""

from __future__ import annotations

import json

import pytest
from qt_helpers import WAIT_MS, levels, set_tiny_settings

from napari_isorecon._qt.checks import acquisition_comparison
from napari_isorecon._qt.checks.acquisition_comparison import COLUMNS, DEFAULT_TICKED


@pytest.fixture
def compare_notes(notes, monkeypatch):
    """``notes`` with the compare panel's notifications too."""
    for level in ("error", "warning", "info"):
        if hasattr(acquisition_comparison, f"show_{level}"):
            monkeypatch.setattr(acquisition_comparison, f"show_{level}",
                                lambda message, level=level: notes.append((level, message)))
    return notes


def _tick(panel, *names: str) -> None:
    for name, box in panel.boxes.items():
        box.setChecked(name in names)


def _wait(qtbot, panel, *states: str) -> None:
    qtbot.waitUntil(lambda: panel.job_controller.state.value in states, timeout=3 * WAIT_MS)


def test_comparison_shows_a_row_per_pair_and_the_core_recommendation(qtbot, train_widget, tmp_path, compare_notes):
    panel = train_widget.compare_check
    assert panel.ticked() == list(DEFAULT_TICKED) and not panel.table.isVisibleTo(train_widget)
    _tick(panel, "serial-sections", "block-face", "learn")
    assert panel.start_comparison()
    assert panel.button.text() == "Stop comparison" and not panel.boxes["learn"].isEnabled()
    # one job at a time: neither training nor the single check starts beside it, nor a second comparison
    assert not train_widget.start_button.isEnabled() and not train_widget.hidden_check.button.isEnabled()
    assert train_widget.start_training() is False and train_widget.hidden_check.start_check() is False
    assert panel.start_comparison() is False and not train_widget.settings_box.isEnabled()
    _wait(qtbot, panel, "done")

    comparison = panel.comparison
    assert comparison is not None and [s["name"] for s in comparison.settings] == ["serial-sections", "block-face",
                                                                                    "learn"]
    assert [s["changes"] for s in comparison.settings] == [{"acquisition": n} for n in panel.names]
    # each acquisition's pair settings applied to the form's settings (its budget: 6 steps)
    assert [comparison.reports[n].thickness for n in panel.names] == [1.0, 0.5, 1.0]
    assert all(comparison.reports[n].training["steps"] == 6 for n in panel.names)
    assert panel.recommendation.text() == f"Recommendation: {comparison.recommendation}"
    assert panel.recommendation.isVisibleTo(train_widget) and panel.table.isVisibleTo(train_widget)
    assert panel.table.rowCount() == 3 == len(comparison.pairs)
    assert [panel.table.horizontalHeaderItem(c).text() for c in range(len(COLUMNS))] == list(COLUMNS)
    for row, pair in enumerate(comparison.pairs):  # the comparison's own numbers, formatted
        d = pair["psnr"]
        use = {pair["a"]: "A", pair["b"]: "B", None: "either"}[pair["better"]]
        assert [panel.table.item(row, c).text() for c in range(len(COLUMNS))] == [
            f"{pair['a']}\n- {pair['b']}", f"{d['mean']:+.2f}", f"{d['median']:+.2f}",
            f"{d['ci95'][0]:+.2f} to\n{d['ci95'][1]:+.2f}", f"{d['sections_won']}/{d['sections']}", use]
        assert panel.table.item(row, 5).toolTip() == pair["recommendation"]
    for s in comparison.settings:
        assert f"{s['name']} {s['summary']['ours']['psnr']:.2f} dB" in panel.scores.text()
    assert "3 acquisitions on the same 4 hidden sections" in panel.status.text()
    assert any(m == f"Comparison on hidden sections: {comparison.recommendation}" for m in levels(compare_notes, "info"))
    assert panel.minimumSizeHint().width() < 300  # the results never widen the dock much
    qtbot.waitUntil(lambda: panel.job_controller.job is None, timeout=WAIT_MS)
    assert panel.job_controller.progress is None and panel.boxes["learn"].isEnabled()
    assert train_widget.start_button.isEnabled() and train_widget.hidden_check.button.isEnabled()
    assert train_widget.model is None and not levels(compare_notes, "error")

    paths = panel.save_report_to(tmp_path / "cmp")
    saved = json.loads(paths["json"].read_text())
    assert saved["recommendation"] == comparison.recommendation and len(saved["pairs"]) == 3
    assert (tmp_path / "cmp" / "3-learn" / "report.md").exists()
    assert str(tmp_path / "cmp") in panel.saved_label.text()
    assert panel._existing(tmp_path / "cmp")[:2] == ["comparison.json", "comparison.md"]
    paths["md"].write_text("mine")
    assert panel.save_report_to(tmp_path / "cmp") is None  # never replaced silently
    assert any("exists" in m for m in levels(compare_notes, "error")) and paths["md"].read_text() == "mine"
    assert panel.save_report_to(tmp_path / "cmp", overwrite=True) and paths["md"].read_text() != "mine"


def test_fewer_than_two_acquisitions_are_refused(qtbot, train_widget, compare_notes):
    panel = train_widget.compare_check
    for ticked in ((), ("fib-sem",)):
        _tick(panel, *ticked)
        assert panel.start_comparison() is False
    assert levels(compare_notes, "error") == ["Tick at least two acquisitions to compare."] * 2
    assert panel.job_controller.state.value == "idle" and panel.job_controller.job is None
    assert train_widget.start_button.isEnabled()


def test_stop_ends_the_comparison_without_a_recommendation(qtbot, train_widget, compare_notes):
    set_tiny_settings(train_widget, steps=None, minutes=30)
    panel = train_widget.compare_check
    assert panel.start_comparison()
    qtbot.waitUntil(lambda: "serial-sections (1 of 2), training stage" in panel.status.text(), timeout=WAIT_MS)
    assert panel.job_controller.progress is not None
    panel.stop_comparison()
    assert panel.job_controller.state.value == "stopping" and not panel.button.isEnabled()
    _wait(qtbot, panel, "done")
    assert panel.comparison is None and panel.status.text() == "Comparison stopped: no recommendation."
    assert not panel.table.isVisibleTo(train_widget) and not panel.save_button.isVisibleTo(train_widget)
    qtbot.waitUntil(lambda: panel.job_controller.job is None, timeout=WAIT_MS)
    assert panel.job_controller.progress is None and panel.button.isEnabled()
    assert train_widget.start_button.isEnabled() and train_widget.hidden_check.button.isEnabled()
    assert not levels(compare_notes, "error")


def test_the_comparison_cannot_start_while_training(qtbot, train_widget, compare_notes):
    set_tiny_settings(train_widget, steps=None, minutes=30)
    assert train_widget.start_training()
    panel = train_widget.compare_check
    assert not panel.button.isEnabled() and panel.start_comparison() is False
    assert any("already running" in m for m in levels(compare_notes, "warning"))
    train_widget.stop_training()
    qtbot.waitUntil(lambda: train_widget.job_controller.job is None, timeout=WAIT_MS)
    assert panel.button.isEnabled()
