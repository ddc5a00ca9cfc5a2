"""What the learned axial degradation looks like, in numbers a microscopist can check.

G_hl's kernel path blurs the isotropic z axis with a 1D kernel (taps one lateral pixel apart) and samples
the centre of each group of f rows. Its centroid is where a section's signal comes from relative to the
section's centre; its FWHM and its equivalent thickness (the width of the box with the same second moment,
sqrt(12 * variance): a section of that thickness integrates the same spread of z) say how thick the
learned section is. Compare with the z-step: a serial section is about one z-step thick.
"""

from __future__ import annotations

import math

import numpy as np


def kernel_summary(taps, z_factor: float, xy_nm: float | None = None) -> dict:
    """Centroid, FWHM and equivalent thickness of ``taps`` (odd length, centred), in lateral pixels and,
    when ``xy_nm`` (lateral pixel size in nm) is known, in nm."""
    k = np.asarray(taps, dtype=np.float64)
    k = k / k.sum()
    t = np.arange(k.size) - (k.size - 1) / 2
    centroid = float((t * k).sum())
    variance = float(((t - centroid) ** 2 * k).sum())
    summary = {"z_factor": float(z_factor), "centroid_px": centroid, "fwhm_px": _fwhm(k),
               "equivalent_thickness_px": math.sqrt(12 * max(variance, 0.0)),
               "negative_lobes": float(-k[k < 0].sum())}
    summary["equivalent_thickness_z_steps"] = summary["equivalent_thickness_px"] / z_factor
    if xy_nm is not None:
        for key in ("centroid", "fwhm", "equivalent_thickness"):
            summary[f"{key}_nm"] = summary[f"{key}_px"] * xy_nm
    return summary


def _fwhm(k: np.ndarray) -> float:
    """Full width at half maximum, with linear interpolation between taps on both sides of the peak."""
    peak = int(np.argmax(k))
    half = k[peak] / 2
    left = peak
    while left > 0 and k[left - 1] > half:
        left -= 1
    right = peak
    while right < k.size - 1 and k[right + 1] > half:
        right += 1
    lo = left - (k[left] - half) / (k[left] - k[left - 1]) if left > 0 else float(left) - 0.5
    hi = right + (k[right] - half) / (k[right] - k[right + 1]) if right < k.size - 1 else float(right) + 0.5
    return float(hi - lo)


def describe_kernel(summary: dict) -> str:
    """One line: 'Learned axial kernel: centroid +0.3 px, FWHM 9.8 px, equivalent thickness 10.1 px (1.01
    z-steps)', in nm when known ('Section kernel (declared)' when the pairs come from declared sections)."""
    unit = "nm" if "fwhm_nm" in summary else "px"

    def value(key):
        v = summary[f"{key}_{unit}"]
        return 0.0 if abs(v) < 0.05 else v  # no "-0.0"

    name = "Learned axial kernel" if summary.get("learned", True) else "Section kernel (declared)"
    return (f"{name}: centroid {value('centroid'):+.1f} {unit}, FWHM {value('fwhm'):.1f} {unit}, "
            f"equivalent section thickness {value('equivalent_thickness'):.1f} {unit} "
            f"({summary['equivalent_thickness_z_steps']:.2f} z-steps)")


def model_kernel_summary(model, xy_nm: float | None = None) -> dict:
    """``kernel_summary`` of the kernel of a trained IsoModel's stage-2 pairs (``model.pair_kernel()``: the
    declared section's box or G_hl's learned kernel), with ``learned`` saying which."""
    taps = model.pair_kernel().detach().cpu().numpy()
    return {**kernel_summary(taps, model.z_factor, xy_nm), "learned": model.config.learns_degradation}


MIN_STAGE1_STEPS = 500  # the learned kernel settles after ~1,500 steps (docs/method.md)
THICK_SECTION_Z_STEPS = 2.5  # a learned section thicker than this is not a serial section any more
OFF_CENTRE_Z_STEPS = 0.25  # a centroid further than this from the section shifts the output visibly


def kernel_warnings(summary: dict) -> list[str]:
    """What in a learned kernel says the degradation was not learned as a real acquisition: sentences for
    the user, empty when nothing looks wrong. (A very thin kernel is not flagged: FIB-SEM with coarse z steps
    samples thin planes.)"""
    warnings = []
    if not summary.get("learned", True):
        return warnings  # a declared section is what the user said, not something that can fail to be learned
    thickness = summary["equivalent_thickness_z_steps"]
    if thickness > THICK_SECTION_Z_STEPS:
        warnings.append(f"The learned section is {thickness:.1f} z-steps thick, far thicker than a serial section: "
                        "the degradation was probably not learned (is the z-factor right? train longer?).")
    offset = summary["centroid_px"] / summary["z_factor"]
    if abs(offset) > OFF_CENTRE_Z_STEPS:
        warnings.append(f"The learned kernel is off-centre by {offset:+.2f} z-steps: the result is shifted along z "
                        "against the sections.")
    return warnings


def training_warnings(model, xy_nm: float | None = None) -> list[str]:
    """What says a trained model's degradation may not be right, as sentences for the user (the CLI prints
    them, the Train widget shows them): the learned kernel's warnings (:func:`kernel_warnings`) and a stage 1
    that ran too few steps to learn it."""
    warnings = kernel_warnings(model_kernel_summary(model, xy_nm))
    if model.config.learns_degradation and model.state.stage_steps[0] < MIN_STAGE1_STEPS:
        warnings.append(f"Stage 1 ran only {model.state.stage_steps[0]} steps: the learned degradation is not "
                        "reliable yet (train longer).")
    return warnings
