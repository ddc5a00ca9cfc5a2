"""What the plugin's widgets of one napari viewer share: the current model and where it came from.

The Train widget publishes every model it trains or loads (:meth:`ViewerSession.publish`); the Reconstruct
widget reads :attr:`ViewerSession.model` and follows :attr:`ViewerSession.model_changed`. The hidden-section
check publishes the uncertainty scale it measured on a layer; the Reconstruct widget uses it for that layer. Neither widget
knows the other: no search of the Qt tree, no import between them.

One session per viewer, made on first use by :func:`session_for` and kept in a registry keyed weakly on the
viewer (the napari object behind the proxy napari hands to plugins), so it ends with its viewer.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from psygnal import Signal

from .layers import unwrap


@dataclass(frozen=True)
class ModelProvenance:
    """Where the session's model came from: ``"trained"`` on the layer ``source``, or ``"loaded"`` from the
    file ``source``."""

    how: str  # "trained" or "loaded"
    source: str  # the layer's name, or the model file's path

    def describe(self) -> str:
        return f"trained on '{self.source}'" if self.how == "trained" else f"loaded from {self.source}"


class ViewerSession:
    """The model shared by the widgets of one viewer (None until one is trained or loaded)."""

    model_changed = Signal(object)  # the new model

    def __init__(self) -> None:
        self.model = None
        self.provenance: ModelProvenance | None = None
        # layer -> the uncertainty scale its hidden-section check measured (core.inference.error_model)
        self._uncertainty_scales: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def publish_uncertainty_scale(self, layer, scale: float) -> None:
        """Remember the scale that calibrates the uncertainty on ``layer`` (its hidden-section check's)."""
        self._uncertainty_scales[unwrap(layer)] = float(scale)

    def uncertainty_scale_for(self, layer) -> float | None:
        """The scale the check measured on ``layer``, or None (the default scale is used)."""
        return self._uncertainty_scales.get(unwrap(layer))

    def publish(self, model, provenance: ModelProvenance) -> None:
        """Make ``model`` the viewer's current model and tell the subscribers."""
        self.model = model
        self.provenance = provenance
        self.model_changed.emit(model)


_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # viewer -> ViewerSession


def session_for(viewer) -> ViewerSession:
    """The session of ``viewer`` (a napari viewer or the proxy of one), made on first use."""
    key = unwrap(viewer)
    session = _SESSIONS.get(key)
    if session is None:
        session = _SESSIONS[key] = ViewerSession()
    return session
