"""A live loss plot: one smoothed curve per loss, and stage 2's held-back L2 (the mean squared error behind each
``HeldOutScore``, on the same axis as the stage-2 loss), styled from napari's theme.

Matplotlib is used through its object API only (``Figure`` + the QtAgg canvas): no pyplot, no change to
global ``rcParams``, so other plugins' figures are unaffected.
"""

from __future__ import annotations

import math
import time

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QSizePolicy

HELD_OUT = "held-back L2"  # the held-back pairs' curve (core.training.early_stop), not a loss
# Fixed colours per loss (Okabe-Ito + two extra), readable on napari's dark and light themes.
LOSS_COLOURS = {
    "G_hl adversarial": "#E69F00",
    "G_lh adversarial": "#56B4E9",
    "cycle LR": "#009E73",
    "cycle HR": "#F0E442",
    "D_l": "#D55E00",
    "D_h": "#CC79A7",
    "mean shift": "#999999",
    "reconstruction L1": "#0072B2",
    "reconstruction L2": "#0072B2",
    "statistics": "#8C564B",
    HELD_OUT: "#D81B60",
}
LOSS_LABELS = {"G_hl adversarial": "G_hl adv.", "G_lh adversarial": "G_lh adv.",
               "reconstruction L1": "stage 2 L1", "reconstruction L2": "stage 2 L2"}  # short legend entries; the rest keep their names
FALLBACK_COLOURS = ("#17BECF", "#BCBD22", "#7F7F7F")
FLOOR = 1e-6  # losses are drawn on a log axis
REDRAW_INTERVAL = 1.0  # seconds; a full redraw costs ~30 ms of the GUI thread on a small CPU
MARGINS_PX = {"left": 50, "right": 8, "top": 34, "bottom": 34}  # the legend sits in the top margin  # fixed: no layout engine on every draw


class SmoothedSeries:
    """Steps and exponentially smoothed values of one loss."""

    def __init__(self, alpha: float):
        self.alpha = alpha
        self.steps: list[int] = []
        self.values: list[float] = []
        self._ema: float | None = None

    def add(self, step: int, value: float) -> None:
        if not math.isfinite(value):
            return
        self._ema = value if self._ema is None else self.alpha * value + (1 - self.alpha) * self._ema
        self.steps.append(step)
        self.values.append(max(self._ema, FLOOR))


def theme_colours(theme) -> dict[str, str]:
    """Figure colours from a napari ``Theme`` (``napari.utils.theme.get_theme(viewer.theme)``)."""
    def hex_of(colour):
        return colour.as_hex() if hasattr(colour, "as_hex") else str(colour)

    return {"background": hex_of(theme.background), "axes": hex_of(theme.foreground),
            "text": hex_of(theme.text), "grid": hex_of(theme.primary)}


DEFAULT_COLOURS = {"background": "#262930", "axes": "#414851", "text": "#f0f1f2", "grid": "#5a626c"}


class LossPlot(FigureCanvasQTAgg):
    """Loss curves against the training step; call :meth:`add_steps` with ``TrainStep`` events."""

    def __init__(self, parent=None, smoothing: float = 0.1, height_px: int = 250,
                 min_redraw_interval: float = REDRAW_INTERVAL):
        self.figure = Figure(figsize=(3.2, height_px / 100), dpi=100)
        super().__init__(self.figure)
        self._min_redraw_interval = min_redraw_interval
        self._last_redraw = float("-inf")
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self._redraw_now)
        self.setParent(parent)
        self.setMinimumHeight(height_px)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.axes = self.figure.add_subplot()
        self._smoothing = smoothing
        self._series: dict[str, SmoothedSeries] = {}
        self._held_out = SmoothedSeries(1.0)  # unsmoothed: each point is an evaluation
        self._lines: dict = {}
        self._stage_marks: list[int] = []
        self._colours = dict(DEFAULT_COLOURS)
        self._fit_margins()
        self.reset()

    # data ---------------------------------------------------------------------------------------
    @property
    def loss_names(self) -> list[str]:
        return list(self._series)

    def point_count(self, name: str | None = None) -> int:
        """Points received for loss ``name`` (all losses together when None)."""
        if name is not None:
            return len(self._series[name].steps) if name in self._series else 0
        return sum(len(s.steps) for s in self._series.values())

    @property
    def held_out_count(self) -> int:
        """Held-back scores received (:meth:`add_held_out`)."""
        return len(self._held_out.steps)

    def reset(self) -> None:
        self._series.clear()
        self._held_out = SmoothedSeries(1.0)
        self._lines.clear()
        self._stage_marks.clear()
        self._redraw_all()

    def add_steps(self, steps) -> None:
        """Add a batch of ``TrainStep`` events and redraw once."""
        for event in steps:
            for name, value in event.losses.items():
                if name not in self._series:
                    self._series[name] = SmoothedSeries(self._smoothing)
                self._series[name].add(event.step, float(value))
        self._update_lines()

    def add_held_out(self, score) -> None:
        """Add a ``HeldOutScore``: its L2 (``score.mse``) at its step, a point of the held-back curve."""
        self._held_out.add(score.step, float(score.mse))
        self._update_lines()

    def _curves(self) -> dict[str, SmoothedSeries]:
        """The losses and, once it has a point, the held-back curve."""
        return {**self._series, HELD_OUT: self._held_out} if self._held_out.steps else self._series

    def mark_stage(self, stage: int, step: int) -> None:
        """Draw a vertical line where stage ``stage`` (>= 2) starts."""
        if stage >= 2:
            self._stage_marks.append(step)
            self._draw_stage_mark(step, stage)
            self._schedule_redraw()

    # drawing ------------------------------------------------------------------------------------
    def set_theme(self, colours: dict[str, str]) -> None:
        self._colours = {**DEFAULT_COLOURS, **colours}
        self._redraw_all()

    def _colour_of(self, name: str) -> str:
        if name in LOSS_COLOURS:
            return LOSS_COLOURS[name]
        others = [n for n in self._series if n not in LOSS_COLOURS]
        return FALLBACK_COLOURS[others.index(name) % len(FALLBACK_COLOURS)]

    def _style_axes(self) -> None:
        c = self._colours
        ax = self.axes
        self.figure.set_facecolor(c["background"])
        ax.set_facecolor(c["background"])
        for spine in ax.spines.values():
            spine.set_color(c["axes"])
        ax.tick_params(colors=c["text"], labelsize=7, which="both")
        ax.set_xlabel("step", color=c["text"], fontsize=8)
        ax.set_ylabel("loss (smoothed)", color=c["text"], fontsize=8)
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())  # minor log ticks cost more to draw than they tell
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.grid(True, which="major", color=c["grid"], linewidth=0.5, alpha=0.6)

    def _redraw_all(self) -> None:
        self.axes.clear()
        self._lines.clear()
        self._style_axes()
        self._legend = None
        if not self._curves():
            self.axes.text(0.5, 0.5, "losses appear here while training", transform=self.axes.transAxes,
                           ha="center", va="center", color=self._colours["text"], fontsize=8, alpha=0.7)
            self.axes.set_yticks([], minor=False)
            self.axes.set_yticks([], minor=True)
            self.axes.set_xticks([])
        for step in self._stage_marks:
            self._draw_stage_mark(step, 2)
        self._update_lines()

    def _draw_stage_mark(self, step: int, stage: int) -> None:
        c = self._colours
        self.axes.axvline(step, color=c["text"], linestyle="--", linewidth=0.8, alpha=0.6)
        self.axes.annotate(f"stage {stage}", xy=(step, 1), xycoords=("data", "axes fraction"),
                           xytext=(3, -3), textcoords="offset points", ha="left", va="top",
                           color=c["text"], fontsize=7, alpha=0.8)

    def _update_lines(self) -> None:
        if not self._curves():
            self._redraw_now()
            return
        if not self._lines:  # first points: leave the placeholder state
            self.axes.clear()
            self._style_axes()
            for step in self._stage_marks:
                self._draw_stage_mark(step, 2)
        added = False
        for name, series in self._curves().items():
            line = self._lines.get(name)
            if line is None:
                marks = dict(marker="o", markersize=2.5, linewidth=0.8) if name == HELD_OUT else dict(linewidth=1.2)
                (line,) = self.axes.plot(series.steps, series.values, color=self._colour_of(name),
                                         label=LOSS_LABELS.get(name, name), **marks)
                self._lines[name] = line
                added = True
            else:
                line.set_data(series.steps, series.values)
        if added:
            legend = self.axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=6.5, ncol=4,
                                      frameon=False, handlelength=1.0, handletextpad=0.4, columnspacing=0.7,
                                      labelspacing=0.15, borderpad=0.1, borderaxespad=0.2)
            for text in legend.get_texts():
                text.set_color(self._colours["text"])
        self.axes.relim()
        self.axes.autoscale_view()
        self._schedule_redraw()

    def _schedule_redraw(self) -> None:
        """Redraw now, or once ``min_redraw_interval`` has passed since the last redraw."""
        wait = self._last_redraw + self._min_redraw_interval - time.monotonic()
        if wait <= 0:
            self._redraw_now()
        elif not self._redraw_timer.isActive():
            self._redraw_timer.start(int(wait * 1000) + 1)

    def _redraw_now(self) -> None:
        self._last_redraw = time.monotonic()
        self.draw_idle()

    def _fit_margins(self) -> None:
        width, height = self.figure.get_size_inches() * self.figure.dpi
        if width > 2 * (MARGINS_PX["left"] + MARGINS_PX["right"]) and height > 2 * MARGINS_PX["bottom"]:
            self.figure.subplots_adjust(left=MARGINS_PX["left"] / width, right=1 - MARGINS_PX["right"] / width,
                                        bottom=MARGINS_PX["bottom"] / height, top=1 - MARGINS_PX["top"] / height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_margins()
