"""Settings as frozen dataclasses. Every field has a default that works on a laptop CPU."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ..errors import IsoReconError
from .acquisition import (
    ACQUISITION_NAMES,
    ACQUISITIONS,
    CUSTOM,
    DEFAULT_ACQUISITION,
    MAX_SECTION_THICKNESS,
    acquisition_named,
    describe_acquisition,
    unsaid_acquisition,
)
from .options import check_options, option, options_of
from .zfactor import check_z_factor, same_z_factor

# Stage-2 training pairs, (degraded xy, xy): the xy patch integrated over a serial section of the declared
# thickness ("section": the physics, no stage 1), or degraded by what stage 1 learned: G_hl's kernel path
# alone ("kernel") or the whole G_hl with its residual branch ("full").
STAGE2_PAIRS = ("section", "kernel", "full")
LEARNED_PAIRS = ("kernel", "full")
STAGE2_LOSSES = ("l1", "l2")
# how the sub-pixel backbones join neighbouring rows' sub-rows: butted together, or cross-faded with a window
# (networks.resample.overlap_add_rows)
SUBPIXEL_JOINS = ("butt", "triangle", "cosine")
# G_hl's axial kernel: free taps (with the smoothness prior), or a section (a box of learnable thickness
# blurred by a Gaussian of learnable width, centred: two parameters; see networks.generators.section_kernel).
KERNEL_MODELS = ("free", "section")


def describe_sections(thickness: float, spread: float = 0.0) -> str:
    """A declared acquisition in words: 'single planes' (thickness 0) or 'sections T z-steps thick', with
    the share the stage-2 pairs' thickness spreads around it (``TrainConfig.thickness_spread``)."""
    if thickness == 0:
        return "single planes"
    return f"sections {thickness:g} z-step{'' if thickness == 1 else 's'} thick" + (
        f" +-{spread:.0%}" if spread else "")


@dataclass(frozen=True)
class LossWeights:
    """L_G = adv_hl * L_Ghl + adv_lh * L_Glh + cycle * L_cyc (+ mean * intensity term
    + kernel_smooth * roughness of G_hl's axial kernel).

    Small adversarial weights keep the generators close to their interpolating start while the
    discriminators shape the details. The smoothness prior lets the axial kernel leave its box start
    (see docs/method.md for the measurements behind each weight).
    """

    adv_hl: float = 0.05
    adv_lh: float = 0.01
    cycle: float = 5.0
    mean: float = 1.0
    kernel_smooth: float = 3e-4


def _backbone_names() -> tuple[str, ...]:
    from ..networks.backbones import NAMES  # the backbone registry (a light module: no torch at import)

    return NAMES


_SERIAL = DEFAULT_ACQUISITION  # the default pair settings are the default acquisition's


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; stored whole in every checkpoint.

    The fields declared with ``option(...)`` are the user-facing training options: their checks, CLI flags
    and Train widget fields follow from that one declaration (core/settings/options.py). For an acquisition's
    pair settings use ``preset("fast", acquisition="fib-sem", ...)``: ``acquisition`` here only records which
    one the settings came from (None: ``serial-sections`` when the pairs are its own, else ``custom``).
    """

    z_factor: float = 10.0
    acquisition: str | None = option(
        None, "Acquisition", "How the volume was acquired; sets the stage-2 pairs. " + " | ".join(
            f"{entry.name}: {entry.help}" for entry in ACQUISITIONS) + ".",
        flag="--acquisition", level="basic", choices=lambda: ACQUISITION_NAMES, widget=False)
    backbone: str = option("edsr", "Backbone", "Reconstruction network (G_lh and stage 2): edsr (fast), drcnet "
                           "(the paper's), rcan, vdsr.", flag="--backbone", choices=_backbone_names)
    channels: int = option(32, "Channels", "Feature channels of the reconstruction network.", flag="--channels",
                           low=1, ui_max=256)
    blocks: int = option(4, "Blocks", "Residual blocks of the reconstruction network.", flag="--blocks", low=1,
                         ui_max=64)
    ghl_channels: int = 16
    ghl_blocks: int = 2
    disc_channels: int = 32
    lr_rows: int = 8  # height of LR patches (z rows); HR patches are round(lr_rows * z_factor) tall
    patch_width: int = option(64, "Patch width", "Width of the training patches in pixels.", flag="--patch-width",
                              low=16, step=16, ui_max=1024, metavar="PIXELS")
    batch_size: int = option(8, "Batch size", "Training patches per step.", flag="--train-batch-size", low=1,
                             ui_max=512, metavar="PATCHES")
    steps: int | None = None  # budget in steps (both stages together) ...
    minutes: float | None = 10.0  # ... or in wall-clock minutes; steps wins when both are set
    stage2_fraction: float = option(
        0.5, "Stage-2 share", "Share of the budget for stage 2 (supervised training on pairs made with the learned "
        "degradation) when stage 1 runs.", flag="--stage2-fraction", low=0.0, high=1.0, high_open=True, step=0.05,
        decimals=2, metavar="SHARE")
    # stage-2 inputs: a "section" of section_thickness (stage 1 is skipped), or what stage 1 learned: G_hl's
    # axial kernel alone ("kernel") or the "full" G_hl. On real serial sections the learned kernel is too wide
    # (tissue that changes slowly along z looks like a thick section) and loses to interpolation; the
    # section wins (docs/method.md, "Real stacks")
    stage2_pairs: str = option(
        _SERIAL.stage2_pairs, "Stage-2 pairs", "What degrades the lateral patches that stage 2 learns to restore: "
        "'section' (serial sections of the section thickness; no stage 1), or the degradation stage 1 learns "
        "(the paper's CycleGAN): its axial 'kernel' alone or the 'full' G_hl.", flag="--pairs",
        choices=STAGE2_PAIRS)
    # G_hl's axial kernel: "free" taps or a "section" (thickness + blur)
    kernel_model: str = option("free", "Kernel model", "G_hl's axial kernel: free taps or a section.",
                               level="experimental", choices=KERNEL_MODELS)
    # degraded patches get back the pixel noise that the axial kernel averaged away (measured on the xy
    # sections, core.training.noise), so that they look like the real, noisy axial slices (docs/method.md, "Real stacks")
    match_noise: bool = option(True, "Matched noise", "Put back the pixel noise the axial kernel averaged away.",
                               level="experimental")
    # after training, the output's mean at every position between two sections is held to the sections' mean
    # (core.model.phase_levels; docs/method.md, "Intensity")
    hold_section_mean: bool = option(True, "Hold the mean between sections", "After training, measure how far "
                                     "the output's mean lies from the sections' at each position between two "
                                     "sections and take it off.", level="experimental")
    # the sections' thickness in z-steps (1: as thick as their spacing): the stage-2 pairs' section, where the
    # section kernel model starts, and what the hidden-section check scores with (halved at 2F). Not
    # identifiable from the volume (docs/method.md), so it is the acquisition's to say. The free taps always
    # start at one z-step.
    section_thickness: float = option(
        _SERIAL.section_thickness, "Section thickness", "Thickness of the sections in z-steps (1: as thick as "
        "their spacing; 0.5 when every other section is lost; 0: single planes, as FIB-SEM images one milled "
        "face per z-step); stage 2 learns to undo sections this thick.", flag="--section-thickness", low=0.0,
        high=MAX_SECTION_THICKNESS, unit="z-steps (0: single planes)", step=0.05, decimals=2, metavar="Z_STEPS")
    # stage-2 section pairs draw each patch's thickness uniformly from section_thickness * [1 - spread,
    # 1 + spread]: real sections vary in thickness and the declared one is a guess. 0.5 keeps 90 % of the
    # oracle's gain when the declaration is right and stays above cubic when it is twice too thick
    # (docs/method.md, "A thickness spread")
    thickness_spread: float = option(
        _SERIAL.thickness_spread, "Thickness spread", "How far the real sections' thickness may be from the "
        "declared one, as a share of it: stage 2 learns on sections whose thickness is drawn from thickness x "
        "[1 - spread, 1 + spread] (0: exactly the declared thickness).", flag="--thickness-spread", low=0.0,
        high=1.0, unit="(a share of the section thickness)", step=0.05, decimals=2, metavar="SHARE")
    # stage 2's loss between the reconstruction and the lateral target: "l1" (the median of what the input
    # allows: sharp) or "l2" (the mean: what PSNR rewards where the input leaves the answer uncertain)
    stage2_loss: str = option("l2", "Stage-2 loss", "Stage 2's loss: l1 or l2.", level="experimental",
                              choices=STAGE2_LOSSES)
    # fidelity <-> detail: the weight of an adversarial critic (the HR discriminator D_h, real lateral patches
    # against reconstructions) in stage 2's loss. 0, the default, is the most faithful; more draws more fine
    # z detail, mostly invented, at a PSNR cost, and at 0.003-0.01 prints periodic z patterns of its own: an
    # experiment, not a widget field (docs/method.md, "Detail against fidelity")
    detail: float = option(
        0.0, "Detail", "Weight of an adversarial critic that judges the reconstruction against real xy patches "
        "(0: the most faithful result; higher: more fine detail along z, part of it invented, and a lower score on "
        "hidden sections).", flag="--detail", level="experimental", low=0.0, high=1.0, step=0.001, decimals=3,
        metavar="WEIGHT")
    # stage 1 ends after this many steps even if its share of the budget is not used up (the rest goes to
    # stage 2): the learned kernel is best after ~1,500-3,000 steps and drifts after (docs/method.md)
    stage1_max_steps: int | None = option(3000, "Stage-1 cap", "Stage 1 ends after this many steps.",
                                          level="experimental", low=1)
    # stage 2 ends when its network stops improving on a fixed draw of held-back pairs, scored every
    # steps_per_epoch / 2 stage-2 steps (core.training.early_stop): the budget becomes a ceiling. Stage 1 keeps
    # its own rule. The rule: no rise of early_stop_min_delta dB over the best for early_stop_patience
    # evaluations and for a quarter of the evaluations so far (the gains shrink like log(steps)), and never
    # before early_stop_after of the budget is used
    early_stop: bool = option(True, "Stop when learned", "Stop when the held-back pairs stop improving: stage 2 "
                              "ends once the reconstruction of a fixed set of held-back training pairs has not "
                              "improved for a while; the budget is then a ceiling.", flag="--early-stop")
    early_stop_patience: int = option(10, "Early-stop patience", "Evaluations of the held-back pairs without a "
                                      "rise of the minimum gain that end stage 2 (at least).", level="experimental",
                                      low=1)
    early_stop_min_delta: float = option(0.02, "Early-stop minimum gain", "The held-back PSNR rise, in dB, that "
                                         "counts as an improvement.", level="experimental", low=0.0)
    early_stop_after: float = option(0.25, "Early-stop minimum share", "Share of the budget always used before "
                                     "stage 2 may stop early.", level="experimental", low=0.0, high=1.0)
    lr_generators: float = 2e-4
    lr_discriminators: float = 1e-4
    lr_decay: float = 0.98  # generator learning rate factor per epoch
    kernel_lr_factor: float = 1.0  # learning rate of G_hl's axial kernel relative to the generators'
    steps_per_epoch: int = 200
    betas: tuple[float, float] = (0.5, 0.999)
    weights: LossWeights = field(default_factory=LossWeights)
    percentiles: tuple[float, float] = (0.5, 99.5)
    seed: int = option(0, "Seed", "Random seed; the same seed repeats a CPU run.", flag="--seed", level="basic",
                       low=0, ui_max=2**31 - 1)
    device: str = "auto"
    # the networks' arithmetic (core.settings.precision): "auto" takes bfloat16 / float16 where the hardware has it
    precision: str = "auto"
    log_every: int = 1
    # how the sub-pixel backbones (edsr, rcan) join neighbouring rows' sub-rows (networks.resample.overlap_add_rows):
    # cross-faded with a raised "cosine", or a "triangle" (models trained before 2026-12-03; with it the z spectrum
    # kept a peak at twice the section frequency, 1.30-1.41 on CREMI against 1.09-1.14 with the cosine;
    # docs/method.md, "Why the sub-pixel rows cross-fade"), or "butt"ed together (models trained before the
    # cross-fade: it printed the section spacing into the volume)
    subpixel_join: str = "cosine"

    def declared_sections(self) -> str:
        """The sections the stage-2 section pairs assume, in words (:func:`describe_sections`)."""
        return describe_sections(self.section_thickness, self.thickness_spread)

    def describe_acquisition(self) -> str:
        """The acquisition this config assumes and its pairs, in words, with any override
        (:func:`.acquisition.describe_acquisition`)."""
        return describe_acquisition(self)

    def with_acquisition(self, name: str) -> TrainConfig:
        """This config with the pair settings (and kernel prior weight) of the acquisition ``name``."""
        entry = acquisition_named(name)
        settings = entry.settings()
        smooth = settings.pop("kernel_smooth")
        return self.replace(acquisition=name, **settings).replace_weights(
            kernel_smooth=LossWeights().kernel_smooth if smooth is None else smooth)

    def __post_init__(self):
        object.__setattr__(self, "z_factor", check_z_factor(self.z_factor))
        from ..networks.backbones import check_backbone  # the registry's own message first

        check_backbone(self.backbone)
        check_options(self, tuple(opt for opt in TRAIN_OPTIONS if opt.name != "acquisition"))
        for name in ("ghl_channels", "disc_channels", "lr_rows", "steps_per_epoch", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise IsoReconError(f"{name} must be a positive integer, got {value!r}.")
        if self.subpixel_join not in SUBPIXEL_JOINS:
            raise IsoReconError(f"subpixel_join must be one of {', '.join(SUBPIXEL_JOINS)}, got "
                                f"{self.subpixel_join!r}.")
        if self.ghl_blocks < 0:
            raise IsoReconError(f"ghl_blocks must be >= 0, got {self.ghl_blocks!r}.")
        if self.steps is None and self.minutes is None:
            raise IsoReconError("Give a training budget: steps or minutes.")
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps < 1):
            raise IsoReconError(f"steps must be a positive integer, got {self.steps!r}.")
        if self.minutes is not None and not (
            isinstance(self.minutes, (int, float)) and math.isfinite(self.minutes) and self.minutes > 0
        ):
            raise IsoReconError(f"minutes must be a positive number, got {self.minutes!r}.")
        lo, hi = self.percentiles
        if not 0 <= lo < hi <= 100:
            raise IsoReconError(f"percentiles must satisfy 0 <= low < high <= 100, got {self.percentiles!r}.")
        if self.lr_rows < 2:
            raise IsoReconError(f"lr_rows must be at least 2, got {self.lr_rows}.")
        if self.acquisition is None:
            object.__setattr__(self, "acquisition", unsaid_acquisition(self))
        elif self.acquisition != CUSTOM:
            acquisition_named(self.acquisition)
        from .device import check_device_name
        from .precision import check_precision_name

        check_device_name(self.device)
        check_precision_name(self.precision)

    def network_mismatch(self, other: TrainConfig) -> str | None:
        """The first network-defining setting in which ``other`` differs, as "name: mine vs theirs"."""
        for name in NETWORK_FIELDS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs and not (name == "z_factor" and same_z_factor(mine, theirs)):
                if name == "z_factor":
                    return f"z-factor {theirs:g}, not {mine:g}"
                return f"{name} {theirs!r}, not {mine!r}"
        return None

    @property
    def learns_degradation(self) -> bool:
        """Whether stage 2 trains on pairs from the degradation stage 1 learns (else on declared sections)."""
        return self.stage2_pairs in LEARNED_PAIRS

    @property
    def hr_rows(self) -> int:
        return int(round(self.lr_rows * self.z_factor))

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def replace_weights(self, **changes) -> TrainConfig:
        """This config with some loss weights changed (the others kept)."""
        return self.replace(weights=dataclasses.replace(self.weights, **changes))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """The config of a :meth:`to_dict` of today's, every setting there: a checkpoint of an older format
        version comes through core.model.migrations first, which gives it the settings it lacks."""
        data = dict(data)
        _check_names("training settings", data, cls)
        if isinstance(data.get("weights"), dict):
            _check_names("loss weights", data["weights"], LossWeights)
            data["weights"] = LossWeights(**data["weights"])
        for key in ("betas", "percentiles"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


def _check_names(what: str, data: dict, cls) -> None:
    """``data`` has every field of the dataclass ``cls`` and no other."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown, missing = set(data) - known, known - set(data)
    if unknown:
        raise IsoReconError(f"Unknown {what}: {sorted(unknown)}.")
    if missing:
        raise IsoReconError(f"Missing {what}: {sorted(missing)}.")


TRAIN_OPTIONS = options_of(TrainConfig)  # the user-facing training options, in declaration order

# The settings that shape the networks' weights: a model resumes or loads only with the same ones.
NETWORK_FIELDS = ("z_factor", "backbone", "channels", "blocks", "ghl_channels", "ghl_blocks", "disc_channels",
                  "kernel_model", "subpixel_join")

PRESETS = {
    # Small networks and patches: a useful model in minutes on a 2-core CPU.
    "fast": {},
    # The paper's sizes (64 filters, 9 blocks, DRCNet): meant for a GPU.
    "paper": dict(backbone="drcnet", channels=64, blocks=9, ghl_channels=64, ghl_blocks=9,
                  disc_channels=64, lr_rows=12, patch_width=128, batch_size=16, minutes=60.0),
}


def preset(name: str, acquisition: str | None = None, **overrides) -> TrainConfig:
    """A TrainConfig from a named preset ("fast" or "paper") for an ``acquisition`` (its pair settings, see
    core.settings.acquisition; None: the default's) with overrides (an override wins over the acquisition).

    >>> preset("fast", acquisition="fib-sem", z_factor=8).section_thickness
    0.0
    """
    if name not in PRESETS:
        raise IsoReconError(f"Unknown preset {name!r}; choose one of {sorted(PRESETS)}.")
    if acquisition is None:
        return TrainConfig(**{**PRESETS[name], **overrides})
    base = TrainConfig(**{**PRESETS[name], "z_factor": overrides.get("z_factor", 10.0)})
    return base.with_acquisition(acquisition).replace(**overrides)


@dataclass(frozen=True)
class ReconConfig:
    """How to apply a trained model to a volume."""

    axes: tuple[str, ...] = ("xz", "yz")  # slice orientations to run; results are averaged
    batch_size: int = 8  # slices per forward pass
    tile_width: int = 512  # slices wider than this are cut into overlapping tiles
    tile_overlap: int = 32
    device: str = "auto"
    precision: str = "auto"  # the network's arithmetic (core.settings.precision); interpolation is always float32
    # duplicated, blank or saturated sections filled from their neighbours before the network runs
    # (core.inference.filling); False reconstructs the input exactly as it is
    fill_artefacts: bool = True

    def __post_init__(self):
        axes = tuple(self.axes)
        if not axes or any(a not in ("xz", "yz") for a in axes) or len(set(axes)) != len(axes):
            raise IsoReconError(f"axes must be a non-empty subset of ('xz', 'yz'), got {self.axes!r}.")
        object.__setattr__(self, "axes", axes)
        for name in ("batch_size", "tile_width"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise IsoReconError(f"{name} must be a positive integer, got {getattr(self, name)!r}.")
        if not 0 <= self.tile_overlap < self.tile_width // 2:
            raise IsoReconError("tile_overlap must be >= 0 and smaller than half of tile_width.")
        from .device import check_device_name
        from .precision import check_precision_name

        check_device_name(self.device)
        check_precision_name(self.precision)

    def replace(self, **changes) -> ReconConfig:
        return dataclasses.replace(self, **changes)
