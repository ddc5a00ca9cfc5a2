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
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import IsoReconError
from ..events import CheckProgress, HiddenSectionsChecked, TrainFinished, stop_requested
from ..geometry import check_volume, linear_read_weights
from ..settings.acquisition import MAX_SECTION_THICKNESS
from ..settings.config import ReconConfig, TrainConfig
from .hidden_report import HiddenSectionReport
from .metrics import data_range_of, psnr_ssim_2d

METHODS = ("ours", "cubic", "neighbour mean")
_SAMPLES_PER_SECTION = 64  # midpoint-rule samples of a hidden section's z range


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


def run_hidden_section_check(volume, cfg: TrainConfig, recon: ReconConfig | None = None, stop=None,
                             thickness: float | None = None, preview_every: int = 0) -> Iterator:
    """Train at 2F on the kept sections (``cfg`` with the volume's factor F; the rest of its settings kept),
    reconstruct, and score the hidden sections. Yields core.training.train's events, ``CheckProgress`` and finally
    ``HiddenSectionsChecked`` (report None when stopped). The input is checked before the first event.
    ``thickness``: of the volume's sections in z-steps (default ``cfg.section_thickness``); at 2F the kept
    sections are half as thick, and the check's training starts its kernel there."""
    kept, hidden = split_sections(volume)
    thickness = cfg.section_thickness if thickness is None else thickness
    _check_thickness(thickness)
    try:
        # the kept sections are as thick as before but twice as far apart: half as thick in z-steps
        check_cfg = cfg.replace(z_factor=2 * cfg.z_factor, section_thickness=thickness / 2)
    except IsoReconError as exc:
        raise IsoReconError(f"The hidden-section check trains at twice the z-factor ({2 * cfg.z_factor:g}): "
                            f"{exc}") from None
    from ..training.train import train

    events = train(kept, check_cfg, stop=stop, preview_every=preview_every)  # checks sizes before any work
    return _check_events(events, kept, hidden, check_cfg, recon or ReconConfig(device=cfg.device, precision=cfg.precision), stop,
                         thickness)


def _check_events(train_events, kept, hidden, cfg, recon, stop, thickness) -> Iterator:
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
    yield CheckProgress(phase="scoring", progress=1.0)
    predictions = {name: predict_hidden(dense[name], kept.shape[0], thickness) for name in ("ours", "cubic")}
    predictions["neighbour mean"] = neighbour_mean(kept)
    scores = score_predictions(predictions, hidden)
    report = HiddenSectionReport.from_scores(
        scores, hidden=hidden, predictions=predictions, z_factor=cfg.z_factor / 2, thickness=thickness,
        training={"steps": final.steps, "seconds": round(final.elapsed, 1), "seed": cfg.seed,
                  "minutes": cfg.minutes, "step_budget": cfg.steps})
    yield HiddenSectionsChecked(report=report, stopped=False)

