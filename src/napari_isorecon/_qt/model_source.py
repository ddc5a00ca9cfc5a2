"""Where the Reconstruct widget gets its model: the Train widget of the same window, or a checkpoint file.

No registry or singleton: both widgets are docked in the same napari main window, so the Reconstruct
widget finds the Train widget(s) as children of its own top-level window (Qt's object tree) and takes
the model trained or loaded most recently. A file is loaded once and reused while it is unchanged.
"""

from __future__ import annotations

from pathlib import Path

from ..core.errors import IsoReconError


def describe_model(model) -> str:
    cfg, state = model.config, model.state
    network = f"stage-2 {cfg.backbone}" if model.reconstructor is not None else f"G_lh ({cfg.backbone})"
    return f"z-factor {cfg.z_factor:g}, {state.step} steps, {network}, {cfg.channels} ch x {cfg.blocks} blocks"


def train_widgets_near(widget) -> list:
    """Train widgets in the same top-level window as ``widget`` (its napari main window when docked)."""
    from .train_widget import TrainWidget

    window = widget.window()
    if window is None or window is widget:
        return []
    return window.findChildren(TrainWidget)


def latest_trained_model(widget):
    """(model, train widget) of the most recent model among the Train widgets near ``widget``."""
    found = [(w.model_stamp, w) for w in train_widgets_near(widget) if w.model is not None]
    if not found:
        return None, None
    _, trainer = max(found, key=lambda item: item[0])
    return trainer.model, trainer


class CheckpointCache:
    """Loads a checkpoint once; reloads only when the path or the file's modification time changes."""

    def __init__(self):
        self._key = None
        self._model = None

    def load(self, path) -> object:
        from ..core.checkpoint import load_model

        path = Path(str(path)).expanduser()
        if not str(path).strip() or str(path) == ".":
            raise IsoReconError("Choose a model file (.pt) first.")
        try:
            key = (path.resolve(), path.stat().st_mtime_ns)
        except OSError:
            key = None
        if key is not None and key == self._key:
            return self._model
        model = load_model(path)
        self._key, self._model = key, model
        return model
