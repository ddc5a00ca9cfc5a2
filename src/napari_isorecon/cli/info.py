"""``isorecon info MODEL``: a model's settings, training history (why it ended, its held-back scores) and learned
kernel."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="print a model's settings, training history and learned axial kernel")
    p.add_argument("model", help="model file from 'isorecon train' or 'isorecon run'")
    p.add_argument("--xy-nm", type=float, default=None,
                   help="lateral pixel size in nm, to print the kernel in nm (default: pixels)")
    p.set_defaults(func=cmd_info)


def cmd_info(args):
    from ..core import load_model
    from ..core.jobs import describe_held_out, describe_kernel, describe_phase_levels, model_kernel_summary

    model = load_model(args.model)
    cfg, state = model.config, model.state
    w = cfg.weights
    budget = f"{cfg.steps} steps" if cfg.steps else f"{cfg.minutes:g} min"
    thickness = "" if cfg.learns_degradation else f" ({cfg.declared_sections()})"
    lines = [
        f"Model {args.model}",
        f"  acquisition assumed: {cfg.describe_acquisition()}",
        (f"  z-factor {cfg.z_factor:g}; backbone {cfg.backbone} ({cfg.channels} channels, {cfg.blocks} blocks); "
         f"G_hl {cfg.ghl_channels} channels, {cfg.ghl_blocks} blocks"),
        (f"  budget {budget}, stage-2 share {cfg.stage2_fraction:g}, stage-1 cap {cfg.stage1_max_steps}, "
         f"stage-2 pairs from {cfg.stage2_pairs!r}{thickness}, stage-2 loss {cfg.stage2_loss}, "
         f"matched noise {'on' if cfg.match_noise else 'off'}, seed {cfg.seed}"),
        (f"  loss weights: adv_hl {w.adv_hl:g}, adv_lh {w.adv_lh:g}, cycle {w.cycle:g}, mean {w.mean:g}, "
         f"kernel_smooth {w.kernel_smooth:g}"),
        (f"  trained: {state.step} steps (stage 1: {state.stage_steps[0]}, stage 2: {state.stage_steps[1]}) in "
         f"{state.elapsed / 60:.1f} min; {'stage-2 network trained' if model.reconstructor is not None else 'no stage 2 yet: G_lh reconstructs'}"),
        f"  training ended: {state.stop_reason or 'not recorded'}",
        (f"  held-back pairs (early stopping {'on' if cfg.early_stop else 'off'}): "
         f"{describe_held_out(state.held_out) or 'not scored'}"),
        f"  intensities: {model.normalizer.low:g} -> 0, {model.normalizer.high:g} -> 1 ({model.normalizer.dtype})",
        "  " + describe_phase_levels(model),
        "  " + describe_kernel(model_kernel_summary(model, args.xy_nm)),
    ]
    print("\n".join(lines))
