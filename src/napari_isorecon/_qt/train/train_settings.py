"""The Train widget's settings: :class:`TrainSettings`, an evented dataclass holding what a run uses (z-factor,
acquisition, preset, budget, device and a field per training option of core/settings/options.py, basic or
advanced) with its rules (a preset fills the fields, an acquisition the pair settings, the budget follows
its unit), and :class:`TrainSettingsForm`, its magicgui form under the image layer picker, which
takes the z-factor from the picked layer's scale."""

from __future__ import annotations

import dataclasses
from dataclasses import field

from psygnal import evented
from qtpy.QtWidgets import QVBoxLayout, QWidget
from superqt import QCollapsible

from ...core.errors import IsoReconError
from ...core.jobs import TrainOptions, acquisition_notes, training_config
from ...core.settings.acquisition import ACQUISITIONS, CUSTOM, DEFAULT_ACQUISITION, acquisition_named
from ...core.settings.config import PRESETS, TRAIN_OPTIONS, LossWeights, TrainConfig
from ...core.settings.device import DEVICE_NAMES
from ...core.settings.precision import PRECISION_NAMES
from ..shared.layer_picker import LayerPicker
from ..shared.layers import z_factor_of
from ..shared.settings_form import field_widget, form, set_decimals, ui
from ..shared.ui import (
    DEVICE_TIP,
    PRECISION_TIP,
    mark_unavailable_devices,
    mark_unavailable_precisions,
    small_hint,
)

PRESET_CHOICES = {"fast, CPU": "fast", "paper (GPU)": "paper"}
BUDGET_UNITS = ("minutes", "steps")
STEPS_BUDGET = 2000  # the budget offered when the unit becomes steps
FAST = TrainConfig(**PRESETS["fast"])  # the defaults below: the first preset's
# the training options the form shows (core/settings/options.py): a field each, by their TrainConfig name
OPTIONS = tuple(opt for opt in TRAIN_OPTIONS if opt.in_widget)
OTHER_SETTINGS = tuple(opt.name for opt in OPTIONS)  # TrainConfig fields
ACQUISITION_FIELDS = ("stage2_pairs", "section_thickness", "thickness_spread")  # what an acquisition sets


def _option_field(opt):
    """A settings field for the training option ``opt``: the fast preset's value, shown with the option's
    label, help, choices or range."""
    how = {}
    if opt.allowed() is not None:
        how["choices"] = opt.allowed()
    elif opt.type in (int, float):
        high = opt.ui_max if opt.high is None else opt.high - (opt.step or 1) * opt.high_open
        how.update(min=opt.low, max=high)
        how.update({key: value for key, value in (("step", opt.step), ("decimals", opt.decimals)) if value})
    return field(default=getattr(FAST, opt.name), metadata=ui(opt.label, opt.help, **how))


class _Rules:
    """The rules of the Train widget's settings (the fields: :class:`TrainSettings`)."""

    def __post_init__(self) -> None:
        self.events.preset.connect(self.apply_preset)
        self.events.budget_unit.connect(self._on_budget_unit)
        self.events.acquisition.connect(self.apply_acquisition)

    def apply_preset(self, label: str | None = None) -> None:
        """Fill the budget and advanced fields with the values of the preset ``label`` (default: the current),
        the pair settings with the acquisition's."""
        defaults = TrainConfig(**PRESETS[PRESET_CHOICES[label or self.preset]])
        for opt in OPTIONS:
            if opt.level == "advanced" and opt.name not in ACQUISITION_FIELDS:
                setattr(self, opt.name, getattr(defaults, opt.name))
        self.apply_acquisition()
        self.budget_unit = "minutes"
        self.budget = defaults.minutes

    def apply_acquisition(self, name: str | None = None) -> None:
        """Fill the pair settings and the kernel prior with those of the acquisition ``name`` (default: the
        current)."""
        entry = acquisition_named(name or self.acquisition)
        for setting in ACQUISITION_FIELDS:
            setattr(self, setting, getattr(entry, setting))
        self.smooth_kernel = entry.kernel_smooth is None or entry.kernel_smooth > 0

    def _on_budget_unit(self, unit: str) -> None:
        minutes = TrainConfig(**PRESETS[PRESET_CHOICES[self.preset]]).minutes
        self.budget = minutes if unit == "minutes" else STEPS_BUDGET

    def show_model_settings(self, config: TrainConfig) -> None:
        """Show the settings a model was trained with (``config``), so that continuing it goes on as it ran:
        its preset (when one matches), acquisition, the options, kernel prior, seed and budget; the
        z-factor only when the form has none (it is the picked layer's, and must be the model's)."""
        label = preset_label(config)
        if label is not None:
            self.preset = label  # first: a preset fills the fields below
        if config.acquisition != CUSTOM:
            self.acquisition = config.acquisition  # before the pair settings: it sets them
        for name in OTHER_SETTINGS:
            setattr(self, name, getattr(config, name))
        self.smooth_kernel = config.weights.kernel_smooth > 0
        self.budget_unit = "steps" if config.steps else "minutes"  # first: the unit sets a budget of its own
        self.budget = config.steps or config.minutes
        if self.z_factor <= 1.0:
            self.z_factor = config.z_factor

    def train_options(self, resume=None) -> TrainOptions:
        """Everything the form shows, as set by the user (the prior: the preset's weight, or 0 when unticked).

        Continuing ``resume``, the model's own settings are the base, not the form's preset (the form shows
        the model's settings once it is loaded or continued, :meth:`show_model_settings`); a ticked prior
        keeps the model's weight, or takes the preset's when the model was trained without one."""
        steps, minutes = (None, float(self.budget)) if self.budget_unit == "minutes" else \
            (max(1, round(self.budget)), None)
        preset_name = PRESET_CHOICES[self.preset]
        kernel_smooth = None if self.smooth_kernel else 0.0
        if resume is not None:
            if self.smooth_kernel and resume.config.weights.kernel_smooth == 0:
                kernel_smooth = TrainConfig(**PRESETS[preset_name]).weights.kernel_smooth
            preset_name = None
        elif self.smooth_kernel:
            kernel_smooth = LossWeights().kernel_smooth  # ticked: the prior on, whatever the acquisition's
        return TrainOptions(z_factor=self.z_factor, preset=preset_name, acquisition=self.acquisition,
                            other_settings={name: getattr(self, name) for name in OTHER_SETTINGS}, steps=steps,
                            minutes=minutes, kernel_smooth=kernel_smooth, device=self.device,
                            precision=self.precision)

    def training_config(self, resume=None) -> TrainConfig:
        """The TrainConfig of these settings for a new model, or to continue ``resume`` (core.jobs rules);
        raises IsoReconError with a message for bad values."""
        return training_config(self.train_options(resume), resume)


ACQUISITION_TIP = ("How the volume was acquired: it sets the stage-2 pairs (Advanced: the pairs, the section "
                   "thickness and spread override it). " + " ".join(f"{entry.label}: {entry.help}."
                                                                   for entry in ACQUISITIONS))
_FIELDS = [
    ("z_factor", float, field(default=1.0, metadata=ui(
        "z-factor", "z spacing / xy spacing of the volume (how much coarser z is).", min=1.0, max=100.0,
        step=0.5, decimals=3))),
    ("acquisition", str, field(default=DEFAULT_ACQUISITION.name, metadata=ui(
        "Acquisition", ACQUISITION_TIP, choices=[(entry.label, entry.name) for entry in ACQUISITIONS]))),
    ("preset", str, field(default="fast, CPU", metadata=ui(
        "Preset", "fast: small networks, minutes on a laptop CPU. paper: the paper's sizes, meant for a GPU "
        "(about an hour).", choices=tuple(PRESET_CHOICES)))),
    ("budget", float, field(default=FAST.minutes, metadata=ui(min=0.1, max=100000.0, decimals=1))),
    ("budget_unit", str, field(default="minutes", metadata=ui(choices=BUDGET_UNITS))),
    ("device", str, field(default="auto", metadata=ui("Device", DEVICE_TIP, choices=DEVICE_NAMES))),
    ("precision", str, field(default="auto", metadata=ui("Precision", PRECISION_TIP, choices=PRECISION_NAMES))),
    *((opt.name, opt.type, _option_field(opt)) for opt in OPTIONS),
    ("smooth_kernel", bool, field(default=FAST.weights.kernel_smooth > 0, metadata=ui(
        "Smooth axial kernel", "A smoothness prior on the learned axial degradation (sections and milled "
        "slices blur smoothly along z). Untick for data that samples single planes with nothing in between."))),
    ("preview_every", int, field(default=100, metadata=ui(
        "Preview every", "Degradation preview every N steps (0: only at the end).", min=0, max=100000))),
]
# What the Train widget's next run uses, as the form shows it (set a field here and the form follows): the
# fixed fields above and one per training option the form shows (``OPTIONS``), with the rules of ``_Rules``.
TrainSettings = evented(dataclasses.make_dataclass("TrainSettings", _FIELDS, bases=(_Rules,),
                                                  namespace={"__module__": __name__}))
TrainSettings.__doc__ = "What the Train widget's next run uses, as the form shows it (set a field and the form follows)."
# what a preset sets that the form does not show (the generator and discriminator sizes, the patch height)
PRESET_ONLY_FIELDS = tuple(sorted(set().union(*PRESETS.values()) - {"minutes", *OTHER_SETTINGS}))


def preset_label(config: TrainConfig) -> str | None:
    """The label of the preset whose settings that the form does not show are ``config``'s; None if none."""
    for label, name in PRESET_CHOICES.items():
        defaults = TrainConfig(**PRESETS[name])
        if all(getattr(defaults, setting) == getattr(config, setting) for setting in PRESET_ONLY_FIELDS):
            return label
    return None


MAIN_FIELDS = ("z_factor", "acquisition", "preset", "budget", "budget_unit", "device", "precision",
               *(opt.name for opt in OPTIONS if opt.level == "basic"))
ADVANCED_FIELDS = (*(opt.name for opt in OPTIONS if opt.level == "advanced"), "smooth_kernel", "preview_every")


class TrainSettingsForm(QWidget):
    """The image layer picker and the magicgui form of ``settings`` (the advanced fields in a collapsible
    box); ``fields`` holds the field widgets by name. The z-factor follows the picked layer's scale."""

    def __init__(self, settings: TrainSettings, viewer, lifetime, parent=None):
        super().__init__(parent)
        self.settings = settings
        self._lifetime = lifetime
        self._watched_layer = None
        self.fields = {name: field_widget(settings, name, lifetime) for name in MAIN_FIELDS + ADVANCED_FIELDS}
        self.layer_picker = LayerPicker(viewer, lifetime)
        self.z_hint = small_hint()
        self.acquisition_hint = small_hint()
        self._build()
        mark_unavailable_devices(self.fields["device"].native)
        mark_unavailable_precisions(self.fields["precision"].native)
        self._show_budget_unit(settings.budget_unit)
        # before the settings' own rule sets the budget: the spin box shows it with the unit's decimals
        lifetime.connect(settings.events.budget_unit, self._show_budget_unit, priority=1)
        self.layer_picker.layer_changed.connect(self._on_layer_changed)
        self._on_layer_changed(self.layer_picker.layer())
        for name in ("acquisition", "smooth_kernel", *ACQUISITION_FIELDS):
            lifetime.connect(getattr(settings.events, name), self._show_acquisition)
        self._show_acquisition()

    def _build(self) -> None:
        fields = self.fields
        basic = [fields[name] for name in MAIN_FIELDS[MAIN_FIELDS.index("precision") + 1:]]
        main = form([("Image", self.layer_picker), fields["z_factor"], self.z_hint, fields["acquisition"],
                     self.acquisition_hint, fields["preset"],
                     ("Budget", fields["budget"], fields["budget_unit"]), fields["device"], fields["precision"],
                     *basic])
        self.advanced = QCollapsible("Advanced")
        # the check box spans its row: in the field column it would add the widest label's width to its own
        self.advanced.addWidget(form([fields[name] for name in ADVANCED_FIELDS], inset=True))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(main)
        layout.addWidget(self.advanced)

    def _show_acquisition(self, *_) -> None:
        """What the pairs assume, and which Advanced setting overrides the acquisition's (core.jobs rules)."""
        settings = self.settings
        try:
            config = TrainConfig(acquisition=settings.acquisition, **{
                name: getattr(settings, name) for name in ACQUISITION_FIELDS}).replace_weights(
                kernel_smooth=LossWeights().kernel_smooth if settings.smooth_kernel else 0.0)
        except IsoReconError as exc:
            self.acquisition_hint.setText(str(exc))
            return
        pairs = (f"learned degradation ({config.stage2_pairs})" if config.learns_degradation
                 else config.declared_sections())
        notes = " ".join(acquisition_notes(config, lambda opt: f"Advanced > {opt.label}"))
        self.acquisition_hint.setText(f"Pairs from {pairs}. The volume cannot tell how it was acquired: say "
                                      f"it.{' ' + notes if notes else ''}")

    def _show_budget_unit(self, unit: str) -> None:
        set_decimals(self.fields["budget"], 1 if unit == "minutes" else 0, self.settings.budget)

    def _on_layer_changed(self, layer) -> None:
        if self._watched_layer is not None:
            self._lifetime.disconnect(self._watched_layer.events.scale, self._update_z_factor)
        self._watched_layer = layer
        if layer is not None:
            self._lifetime.connect(layer.events.scale, self._update_z_factor)
        self._update_z_factor()

    def _update_z_factor(self, *_) -> None:
        layer = self._watched_layer
        if layer is None:
            self.z_hint.setText("Open a 3D image layer (z, y, x), e.g. File > Open Sample > IsoRecon.")
            return
        factor, hint = z_factor_of(layer.scale)
        self.settings.z_factor = factor if factor is not None else 1.0
        self.z_hint.setText(hint)
