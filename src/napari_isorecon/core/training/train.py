"""Training as a generator of events: stage 1 learns the degradation (CycleGAN), stage 2 trains the
reconstruction backbone supervised on (degraded xy, xy) pairs, degraded by the declared serial section
(``stage2_pairs="section"``, the default: stage 1 is skipped) or by what stage 1 learned. Honours a stop
flag between steps.

    for event in train(volume, TrainConfig(z_factor=10, minutes=5)):
        ...
    model = event.model   # the last event is a TrainFinished
"""

from __future__ import annotations

import copy
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..checks.artefacts import check_usable, find_section_artefacts
from ..errors import IsoReconError
from ..events import (
    BUDGET_USED,
    STAGE_NAMES,
    STOPPED_BY_USER,
    ArtefactsFound,
    DegradationPreview,
    PrecisionFellBack,
    StageStarted,
    TrainFinished,
    TrainSnapshot,
    TrainStep,
    stop_requested,
)
from ..geometry import check_volume, patch_geometry
from ..model.intensity import Normalizer
from ..model.iso_model import IsoModel
from ..model.phase_levels import measure_phase_levels
from ..networks import losses
from ..settings.config import TrainConfig
from ..settings.device import resolve_device
from ..settings.precision import resolve_precision
from .early_stop import HeldOutPairs, HeldOutWatch
from .noise import PixelNoise, volume_noise_sigma
from .sampling import PatchSampler, axial_windows
from .updates import NonFiniteStep, Updates


class _Budget:
    """Steps or minutes for both stages; stage 2 gets ``stage2_fraction`` of it, and more when stage 1
    reaches ``stage1_max_steps`` first (only when there is a stage 2 to give the time to)."""

    def __init__(self, cfg: TrainConfig):
        self.by_steps = cfg.steps is not None
        self.total = cfg.steps if self.by_steps else cfg.minutes * 60.0
        self.stage1 = self.total * (1 - cfg.stage2_fraction)
        if self.by_steps:
            self.stage1 = int(round(self.stage1))
        self.stage1_max_steps = cfg.stage1_max_steps if cfg.stage2_fraction > 0 else None

    def used(self, state) -> float:
        return state.step if self.by_steps else state.elapsed

    def stage_done(self, stage: int, state) -> bool:
        if stage == 1 and self.stage1_max_steps is not None and state.stage_steps[0] >= self.stage1_max_steps:
            return True
        limit = self.stage1 if stage == 1 else self.total
        return self.used(state) >= limit

    def progress(self, state) -> float:
        return min(1.0, self.used(state) / self.total)


def _optimizers(model: IsoModel, cfg: TrainConfig):
    """The optimisers for the networks that exist, restored from ``model.state`` when it holds them."""
    nets = model.networks
    opts = {
        "g": torch.optim.Adam([
            {"params": [p for n, p in nets["g_hl"].named_parameters() if n != "kernel"]
             + list(nets["g_lh"].parameters())},
            {"params": [nets["g_hl"].kernel], "lr_factor": cfg.kernel_lr_factor * nets["g_hl"].kernel_lr_scale},
        ], lr=cfg.lr_generators, betas=cfg.betas),
        "d": torch.optim.Adam(list(nets["d_l"].parameters()) + list(nets["d_h"].parameters()),
                              lr=cfg.lr_discriminators, betas=cfg.betas),
    }
    if model.reconstructor is not None:
        opts.update(_reconstructor_optimizer(model, cfg))
    for name, opt in opts.items():
        if name in model.state.optimizers:
            opt.load_state_dict(model.state.optimizers[name])
    return opts


def _reconstructor_optimizer(model: IsoModel, cfg: TrainConfig) -> dict:
    return {"r": torch.optim.Adam(model.reconstructor.parameters(), lr=cfg.lr_generators, betas=(0.9, 0.999))}


def _record_state(state, rng, opts) -> None:
    """Put what resuming needs (sampler RNG, optimiser moments) into ``state``, copied, not shared."""
    state.rng_state = copy.deepcopy(rng.bit_generator.state)
    state.optimizers = {name: copy.deepcopy(opt.state_dict()) for name, opt in opts.items()}


def _generator_rate(cfg: TrainConfig, stage_step: int) -> float:
    return cfg.lr_generators * cfg.lr_decay ** (stage_step // cfg.steps_per_epoch)


def _cycle_step(model: IsoModel, opts, hr, lr, cfg: TrainConfig, noise: PixelNoise | None = None,
                updates: Updates | None = None) -> dict[str, float]:
    """One CycleGAN step: generators (eq. 6) then discriminators (eq. 7). ``noise``: the volume's pixel
    noise, partly put back into G_hl's fakes (core.training.noise). The networks run in ``updates``' precision,
    the losses in float32."""
    g_hl, g_lh, d_l, d_h = (model.networks[k] for k in ("g_hl", "g_lh", "d_l", "d_h"))
    updates = updates or Updates()
    w = cfg.weights
    hr_rows, lr_rows = hr.shape[-2], lr.shape[-2]
    for p in list(d_l.parameters()) + list(d_h.parameters()):
        p.requires_grad_(False)
    with updates.forward():
        fake_lr = g_hl(hr, lr_rows).float()
        if noise is not None:
            fake_lr = noise.add_missing(fake_lr, g_hl.axial_kernel())
        fake_hr = g_lh(lr, hr_rows).float()
        scores_fake_lr, scores_fake_hr = d_l(fake_lr).float(), d_h(fake_hr).float()
        cycled_lr, cycled_hr = g_hl(fake_hr, lr_rows).float(), g_lh(fake_lr, hr_rows).float()
    loss_ghl = losses.generator_adversarial(scores_fake_lr)
    loss_glh = losses.generator_adversarial(scores_fake_hr)
    loss_cyc_lr = losses.cycle(cycled_lr, lr)
    loss_cyc_hr = losses.cycle(cycled_hr, hr)
    loss_mean = losses.mean_preservation(fake_lr, hr) + losses.mean_preservation(fake_hr, lr)
    # the prior is for free taps; the section model's two parameters need none
    loss_kernel = (losses.kernel_roughness(g_hl.axial_kernel(), g_hl.z_factor) if g_hl.kernel_model == "free"
                   else torch.zeros((), device=hr.device))
    loss_g = (w.adv_hl * loss_ghl + w.adv_lh * loss_glh + w.cycle * (loss_cyc_lr + loss_cyc_hr)
              + w.mean * loss_mean + w.kernel_smooth * loss_kernel)
    updates.step(opts["g"], loss_g)
    for p in list(d_l.parameters()) + list(d_h.parameters()):
        p.requires_grad_(True)
    with updates.forward():
        scores = [d(x).float() for d, x in ((d_l, lr), (d_l, fake_lr.detach()), (d_h, hr), (d_h, fake_hr.detach()))]
    loss_dl = losses.discriminator_adversarial(scores[0], scores[1])
    loss_dh = losses.discriminator_adversarial(scores[2], scores[3])
    updates.step(opts["d"], loss_dl + loss_dh)
    return {"G_hl adversarial": loss_ghl.item(), "G_lh adversarial": loss_glh.item(),
            "cycle LR": loss_cyc_lr.item(), "cycle HR": loss_cyc_hr.item(), "mean shift": loss_mean.item(),
            "D_l": loss_dl.item(), "D_h": loss_dh.item()}


def _supervised_step(model: IsoModel, opts, hr, lr_rows: int, degrade=None,
                     noise: PixelNoise | None = None, updates: Updates | None = None) -> dict[str, float]:
    """Stage 2: reconstruct HR from its pair degradation (``model.pair_degradation()``, or a given one) with
    ``stage2_loss`` (L2 by default); G_hl is frozen. The pairs and the loss are float32, the network runs
    in ``updates``' precision.

    With ``stage2_pairs="kernel"`` the pairs come from G_hl's learned axial kernel alone: its residual
    branch absorbs, in stage 1, what makes the real axial slices look different from degraded lateral
    ones beyond the kernel, and pairs made with it cost 0.2 dB (docs/method.md).

    With ``detail > 0`` the HR critic D_h judges the prediction against real lateral patches and the loss
    gains ``detail`` times its least-squares adversarial term; D_h then takes one step (:func:`_critic_step`).
    """
    with torch.no_grad():
        synthetic_lr = model.stage2_inputs(hr, lr_rows, noise) if degrade is None else degrade(hr, lr_rows)
    updates = updates or Updates()
    detail = model.config.detail
    critic = model.networks["d_h"] if detail > 0 else None
    if critic is not None:
        critic.requires_grad_(False)
    with updates.forward():
        prediction = model.reconstructor(synthetic_lr, hr.shape[-2]).float()
        fake_scores = critic(prediction).float() if critic is not None else None
    if model.config.stage2_loss == "l2":
        loss = torch.nn.functional.mse_loss(prediction, hr)
    else:
        loss = torch.nn.functional.l1_loss(prediction, hr)
    step_losses = {f"reconstruction {model.config.stage2_loss.upper()}": loss.item()}
    if critic is None:
        updates.step(opts["r"], loss)
        return step_losses
    adversarial = losses.generator_adversarial(fake_scores)
    updates.step(opts["r"], loss + detail * adversarial)
    return {**step_losses, "critic adversarial": adversarial.item(),
            **_critic_step(critic, opts["d"], hr, prediction.detach(), updates)}


def _critic_step(critic, optimizer, real, fake, updates: Updates) -> dict[str, float]:
    """One least-squares step of the HR critic on real lateral patches against reconstructions."""
    critic.requires_grad_(True)
    with updates.forward():
        real_scores, fake_scores = critic(real).float(), critic(fake).float()
    loss = losses.discriminator_adversarial(real_scores, fake_scores)
    updates.step(optimizer, loss)
    return {"critic": loss.item()}


@dataclass(frozen=True)
class TrainingSteps:
    """The two step functions that :func:`train` calls, for experiments to plug in their own (no patching):
    ``cycle(model, opts, hr, lr, cfg, noise, updates) -> losses`` for stage 1 and
    ``supervised(model, opts, hr, lr_rows, degrade, noise, updates) -> losses`` for stage 2 (``noise``: a
    ``noise.PixelNoise`` for this step, or None; ``updates``: the run's :class:`Updates`, its precision)."""

    cycle: Callable[..., dict[str, float]] = _cycle_step
    supervised: Callable[..., dict[str, float]] = _supervised_step


def _preview(model: IsoModel, sampler: PatchSampler, step: int) -> DegradationPreview:
    """The pair degradation on a fixed central lateral crop, beside a real axial crop of the same size,
    with G_hl's axial kernel."""
    vol = sampler.volume
    z, y, x = vol.shape
    rows, width = sampler.hr_rows, min(x, 4 * sampler.width)
    if rows > y:
        rows = y
    y0, x0 = (y - rows) // 2, (x - width) // 2
    section = int(sampler.sections[np.argmin(np.abs(sampler.sections - z // 2))])  # a real one near the centre
    lateral = np.asarray(vol[section, y0:y0 + rows, x0:x0 + width])
    lr_rows = min(sampler.lr_rows, z)
    z0 = int(sampler.lr_starts[np.argmin(np.abs(sampler.lr_starts - (z - lr_rows) // 2))])
    axial = np.asarray(vol[z0:z0 + lr_rows, y // 2, x0:x0 + width])
    with torch.no_grad():
        kernel = model.pair_kernel().detach().cpu().numpy().copy()
    return DegradationPreview(step=step, lateral=lateral, axial=axial, kernel=kernel,
                              degraded=model.degrade(lateral, out_rows=lr_rows, pairs=True))


def train(volume, cfg: TrainConfig, stop=None, resume: IsoModel | None = None,
          preview_every: int = 0, degradation: str | None = None, snapshot_every: float = 0.0,
          steps: TrainingSteps | None = None, artefacts=None) -> Iterator:
    """Train on ``volume`` (Z, Y, X; numpy, dask or zarr). Yields ArtefactsFound, StageStarted, TrainStep,
    DegradationPreview (every ``preview_every`` steps, if > 0), TrainSnapshot (every ``snapshot_every``
    seconds of training, if > 0: save its model to survive a killed process), HeldOutScore (stage 2, with
    ``cfg.early_stop``) and finally TrainFinished, whose ``reason`` says why it ended.

    With ``cfg.early_stop`` (the default) stage 2 ends when its network stops improving on a fixed draw of
    held-back pairs (:mod:`.early_stop`: scored every ``steps_per_epoch / 2`` stage-2 steps, and recorded in
    ``model.state.held_out``); the budget is then a ceiling. Stopped so, the model keeps the reconstruction
    network of the best held-back score of this run (its weights, not its optimiser's state). Stage 1 keeps its
    own budget rule; a run without a stage 2 is not scored.

    ``stop``: a ``threading.Event`` (or a callable returning bool) checked between steps; a stopped run
    still finishes with a usable model. ``resume``: a model from an earlier run of the same config,
    continued where it stopped with the remaining budget. ``degradation``: instead of learning it, assume
    a hand-made one (see :mod:`.sections`; "cubic", "take", "gaussian", ...) and train the reconstruction
    network on it alone: the supervised baselines of the paper's Table 1 (stage 1 is skipped). It may also
    be a callable ``(hr, rows) -> lr`` on unit-scale (N, 1, H, W) tensors (the bench's oracle with noise).
    ``steps``: the step functions (:class:`TrainingSteps`; default the engine's).

    The stack is scanned first (``core.checks.artefacts``): the first event is an ArtefactsFound, and
    duplicated, blank or saturated sections are left out of the patches; a stack with fewer than 4 real
    sections, or made only of copies, is refused here, at the call. ``artefacts``: a scan of ``volume`` already
    made (``find_section_artefacts``, with the registration), so that a job that trains and then reconstructs
    the same volume scans it once.
    """
    check_volume(volume)
    geometry = patch_geometry(volume.shape, cfg.z_factor, cfg.lr_rows, cfg.patch_width)
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    torch.manual_seed(cfg.seed)
    if resume is not None:
        mismatch = cfg.network_mismatch(resume.config)  # the z-factor included (settings.zfactor.same_z_factor)
        if mismatch:
            raise IsoReconError(f"Cannot resume: the model was trained with {mismatch}; resume with its own "
                                "settings.")
        model = IsoModel(cfg, resume.normalizer, resume.networks, resume.reconstructor, resume.state)
    else:
        model = IsoModel(cfg, Normalizer.fit(volume, cfg.percentiles))
        if not cfg.learns_degradation:
            model.state.stage = 2  # the pairs come from the declared sections: nothing for stage 1 to learn
    degrade = None
    if callable(degradation):
        model.state.stage = 2
        degrade = degradation
    elif degradation is not None:
        from .sections import KINDS, degrade_slices

        if degradation not in KINDS:
            raise IsoReconError(f"Unknown degradation {degradation!r}; choose one of {', '.join(KINDS)}.")
        model.state.stage = 2  # the whole budget goes to the supervised stage

        def degrade(hr, rows):
            return degrade_slices(hr, cfg.z_factor, degradation, rows)
    if snapshot_every < 0 or not np.isfinite(snapshot_every):
        raise IsoReconError(f"The checkpoint interval must be a finite number of seconds >= 0, "
                            f"got {snapshot_every}.")
    if artefacts is None:
        artefacts = find_section_artefacts(volume)
    artefacts = check_usable(artefacts)  # sections that are no real image are set aside
    return _train_events(volume, cfg, model.to(device), geometry, device, stop, preview_every, degrade,
                         snapshot_every, steps or TrainingSteps(), Updates(precision), artefacts)


def _artefact_sampler(volume, model, geometry, rng, artefacts) -> tuple[PatchSampler, ArtefactsFound]:
    """The patch sampler that sets aside the sections that are no real image (``artefacts.not_real``), and the
    event that says so: HR patches from the usable sections, LR patches from z windows free of the others."""
    lr_rows, hr_rows, width = geometry
    not_real = artefacts.not_real
    starts, clean = axial_windows(volume.shape[0], lr_rows, not_real)
    note = ""
    if not clean and model.state.stage == 1:  # only stage 1 (the CycleGAN) learns from real axial patches
        note = (f"No {lr_rows}-section z window is free of them: the real axial patches come from the "
                f"{len(starts)} windows that hold the fewest.")
    sampler = PatchSampler(volume, model.normalizer, lr_rows, hr_rows, width, rng, sections=artefacts.usable,
                           lr_starts=starts)
    return sampler, ArtefactsFound(artefacts, note)


def _train_events(volume, cfg, model, geometry, device, stop, preview_every, degrade=None,
                  snapshot_every: float = 0.0, steps: TrainingSteps = TrainingSteps(),
                  updates: Updates | None = None, artefacts=None) -> Iterator:
    lr_rows, hr_rows, width = geometry
    updates = updates or Updates()
    state = model.state
    rng = np.random.default_rng(cfg.seed)
    if state.rng_state is not None:
        rng.bit_generator.state = state.rng_state
    if artefacts is None:
        artefacts = find_section_artefacts(volume)
    sampler, found = _artefact_sampler(volume, model, geometry, rng, artefacts)
    yield found
    budget = _Budget(cfg)
    batch = cfg.batch_size
    stopped = False
    opts = _optimizers(model, cfg)
    noise_sigma = volume_noise_sigma(volume, model.normalizer) if cfg.match_noise else 0.0

    def to_tensor(a):
        return torch.from_numpy(a).to(device)

    for net in model.networks.values():
        net.train()
    announced = None
    last_snapshot = state.elapsed
    state.stop_reason = reason = ""  # said again when this run ends
    watch = HeldOutWatch(cfg, lambda: HeldOutPairs.draw(model, sampler, lr_rows, degrade, noise_sigma, device)) \
        if cfg.early_stop else None  # stage 2's held-back pairs (core.training.early_stop)
    while not stopped:
        if state.stage == 1 and budget.stage_done(1, state):
            state.stage = 2
        if state.stage == 2 and budget.stage_done(2, state):
            if watch is not None and watch.due(state, at_end=True):  # the curve ends with the model returned
                yield watch.score(model.reconstructor, state, updates.forward, batch)
            break
        if state.stage == 2 and model.reconstructor is None:
            model.reconstructor = model.new_reconstructor().to(device)
            model.reconstructor.train()
            opts.update(_reconstructor_optimizer(model, cfg))
        if announced != state.stage:
            announced = state.stage
            yield StageStarted(state.stage, STAGE_NAMES[state.stage], device=str(device),
                               precision=updates.precision.name)
        if stop_requested(stop):
            stopped = True
            break
        if watch is not None and watch.due(state):
            yield watch.score(model.reconstructor, state, updates.forward, batch)
            if watch.converged(budget.progress(state)):
                reason = watch.keep_best(model.reconstructor)
                break
        t0 = time.perf_counter()
        stage_step = state.stage_steps[state.stage - 1]
        gen_rate = _generator_rate(cfg, stage_step)
        noise = PixelNoise(noise_sigma, cfg.seed, state.step) if noise_sigma > 0 else None
        try:
            if state.stage == 1:
                for group in opts["g"].param_groups:
                    group["lr"] = gen_rate * group.get("lr_factor", 1.0)
                step_losses = steps.cycle(model, opts, to_tensor(sampler.hr_batch(batch)),
                                          to_tensor(sampler.lr_batch(batch)), cfg, noise, updates)
                rates = {"generators": gen_rate, "discriminators": cfg.lr_discriminators}
            else:
                opts["r"].param_groups[0]["lr"] = gen_rate
                step_losses = steps.supervised(model, opts, to_tensor(sampler.hr_batch(batch)), lr_rows,
                                               degrade, noise, updates)
                rates = {"reconstruction": gen_rate}
        except NonFiniteStep:  # reduced precision only: nothing was applied; the step is done again in float32
            was = updates.precision.name
            updates.fall_back()
            yield PrecisionFellBack(step=state.step, was=was)
            continue
        if not all(np.isfinite(v) for v in step_losses.values()):
            raise IsoReconError("Training diverged (a loss became NaN or Inf); lower the learning rate or "
                                "check the volume for extreme values.")
        state.elapsed += time.perf_counter() - t0
        state.step += 1
        counts = list(state.stage_steps)
        counts[state.stage - 1] += 1
        state.stage_steps = tuple(counts)
        if state.step % cfg.log_every == 0:
            yield TrainStep(state.stage, state.step, step_losses, rates, state.elapsed, budget.progress(state))
        if preview_every and state.step % preview_every == 0:
            yield _preview(model, sampler, state.step)
        if snapshot_every and state.elapsed - last_snapshot >= snapshot_every:
            last_snapshot = state.elapsed
            _record_state(state, rng, opts)
            yield TrainSnapshot(model=model, step=state.step, elapsed=state.elapsed)
    state.stop_reason = reason or (STOPPED_BY_USER if stopped else BUDGET_USED)
    _record_state(state, rng, opts)
    for net in model.networks.values():
        net.eval()
    if model.reconstructor is not None:
        model.reconstructor.eval()
    if cfg.hold_section_mean:  # the output's mean held to the sections' between them (model.phase_levels)
        net = model.reconstructor if model.reconstructor is not None else model.g_lh
        model.phase_levels = measure_phase_levels(net, volume, model.normalizer, cfg.z_factor, artefacts.not_real)
    if preview_every:
        yield _preview(model, sampler, state.step)
    yield TrainFinished(model=model, stopped=stopped, steps=state.step, elapsed=state.elapsed,
                        reason=state.stop_reason)


def train_to_end(volume, cfg: TrainConfig, stop=None, resume: IsoModel | None = None) -> IsoModel:
    """Run :func:`train` to the end and return the model."""
    (finished,) = deque(train(volume, cfg, stop=stop, resume=resume), maxlen=1)
    return finished.model
