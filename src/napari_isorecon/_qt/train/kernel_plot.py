"""The learned axial kernel, drawn along z in nm (or lateral pixels), beside the box of one z-step and the
antialiased bicubic kernel (the paper's simulated degradation) for reference.

G_hl's main path blurs the isotropic z axis with this kernel, one tap per lateral pixel, and samples the
centre of each group of f rows: what a section integrates. A kernel as wide as the box is a section as thick
as its spacing; a narrower one, thin sections; an off-centre one, a shifted sampling. Same matplotlib use as
the loss plot: object API only, colours from napari's theme, no global ``rcParams``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from qtpy.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from ...core.checks.kernel_summary import describe_kernel, kernel_summary, kernel_warnings
from ...core.training.reference_kernels import bicubic_antialias_density, box_density, tap_offsets
from ..shared.ui import small_hint
from .loss_plot import DEFAULT_COLOURS, MARGINS_PX

LEARNED_COLOUR = "#E69F00"  # G_hl's colour in the loss plot
BICUBIC_COLOUR = "#56B4E9"
PIXELS = "xy pixels"
NM_PER_UNIT = {"nm": 1.0, "µm": 1e3, "um": 1e3, "mm": 1e6}


def lateral_axis(layer) -> tuple[float, str]:
    """(spacing, unit) of one kernel tap for ``layer``: its lateral (x) voxel size, in the layer's length
    unit when it has one, in nm when only the scale is set (this plugin's convention for EM), else 1 "xy
    pixels" (unit scale)."""
    if layer is None:
        return 1.0, PIXELS
    spacing = float(layer.scale[-1])
    unit = getattr(layer, "units", None)
    unit = unit[-1] if unit is not None and len(unit) else None
    if unit is not None and str(unit) not in ("pixel", "dimensionless", ""):
        return spacing, f"{unit:~P}" if hasattr(unit, "dimensionality") else str(unit)
    if spacing == 1.0:
        return 1.0, PIXELS
    return spacing, "nm"


class KernelPlot(QWidget):
    """The kernel canvas and a one-line summary under it (centroid, FWHM, equivalent section thickness);
    call :meth:`show_kernel` with the taps of ``model.pair_kernel()`` (numpy): the learned kernel, or the
    declared section's box when stage 2 trains on sections (``learned=False``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.canvas = KernelCanvas(self)
        self.caption = small_hint()
        layout.addWidget(self.canvas)
        layout.addWidget(self.caption)
        self.caption.setVisible(False)

    def clear(self) -> None:
        self.canvas.clear()
        self.caption.setVisible(False)

    def show_kernel(self, taps, z_factor: float, spacing: float = 1.0, unit: str = PIXELS,
                    step: int | None = None, learned: bool = True) -> None:
        """Draw ``taps`` (centred, one per lateral pixel) for a model of ``z_factor``; ``spacing`` is one
        lateral pixel in ``unit``; ``step``, the training step they come from; ``learned``: False for a
        declared section."""
        self.canvas.show_kernel(taps, z_factor, spacing, unit, step, learned)
        nm_per_unit = NM_PER_UNIT.get(unit)
        summary = {**kernel_summary(taps, z_factor, spacing * nm_per_unit if nm_per_unit else None),
                   "learned": learned}
        self.caption.setText(" ".join([describe_kernel(summary) + "."]
                                      + [f"Warning: {w}" for w in kernel_warnings(summary)]))
        self.caption.setVisible(True)

    def set_theme(self, colours: dict[str, str]) -> None:
        self.canvas.set_theme(colours)


class KernelCanvas(FigureCanvasQTAgg):
    """The plot itself (see :class:`KernelPlot`)."""

    def __init__(self, parent=None, height_px: int = 160):
        self.figure = Figure(figsize=(3.2, height_px / 100), dpi=100)
        super().__init__(self.figure)
        self.setParent(parent)
        self.setMinimumHeight(height_px)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("The axial kernel of the training pairs (G_hl's learned one, or the declared section): "
                        "how much of the tissue at each depth a section takes in. Dashed: the box of one "
                        "z-step and the antialiased bicubic kernel, for reference.")
        self.axes = self.figure.add_subplot()
        self._colours = dict(DEFAULT_COLOURS)
        self.taps: np.ndarray | None = None
        self.learned = True
        self.step: int | None = None
        self.z_factor = 1.0
        self.spacing, self.unit = 1.0, PIXELS
        self._fit_margins()
        self._redraw()

    def clear(self) -> None:
        self.taps, self.step = None, None
        self._redraw()

    def show_kernel(self, taps, z_factor: float, spacing: float = 1.0, unit: str = PIXELS,
                    step: int | None = None, learned: bool = True) -> None:
        """Draw ``taps`` (centred, one per lateral pixel) for a model of ``z_factor``; ``spacing`` is one
        lateral pixel in ``unit``; ``step``, the training step they come from (None: a loaded model);
        ``learned``: False for a declared section."""
        self.learned = learned
        self.taps = np.asarray(taps, dtype=np.float64).ravel()
        self.z_factor, self.spacing, self.unit, self.step = float(z_factor), float(spacing), unit, step
        self._redraw()

    def set_theme(self, colours: dict[str, str]) -> None:
        self._colours = {**DEFAULT_COLOURS, **colours}
        self._redraw()

    def _style_axes(self) -> None:
        c, ax = self._colours, self.axes
        self.figure.set_facecolor(c["background"])
        ax.set_facecolor(c["background"])
        for spine in ax.spines.values():
            spine.set_color(c["axes"])
        ax.tick_params(colors=c["text"], labelsize=7)
        ax.set_xlabel(f"z ({self.unit}) from the section's centre", color=c["text"], fontsize=8)
        ax.set_ylabel(f"weight per {'xy px' if self.unit == PIXELS else f'{self.spacing:g} {self.unit}'}",
                      color=c["text"], fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=7))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.grid(True, color=c["grid"], linewidth=0.5, alpha=0.6)

    def _redraw(self) -> None:
        ax, c = self.axes, self._colours
        ax.clear()
        self._style_axes()
        if self.taps is None:
            ax.text(0.5, 0.5, "the axial kernel of the training pairs appears here", transform=ax.transAxes,
                    ha="center", va="center", color=c["text"], fontsize=8, alpha=0.7)
            ax.set_xticks([])
            ax.set_yticks([])
            self.draw_idle()
            return
        f, s = self.z_factor, self.spacing
        offsets = tap_offsets(self.taps)
        reach = offsets[-1] + 0.5
        dense = np.linspace(-reach, reach, 801)
        ax.axhline(0.0, color=c["text"], linewidth=0.6, alpha=0.5)
        ax.plot(dense * s, box_density(dense, f), color=c["text"], linestyle="--", linewidth=1.0, alpha=0.8,
                label="box, one z-step")
        ax.plot(dense * s, bicubic_antialias_density(dense, f), color=BICUBIC_COLOUR, linestyle="--",
                linewidth=1.0, label="bicubic")
        ax.plot(offsets * s, self.taps, color=LEARNED_COLOUR, marker="o", markersize=2.5, linewidth=1.4,
                label="learned" if self.learned else "section (declared)")
        if self.step is not None:
            ax.text(0.01, 0.97, f"step {self.step}", transform=ax.transAxes, ha="left", va="top",
                    color=c["text"], fontsize=7, alpha=0.8)
        ax.set_xlim(-reach * s, reach * s)
        legend = ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=6.5, ncol=3, frameon=False,
                           handlelength=1.4, handletextpad=0.4, columnspacing=0.8, borderpad=0.1,
                           borderaxespad=0.2)
        for text in legend.get_texts():
            text.set_color(c["text"])
        self.draw_idle()

    def _fit_margins(self) -> None:
        width, height = self.figure.get_size_inches() * self.figure.dpi
        top = MARGINS_PX["top"] - 12  # one legend row
        if width > 2 * (MARGINS_PX["left"] + MARGINS_PX["right"]) and height > 2 * MARGINS_PX["bottom"]:
            self.figure.subplots_adjust(left=MARGINS_PX["left"] / width, right=1 - MARGINS_PX["right"] / width,
                                        bottom=MARGINS_PX["bottom"] / height, top=1 - top / height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_margins()
