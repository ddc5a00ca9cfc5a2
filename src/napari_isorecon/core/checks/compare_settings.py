"""Settings chosen on the user's own data: the hidden-section check once per setting, on the same hidden sections,
and for each pair of settings the paired difference of ours' scores with its uncertainty and a recommendation.

A setting is named by what it changes in the training settings, written ``key=value[,key=value...]``:
``pairs=section``, ``pairs=kernel`` (the learned degradation), ``thickness=0.5``, ``pairs=section,spread=0``.
The keys are TrainConfig's field names (any of them but the z-factor and the nested ones) or the short names
in ``ALIASES``; a value is read as the field's type. Every setting starts from the same base settings (the
command's), with the same seed, so only what it names differs.

Each setting gets exactly the check ``isorecon validate`` with those settings gives (its scoring assumes the
setting's own section thickness). The input is scanned for artefacts once, so that every setting is scored on
the same hidden sections. How a pair is decided (``PAIR_RULE``): see core.checks.compare_report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import IsoReconError
from ..events import HiddenSectionsChecked, PartEvent, SettingsCompared, stop_requested
from ..settings.config import ReconConfig, TrainConfig
from .artefacts import find_section_artefacts
from .compare_report import SettingsComparison
from .hidden_sections import check_config, run_hidden_section_check

ALIASES = {"pairs": "stage2_pairs", "thickness": "section_thickness", "spread": "thickness_spread"}
NOT_COMPARED = ("z_factor", "weights", "betas", "percentiles")  # the volume's own, or not one value
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Setting:
    name: str  # as written, e.g. "pairs=kernel"
    changes: dict  # TrainConfig field -> value


def _fields() -> dict:
    return {f.name: f for f in dataclasses.fields(TrainConfig)}


def _typed(field: dataclasses.Field, raw: str, where: str):
    """``raw`` as the field's type (read from its default, or its annotation where the default is None)."""
    default = field.default if field.default is not dataclasses.MISSING else None
    kind = type(default).__name__ if default is not None else str(field.type).split("|")[0].strip()
    if raw.lower() == "none" and (default is None or "None" in str(field.type)):
        return None
    try:
        if kind == "bool":
            if raw.lower() not in _TRUE | _FALSE:
                raise ValueError
            return raw.lower() in _TRUE
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        words = {"bool": "true or false", "int": "a whole number", "float": "a number"}[kind]
        raise IsoReconError(f"{where}: {field.name} takes {words}, got {raw!r}.") from None
    return raw


def parse_setting(text: str) -> Setting:
    """A setting from ``key=value[,key=value...]``; IsoReconError (one line) when it cannot be one."""
    fields = _fields()
    where = f"--compare {text!r}"
    changes = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, raw = item.partition("=")
        key, raw = ALIASES.get(key.strip(), key.strip()), raw.strip()
        if not sep or not key or not raw:
            raise IsoReconError(f"{where}: write each setting as key=value (e.g. pairs=kernel, thickness=0.5).")
        if key not in fields or key in NOT_COMPARED:
            shown = ", ".join(sorted(ALIASES))
            raise IsoReconError(f"{where}: {key!r} is not a training setting that can be compared (short names: "
                                f"{shown}; or any training setting's name but {', '.join(NOT_COMPARED)}).")
        if key in changes:
            raise IsoReconError(f"{where}: {key} is given twice.")
        changes[key] = _typed(fields[key], raw, where)
    if not changes:
        raise IsoReconError(f"{where}: empty; write key=value (e.g. pairs=kernel).")
    return Setting(name=text.strip(), changes=changes)


def parse_settings(texts) -> list[Setting]:
    """At least two distinct settings."""
    settings = [parse_setting(t) for t in texts]
    if len(settings) < 2:
        raise IsoReconError("--compare needs at least two settings, e.g. --compare pairs=section pairs=kernel.")
    seen = set()
    for s in settings:
        key = tuple(sorted(s.changes.items()))
        if key in seen:
            raise IsoReconError(f"--compare: {s.name!r} repeats a setting already given.")
        seen.add(key)
    return settings


def setting_configs(base: TrainConfig, settings: list[Setting]) -> list[TrainConfig]:
    """Each setting applied to ``base``, checked as the check will use it (before any work)."""
    configs = []
    for s in settings:
        try:
            changes = dict(s.changes)
            # an acquisition sets its pair settings first; the setting's own numbers then override them
            cfg = base.with_acquisition(changes.pop("acquisition")) if "acquisition" in changes else base
            cfg = cfg.replace(**changes)
            check_config(cfg)
        except IsoReconError as exc:
            raise IsoReconError(f"--compare {s.name!r}: {exc}") from None
        configs.append(cfg)
    return configs


def compare_settings(volume, base: TrainConfig, settings: list[Setting], recon: ReconConfig | None = None,
                     stop=None) -> Iterator:
    """The hidden-section check of ``volume`` once per setting (``base`` with the setting's changes), in order.
    Yields each check's events as ``PartEvent(setting name, event)`` and finally ``SettingsCompared``
    (comparison None when stopped). Every setting and the input are checked before the first event."""
    configs = setting_configs(base, settings)
    artefacts = find_section_artefacts(volume)
    # the first check is built now: its input checks (sizes, too few hidden sections left) run before any work
    first = run_hidden_section_check(volume, configs[0], recon=recon, stop=stop, artefacts=artefacts)
    return _comparison_events(volume, configs, settings, recon, stop, artefacts, first, base_description(base))


def _comparison_events(volume, configs, settings, recon, stop, artefacts, first, base) -> Iterator:
    reports = {}
    for i, (cfg, setting) in enumerate(zip(configs, settings, strict=True)):
        events = first if i == 0 else run_hidden_section_check(volume, cfg, recon=recon, stop=stop,
                                                                artefacts=artefacts)
        for event in events:
            yield PartEvent(setting.name, event)
            if isinstance(event, HiddenSectionsChecked):
                reports[setting.name] = event.report
        if reports.get(setting.name) is None or stop_requested(stop):
            yield SettingsCompared(comparison=None, stopped=True)
            return
    comparison = SettingsComparison.from_reports(reports, {s.name: s.changes for s in settings},
                                                 base=base)
    yield SettingsCompared(comparison=comparison, stopped=False)


def base_description(cfg: TrainConfig) -> str:
    """What the compared settings start from, in words."""
    budget = f"{cfg.steps} steps" if cfg.steps else f"{cfg.minutes:g} min"
    return (f"every setting starts from the same settings (budget {budget}, seed {cfg.seed}, "
            f"pairs {cfg.stage2_pairs}, {cfg.declared_sections()}) and trains at twice the z-factor ({2 * cfg.z_factor:g})")
