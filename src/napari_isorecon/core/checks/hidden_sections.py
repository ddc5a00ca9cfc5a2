"""Self-check without ground truth: hide every other section, reconstruct from the rest, score the hidden ones.

A real anisotropic stack has no isotropic truth, but its own sections are truth for a coarser stack. Keep
sections 0, 2, 4, ... (spacing 2F), train with the user's settings at z-factor 2F on them, reconstruct,
and predict each hidden section 2k+1 as the mean of the output over the z range its thickness covers
(a section integrates the tissue over its thickness). The same prediction is made from the cubic
interpolation of the kept sections, and the plain mean of the two neighbouring kept sections is scored too.

What it measures: reconstruction quality at twice the user's spacing, so a lower bound on the quality at
the user's own spacing, for the data itself rather than a simulation. It does not see the trained model
that the user will ship (that one is trained at F on all sections).

Geometry (see core.geometry): output row j of a reconstruction of n slices into D rows lies at slice index
p_j = (j + 0.5) n / D - 0.5; between row centres the output is read linearly. Hidden section 2k+1 sits at
kept index k + 0.5 and covers kept index [k + 0.5 - t/4, k + 0.5 + t/4] for a thickness of t sections
(t = 1: sections as thick as their spacing). For a volume linear in z every method predicts it exactly.

Dataset artefacts (core.checks.artefacts) are found in the input before any training. A hidden section is set
aside (scored, shown, but left out of the summary, the paired statistics and the verdict) when it is not a real
image at its place (duplicate, blank, saturated) or out of register, and when its scoring is compromised by a
kept neighbour that is not real or out of register with it: a neighbour that duplicates it (or is the mean of
it and the next one) puts the answer in the input, and interpolation scores 35 dB on it; a neighbour that copies
another section, or is blank or saturated, makes every method predict from a wrong input. Kept sections that are not real are reported: the
check's training sees them. Fewer than ``MIN_SCORED`` hidden sections left: a one-line IsoReconError before any
work. How the verdict is decided: core.checks.hidden_report.VERDICT_RULE (medians and sections won, both
baselines, PSNR and SSIM).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import IsoReconError
from ..events import CheckProgress, HiddenSectionsChecked, TrainFinished, stop_requested
from ..geometry import check_volume, linear_read_weights
from ..settings.acquisition import MAX_SECTION_THICKNESS
from ..settings.config import ReconConfig, TrainConfig
from .artefacts import SectionArtefacts, find_section_artefacts
from .hidden_report import HiddenSectionReport
from .metrics import data_range_of, psnr_ssim_2d
from .spectra import reconstruction_spectra

METHODS = ("ours", "cubic", "neighbour mean", "sharp")  # sharp: core.inference.sharp of ours, scored beside
_SAMPLES_PER_SECTION = 64  # midpoint-rule samples of a hidden section's z range
MIN_SCORED = 4  # hidden sections left after setting artefacts aside


def split_sections(volume) -> tuple[np.ndarray, np.ndarray]:
    """(kept, hidden): sections 0, 2, 4, ... and the odd sections that lie between two kept ones."""
    check_volume(volume)
    z = volume.shape[0]
    if z < 5:
        raise IsoReconError(f"The hidden-section check needs at least 5 sections (it hides every other one and "
                            f"trains on the rest); the volume has {z}.")
    kept = np.asarray(volume[0::2])
    hidden = np.asarray(volume[1:2 * (kept.shape[0] - 1):2])
    return kept, hidden


def hidden_section_weights(n_kept: int, depth: int, thickness: float = 1.0) -> np.ndarray:
    """(n_kept - 1, depth) weights: row k averages the output over hidden section k's thickness.

    The output is read linearly between row centres (clamped at the ends), and the section's z range is
    integrated with the midpoint rule, so a linear profile is predicted exactly.
    """
    _check_thickness(thickness)
    step = n_kept / depth
    half = thickness / 4  # in kept-section units: one original section is half a kept spacing
    offsets = ((np.arange(_SAMPLES_PER_SECTION) + 0.5) / _SAMPLES_PER_SECTION * 2 - 1) * half
    pos = np.arange(n_kept - 1)[:, None] + 0.5 + offsets  # kept-index positions to read, per hidden section
    rows = (pos + 0.5) / step - 0.5  # fractional output rows
    return linear_read_weights(rows.ravel(), depth).reshape(n_kept - 1, _SAMPLES_PER_SECTION, depth).mean(axis=1)


def _check_thickness(thickness: float) -> None:
    if not 0 <= thickness <= MAX_SECTION_THICKNESS:
        raise IsoReconError(f"The section thickness must be in [0, {MAX_SECTION_THICKNESS:g}] z-steps (0: single "
                            f"planes), got {thickness!r}.")


def predict_hidden(dense, n_kept: int, thickness: float = 1.0) -> np.ndarray:
    """Hidden-section predictions (n_kept - 1, Y, X) from a reconstruction ``dense`` (D, Y, X) of the kept
    sections."""
    dense = np.asarray(dense, dtype=np.float64)
    weights = hidden_section_weights(n_kept, dense.shape[0], thickness)
    return np.tensordot(weights, dense, axes=(1, 0))


def neighbour_mean(kept) -> np.ndarray:
    kept = np.asarray(kept, dtype=np.float64)
    return (kept[:-1] + kept[1:]) / 2


def score_predictions(predictions: dict, hidden) -> dict:
    """{method: (psnr per section, ssim per section)} against the real hidden sections."""
    hidden = np.asarray(hidden)
    data_range = data_range_of(hidden)
    reference = hidden.astype(np.float64)
    return {name: psnr_ssim_2d(_as_dtype(pred, hidden.dtype), reference, data_range)
            for name, pred in predictions.items()}


def _as_dtype(prediction: np.ndarray, dtype) -> np.ndarray:
    """A prediction as the data would store it (rounded and clipped for integer data), in float64."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(prediction), info.min, info.max)
    return prediction


def _pairs_touched(finding) -> set[int]:
    """The neighbour sections a finding at section i spoils as inputs for predicting their neighbours."""
    i = finding.index
    if finding.kind == "misaligned":
        return set(finding.out_of_register_with)  # a break: only i - 1 (the sections after it move with it)
    return {i - 1, i + 1}


def sections_set_aside(artefacts: SectionArtefacts, n_hidden: int) -> tuple[dict[int, str], dict[int, str]]:
    """({hidden section index: why it is not scored}, {kept section index: what it is}) for the check's split
    (hidden sections 1, 3, ..., 2 n_hidden - 1); see the module docstring for the rules."""
    hidden = {2 * k + 1 for k in range(n_hidden)}
    set_aside: dict[int, list[str]] = {}
    kept_not_real: dict[int, list[str]] = {}
    for f in artefacts.findings:
        what = f"{f.kind}, {f.detail}"
        if f.index in hidden:
            set_aside.setdefault(f.index, []).append(what)
            continue
        if f.index % 2 == 0 and f.kind != "misaligned":  # kept: the training sees it
            kept_not_real.setdefault(f.index, []).append(what)
        for h in sorted(_pairs_touched(f) & hidden):
            set_aside.setdefault(h, []).append(f"kept neighbour {f.index}: {what}")
    return ({i: "; ".join(w) for i, w in sorted(set_aside.items())},
            {i: "; ".join(w) for i, w in sorted(kept_not_real.items())})


def _check_enough_scored(set_aside: dict, n_hidden: int) -> None:
    left = n_hidden - len(set_aside)
    if left < MIN_SCORED:
        raise IsoReconError(
            f"Only {left} of the {n_hidden} hidden sections can be scored once dataset artefacts are set aside "
            f"(section{'s' if len(set_aside) > 1 else ''} {', '.join(map(str, set_aside))}); the check needs at "
            f"least {MIN_SCORED}: use a longer stack or one with fewer duplicated, blank or misaligned sections.")


def check_config(cfg: TrainConfig, thickness: float | None = None) -> tuple[TrainConfig, float]:
    """(the check's training settings at 2F, the thickness its scoring assumes), checked: IsoReconError when the
    settings cannot be checked (e.g. 2F too large)."""
    thickness = cfg.section_thickness if thickness is None else thickness
    _check_thickness(thickness)
    try:
        # the kept sections are as thick as before but twice as far apart: half as thick in z-steps
        return cfg.replace(z_factor=2 * cfg.z_factor, section_thickness=thickness / 2), thickness
    except IsoReconError as exc:
        raise IsoReconError(f"The hidden-section check trains at twice the z-factor ({2 * cfg.z_factor:g}): "
                            f"{exc}") from None


def run_hidden_section_check(volume, cfg: TrainConfig, recon: ReconConfig | None = None, stop=None,
                             thickness: float | None = None, preview_every: int = 0,
                             artefacts: SectionArtefacts | None = None, uncertainty: bool = False) -> Iterator:
    """Train at 2F on the kept sections (``cfg`` with the volume's factor F; the rest of its settings kept),
    reconstruct, and score the hidden sections. Yields core.training.train's events, ``CheckProgress`` and finally
    ``HiddenSectionsChecked`` (report None when stopped). The input is checked before the first event.
    ``thickness``: of the volume's sections in z-steps (default ``cfg.section_thickness``); at 2F the kept
    sections are half as thick, and the check's training starts its kernel there. ``artefacts``: a scan of
    ``volume`` already made (core.checks.artefacts.find_section_artefacts); scanned here when None."""
    kept, hidden = split_sections(volume)
    artefacts = find_section_artefacts(volume) if artefacts is None else artefacts
    set_aside, kept_not_real = sections_set_aside(artefacts, hidden.shape[0])
    _check_enough_scored(set_aside, hidden.shape[0])
    check_cfg, thickness = check_config(cfg, thickness)
    from ..training.train import train

    events = train(kept, check_cfg, stop=stop, preview_every=preview_every)  # checks sizes before any work
    recon = recon or ReconConfig(device=cfg.device, precision=cfg.precision)
    found = {"artefacts": artefacts.to_dict(), "excluded": set_aside, "kept_not_real": kept_not_real}
    return _check_events(events, kept, hidden, check_cfg, recon, stop, thickness, found, uncertainty)


def _check_events(train_events, kept, hidden, cfg, recon, stop, thickness, found, uncertainty=False) -> Iterator:
    from ..inference.reconstruct import interpolate, reconstruct

    final = None
    for event in train_events:
        yield event
        if isinstance(event, TrainFinished):
            final = event
    if final.stopped or stop_requested(stop):
        yield HiddenSectionsChecked(report=None, stopped=True)
        return
    dense = {}
    jobs = (("ours", lambda: reconstruct(kept, final.model, recon, stop)),
            ("cubic", lambda: interpolate(kept, cfg.z_factor, "cubic", recon, stop)))
    for i, (name, job) in enumerate(jobs):
        for event in job():
            if hasattr(event, "progress"):
                yield CheckProgress(phase=f"reconstructing ({name})", progress=(i + event.progress) / len(jobs))
            elif event.stopped:
                yield HiddenSectionsChecked(report=None, stopped=True)
                return
            else:
                dense[name] = event.volume
    from ..inference.sharp import sharpen

    # the kept sections are half as thick at 2F as the user's at F (check_config)
    dense["sharp"], _ = sharpen(dense["ours"], kept, cfg.z_factor, thickness / 2)
    yield CheckProgress(phase="scoring", progress=1.0)
    predictions = {name: predict_hidden(dense[name], kept.shape[0], thickness) for name in ("ours", "cubic")}
    predictions["sharp"] = predict_hidden(dense["sharp"], kept.shape[0], thickness)
    predictions["neighbour mean"] = neighbour_mean(kept)
    # as the data would store them: what is scored is what the intensity and the figure show
    predictions = {name: _as_dtype(pred, hidden.dtype) for name, pred in predictions.items()}
    scores = score_predictions(predictions, hidden)
    report = HiddenSectionReport.from_scores(
        scores, hidden=hidden, predictions=predictions, z_factor=cfg.z_factor / 2, thickness=thickness,
        training={"steps": final.steps, "seconds": round(final.elapsed, 1), "seed": cfg.seed,
                  "minutes": cfg.minutes, "step_budget": cfg.steps}, **found)
    report.spectra = reconstruction_spectra(dense, cfg.z_factor)  # the section grid and z vs x, at 2F
    report.agreement = section_agreement(dense, kept, cfg.z_factor, thickness / 2)
    if uncertainty:
        yield CheckProgress(phase="calibrating the uncertainty", progress=1.0)
        report.uncertainty = _uncertainty_at_hidden(kept, hidden, final.model, dense, predictions["ours"],
                                                    thickness, [s.get("scored", True) for s in report.sections],
                                                    stop)
    yield HiddenSectionsChecked(report=report, stopped=False)


def section_agreement(dense: dict, kept, z_factor: float, thickness: float) -> dict:
    """{method: {"consistency", "pulse"}} of the check's reconstructions at 2F: how far the section model applied
    to each is from the kept sections (mean absolute difference, grey levels) and how its fine detail pulses with
    them (core.inference.sharp.section_pulse)."""
    from ..inference.sharp import section_consistency, section_pulse

    return {name: {"consistency": section_consistency(volume, kept, z_factor, thickness),
                   "pulse": section_pulse(volume, z_factor)["modulation"]} for name, volume in dense.items()}


def _uncertainty_at_hidden(kept, hidden, model, dense, ours, thickness, scored, stop) -> dict:
    """The error model of the check's model (core.inference.error_model) read at the hidden sections like the
    reconstruction is, against the real error there: its rank correlation, coverage and calibrating scale."""
    from ..inference.error_model import fit_error_model, hidden_section_calibration

    fitted = None
    def hidden_in_pairs(n_sections, depth):  # hidden sections placed in the lateral pairs as in the check
        return hidden_section_weights(n_sections, depth, thickness)

    for event in fit_error_model(kept, model, stop=stop, averaged_as=hidden_in_pairs):
        fitted = event
    if fitted is None or fitted.stopped:
        return {}
    raw = fitted.model.calibrated(1.0, "raw").sigma(dense["ours"], dense["cubic"], kept.shape[0])
    # a hidden section is a mean over rows, whose error is smaller than a voxel's by the averaging factor
    factor = fitted.model.info["averaging_factor"]
    sigma_hidden = predict_hidden(raw, kept.shape[0], thickness) * factor
    errors = np.asarray(ours, np.float64) - np.asarray(hidden, np.float64)
    return {**hidden_section_calibration(sigma_hidden, errors, np.asarray(scored, bool)), "averaging_factor": factor}

