"""Run the bench: simulate the acquisition, reconstruct it with every method (trained ones once per seed),
score each against the isotropic volume, and gather the report."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..core.errors import IsoReconError
from ..core.settings.config import ReconConfig, TrainConfig
from ..core.settings.zfactor import check_z_factor
from .methods import HANDMADE, HINTS, INTERPOLATIONS, LEARNED, METHODS
from .report import machine_description, summarise, write_report
from .scores import (
    SHIFT_STEP,
    best_z_shift_scores,
    mean_of,
    mean_spectra,
    spectral_scores,
    spread_of,
    truth_spectra,
)
from .simulate import exact_crop_depth, noisy_degradation, simulate_acquisition

FIDELITY_KEYS = ("degradation_fidelity", "degradation_fidelity_whole_g_hl")


def _train(lr_volume, cfg: TrainConfig, degradation=None, log=print):
    from ..core.events import TrainFinished
    from ..core.training.train import train

    final = None
    for event in train(lr_volume, cfg, degradation=degradation):
        if isinstance(event, TrainFinished):
            final = event
    log(f"    seed {cfg.seed}: {final.steps} steps in {final.elapsed:.0f} s")
    return final.model, final.elapsed, final.steps


def _fidelity(degrade, lr_volume, z_factor, kind, normalizer):
    """G_hl (or a hand-made kernel) vs the true simulated degradation (its kernel, without noise), on the xy
    slices of the input."""
    import torch

    from ..core.checks.metrics import image_scores
    from ..core.training.sections import degrade_slices

    rows = int(lr_volume.shape[1] // z_factor)
    hr_rows = int(round(rows * z_factor))
    hr = torch.from_numpy(normalizer.to_unit(lr_volume[:, :hr_rows, :]))[:, None]
    with torch.no_grad():
        fake = degrade(hr, rows)
        true = degrade_slices(hr, z_factor, kind, rows)
    return image_scores(fake[:, 0].numpy(), true[:, 0].numpy(), normalizer.unit_data_range())


def _check_arguments(iso_volume, degradation, methods, noise, seeds):
    from ..core.geometry import check_volume
    from ..core.training.sections import KINDS

    check_volume(iso_volume, what="isotropic volume")
    if degradation not in KINDS:
        raise IsoReconError(f"Unknown degradation {degradation!r}; choose one of {', '.join(KINDS)}.")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        hints = "".join(f" ({name!r}: {HINTS[name]})" for name in unknown if name in HINTS)
        raise IsoReconError(f"Unknown methods {unknown}{hints}; choose from {', '.join(METHODS)}.")
    if not (np.isfinite(noise) and noise >= 0):
        raise IsoReconError(f"The noise level must be a finite number of grey levels >= 0, got {noise}.")
    if int(seeds) != seeds or seeds < 1:
        raise IsoReconError(f"The number of seeds must be a whole number >= 1, got {seeds}.")


class _Acquisition:
    """The simulated acquisition and what every method needs to reconstruct and score it."""

    def __init__(self, truth, lr_volume, z_factor, degradation, noise):
        self.truth, self.lr_volume = truth, lr_volume
        self.z_factor, self.degradation, self.noise = z_factor, degradation, noise

    def oracle_degradation(self, cfg: TrainConfig):
        """The true kernel, plus the acquisition's noise level (in the training's unit scale) when there is one."""
        if self.noise == 0:
            return self.degradation
        from ..core.model.intensity import Normalizer

        normalizer = Normalizer.fit(self.lr_volume, cfg.percentiles)  # the one train() fits
        return noisy_degradation(self.degradation, self.z_factor, self.noise / (normalizer.high - normalizer.low),
                                 cfg.seed)


def _run_once(method: str, acq: _Acquisition, cfg: TrainConfig | None, log) -> tuple[np.ndarray, dict]:
    """(reconstruction, record) of one method, trained with ``cfg`` (None for an interpolation)."""
    from ..core.checks.metrics import axial_scores
    from ..core.inference.reconstruct import interpolate, reconstruct, run_to_end
    from ..core.training.sections import OFF_CENTRE_KINDS, degrade_slices

    t0 = time.perf_counter()
    record = {}
    if cfg is None:
        result = run_to_end(interpolate(acq.lr_volume, acq.z_factor, method)).volume
        record.update(train_seconds=0.0, train_steps=0)
    else:
        kind = acq.oracle_degradation(cfg) if method == "oracle" else method if method in HANDMADE else None
        model, train_seconds, train_steps = _train(acq.lr_volume, cfg, degradation=kind, log=log)
        if method == "ours_g_lh":
            model.reconstructor = None  # G_lh alone
        result = run_to_end(reconstruct(acq.lr_volume, model, ReconConfig(precision=cfg.precision))).volume
        record.update(seed=cfg.seed, train_seconds=round(train_seconds, 1), train_steps=train_steps,
                      stage_steps=list(model.state.stage_steps))  # (CycleGAN, supervised)
        fidelity = {}
        if method in HANDMADE:
            fidelity["degradation_fidelity"] = _fidelity(
                lambda hr, rows: degrade_slices(hr, acq.z_factor, method, rows), acq.lr_volume, acq.z_factor,
                acq.degradation, model.normalizer)
        elif method in ("ours_g_lh", "ours_stage2", "ours_learned"):
            # the degradation that makes stage-2 pairs, and the whole G_hl (residual branch included)
            fidelity["degradation_fidelity"] = _fidelity(model.pair_degradation(), acq.lr_volume, acq.z_factor,
                                                         acq.degradation, model.normalizer)
            fidelity["degradation_fidelity_whole_g_hl"] = _fidelity(model.g_hl, acq.lr_volume, acq.z_factor,
                                                                    acq.degradation, model.normalizer)
        record.update(fidelity)
    record.update(axial_scores(result, acq.truth))
    record["spectra"] = spectral_scores(result, acq.truth, acq.z_factor)
    if acq.degradation in OFF_CENTRE_KINDS:
        record["best_z_shift"] = best_z_shift_scores(result, acq.truth, acq.z_factor)
    record["total_seconds"] = round(time.perf_counter() - t0, 1)
    shifted = (f"; after a z shift of {record['best_z_shift']['shift_rows']:+g} rows: "
               f"xz {record['best_z_shift']['xz']['psnr']:.2f} dB") if "best_z_shift" in record else ""
    log(f"    xz {record['xz']['psnr']:.2f} dB / {record['xz']['ssim']:.3f}, "
        f"yz {record['yz']['psnr']:.2f} dB / {record['yz']['ssim']:.3f}{shifted}")
    return result, record


def combine_runs(runs: list[dict]) -> dict:
    """One method's entry: the mean of its runs' scores, their spread, and every run."""
    axes = ("xz", "yz")
    entry = {**mean_of([{a: r[a] for a in axes} for r in runs]),
             "spread": spread_of([{a: r[a] for a in axes} for r in runs]),
             "train_seconds": round(float(np.mean([r["train_seconds"] for r in runs])), 1),
             "train_steps": int(round(np.mean([r["train_steps"] for r in runs]))),
             "total_seconds": round(sum(r["total_seconds"] for r in runs), 1)}
    if "spectra" in runs[0]:
        entry["spectra"] = mean_spectra([r["spectra"] for r in runs])
    if "seed" in runs[0]:
        entry["seeds"] = [r["seed"] for r in runs]
        entry["stage_steps"] = [int(round(s)) for s in np.mean([r["stage_steps"] for r in runs], axis=0)]
    if "best_z_shift" in runs[0]:
        shifted = [{a: r["best_z_shift"][a] for a in axes} for r in runs]
        entry["best_z_shift"] = {**mean_of(shifted), "spread": spread_of(shifted),
                                 "shift_rows": [r["best_z_shift"]["shift_rows"] for r in runs]}
    entry["runs"] = runs
    return entry


def run_bench(iso_volume, z_factor: float, degradation: str = "cubic", minutes: float = 10.0,
              baseline_minutes: float | None = None, methods=METHODS, seed: int = 0, out_dir=None,
              steps: int | None = None, train_overrides: dict | None = None, noise: float = 0.0, seeds: int = 1,
              log=print) -> dict:
    """Run the benchmark; returns the report dict and, with ``out_dir``, writes report.json/.md and a figure.

    ``steps`` replaces the minutes budget by a step budget for every trained method (repeatable runs).
    ``noise``: std of Gaussian noise (grey levels) added to the simulated acquisition, drawn with ``seed``.
    ``seeds``: each trained method runs with seeds ``seed .. seed + seeds - 1``; the report gives the mean
    and the spread (interpolations run once).
    """
    z_factor = check_z_factor(z_factor)
    _check_arguments(iso_volume, degradation, methods, noise, seeds)
    baseline_minutes = minutes if baseline_minutes is None else baseline_minutes
    depth = exact_crop_depth(iso_volume.shape[0], z_factor)
    truth = np.asarray(iso_volume[:depth])
    acq = _Acquisition(truth, simulate_acquisition(truth, z_factor, degradation, noise, seed), z_factor,
                       degradation, float(noise))
    log(f"isotropic {truth.shape} -> simulated anisotropic {acq.lr_volume.shape} ({degradation}, x{z_factor:g}"
        + (f", noise {noise:g} grey levels)" if noise else ")"))
    base_cfg = TrainConfig(z_factor=z_factor, minutes=minutes, seed=seed, **(train_overrides or {}))
    report = _new_report(base_cfg, iso_volume.shape[0], depth, degradation, noise, seed, seeds, minutes,
                         baseline_minutes, steps)
    report["truth_spectra"] = truth_spectra(truth, z_factor)  # what an isotropic volume reads
    outputs = {}
    for method in methods:
        log(f"- {method}")
        runs = []
        for cfg in _configs(method, base_cfg, seeds, steps, baseline_minutes):
            result, record = _run_once(method, acq, cfg, log)
            runs.append(record)
            outputs.setdefault(method, result)  # the first seed's, for the figure
        report["methods"][method] = combine_runs([{k: v for k, v in r.items() if k not in FIDELITY_KEYS}
                                                  for r in runs])
        for key in FIDELITY_KEYS:
            fidelity = [r[key] for r in runs if key in r]
            if fidelity:
                report[key][method] = {**mean_of(fidelity), "spread": spread_of(fidelity)}
    report["summary"] = summarise(report)
    if out_dir is not None:
        write_report(report, truth, outputs, Path(out_dir))
    return report


def _configs(method: str, base_cfg: TrainConfig, seeds: int, steps, baseline_minutes):
    """One training config per seed for a trained method; [None] (run once) for an interpolation."""
    if method in INTERPOLATIONS:
        return [None]
    budget = baseline_minutes if method in HANDMADE else base_cfg.minutes
    cfg = base_cfg.replace(minutes=budget) if steps is None else base_cfg.replace(steps=steps, minutes=None)
    if method in LEARNED and not cfg.learns_degradation:
        cfg = cfg.replace(stage2_pairs="kernel")
    if method == "ours_g_lh":
        cfg = cfg.replace(stage2_fraction=0.0)
    return [cfg.replace(seed=base_cfg.seed + i) for i in range(int(seeds))]


def _new_report(cfg, full_depth, depth, degradation, noise, seed, seeds, minutes, baseline_minutes, steps):
    from ..core.training.sections import OFF_CENTRE_KINDS

    report = {"z_factor": cfg.z_factor, "degradation": degradation, "noise_sigma": float(noise),
              "off_centre": degradation in OFF_CENTRE_KINDS, "minutes": minutes, "steps": steps,
              "baseline_minutes": baseline_minutes, "seed": seed,
              "seeds": list(range(seed, seed + int(seeds))),
              "crop": f"z rows 0..{depth} of {full_depth}, all y and x; scores are means over every "
                      "xz slice and every yz slice",
              "config": cfg.to_dict(), "methods": {}, "degradation_fidelity": {},
              "degradation_fidelity_whole_g_hl": {}, "machine": machine_description()}
    if report["off_centre"]:
        report["best_z_shift_search"] = (f"every global z shift of the result in [-f, f] rows by {SHIFT_STEP:g} "
                                         "(linear interpolation between rows, end rows repeated); the one with the "
                                         "best mean xz/yz PSNR is scored")
    return report
