"""The Train widget's *Check on hidden sections*: runs in the background to a verdict, Stop, failures, report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qt_helpers import WAIT_MS, levels, set_tiny_settings
from qtpy.QtCore import Qt

from napari_isorecon._qt.checks.hidden_section_check import METHODS


def _wait_check(qtbot, check, *states: str) -> None:
    qtbot.waitUntil(lambda: check.job_controller.state.value in states, timeout=WAIT_MS)


def test_check_runs_to_a_verdict_with_table_figure_and_report(qtbot, train_widget, tmp_path, notes, monkeypatch):
    check = train_widget.hidden_check
    assert not check.table.isVisible() and not check.save_button.isEnabled()
    assert check.start_check()
    assert check.button.text() == "Stop check"
    assert not train_widget.start_button.isEnabled()  # one job at a time
    assert train_widget.start_training() is False and check.start_check() is False
    assert any("already running" in m for m in levels(notes, "warning"))
    _wait_check(qtbot, check, "done")

    report = check.report
    assert report is not None and len(report.sections) == 4  # the sample's 10 sections: 1, 3, 5, 7 hidden
    assert report.z_factor == 5 and report.training["steps"] == 6  # trained at 2F with the widget's budget
    for row, method in enumerate(METHODS):  # the table shows the report's own numbers
        psnr, ssim = report.summary[method]["psnr"], report.summary[method]["ssim"]
        assert check.table.verticalHeaderItem(row).text() == method
        assert check.table.item(row, 0).text() == f"{psnr:.2f}"
        assert check.table.item(row, 1).text() == f"{ssim:.3f}"
        assert f"{report.summary[method]['psnr_std']:.2f}" in check.table.item(row, 0).toolTip()
        intensity = report.intensity[method]  # the intensity bias and contrast ratio beside the scores
        assert check.table.item(row, 2).text() == f"{intensity['bias']:+.1f}"
        assert check.table.item(row, 3).text() == f"{intensity['contrast_ratio']:.2f}"
    assert check.artefacts.text() == "No dataset artefacts found in the 10 input sections."
    assert check.verdict.text() == f"Verdict: {report.verdict}" and check.verdict.isVisibleTo(train_widget)
    peaks = report.spectra["section_peak"]  # at the check's 2F = 10: 5 kept sections, 50 rows
    assert peaks["ours"]["1/F"] is None and peaks["ours"]["2/F"] is not None  # 1/10 is 5 bins from zero
    assert check.spectra_label.isVisibleTo(train_widget)
    assert (f"ours - / {peaks['ours']['2/F']:.2f}, cubic - / {peaks['cubic']['2/F']:.2f}"
            in check.spectra_label.text())
    assert "peak at 1/10 / 2/10" in check.spectra_label.text() and "z/x" in check.spectra_label.toolTip()
    u = report.uncertainty  # the widget's check calibrates the uncertainty on the hidden sections, and says so
    assert u and check.uncertainty_label.isVisibleTo(train_widget)
    assert f"--uncertainty-scale {u['scale']:.2f}" in check.uncertainty_label.text()
    assert f"{100 * u['coverage']:.0f} %" in check.uncertainty_label.text()
    assert train_widget.session.uncertainty_scale_for(check._checked_layer) == pytest.approx(u["scale"])
    assert check.figure_rgba is not None and not check.figure_label.pixmap().isNull()
    assert check.figure_label.full_size.width() == check.figure_rgba.shape[1]
    assert check.minimumSizeHint().width() < 250  # the results never widen the dock
    check.figure_label.resize(240, 10)  # a narrow dock: the figure follows its width
    check.figure_label._fit()
    assert check.figure_label.pixmap().width() == 240 == check.figure_label.width()
    qtbot.mouseClick(check.figure_label, Qt.MouseButton.LeftButton)  # full size in a window of its own
    assert check.figure_label.window_shown.isVisible()
    assert check.button.text() == "Check on hidden sections" and train_widget.start_button.isEnabled()
    assert train_widget.model is None  # the check's model (at 2F) is not the widget's model
    qtbot.waitUntil(lambda: check.job_controller.job is None, timeout=WAIT_MS)
    assert check.job_controller.progress is None
    assert not levels(notes, "error")

    paths = check.save_report_to(tmp_path / "report")
    assert sorted(p.name for p in paths.values()) == ["report.json", "report.md", "report.png"]
    assert json.loads(paths["json"].read_text())["verdict"] == report.verdict
    assert str(tmp_path / "report") in check.saved_label.text()
    before = paths["md"].read_text()
    paths["md"].write_text("mine")
    assert check.save_report_to(tmp_path / "report") is None  # never replaced silently
    assert any("exists" in m for m in levels(notes, "error")) and paths["md"].read_text() == "mine"
    monkeypatch.setattr(check.saver, "ask_folder", lambda: str(tmp_path / "report"))
    monkeypatch.setattr(check.saver, "confirm_replace", lambda folder, existing: False)  # the user says no
    check.save_button.click()
    assert paths["md"].read_text() == "mine"
    replaced = ["report.json", "report.md", "report.png"]  # the user is asked about all three, and says yes
    monkeypatch.setattr(check.saver, "confirm_replace", lambda folder, existing: existing == replaced)
    check.save_button.click()
    assert paths["md"].read_text() == before


def test_stop_ends_the_check_cleanly_without_a_verdict(qtbot, train_widget, notes):
    set_tiny_settings(train_widget, steps=None, minutes=30)
    check = train_widget.hidden_check
    assert check.start_check()
    qtbot.waitUntil(lambda: "stage" in check.status.text(), timeout=WAIT_MS)
    check.stop_check()
    assert check.job_controller.state.value == "stopping" and not check.button.isEnabled()
    _wait_check(qtbot, check, "done")
    assert check.report is None and "stopped" in check.status.text()
    assert not check.table.isVisibleTo(train_widget) and not check.save_button.isEnabled()
    qtbot.waitUntil(lambda: check.job_controller.job is None, timeout=WAIT_MS)
    assert check.job_controller.progress is None
    assert train_widget.start_button.isEnabled() and check.button.isEnabled()
    assert not levels(notes, "error")


def test_a_volume_too_short_to_hide_sections_fails_with_a_message(qtbot, viewer, train_widget, notes):
    short = viewer.add_image(np.random.default_rng(0).integers(0, 255, (4, 64, 64), np.uint8), scale=(20, 10, 10))
    train_widget.layer_picker.set_layer(short)
    check = train_widget.hidden_check
    assert check.start_check()
    _wait_check(qtbot, check, "failed")
    assert any("at least 5 sections" in m for m in levels(notes, "error"))
    assert "Check failed" in check.status.text() and check.report is None
    qtbot.waitUntil(lambda: check.job_controller.job is None, timeout=WAIT_MS)
    assert check.button.isEnabled() and train_widget.start_button.isEnabled()


def test_the_check_cannot_start_while_training(qtbot, train_widget, notes):
    set_tiny_settings(train_widget, steps=None, minutes=30)
    assert train_widget.start_training()
    check = train_widget.hidden_check
    assert not check.button.isEnabled()
    assert check.start_check() is False
    train_widget.stop_training()
    qtbot.waitUntil(lambda: train_widget.job_controller.job is None, timeout=WAIT_MS)
    assert check.button.isEnabled()


def test_the_check_panel_names_the_artefacts_it_set_aside(qtbot, viewer, train_widget, notes):
    yy, xx = np.mgrid[:64, :64]
    rng = np.random.default_rng(0)
    vol = np.stack([120 + 60 * np.sin((xx + 3 * k) / 4.0) * np.cos(yy / 5.0) for k in range(13)])
    vol = np.clip(vol + rng.normal(0, 4, vol.shape), 0, 255).astype(np.uint8)
    vol[6] = vol[5]  # a kept section copies hidden section 5: 5 and 7 cannot be scored fairly
    train_widget.layer_picker.set_layer(viewer.add_image(vol, scale=(20, 10, 10)))
    check = train_widget.hidden_check
    assert check.start_check()
    _wait_check(qtbot, check, "done")
    report = check.report
    assert sorted(report.excluded) == [5, 7]
    assert check.artefacts.text() == report.artefact_summary
    assert "Set aside from the verdict: 2 hidden sections (5, 7)" in check.artefacts.text()
    assert "4 of 6 hidden sections scored" in check.status.text() and "(sections 5, 7)" in check.verdict.text()
    qtbot.waitUntil(lambda: check.job_controller.job is None, timeout=WAIT_MS)
    assert not levels(notes, "error")
