"""The Train widget's settings: :class:`TrainSettings`, an evented dataclass holding what a run uses (z-factor,
preset, budget, device, seed and the advanced options) with its rules (a preset fills the fields, the budget
follows its unit), and :class:`TrainSettingsForm`, its magicgui form under the image layer picker, which
takes the z-factor from the picked layer's scale."""

from __future__ import annotations

from dataclasses import dataclass, field

from psygnal import evented
from qtpy.QtWidgets import QVBoxLayout, QWidget
from superqt import QCollapsible

from ..core.jobs import TrainOptions, training_config
from ..core.settings.config import PRESETS, STAGE2_PAIRS, TrainConfig, describe_sections
from ..core.settings.device import DEVICE_NAMES
from ..core.settings.precision import PRECISION_NAMES
from .layer_picker import LayerPicker
from .layers import z_factor_of
from .settings_form import field_widget, form, set_decimals, ui
from .ui import DEVICE_TIP, PRECISION_TIP, mark_unavailable_devices, mark_unavailable_precisions, small_hint

PRESET_CHOICES = {"fast, CPU": "fast", "paper (GPU)": "paper"}
BACKBONES = ("edsr", "drcnet", "rcan", "vdsr")
BUDGET_UNITS = ("minutes", "steps")
STEPS_BUDGET = 2000  # the budget offered when the unit becomes steps
FAST = TrainConfig(**PRESETS["fast"])  # the defaults below: the first preset's


@evented
@dataclass
class TrainSettings:
    """What the Train widget's next run uses, as the form shows it (set a field here and the form follows)."""

    z_factor: float = field(default=1.0, metadata=ui(
        "z-factor", "z spacing / xy spacing of the volume (how much coarser z is).", min=1.0, max=100.0,
        step=0.5, decimals=3))
    preset: str = field(default="fast, CPU", metadata=ui(
        "Preset", "fast: small networks, minutes on a laptop CPU. paper: the paper's sizes, meant for a GPU "
        "(about an hour).", choices=tuple(PRESET_CHOICES)))
    budget: float = field(default=FAST.minutes, metadata=ui(min=0.1, max=100000.0, decimals=1))
    budget_unit: str = field(default="minutes", metadata=ui(choices=BUDGET_UNITS))
    device: str = field(default="auto", metadata=ui("Device", DEVICE_TIP, choices=DEVICE_NAMES))
    precision: str = field(default="auto", metadata=ui("Precision", PRECISION_TIP, choices=PRECISION_NAMES))
    seed: int = field(default=0, metadata=ui("Seed", min=0, max=2**31 - 1))
    backbone: str = field(default=FAST.backbone, metadata=ui(
        "Backbone", "Reconstruction network: edsr (fast), drcnet (the paper's), rcan, vdsr.", choices=BACKBONES))
    channels: int = field(default=FAST.channels, metadata=ui(
        "Channels", "Feature channels of the reconstruction network.", min=4, max=256))
    blocks: int = field(default=FAST.blocks, metadata=ui(
        "Blocks", "Residual blocks of the reconstruction network.", min=1, max=32))
    patch_width: int = field(default=FAST.patch_width, metadata=ui(
        "Patch width", "Width of training patches (pixels, multiple of 16).", min=16, max=512, step=16))
    batch_size: int = field(default=FAST.batch_size, metadata=ui(
        "Batch size", "Patches per training step.", min=1, max=256))
    stage2_pairs: str = field(default=FAST.stage2_pairs, metadata=ui(
        "Stage-2 pairs", "What degrades the lateral patches that stage 2 learns to restore: 'section' (serial "
        "sections of the thickness below; no stage 1), or the degradation stage 1 learns (the paper's "
        "CycleGAN): its axial 'kernel' alone or the 'full' G_hl.", choices=STAGE2_PAIRS))
    section_thickness: float = field(default=FAST.section_thickness, metadata=ui(
        "Section thickness", "Thickness of the sections in z-steps (1: as thick as their spacing; 0.5 when "
        "every other section is lost; 0: single planes, as FIB-SEM images one milled face per z-step).",
        min=0.0, max=3.0, step=0.05, decimals=2))
    thickness_spread: float = field(default=FAST.thickness_spread, metadata=ui(
        "Thickness spread", "How far the real sections' thickness may be from the declared one, as a share of "
        "it: stage 2 learns on sections drawn from thickness x [1 - spread, 1 + spread] (0: exactly the "
        "declared thickness).", min=0.0, max=1.0, step=0.05, decimals=2))
    stage2_fraction: float = field(default=FAST.stage2_fraction, metadata=ui(
        "Stage-2 share", "Share of the budget for stage 2 (supervised training on pairs made with the "
        "learned degradation) when stage 1 runs.", min=0.0, max=0.95, step=0.05))
    smooth_kernel: bool = field(default=FAST.weights.kernel_smooth > 0, metadata=ui(
        "Smooth axial kernel", "A smoothness prior on the learned axial degradation (sections and milled "
        "slices blur smoothly along z). Untick for data that samples single planes with nothing in between."))
    preview_every: int = field(default=100, metadata=ui(
        "Preview every", "Degradation preview every N steps (0: only at the end).", min=0, max=100000))

    def __post_init__(self) -> None:
        self.events.preset.connect(self.apply_preset)
        self.events.budget_unit.connect(self._on_budget_unit)

    def apply_preset(self, label: str | None = None) -> None:
        """Fill the budget and advanced fields with the values of the preset ``label`` (default: the current)."""
        defaults = TrainConfig(**PRESETS[PRESET_CHOICES[label or self.preset]])
        self.backbone = defaults.backbone
        self.channels = defaults.channels
        self.blocks = defaults.blocks
        self.patch_width = defaults.patch_width
        self.batch_size = defaults.batch_size
        self.stage2_fraction = defaults.stage2_fraction
        self.stage2_pairs = defaults.stage2_pairs
        self.section_thickness = defaults.section_thickness
        self.thickness_spread = defaults.thickness_spread
        self.smooth_kernel = defaults.weights.kernel_smooth > 0
        self.budget_unit = "minutes"
        self.budget = defaults.minutes

    def _on_budget_unit(self, unit: str) -> None:
        minutes = TrainConfig(**PRESETS[PRESET_CHOICES[self.preset]]).minutes
        self.budget = minutes if unit == "minutes" else STEPS_BUDGET

    def show_model_settings(self, config: TrainConfig) -> None:
        """Show the settings a model was trained with (``config``), so that continuing it goes on as it ran:
        its preset (when one matches), backbone, advanced fields, kernel prior, seed and budget; the
        z-factor only when the form has none (it is the picked layer's, and must be the model's)."""
        label = preset_label(config)
        if label is not None:
            self.preset = label  # first: a preset fills the fields below
        self.backbone = config.backbone
        for name in OTHER_SETTINGS:
            setattr(self, name, getattr(config, name))
        self.smooth_kernel = config.weights.kernel_smooth > 0
        self.seed = config.seed
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
        return TrainOptions(z_factor=self.z_factor, preset=preset_name, backbone=self.backbone,
                            other_settings={name: getattr(self, name) for name in OTHER_SETTINGS}, steps=steps,
                            minutes=minutes, seed=self.seed, kernel_smooth=kernel_smooth, device=self.device,
                            precision=self.precision)

    def training_config(self, resume=None) -> TrainConfig:
        """The TrainConfig of these settings for a new model, or to continue ``resume`` (core.jobs rules);
        raises IsoReconError with a message for bad values."""
        return training_config(self.train_options(resume), resume)


OTHER_SETTINGS = ("channels", "blocks", "patch_width", "batch_size", "stage2_fraction", "stage2_pairs",
                  "section_thickness", "thickness_spread")  # TrainConfig fields
# what a preset sets that the form does not show (the generator and discriminator sizes, the patch height)
PRESET_ONLY_FIELDS = tuple(sorted(set().union(*PRESETS.values()) - {"backbone", "minutes", *OTHER_SETTINGS}))


def preset_label(config: TrainConfig) -> str | None:
    """The label of the preset whose settings that the form does not show are ``config``'s; None if none."""
    for label, name in PRESET_CHOICES.items():
        defaults = TrainConfig(**PRESETS[name])
        if all(getattr(defaults, setting) == getattr(config, setting) for setting in PRESET_ONLY_FIELDS):
            return label
    return None


MAIN_FIELDS = ("z_factor", "section_thickness", "preset", "budget", "budget_unit", "device", "precision", "seed")
ADVANCED_FIELDS = ("backbone", "channels", "blocks", "patch_width", "batch_size", "stage2_pairs",
                   "thickness_spread", "stage2_fraction", "smooth_kernel", "preview_every")


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
        self.thickness_hint = small_hint()
        self._build()
        mark_unavailable_devices(self.fields["device"].native)
        mark_unavailable_precisions(self.fields["precision"].native)
        self._show_budget_unit(settings.budget_unit)
        # before the settings' own rule sets the budget: the spin box shows it with the unit's decimals
        lifetime.connect(settings.events.budget_unit, self._show_budget_unit, priority=1)
        self.layer_picker.layer_changed.connect(self._on_layer_changed)
        self._on_layer_changed(self.layer_picker.layer())
        lifetime.connect(settings.events.section_thickness, self._show_acquisition)
        lifetime.connect(settings.events.thickness_spread, self._show_acquisition)
        self._show_acquisition()

    def _build(self) -> None:
        fields = self.fields
        main = form([("Image", self.layer_picker), fields["z_factor"], self.z_hint, fields["section_thickness"],
                     self.thickness_hint, fields["preset"],
                     ("Budget", fields["budget"], fields["budget_unit"]), fields["device"], fields["precision"],
                     fields["seed"]])
        self.advanced = QCollapsible("Advanced")
        self.advanced.addWidget(form([("" if name == "smooth_kernel" else fields[name].label, fields[name])
                                      for name in ADVANCED_FIELDS], inset=True))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(main)
        layout.addWidget(self.advanced)

    def _show_acquisition(self, *_) -> None:
        thickness = self.settings.section_thickness
        kind = "block-face imaging, e.g. FIB-SEM" if thickness == 0 else "serial sections"
        sections = describe_sections(thickness, self.settings.thickness_spread)
        self.thickness_hint.setText(f"Pairs from {sections}: {kind}. The volume cannot tell its thickness: "
                                    "say how it was acquired.")

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
