"""One declaration per user-facing training option, and what follows from it.

A training option is a field of ``TrainConfig`` (core/settings/config.py) declared with :func:`option`: its
name, type and default are the field's; the :class:`Option` in its metadata holds the rest (label, help,
range or choices, CLI flag, level). From that one declaration follow

- the config's checks (:func:`check_options`, called by ``TrainConfig.__post_init__``),
- the CLI flags of ``train``, ``run``, ``validate`` (``cli/parser.py`` adds one per option with a ``flag``)
  and what the command line gives the config (``cli/inputs.py``),
- the Train widget's form fields (``_qt/train/train_settings.py``: a field per option with a ``label``, in the
  main form for ``basic``, in the *Advanced* box for ``advanced``) and what the widget gives the config.

Choices come from the registries that own them (a callable, read when needed), never from a copied list.
``experimental`` options are for experiments: no widget field, and their flag's help says so.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import IsoReconError

LEVELS = ("basic", "advanced", "experimental")
_KEY = "option"


@dataclass(frozen=True)
class Option:
    """How a training option is checked, shown and given on the command line."""

    label: str  # the Train widget's label (and a name for it in words)
    help: str  # the CLI flag's help and the widget's tooltip
    flag: str | None = None  # e.g. "--section-thickness"; None: not on the command line
    level: str = "advanced"  # basic (main form) | advanced (Advanced box) | experimental (no widget field)
    choices: Callable[[], tuple] | tuple | None = None  # allowed values, or a registry's function that lists them
    low: float | None = None  # the smallest allowed value
    high: float | None = None  # the largest allowed value (``high_open``: values must stay below it)
    high_open: bool = False
    unit: str = ""  # said after the range in an error, e.g. "z-steps (0: single planes)"
    step: float | None = None  # the widget's spin box step, decimals and (for unbounded values) maximum
    decimals: int | None = None
    ui_max: float | None = None
    metavar: str | None = None
    widget: bool = True  # False: the widget shows it another way (e.g. in a field of its own)
    # filled from the TrainConfig field by options_of
    name: str = ""
    type: type = object
    default: Any = None
    optional: bool = False  # None is allowed

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {self.level!r}")

    def allowed(self) -> tuple | None:
        """The allowed values (read from the registry now), or None when any value of the type in range is."""
        return self.choices() if callable(self.choices) else self.choices

    @property
    def in_widget(self) -> bool:
        return self.widget and self.level != "experimental"

    def check(self, value) -> None:
        """Raise a one-line IsoReconError when ``value`` is not allowed."""
        name = self.name
        if value is None and self.optional:
            return
        choices = self.allowed()
        if choices is not None:
            if value not in choices:
                raise IsoReconError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}.")
            return
        if self.type is int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise IsoReconError(f"{name} must be {'a positive integer' if self.low == 1 else 'an integer'}"
                                    f"{' or None' if self.optional else ''}, got {value!r}.")
            if self.low is not None and value < self.low:
                raise IsoReconError(f"{name} must be {'a positive integer' if self.low == 1 else f'at least {self.low:g}'}"
                                    f"{' or None' if self.optional else ''}, got {value!r}.")
            return
        if self.type is float:
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not number or not self._in_range(value):
                raise IsoReconError(f"{name} must be in {self.range_text()}{' ' + self.unit if self.unit else ''}, "
                                    f"got {value!r}.")
            return
        if self.type is bool and not isinstance(value, bool):
            raise IsoReconError(f"{name} must be True or False, got {value!r}.")

    def _in_range(self, value: float) -> bool:
        above_low = self.low is None or value >= self.low
        below_high = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above_low and below_high

    def range_text(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"[{low}, {high}{')' if self.high_open or self.high is None else ']'}"


def option(default, label: str, text: str, **how) -> Any:
    """A ``TrainConfig`` field declared as a training option: ``channels: int = option(32, "Channels",
    "Feature channels of the reconstruction network.", flag="--channels", low=1)``."""
    return field(default=default, metadata={_KEY: Option(label, text, **how)})


def options_of(cls) -> tuple[Option, ...]:
    """The options declared on the dataclass ``cls``, in declaration order, with name, type and default."""
    hints = typing.get_type_hints(cls)
    found = []
    for f in dataclasses.fields(cls):
        if _KEY in f.metadata:
            kinds = [t for t in typing.get_args(hints[f.name]) if t is not type(None)] or [hints[f.name]]
            optional = type(None) in typing.get_args(hints[f.name])
            found.append(dataclasses.replace(f.metadata[_KEY], name=f.name, type=kinds[0], default=f.default,
                                             optional=optional))
    return tuple(found)


def check_options(config, options: tuple[Option, ...]) -> None:
    """Every option's check on ``config``'s value (the first bad one raises)."""
    for opt in options:
        opt.check(getattr(config, opt.name))


def option_named(options: tuple[Option, ...], name: str) -> Option:
    return next(opt for opt in options if opt.name == name)
