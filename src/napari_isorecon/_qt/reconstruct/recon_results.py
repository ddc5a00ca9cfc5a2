"""How the Reconstruct widget presents a run's results: the uncertainty layer's look, and the status line after a
run: each option's note (the uncertainty, core.inference.error_model; the sharp output, core.inference.sharp; the
circular consistency score, an explicit diagnostic), the sections filled, what a lazy layer leaves out, and where to
look for honest evidence of quality, which the widget says after every run. The options themselves are fields of
``recon_settings.ReconSettings``."""

from __future__ import annotations

import numpy as np

from ...core.inference.error_model import DEFAULT_CALIBRATION

QUALITY_POINTER = ("To check quality without ground truth: Train > Check on hidden sections, or "
                   "`isorecon validate`.")
UNCERTAINTY_COLORMAP = "inferno"
UNCERTAINTY_LAZY_NOTE = ("The uncertainty is made in memory from the whole result, and this layer is lazy "
                         "(dask/zarr): its results are computed block by block as you view them.")
SHARP_LAZY_NOTE = ("The sharp output is made in memory from the whole result, and this layer is lazy (dask/zarr): "
                   "its results are computed block by block as you view them.")


def uncertainty_layer_kwargs(volume) -> dict:
    """How the uncertainty layer (in memory) is shown over the result: a colormap, additive blending, contrast
    from 0 to the map's 99.5th percentile."""
    top = float(np.percentile(volume, 99.5)) if volume.size else 1.0
    return {"colormap": UNCERTAINTY_COLORMAP, "blending": "additive", "contrast_limits": (0.0, max(top, 1e-6))}


def uncertainty_note(info: dict) -> str:
    """What the uncertainty layer holds and how it is calibrated (the "uncertainty" part's ReconFinished.info),
    for the status line."""
    how = ("measured on other volumes; Train > Check on hidden sections measures this volume's"
           if info.get("calibrated_on", DEFAULT_CALIBRATION) == DEFAULT_CALIBRATION else info["calibrated_on"])
    return f" Uncertainty: standard deviation of the error per voxel, scale {info['scale']:.2f} ({how})."


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
    from ...core.checks.metrics import (
        consistency_summary,  # imports torch: only once a run has produced scores
    )

    return f" Circular diagnostic: {consistency_summary(scores, source='layer', with_ssim=False)}."


def done_text(run: dict, parts: list[str]) -> str:
    """The status line after a run that was not cancelled: the layers added, the sections filled, and where to
    look for evidence of quality."""
    filled = f" {run['filled']}" if run.get("filled") else ""
    if run.get("lazy"):
        added = ", ".join(f"'{part}'" for part in parts)
        skipped = (f" No uncertainty: {UNCERTAINTY_LAZY_NOTE}" if run.get("uncertainty_skipped") else "") + \
            (f" No sharp output: {SHARP_LAZY_NOTE}" if run.get("sharp_skipped") else "")
        return (f"Done: lazy {added} layers added; blocks are computed as you view them (use `isorecon reconstruct "
                f"... --out OUT.zarr` to write them all).{filled}{skipped} " + QUALITY_POINTER)
    quoted = [f"'{part}'" for part in parts]
    added = " and ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 2 else quoted)
    ran_in = f" The network ran in {run['precision']}." if run.get("precision") else ""
    return ((f"Done: {added} layers added." if added else "Done.") + filled + ran_in + run.get("sharp_note", "")
            + run.get("uncertainty_note", "") + consistency_text(run.get("consistency")) + " " + QUALITY_POINTER)
