"""Where the Reconstruct widget gets its model besides the viewer's session (:mod:`.session`, filled by the
Train widget): a checkpoint file, loaded once and reused while it is unchanged; how a model is described; and
the file dialogs' filter for model files (both widgets open them).
"""

from __future__ import annotations

from pathlib import Path

from ...core.errors import IsoReconError

MODEL_FILTER = "napari-isorecon model (*.pt *.zip)"


def describe_model(model) -> str:
    cfg, state = model.config, model.state
    network = f"stage-2 {cfg.backbone}" if model.reconstructor is not None else f"G_lh ({cfg.backbone})"
    return (f"z-factor {cfg.z_factor:g}, {state.step} steps, {network}, {cfg.channels} ch x {cfg.blocks} blocks; "
            f"assumes {cfg.describe_acquisition()}")


class CheckpointCache:
    """Loads a checkpoint once; reloads only when the path or the file's modification time changes."""

    def __init__(self):
        self._key = None
        self._model = None

    def load(self, path) -> object:
        from ...core.model.checkpoint import load_model

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
