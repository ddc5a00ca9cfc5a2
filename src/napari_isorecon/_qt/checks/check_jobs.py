"""The jobs of the Train widget's checks on hidden sections: what they take from the Train widget (its picked
layer and its settings, :func:`check_input`) and the core generators they run in the worker: the hidden-section
check with its figure drawn there (:func:`check_events`), and the comparison of acquisitions
(:func:`comparison_events`, as ``isorecon validate --compare acquisition=...``). Torch is imported only in the
worker thread."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from napari.utils.notifications import show_error

from ...core.errors import IsoReconError
from ...core.events import HiddenSectionsChecked
from ..shared.layers import snapshot


def check_input(owner):
    """(layer, its data, the training config) for a check of the Train widget ``owner``'s picked layer with its
    settings; None (and a notification) when there is no layer to check or the settings' device is missing."""
    layer = owner.layer_picker.usable_layer("No 3D image layer to check: open a volume (z, y, x).")
    if layer is None:
        return None
    try:
        config = owner.training_config()
        from ...core.settings.device import resolve_device

        resolve_device(config.device)
    except IsoReconError as exc:
        show_error(str(exc))
        return None
    return layer, snapshot(layer).data, config


@dataclass(frozen=True)
class RenderedFigure:
    """The report's figure drawn to RGBA pixels in the worker (drawing costs the GUI thread ~0.5 s)."""

    rgba: np.ndarray


def render_figure(figure) -> np.ndarray:
    """A matplotlib figure drawn to RGBA pixels (height, width, 4), without a window (the Agg canvas)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def check_events(volume, config, stop):
    """The core check's events, with the figure rendered just before the final ``HiddenSectionsChecked``."""
    from ...core.checks.hidden_sections import run_hidden_section_check

    for event in run_hidden_section_check(volume, config, stop=stop, uncertainty=True):
        if isinstance(event, HiddenSectionsChecked) and event.report is not None:
            yield RenderedFigure(render_figure(event.report.figure()))
        yield event


def compare_settings_for(names) -> list:
    """One comparison setting per acquisition name (``acquisition=NAME`` of ``validate --compare``)."""
    from ...core.checks.compare_settings import Setting

    return [Setting(name=name, changes={"acquisition": name}) for name in names]


def comparison_events(volume, config, names, stop):
    """The core comparison's events: the hidden-section check once per acquisition of ``names``."""
    from ...core.checks.compare_settings import compare_settings

    yield from compare_settings(volume, config, compare_settings_for(names), stop=stop)
