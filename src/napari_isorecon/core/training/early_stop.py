"""Stage 2 stops when it has learned: a fixed draw of held-back pairs, scored every so often, and the plateau
rule that ends stage 2 when their score stops rising (``TrainConfig.early_stop``; the budget is a ceiling).

**The held-back pairs** (:class:`HeldOutPairs`): ``HELD_OUT_PATCHES`` lateral patches drawn once, when stage 2
starts, by a patch sampler of their own (seeded by the run's seed and ``HELD_OUT_KEY``, over the same usable
sections as training), degraded as stage 2's training pairs are: the same pair degradation, its thickness
spread and matched pixel noise drawn with ``HELD_OUT_KEY`` in place of the step. The same seed gives the same
pairs at every evaluation and in a resumed run. The sampler cannot set regions of the volume aside, so this is a
held-back *draw*, not held-back tissue: training never uses these pairs (its patches, thicknesses and noise come
from its own draws), but its random crops may overlap theirs. The score says how well stage 2 restores pairs of
the kind it trains on that it was not fitted to; it is no score against the truth (that is the hidden-section
check's).

**The score** (:meth:`HeldOutPairs.score`): the reconstruction network in eval mode, under ``torch.no_grad`` and
the run's precision, on all the pairs; the PSNR of the pooled squared error on the unit scale (data range 1).
When stage 2 starts, every ``steps_per_epoch / 2`` of its steps (100 by default) and at the end of the budget:
32 patches, inference only, against 100 training steps of 8 patches with a backward pass (measured: 1.1 % of
stage 2's time with the default settings on the sample, 2,500 steps, 2-core Xeon, float32).

**The rule** (:class:`PlateauRule`): stage 2 ends when the held-back PSNR has not risen by ``min_delta`` dB
(0.02) above the score of its last such rise for ``patience`` evaluations (10: 1,000 steps) *and* for a quarter
of the evaluations so far (``PLATEAU_SHARE``), once ``after`` (a quarter) of the budget is used. The quarter:
stage 2's gains shrink like log(steps) (x10 box sections: +0.28 dB over cubic at 6,000 steps, +0.72 at 40,346;
research/log.md), so a fixed window would end a default CPU run near 11,000 steps and lose ~0.3 dB; a window that
grows with the run ends it only where the curve is flat on a log scale (less than 0.02 dB over its last quarter),
e.g. once the decaying learning rate has stopped it learning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .noise import PixelNoise
from .sampling import PatchSampler

HELD_OUT_PATCHES = 32
HELD_OUT_KEY = 2**31 - 1  # the held-back draws' key, in place of a step (no run gets that far)
PLATEAU_SHARE = 0.25  # the rule's window: at least this share of the evaluations so far


def evaluation_interval(cfg) -> int:
    """Stage-2 steps between two scores of the held-back pairs: half an epoch."""
    return max(1, cfg.steps_per_epoch // 2)


def psnr_of(mse: float) -> float:
    """PSNR in dB of a mean squared error on the unit scale (data range 1)."""
    return 10 * math.log10(1 / max(mse, 1e-12))


@dataclass
class PlateauRule:
    """When stage 2 has stopped learning: fed every held-back score (:meth:`update`), it says to stop
    (:meth:`should_stop`) when none of the last :meth:`window` evaluations rose ``min_delta`` dB above the score
    of the last rise, once ``after`` of the budget is used.

    >>> rule = PlateauRule(patience=2, min_delta=0.1, share=0.0)
    >>> [rule.update(score, step) for step, score in enumerate((20.0, 20.5, 20.55, 20.58))]
    [True, True, True, True]
    >>> rule.since_best, rule.should_stop(progress=1.0)
    (2, True)
    """

    patience: int  # evaluations without a rise that end stage 2, at least
    min_delta: float  # dB
    after: float = 0.0  # share of the budget used before the rule may stop anything
    share: float = PLATEAU_SHARE  # ... and at least this share of the evaluations so far
    best: float = -math.inf  # the highest score so far
    best_step: int = 0
    reference: float = -math.inf  # the score of the last rise by min_delta
    since_best: int = 0  # evaluations since that rise
    evaluations: int = 0

    @classmethod
    def of(cls, cfg) -> PlateauRule:
        return cls(patience=cfg.early_stop_patience, min_delta=cfg.early_stop_min_delta, after=cfg.early_stop_after)

    def update(self, score: float, step: int) -> bool:
        """Count one evaluation; True when ``score`` is the best so far."""
        self.evaluations += 1
        if score > self.reference and score - self.reference >= self.min_delta:
            self.reference, self.since_best = score, 0
        else:
            self.since_best += 1
        if score > self.best:
            self.best, self.best_step = score, step
            return True
        return False

    def window(self) -> int:
        """Evaluations without a rise that end stage 2 now: ``patience``, or a ``share`` of those so far."""
        return max(self.patience, math.ceil(self.share * self.evaluations))

    def should_stop(self, progress: float) -> bool:
        """Whether to end stage 2, with ``progress`` (0..1) of the budget used."""
        return progress >= self.after and self.since_best >= self.window()

    def reason(self) -> str:
        """Why it stopped, in words (``TrainFinished.reason``)."""
        return (f"converged: the held-back PSNR rose less than {self.min_delta:g} dB over the last "
                f"{self.since_best} evaluations (best {self.best:.2f} dB at step {self.best_step})")


class HeldOutPairs:
    """The fixed held-back pairs of stage 2 (see the module's docstring): ``lr`` inputs and ``hr`` targets,
    (N, 1, rows, width) float32 tensors on the run's device."""

    def __init__(self, lr: torch.Tensor, hr: torch.Tensor):
        self.lr, self.hr = lr, hr

    @classmethod
    def draw(cls, model, sampler: PatchSampler, lr_rows: int, degrade=None, noise_sigma: float = 0.0,
             device="cpu", count: int = HELD_OUT_PATCHES) -> HeldOutPairs:
        """``count`` HR patches from ``sampler``'s sections and geometry (a sampler of their own, seeded by
        the run's seed and ``HELD_OUT_KEY``), degraded as the training pairs are: ``degrade(hr, rows)`` when
        given (the callable draws its own noise), else ``model.stage2_inputs`` with the matched noise."""
        seed = model.config.seed
        own = PatchSampler(sampler.volume, sampler.normalizer, sampler.lr_rows, sampler.hr_rows, sampler.width,
                           np.random.default_rng([seed, HELD_OUT_KEY]), sections=sampler.sections,
                           lr_starts=sampler.lr_starts)
        hr = torch.from_numpy(own.hr_batch(count)).to(device)
        with torch.no_grad():
            if degrade is not None:
                lr = degrade(hr, lr_rows)
            else:
                noise = PixelNoise(noise_sigma, seed, HELD_OUT_KEY) if noise_sigma > 0 else None
                lr = model.stage2_inputs(hr, lr_rows, noise, draw=HELD_OUT_KEY)
        return cls(lr.detach().float(), hr)

    def score(self, network: torch.nn.Module, forward=None, batch: int = 8) -> float:
        """The PSNR (dB, unit scale) of ``network``'s reconstruction of the pairs, in eval mode, without
        gradients, ``batch`` patches at a time inside ``forward()`` (the run's autocast; None: none); the
        network's mode is put back."""
        was_training = network.training
        network.eval()
        squared, rows = 0.0, self.hr.shape[-2]
        try:
            with torch.no_grad():
                for start in range(0, self.hr.shape[0], max(1, batch)):
                    lr, hr = self.lr[start:start + batch], self.hr[start:start + batch]
                    if forward is None:
                        prediction = network(lr, rows).float()
                    else:
                        with forward():
                            prediction = network(lr, rows).float()
                    squared += float(((prediction - hr).double() ** 2).sum())
        finally:
            network.train(was_training)
        return psnr_of(squared / self.hr.numel())


def describe_held_out(curve) -> str:
    """A model's held-back curve (``TrainState.held_out``: [step, elapsed, PSNR] per evaluation) in one line:
    the first score, the best and the last, and how many there were; "" when there is none."""
    if not curve:
        return ""
    (first_step, _, first), (last_step, _, last) = curve[0], curve[-1]
    best_step, _, best = max(curve, key=lambda entry: entry[2])
    return (f"PSNR {first:.2f} dB at step {first_step:,}, best {best:.2f} dB at step {best_step:,}, last "
            f"{last:.2f} dB at step {last_step:,} ({len(curve)} evaluation{'s' if len(curve) != 1 else ''})")


class HeldOutWatch:
    """Stage 2's held-back pairs, their scores and the rule over them, for one run of ``train()``: when a score is
    due (:meth:`due`), the score as an event, recorded in the model's ``state.held_out`` (:meth:`score`), whether
    stage 2 has converged (:meth:`converged`) and, then, the best network of the run put back (:meth:`keep_best`).

    ``draw()`` makes the pairs, on the first score only. A resumed run replays the scores its model recorded, so
    that the rule decides as in an uninterrupted run; the best network it can put back is the best of this run."""

    def __init__(self, cfg, draw):
        self.every = evaluation_interval(cfg)
        self.rule = PlateauRule.of(cfg)
        self._draw = draw
        self.pairs: HeldOutPairs | None = None
        self._best_weights = None

    def due(self, state, at_end: bool = False) -> bool:
        """Whether stage 2 is to be scored now: at its start and every ``every`` of its steps, or ``at_end`` of
        the budget once it has trained; never twice at a step."""
        if state.stage != 2 or (state.held_out and state.held_out[-1][0] == state.step):
            return False
        return state.stage_steps[1] > 0 if at_end else state.stage_steps[1] % self.every == 0

    def score(self, network, state, forward=None, batch: int = 8):
        """Score ``network`` on the pairs, record it in ``state.held_out`` and return the ``HeldOutScore``."""
        from ..events import HeldOutScore

        if self.pairs is None:
            self.pairs = self._draw()
            for past_step, _, past_psnr in state.held_out:
                self.rule.update(past_psnr, past_step)
        psnr = self.pairs.score(network, forward, batch)
        state.held_out.append([state.step, state.elapsed, psnr])
        if self.rule.update(psnr, state.step):
            self._best_weights = {k: v.detach().clone() for k, v in network.state_dict().items()}
        rule = self.rule
        return HeldOutScore(step=state.step, elapsed=state.elapsed, psnr=psnr, best=rule.best,
                            since_best=rule.since_best, patience=rule.window(), min_delta=rule.min_delta)

    def converged(self, progress: float) -> bool:
        return self.pairs is not None and self.rule.should_stop(progress)

    def keep_best(self, network) -> str:
        """Put the best network of this run back into ``network`` (its score is at least the last one's) and
        say why stage 2 ended (``TrainFinished.reason``)."""
        if self._best_weights is None:  # a resumed run whose best came before it: the last network stays
            return self.rule.reason()
        network.load_state_dict(self._best_weights)
        return self.rule.reason() + "; that network is kept"
