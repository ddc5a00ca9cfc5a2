"""Training options as a front-end collects them -> the ``TrainConfig`` a run uses, with the rules for
continuing a model in one place (the command line and the Train widget both call :func:`training_config`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import IsoReconError
from ..settings.config import TrainConfig, preset
from ..settings.zfactor import check_z_factor, same_z_factor


@dataclass(frozen=True)
class TrainOptions:
    """What the user set; ``None`` means "not given" (a new model then takes the preset's value, a
    continued one its own).

    ``other_settings`` holds further ``TrainConfig`` fields by name (the training options of
    core/settings/options.py that the user set: the Train widget's fields, the CLI's flags).
    ``acquisition``: its pair settings are applied first; ``other_settings`` override them.
    """

    z_factor: float | None = None
    preset: str | None = None
    acquisition: str | None = None
    backbone: str | None = None
    other_settings: Mapping[str, Any] = field(default_factory=dict)
    steps: int | None = None  # the budget counts both stages, from the model's start when continuing
    minutes: float | None = None
    seed: int | None = None
    kernel_smooth: float | None = None  # weight of the smoothness prior on the learned axial kernel; 0: off
    device: str = "auto"
    precision: str = "auto"  # the networks' arithmetic (core.settings.precision)


def training_config(options: TrainOptions, resume=None) -> TrainConfig:
    """The settings of a run from ``options``; ``resume``: the model to continue (an ``IsoModel``) or None.

    Continuing a model (one rule for every front-end):

    - what the user set is applied: budget, device, precision, seed, kernel prior weight, and any preset,
      acquisition, backbone or other setting (an acquisition first: a setting given with it overrides its value);
    - what the user did not set is the model's own (with a preset given, the preset's values count as set);
    - the z-factor is the model's: a given one must be the same (:func:`settings.zfactor.same_z_factor`), and the
      settings that shape the networks must be the model's, else a one-line ``IsoReconError`` says which;
    - the budget must not be used up already.
    """
    given = {"device": options.device, "precision": options.precision, **dict(options.other_settings)}
    if options.backbone is not None:
        given["backbone"] = options.backbone
    if options.seed is not None:
        given["seed"] = options.seed
    if options.steps is not None:
        given.update(steps=options.steps, minutes=None)
    elif options.minutes is not None:
        given.update(minutes=options.minutes, steps=None)
    z_factor = _z_factor(options.z_factor, resume)
    if resume is not None and options.preset is None:
        cfg = resume.config
        if options.acquisition is not None:
            cfg = cfg.with_acquisition(options.acquisition)
        cfg = cfg.replace(**given)
    else:
        cfg = preset(options.preset or "fast", acquisition=options.acquisition, **given, z_factor=z_factor)
    if options.kernel_smooth is not None:
        cfg = cfg.replace_weights(kernel_smooth=options.kernel_smooth)
    if resume is not None:
        mismatch = cfg.network_mismatch(resume.config)
        if mismatch:
            raise IsoReconError(f"The model to continue was trained with {mismatch}: use its settings, or start "
                                "a new model.")
        check_budget_left(resume, cfg)
    return cfg


def _z_factor(given: float | None, resume) -> float:
    if resume is None:
        if given is None:
            raise IsoReconError("Give the z-factor (z spacing / xy spacing).")
        return check_z_factor(given)
    if given is not None and not same_z_factor(check_z_factor(given), resume.z_factor):
        raise IsoReconError(f"The model to continue was trained for z-factor {resume.z_factor:g}, not "
                            f"{float(given):g}: start a new model for this z-factor.")
    return resume.z_factor


def check_budget_left(model, cfg: TrainConfig) -> None:
    """Refuse to continue ``model`` with a budget it has already used up (nothing would be trained)."""
    used, total = (model.state.step, cfg.steps) if cfg.steps else (model.state.elapsed / 60.0, cfg.minutes)
    if used >= total:
        unit = "steps" if cfg.steps else "minutes"
        raise IsoReconError(f"The model has already used {used:.4g} of a budget of {total:g} {unit}: raise the "
                            "budget to continue training it.")


def acquisition_notes(cfg: TrainConfig, word=lambda option: option.flag) -> list[str]:
    """One sentence per pair setting that overrides the acquisition's (the override wins), naming each
    setting by ``word(option)`` (the CLI flag; the widget passes the label)."""
    from ..settings.acquisition import acquisition_overrides, show_value
    from ..settings.config import TRAIN_OPTIONS
    from ..settings.options import option_named

    notes = []
    for name, theirs, used in acquisition_overrides(cfg):
        setting = "the kernel prior weight" if name == "kernel_smooth" else word(option_named(TRAIN_OPTIONS, name))
        notes.append(f"{setting} {show_value(used)} overrides the {cfg.acquisition} acquisition's "
                     f"{show_value(theirs)}.")
    return notes
