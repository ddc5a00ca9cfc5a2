"""Settings: the training and reconstruction configs with their presets, the z-factor rules, the device.

What a front-end needs of them is re-exported here (the command line imports this package, not its modules);
none of these modules imports torch (``device.py``, which does when it runs, is not re-exported)."""

from .acquisition import (
    ACQUISITION_NAMES,
    CUSTOM,
    DEFAULT_ACQUISITION,
    acquisition_named,
    pair_differences,
    show_value,
)
from .config import PRESETS, TRAIN_OPTIONS, LossWeights, ReconConfig, TrainConfig, preset
from .options import option_named
from .precision import PRECISION_NAMES
from .zfactor import check_z_factor, same_z_factor, z_factor_from_scale

__all__ = [
    "ACQUISITION_NAMES", "CUSTOM", "DEFAULT_ACQUISITION", "PRECISION_NAMES", "PRESETS", "TRAIN_OPTIONS",
    "LossWeights", "ReconConfig", "TrainConfig", "acquisition_named", "check_z_factor", "option_named",
    "pair_differences", "preset", "same_z_factor", "show_value", "z_factor_from_scale",
]
