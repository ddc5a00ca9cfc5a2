"""IsoModel: the trained networks with everything needed to use them again."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..networks.backbones import build_backbone
from ..networks.generators import AxialDegradation, AxialDiscriminator, PatchDiscriminator
from ..settings.config import TrainConfig
from ..training.sections import section_slices, section_taps, stacked_section_taps
from .intensity import Normalizer


def build_networks(cfg: TrainConfig) -> dict[str, torch.nn.Module]:
    return {
        "g_hl": AxialDegradation(cfg.z_factor, cfg.ghl_channels, cfg.ghl_blocks, cfg.kernel_model,
                                 cfg.section_thickness),
        "g_lh": build_backbone(cfg.backbone, cfg.z_factor, cfg.channels, cfg.blocks, cfg.subpixel_join),
        "d_l": AxialDiscriminator(cfg.disc_channels),
        "d_h": PatchDiscriminator(cfg.disc_channels),
    }


@dataclass
class TrainState:
    """Where training stands, for resuming: stage (1 CycleGAN, 2 supervised), steps, time, RNG."""

    stage: int = 1
    step: int = 0  # steps done over both stages
    stage_steps: tuple[int, int] = (0, 0)
    elapsed: float = 0.0  # seconds of training so far
    rng_state: dict | None = None
    optimizers: dict = field(default_factory=dict)  # name -> state_dict
    # stage 2's scores on the held-back pairs (core.training.early_stop): [step, elapsed s, PSNR dB] per
    # evaluation, over every run of this model; empty when none was scored (early stopping off, older models)
    held_out: list = field(default_factory=list)
    # why the last run ended (TrainFinished.reason: "converged: ...", "budget", "stopped by the user"); "" when
    # not recorded (a model saved during training, or before it was recorded)
    stop_reason: str = ""

    def to_dict(self) -> dict:
        return {"stage": self.stage, "step": self.step, "stage_steps": list(self.stage_steps),
                "elapsed": self.elapsed, "rng_state": self.rng_state, "optimizers": self.optimizers,
                "held_out": [list(entry) for entry in self.held_out], "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, data: dict) -> TrainState:
        return cls(stage=int(data["stage"]), step=int(data["step"]), stage_steps=tuple(data["stage_steps"]),
                   elapsed=float(data["elapsed"]), rng_state=data.get("rng_state"),
                   optimizers=data.get("optimizers") or {},
                   held_out=[[int(s), float(t), float(p)] for s, t, p in data.get("held_out") or ()],
                   stop_reason=str(data.get("stop_reason") or ""))


class IsoModel:
    """G_hl, G_lh, both discriminators and (after stage 2) the supervised reconstruction network."""

    def __init__(self, config: TrainConfig, normalizer: Normalizer, networks: dict | None = None,
                 reconstructor: torch.nn.Module | None = None, state: TrainState | None = None):
        self.config = config
        self.normalizer = normalizer
        self.networks = networks if networks is not None else build_networks(config)
        self.reconstructor = reconstructor
        self.state = state or TrainState()
        # per-phase offsets of the output rows (model.phase_levels), measured after training; None: none
        self.phase_levels: np.ndarray | None = None

    @property
    def z_factor(self) -> float:
        return self.config.z_factor

    @property
    def g_hl(self) -> AxialDegradation:
        return self.networks["g_hl"]

    @property
    def g_lh(self) -> torch.nn.Module:
        return self.networks["g_lh"]

    def new_reconstructor(self) -> torch.nn.Module:
        """A stage-2 network of the configured backbone, started from G_lh's weights."""
        cfg = self.config
        net = build_backbone(cfg.backbone, cfg.z_factor, cfg.channels, cfg.blocks, cfg.subpixel_join)
        net.load_state_dict(self.g_lh.state_dict())
        return net

    def reconstruction_network(self) -> torch.nn.Module:
        """The network that makes the isotropic volume: stage 2's when trained, else G_lh; with the measured
        phase levels (:mod:`.phase_levels`) taken off its rows when the model has them."""
        net = self.reconstructor if self.reconstructor is not None else self.g_lh
        if self.phase_levels is None:
            return net
        from .phase_levels import PhaseLevelled

        return PhaseLevelled(net, self.phase_levels)

    def to(self, device) -> IsoModel:
        for net in self.networks.values():
            net.to(device)
        if self.reconstructor is not None:
            self.reconstructor.to(device)
        return self

    def pair_degradation(self):
        """What makes stage-2 inputs ``(hr, out_rows) -> lr`` from HR patches (``config.stage2_pairs``): sections
        of ``config.section_thickness``, G_hl's kernel path alone or the whole G_hl."""
        cfg = self.config
        if cfg.stage2_pairs == "section":
            return self._sections
        return self.g_hl.kernel_path if cfg.stage2_pairs == "kernel" else self.g_hl

    def _sections(self, hr: torch.Tensor, out_rows: int | None = None) -> torch.Tensor:
        return section_slices(hr, self.config.z_factor, self.config.section_thickness, out_rows)

    def pair_kernel(self) -> torch.Tensor:
        """The axial kernel of the stage-2 pairs (centred taps one lateral pixel apart): the declared section's
        box, or G_hl's learned kernel."""
        cfg = self.config
        if cfg.stage2_pairs == "section":
            taps = section_taps(cfg.z_factor, cfg.section_thickness)
            return torch.from_numpy(taps.astype(np.float32)).to(next(self.g_hl.parameters()).device)
        return self.g_hl.axial_kernel()

    def stage2_inputs(self, hr: torch.Tensor, out_rows: int, noise=None, draw: int | None = None) -> torch.Tensor:
        """Stage 2's inputs made from a batch of HR patches: :meth:`pair_degradation`, each patch's section
        drawn from ``config.thickness_spread`` around the declared thickness (seeded by the run's seed and
        step, or by ``draw`` instead of the step), plus the pixel noise the kernel averaged away (``noise``: a
        ``noise.PixelNoise`` or None)."""
        cfg = self.config
        if cfg.stage2_pairs == "section" and cfg.thickness_spread > 0:
            rng = np.random.default_rng([cfg.seed, self.state.step if draw is None else draw])
            spread = cfg.section_thickness * cfg.thickness_spread
            low, high = cfg.section_thickness - spread, cfg.section_thickness + spread
            thicknesses = rng.uniform(low, high, hr.shape[0])
            lr = section_slices(hr, cfg.z_factor, thicknesses, out_rows)
            kernel = torch.from_numpy(stacked_section_taps(cfg.z_factor, thicknesses).astype(np.float32))
        else:
            lr = self.pair_degradation()(hr, out_rows)
            kernel = self.pair_kernel()
        return lr if noise is None else noise.add_missing(lr, kernel)

    @torch.inference_mode()
    def degrade(self, hr_slice: np.ndarray, vertical_axis: int = 0, out_rows: int | None = None,
                pairs: bool = False) -> np.ndarray:
        """G_hl applied to a 2D lateral slice (input intensities), degrading along ``vertical_axis`` to
        ``out_rows`` rows (default round(rows / f)). ``pairs``: apply what makes the stage-2 pairs
        (:meth:`pair_degradation`, G_hl's kernel path alone with ``stage2_pairs="kernel"``) instead of
        the whole G_hl."""
        image = np.asarray(hr_slice)
        if vertical_axis == 1:
            image = image.T
        g_hl = self.g_hl
        degradation = self.pair_degradation() if pairs else g_hl
        device = next(g_hl.parameters()).device
        x = torch.from_numpy(self.normalizer.to_unit(image))[None, None].to(device)
        was_training = g_hl.training
        g_hl.eval()
        out = degradation(x, out_rows)[0, 0].cpu().numpy()
        g_hl.train(was_training)
        out = self.normalizer.from_unit(out)
        return out.T if vertical_axis == 1 else out
