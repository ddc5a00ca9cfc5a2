"""The Train widget's settings form: image layer, z-factor (from the layer's scale), preset, budget, device,
seed and the advanced options; :meth:`TrainSettings.training_config` reads them as a ``TrainConfig``."""

from __future__ import annotations

from qtpy.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QSpinBox, QWidget
from superqt import QCollapsible

from ..core.config import PRESETS, TrainConfig, preset
from .layer_picker import LayerPicker
from .layers import z_factor_of
from .ui import device_combo, small_hint

PRESET_CHOICES = {"fast, CPU": "fast", "paper (GPU)": "paper"}
BACKBONES = ("edsr", "drcnet", "rcan", "vdsr")


def _int_spin(low: int, high: int, tip: str, step: int = 1) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setToolTip(tip)
    return spin


class TrainSettings(QWidget):
    """The settings fields; the Train widget exposes each of ``FIELDS`` as its own attribute too."""

    FIELDS = ("layer_picker", "z_factor", "z_hint", "preset", "budget", "budget_unit", "device", "seed",
              "advanced", "backbone", "channels", "blocks", "patch_width", "batch_size", "stage2_fraction",
              "smooth_kernel", "preview_every")

    def __init__(self, viewer, lifetime, parent=None):
        super().__init__(parent)
        self._lifetime = lifetime
        self._watched_layer = None
        self._build(viewer)
        self.apply_preset(self.preset.currentText())
        self._on_layer_changed(self.layer_picker.layer())

    def _build(self, viewer) -> None:
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.layer_picker = LayerPicker(viewer, self._lifetime)
        self.layer_picker.layer_changed.connect(self._on_layer_changed)
        form.addRow("Image", self.layer_picker)

        self.z_factor = QDoubleSpinBox()
        self.z_factor.setRange(1.0, 100.0)
        self.z_factor.setDecimals(3)
        self.z_factor.setSingleStep(0.5)
        self.z_factor.setToolTip("z spacing / xy spacing of the volume (how much coarser z is).")
        form.addRow("z-factor", self.z_factor)
        self.z_hint = small_hint()
        form.addRow(self.z_hint)

        self.preset = QComboBox()
        self.preset.addItems(list(PRESET_CHOICES))
        self.preset.setToolTip("fast: small networks, minutes on a laptop CPU. paper: the paper's sizes, "
                               "meant for a GPU (about an hour).")
        self.preset.currentTextChanged.connect(self.apply_preset)
        form.addRow("Preset", self.preset)

        budget_row = QHBoxLayout()
        self.budget = QDoubleSpinBox()
        self.budget.setRange(0.1, 100000)
        self.budget.setDecimals(1)
        self.budget_unit = QComboBox()
        self.budget_unit.addItems(["minutes", "steps"])
        self.budget_unit.currentTextChanged.connect(self._on_budget_unit)
        budget_row.addWidget(self.budget, 1)
        budget_row.addWidget(self.budget_unit)
        form.addRow("Budget", budget_row)

        self.device = device_combo()
        form.addRow("Device", self.device)

        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        form.addRow("Seed", self.seed)
        form.addRow(self._build_advanced())

    def _build_advanced(self) -> QCollapsible:
        self.advanced = QCollapsible("Advanced")
        advanced_box = QWidget()
        adv = QFormLayout(advanced_box)
        self.backbone = QComboBox()
        self.backbone.addItems(BACKBONES)
        self.backbone.setToolTip("Reconstruction network: edsr (fast), drcnet (the paper's), rcan, vdsr.")
        adv.addRow("Backbone", self.backbone)
        self.channels = _int_spin(4, 256, "Feature channels of the reconstruction network.")
        adv.addRow("Channels", self.channels)
        self.blocks = _int_spin(1, 32, "Residual blocks of the reconstruction network.")
        adv.addRow("Blocks", self.blocks)
        self.patch_width = _int_spin(16, 512, "Width of training patches (pixels, multiple of 16).", 16)
        adv.addRow("Patch width", self.patch_width)
        self.batch_size = _int_spin(1, 256, "Patches per training step.")
        adv.addRow("Batch size", self.batch_size)
        self.stage2_fraction = QDoubleSpinBox()
        self.stage2_fraction.setRange(0.0, 0.95)
        self.stage2_fraction.setSingleStep(0.05)
        self.stage2_fraction.setToolTip("Share of the budget for stage 2 (supervised training on "
                                        "pairs made with the learned degradation).")
        adv.addRow("Stage-2 share", self.stage2_fraction)
        self.smooth_kernel = QCheckBox("Smooth axial kernel")
        self.smooth_kernel.setChecked(True)
        self.smooth_kernel.setToolTip("A smoothness prior on the learned axial degradation (sections and "
                                      "milled slices blur smoothly along z). Untick for data that samples "
                                      "single planes with nothing in between.")
        adv.addRow("", self.smooth_kernel)
        self.preview_every = _int_spin(0, 100000, "Degradation preview every N steps (0: only at the end).")
        self.preview_every.setValue(100)
        adv.addRow("Preview every", self.preview_every)
        self.advanced.addWidget(advanced_box)
        return self.advanced

    def apply_preset(self, label: str) -> None:
        """Fill the budget and advanced fields with the preset's values."""
        defaults = TrainConfig(**PRESETS[PRESET_CHOICES[label]])
        self.backbone.setCurrentText(defaults.backbone)
        self.channels.setValue(defaults.channels)
        self.blocks.setValue(defaults.blocks)
        self.patch_width.setValue(defaults.patch_width)
        self.batch_size.setValue(defaults.batch_size)
        self.stage2_fraction.setValue(defaults.stage2_fraction)
        self.smooth_kernel.setChecked(defaults.weights.kernel_smooth > 0)
        self.budget_unit.setCurrentText("minutes")
        self.budget.setValue(defaults.minutes)

    def _on_budget_unit(self, unit: str) -> None:
        self.budget.setDecimals(1 if unit == "minutes" else 0)
        minutes = TrainConfig(**PRESETS[PRESET_CHOICES[self.preset.currentText()]]).minutes
        self.budget.setValue(minutes if unit == "minutes" else 2000)

    def training_config(self) -> TrainConfig:
        """The TrainConfig the form shows (raises IsoReconError with a message for bad values)."""
        if self.budget_unit.currentText() == "minutes":
            budget = {"minutes": float(self.budget.value()), "steps": None}
        else:
            budget = {"steps": max(1, round(self.budget.value())), "minutes": None}
        cfg = preset(PRESET_CHOICES[self.preset.currentText()], z_factor=self.z_factor.value(),
                     backbone=self.backbone.currentText(), channels=self.channels.value(),
                     blocks=self.blocks.value(), patch_width=self.patch_width.value(),
                     batch_size=self.batch_size.value(), stage2_fraction=self.stage2_fraction.value(),
                     device=self.device.currentText(), seed=self.seed.value(), **budget)
        return cfg if self.smooth_kernel.isChecked() else cfg.replace_weights(kernel_smooth=0.0)

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
        self.z_factor.setValue(factor if factor is not None else 1.0)
        self.z_hint.setText(hint)
