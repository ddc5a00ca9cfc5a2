"""What the Reconstruct widget's options add (the check boxes are fields of ``recon_settings.ReconSettings``):
an uncertainty map by test-time augmentation (core.inference.uncertainty), the sharp output (core.inference.sharp;
in memory only, so not for a lazy layer), and the circular consistency score as an explicit diagnostic. Also where to look for honest evidence of quality, which the widget shows after every
run."""

from __future__ import annotations

import numpy as np

from ..core.events import ReconFinished
from ..core.inference.uncertainty import NOT_AN_ERROR_MAP

QUALITY_POINTER = ("To check quality without ground truth: Train > Check on hidden sections, or "
                   "`isorecon validate`.")
UNCERTAINTY_COLORMAP = "inferno"
UNCERTAINTY_TIP = (
    "Also predict every slice flipped along x (or y), and along z when the training pairs' kernel is symmetric, "
    "and add '<layer> uncertainty': the per-voxel spread (standard deviation, grey levels) of those predictions. "
    "The result is then their mean. Takes 2-4x as long. Bright where the network's answer depends on how "
    "the slice is shown to it. " + NOT_AN_ERROR_MAP)
SHARP_TIP = (
    "Also add '<layer> sharp': the result with its fine detail evened out between the sections (as strong midway "
    "as at a section) and corrected to agree with every section. Looks more like a section; the isotropic result "
    "is the more faithful on average.")
SHARP_LAZY_NOTE = ("The sharp output is made in memory from the whole result, and this layer is lazy (dask/zarr): "
                   "its results are computed block by block as you view them.")
SHARP_LAZY_TIP = f"Not for this layer. {SHARP_LAZY_NOTE} Load it into memory to get the sharp output."
CONSISTENCY_TIP = (
    "Diagnostic: degrade the result again with the degradation of the training pairs and compare with the "
    "input. It is circular (the network was trained to invert that very degradation): it scores ours high whether ours is "
    "better or worse than interpolation, so it is not a quality score. " + QUALITY_POINTER)


def uncertainty_layer_kwargs(volume, source) -> dict:
    """How the uncertainty layer is shown over the result: a colormap, additive blending, contrast from the
    spread itself (in memory) or, for a lazy one that nothing has computed yet, 5 % of the input's range."""
    if isinstance(volume, np.ndarray):
        top = float(np.percentile(volume, 99.5)) if volume.size else 1.0
    else:
        low, high = source.contrast_limits
        top = 0.05 * (high - low)
    return {"colormap": UNCERTAINTY_COLORMAP, "blending": "additive", "contrast_limits": (0.0, max(top, 1e-6))}


def uncertainty_note(event: ReconFinished) -> str:
    """What the uncertainty layer holds, for the status line ('' without one)."""
    info = getattr(event, "info", {}) or {}
    if "flips" not in info:
        return ""
    n = len(info["flips"]) * len(info.get("axes", ("xz", "yz")))
    return (f" Uncertainty: spread of {n} flipped predictions ({info['augmentation']}). Not a reliable error "
            "map: see the option's tooltip.")


def is_lazy(layer) -> bool:
    """Whether the widget reconstructs ``layer`` lazily, block by block (its data, or its full resolution, is no
    numpy array: dask, zarr); None (no layer) is not."""
    if layer is None:
        return False
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    return not isinstance(data, np.ndarray)


def sharp_note(info: dict) -> str:
    """The sharp output's agreement with the sections and detail pulse, beside the result's (core.inference.sharp),
    for the status line."""
    return (f" Sharp: agrees with the sections to {info['consistency_sharp']:.2f} grey levels (result "
            f"{info['consistency_faithful']:.2f}); detail pulse {info['pulse_sharp']:.2f} (result "
            f"{info['pulse_faithful']:.2f}).")


def consistency_text(scores: dict | None) -> str:
    """The circular diagnostic for the status line (see core.checks.metrics.input_consistency)."""
    if not scores:
        return ""
    from ..core.checks.metrics import (
        consistency_summary,  # imports torch: only once a run has produced scores
    )

    return f" Circular diagnostic: {consistency_summary(scores, source='layer', with_ssim=False)}."
