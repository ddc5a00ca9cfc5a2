"""The engine: numpy / torch / dask only. Never imports napari, qtpy or magicgui."""

from .config import ReconConfig, TrainConfig, preset
from .errors import IsoReconError

__all__ = ["IsoReconError", "ReconConfig", "TrainConfig", "preset"]
