"""``isorecon bench``: the paper's protocol on an isotropic volume (Table 1 and Table 3).

Simulate an anisotropic acquisition of an isotropic volume along z (a kernel from core.training.sections, optional
noise), reconstruct it with every method, and score each against the isotropic volume. No method sees the
isotropic volume except to be scored.

- ``methods``: the names of the methods;
- ``simulate``: the simulated acquisition (crop, degradation, noise) and the oracle's noisy pairs;
- ``scores``: the score after the best global z shift, mean and spread over seeds;
- ``run``: ``run_bench``, which runs every method (trained ones once per seed) and gathers the report;
- ``report``: summary, report.json, report.md and the figures (the bench's; a real stack's for
  benchmarks/no_reference.py).
"""

from .methods import HANDMADE, INTERPOLATIONS, METHODS
from .report import (
           machine_description,
           markdown_table,
           summarise,
           write_figure,
           write_report,
           write_stack_figure,
)
from .run import run_bench
from .simulate import ISOTROPIC_SAMPLE, check_isotropic_voxel, exact_crop_depth, simulate_acquisition

__all__ = ["HANDMADE", "INTERPOLATIONS", "ISOTROPIC_SAMPLE", "METHODS", "check_isotropic_voxel",
           "exact_crop_depth", "machine_description", "markdown_table", "run_bench", "simulate_acquisition",
           "summarise", "write_figure", "write_report", "write_stack_figure"]
