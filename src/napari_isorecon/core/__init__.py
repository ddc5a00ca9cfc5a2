"""The engine: numpy / torch / dask only. Never imports napari, qtpy or magicgui."""

from .errors import IsoReconError
from .settings.config import ReconConfig, TrainConfig, preset

__all__ = ["IsoReconError", "ReconConfig", "TrainConfig", "preset"]
