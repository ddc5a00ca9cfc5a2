"""Small typed events yielded by the long jobs (training, reconstruction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def stop_requested(stop) -> bool:
    """True when ``stop`` (a ``threading.Event``, a callable returning bool, or None) asks to stop."""
    if stop is None:
        return False
    return bool(stop.is_set() if hasattr(stop, "is_set") else stop())


STAGE_NAMES = {1: "learn degradation (CycleGAN)", 2: "train reconstruction on synthetic pairs"}


@dataclass(frozen=True)
class StageStarted:
    stage: int
    name: str
    device: str = ""  # what the stage runs on, e.g. "cpu", "cuda"
    precision: str = ""  # the networks' arithmetic there: "float32", "bfloat16" or "float16"


@dataclass(frozen=True)
class TrainStep:
    stage: int
    step: int  # steps done over both stages, this one included
    losses: dict[str, float]
    learning_rates: dict[str, float]
    elapsed: float  # seconds
    progress: float  # fraction of the budget used, 0..1

    @property
    def seconds_left(self) -> float:
        return self.elapsed * (1 - self.progress) / self.progress if self.progress > 0 else float("nan")


@dataclass(frozen=True)
class PrecisionFellBack:
    """A step in reduced precision gave a loss or gradient that is NaN or Inf: it was not applied, and training
    goes on from the last good step in ``to`` (float32). Yielded once per run."""

    step: int  # steps done before the failed one
    was: str  # "bfloat16" or "float16"
    to: str = "float32"

    def describe(self) -> str:
        return (f"A {self.was} step gave a NaN or Inf after step {self.step}; it was not applied, and training "
                f"goes on in {self.to} from the last good step.")


@dataclass(frozen=True)
class DegradationPreview:
    """The degradation that makes the stage-2 pairs (``IsoModel.pair_degradation``) applied to a lateral
    crop, beside a real axial crop of the same size (input intensities), and G_hl's learned axial kernel."""

    step: int
    lateral: Any  # HR xy crop
    degraded: Any  # pair_degradation(lateral)
    axial: Any  # real xz crop with the same number of LR rows
    kernel: Any = None  # G_hl's axial kernel taps (numpy, sum 1), one per lateral pixel along z, centred


@dataclass(frozen=True)
class TrainSnapshot:
    """Training paused at a consistent point (weights, optimisers and sampler state in ``model.state``):
    save ``model`` now and a killed process can resume from it. Training continues when iteration does."""

    model: Any  # IsoModel, live: save it before asking for the next event
    step: int
    elapsed: float


@dataclass(frozen=True)
class CheckpointSaved:
    """The model so far was written to ``path`` (see ``checkpoint.autosaving``)."""

    path: Any  # pathlib.Path
    step: int


@dataclass(frozen=True)
class HeldOutScore:
    """Stage 2's reconstruction network scored on the fixed held-back pairs (core.training.early_stop): the
    PSNR of its prediction in normalised units (0..1), the best so far, and how many evaluations have passed
    since the score last rose by the rule's ``min_delta`` of ``patience`` that would end stage 2 now."""

    step: int  # steps done over both stages
    elapsed: float  # seconds of training
    psnr: float  # dB, on the unit scale (data range 1)
    best: float  # the highest held-back PSNR so far, dB
    since_best: int  # evaluations since the score last rose by at least min_delta
    patience: int = 0  # evaluations without such a rise that end stage 2 (once its minimum share is used)
    min_delta: float = 0.0  # dB

    @property
    def mse(self) -> float:
        """The held-back L2 (mean squared error, unit scale) behind ``psnr``."""
        return 10 ** (-self.psnr / 10)


# why training ended (TrainFinished.reason starts with one of these)
CONVERGED, BUDGET_USED, STOPPED_BY_USER = "converged", "budget", "stopped by the user"


@dataclass(frozen=True)
class TrainFinished:
    model: Any  # IsoModel
    stopped: bool  # True when the stop flag ended training early
    steps: int
    elapsed: float
    # why it ended: "converged: <the rule and the scores>" (the held-back pairs stopped improving),
    # "budget" (the whole budget was used) or "stopped by the user"; "" when not said
    reason: str = ""

    @property
    def converged(self) -> bool:
        """True when stage 2 ended early because the held-back pairs stopped improving."""
        return self.reason.startswith(CONVERGED)


@dataclass(frozen=True)
class ModelSaved:
    """The main job (core.jobs.main_job) wrote the trained model to ``path``; its reconstruction follows."""

    path: Any  # pathlib.Path


@dataclass(frozen=True)
class ReconProgress:
    axis: str  # "xz" or "yz"
    done: int  # slices done over all passes
    total: int
    elapsed: float

    @property
    def progress(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True)
class ReconFinished:
    volume: Any = None  # numpy array in the input dtype; None when stopped
    stopped: bool = False
    elapsed: float = 0.0
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ReconWithUncertainty(ReconFinished):
    """A test-time-augmented reconstruction (core.inference.uncertainty): ``volume`` is the mean of the flipped
    predictions (the result, input dtype), ``uncertainty`` their per-voxel spread (standard deviation,
    float32, in input intensity units); ``info["augmentation"]`` says which flips were used and why."""

    uncertainty: Any = None


@dataclass(frozen=True)
class ErrorModelProgress:
    """The error model (core.inference.error_model) being fitted: ``step`` of ``steps``, its loss."""

    step: int
    steps: int
    loss: float
    elapsed: float


@dataclass(frozen=True)
class ErrorModelFitted:
    """The fitted error model (an ``ErrorModel``); ``stopped`` when the stop flag ended the fit early."""

    model: Any
    stopped: bool = False
    elapsed: float = 0.0


@dataclass(frozen=True)
class InputConsistency:
    """``core.checks.metrics.input_consistency`` of each result, by name: {"isotropic": {"psnr", "ssim"}, ...}."""

    scores: dict


@dataclass(frozen=True)
class CheckProgress:
    """A phase of a check after training (reconstructing, scoring), with its progress 0..1."""

    phase: str
    progress: float


@dataclass(frozen=True)
class HiddenSectionsChecked:
    """The end of the hidden-section check: its report, or None when it was stopped."""

    report: Any  # core.checks.hidden_report.HiddenSectionReport
    stopped: bool = False


@dataclass(frozen=True)
class SettingsCompared:
    """The end of a comparison of settings (core.checks.compare_settings): its result, or None when stopped."""

    comparison: Any  # core.checks.compare_report.SettingsComparison
    stopped: bool = False


@dataclass(frozen=True)
class PartEvent:
    """An event of one part of a job made of several (core.jobs.reconstruct_with_twin): ``part`` is
    "interpolated" (the cubic twin), "isotropic" (the result) or "checks" (its optional diagnostics); in a
    comparison of settings (core.checks.compare_settings), the setting's name."""

    part: str
    event: Any


@dataclass(frozen=True)
class OutputWritten:
    """A volume was written: ``output`` names it ("isotropic", "interpolated", "uncertainty")."""

    output: str
    path: Any  # pathlib.Path
    shape: tuple


@dataclass(frozen=True)
class Notice:
    """Something the user should know about a running job (not an error), in one sentence."""

    text: str


@dataclass(frozen=True)
class ArtefactsFound:
    """What the scan before training found (``core.checks.artefacts.SectionArtefacts``) and what training does
    about it: patches are drawn only from ``artefacts.usable`` sections (lateral) and from z windows without a
    section that is not real (axial); ``note`` says when no such window exists and what is done instead."""

    artefacts: Any  # core.checks.artefacts.SectionArtefacts
    note: str = ""

    def describe(self) -> str:
        """One line: the findings, and what training leaves out."""
        text = self.artefacts.describe()
        excluded = self.artefacts.not_real
        if excluded:
            text += (f" Training leaves out section{'s' if len(excluded) > 1 else ''} "
                     f"{', '.join(map(str, excluded))}.")
        return f"{text} {self.note}".strip()


@dataclass(frozen=True)
class SectionsFilled:
    """Sections that are not real images (duplicate, blank, saturated) were treated as missing: each of
    ``filled`` was replaced, before the network ran, by linear interpolation in z between the nearest usable
    sections on each side (the nearest one at the stack's ends)."""

    artefacts: Any  # core.checks.artefacts.SectionArtefacts
    filled: tuple[int, ...]

    def describe(self) -> str:
        kinds = {f.index: f.kind for f in self.artefacts.findings if f.index in self.filled}
        parts = ", ".join(f"{i} ({kinds.get(i, 'artefact')})" for i in self.filled)
        return (f"Filled section{'s' if len(self.filled) > 1 else ''} {parts} from the neighbouring sections "
                f"before reconstruction (they are not real images).")
