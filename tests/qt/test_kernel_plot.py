"""The Train widget's plot of the learned axial kernel: live from the training events, and for a loaded model."""

from __future__ import annotations

import numpy as np
import pytest
from qt_helpers import wait_for_state

from napari_isorecon._qt.train.kernel_plot import PIXELS, KernelCanvas, lateral_axis


def _learned_line(plot: KernelCanvas, label: str = "learned"):
    (line,) = [line for line in plot.axes.get_lines() if line.get_label().startswith(label)]
    return line


def test_training_sends_the_kernel_taps_to_the_plot(qtbot, train_widget):
    shown = []
    original = train_widget.kernel_plot.show_kernel
    train_widget.kernel_plot.show_kernel = lambda *a, **k: (shown.append(k.get("step")), original(*a, **k))
    assert train_widget.kernel_plot.canvas.taps is None
    assert train_widget.start_training()
    wait_for_state(qtbot, train_widget, "done")
    plot = train_widget.kernel_plot.canvas
    assert shown[:2] == [3, 6]  # live, with each degradation preview (every 3 of 6 steps), then the end
    taps = train_widget.model.pair_kernel().detach().numpy()
    assert np.allclose(plot.taps, taps) and plot.step == 6
    assert (plot.spacing, plot.unit, plot.z_factor) == (10.0, "nm", 5.0)  # the sample: 50 x 10 x 10 nm
    x, y = _learned_line(plot).get_data()
    half = (taps.size - 1) // 2
    assert np.allclose(x, 10.0 * np.arange(-half, half + 1)) and np.allclose(y, taps)  # taps in nm along z
    assert "nm" in plot.axes.get_xlabel()
    labels = [line.get_label() for line in plot.axes.get_lines()]
    assert "box, one z-step" in labels and "bicubic" in labels
    caption = train_widget.kernel_plot.caption.text()  # the summary, in nm
    learned = train_widget.model.config.learns_degradation
    name = "Learned axial kernel" if learned else "Section kernel (declared)"
    assert caption.startswith(f"{name}: centroid") and "FWHM" in caption and " nm" in caption


def test_a_loaded_model_shows_its_kernel(viewer, train_widget, sample_layer, tiny_model_file):
    sample_layer.scale = (5, 1, 1)  # unit lateral scale: the axis is in lateral pixels
    model = train_widget.load_model_from(tiny_model_file)
    plot = train_widget.kernel_plot.canvas
    assert np.allclose(plot.taps, model.pair_kernel().detach().numpy())
    assert plot.step == model.state.step and plot.unit == PIXELS and plot.spacing == 1.0
    assert "xy pixels" in plot.axes.get_xlabel() and " px" in train_widget.kernel_plot.caption.text()


def test_lateral_axis_reads_the_layer_unit_or_assumes_nm(viewer):
    assert lateral_axis(None) == (1.0, PIXELS)
    assert lateral_axis(viewer.add_image(np.zeros((4, 8, 8)), scale=(40, 4, 4))) == (4.0, "nm")
    assert lateral_axis(viewer.add_image(np.zeros((4, 8, 8)), scale=(3, 1, 1))) == (1.0, PIXELS)
    micron = viewer.add_image(np.zeros((4, 8, 8)), scale=(0.04, 0.004, 0.004), units=("um", "um", "um"))
    spacing, unit = lateral_axis(micron)
    assert spacing == pytest.approx(0.004) and unit == "µm"


def test_kernel_plot_follows_the_theme(viewer, train_widget):
    from matplotlib.colors import to_hex
    from napari.utils.theme import get_theme

    viewer.theme = "light"
    assert to_hex(train_widget.kernel_plot.canvas.figure.get_facecolor()) == get_theme("light").background.as_hex()
    viewer.theme = "dark"
    assert to_hex(train_widget.kernel_plot.canvas.figure.get_facecolor()) == get_theme("dark").background.as_hex()
