"""The Reconstruct widget on a lazy (dask) layer with a damaged section: the scan for sections that are no real
image runs in the worker, the lazy results are made from the filled volume and the status says which sections
were filled; with filling off nothing is scanned; a stop during the scan adds nothing."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from qt_helpers import WAIT_MS, levels, wait_for_state

from napari_isorecon._qt.reconstruct.recon_settings import FROM_FILE

ROWS = slice(30, 35)  # the output rows of section 6 at z-factor 5


@pytest.fixture
def damaged(viewer, recon_widget, tiny_model_file):
    """A dask layer of a planted stack whose section 6 is blank, picked, with the tiny model from its file."""
    import dask.array as da
    from planted import tissue

    volume = tissue(z=12, size=64)
    volume[6] = 0
    layer = viewer.add_image(da.from_array(volume, chunks=(5, 32, 64)), name="damaged", scale=(50, 10, 10))
    recon_widget.layer_picker.set_layer(layer)
    recon_widget.settings.model_source = FROM_FILE
    recon_widget.settings.model_path = str(tiny_model_file)
    return volume


@pytest.fixture
def scans(monkeypatch):
    """The thread of every scan of the stack (each makes one pass, however the scan function was imported)."""
    from napari_isorecon.core.checks import artefacts

    threads = []
    real_measure = artefacts._measure
    monkeypatch.setattr(artefacts, "_measure",
                        lambda *a, **k: threads.append(threading.current_thread()) or real_measure(*a, **k))
    return threads


def test_a_lazy_layer_is_filled_in_the_worker_and_the_status_names_the_sections(qtbot, viewer, recon_widget,
                                                                               damaged, scans, notes):
    import dask.array as da

    assert recon_widget.settings.fill_artefacts
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    assert len(scans) == 1 and scans[0] is not threading.main_thread()  # the GUI thread never waited on it
    status = recon_widget.status.text()
    assert "Done: lazy 'interpolated', 'isotropic' layers added" in status
    assert "Filled section 6 (blank) from the neighbouring sections before reconstruction" in status
    neighbours = damaged[[5, 7]].mean()
    for part in ("interpolated", "isotropic"):
        result = recon_widget.result_layers[part]
        assert isinstance(result.data, da.Array) and result.data.shape == (60, 64, 64)
        assert np.asarray(result.data[ROWS]).mean() > 0.8 * neighbours  # filled: not a dark band
    assert not levels(notes, "error")


def test_with_filling_off_a_lazy_layer_is_not_scanned_and_keeps_its_blank_section(qtbot, viewer, recon_widget,
                                                                                  damaged, scans, notes):
    recon_widget.settings.fill_artefacts = False
    assert recon_widget.start_reconstruction()
    wait_for_state(qtbot, recon_widget, "done")
    assert scans == []
    status = recon_widget.status.text()
    assert "Done: lazy" in status and "Filled" not in status
    iso = recon_widget.result_layers["isotropic"]
    assert np.asarray(iso.data[ROWS]).mean() < 0.5 * damaged[[5, 7]].mean()  # the blank section printed through
    assert not levels(notes, "error")


def test_a_stop_during_the_scan_of_a_lazy_layer_adds_nothing(qtbot, viewer, recon_widget, damaged, monkeypatch,
                                                           notes):
    """The scan is held until the test has pressed Cancel: the job then ends without a layer."""
    from napari_isorecon.core.checks import artefacts

    real_scan, scanning, cancelled = artefacts.find_section_artefacts, threading.Event(), threading.Event()

    def held(*args, **kwargs):
        scanning.set()
        cancelled.wait(WAIT_MS / 1000)
        return real_scan(*args, **kwargs)

    monkeypatch.setattr(artefacts, "find_section_artefacts", held)
    names = [layer.name for layer in viewer.layers]
    assert recon_widget.start_reconstruction()
    qtbot.waitUntil(scanning.is_set, timeout=WAIT_MS)
    recon_widget.cancel()
    cancelled.set()
    wait_for_state(qtbot, recon_widget, "done")
    assert "Cancelled" in recon_widget.status.text()
    qtbot.waitUntil(lambda: recon_widget.job_controller.job is None, timeout=WAIT_MS)
    assert [layer.name for layer in viewer.layers] == names and recon_widget.result_layers == {}
    assert not levels(notes, "error")
