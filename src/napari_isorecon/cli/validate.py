"""``isorecon validate``: the hidden-section self-check on real data (core.checks.hidden_sections)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import IsoReconError
from .inputs import load_volume, train_options, z_factor_of
from .progress import advance, progress_bar, stop_on_interrupt


def add_parser(sub, add_common, add_training) -> None:
    p = sub.add_parser(
        "validate", help="check quality without ground truth: hide every other section and predict it",
        description="Keep every other section, train with the same settings at twice the z-factor, predict each "
                    "hidden section (the mean of the reconstruction over its thickness) and score it against the "
                    "real one, for ours, cubic interpolation and the mean of the two neighbours. Writes "
                    "OUT/report.json, report.md and report.png. It measures quality at twice your spacing: a "
                    "lower bound.")
    add_common(p)
    add_training(p, checkpoints=False)
    p.add_argument("--out", required=True, help="folder for report.json, report.md and report.png")
    p.set_defaults(func=cmd_validate)


def cmd_validate(args):
    from ..core.checks.hidden_sections import run_hidden_section_check
    from ..core.events import CheckProgress, HiddenSectionsChecked, StageStarted, TrainStep
    from ..core.jobs import training_config

    volume, voxel, name = load_volume(args.volume)
    z_factor = z_factor_of(args, voxel)
    cfg = training_config(train_options(args, z_factor))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise IsoReconError(f"{out} is a file; --out needs a folder.")
    if not args.overwrite:
        for ext in ("json", "md", "png"):
            if (out / f"report.{ext}").exists():
                raise IsoReconError(f"{out / f'report.{ext}'} exists; choose another folder or pass --overwrite.")
    report, phase = None, None
    with stop_on_interrupt() as stop:
        events = run_hidden_section_check(volume, cfg, stop=stop)  # checks first; scored with --section-thickness
        print(f"Hidden-section check on {name} {tuple(volume.shape)}: training on {(volume.shape[0] + 1) // 2} "
              f"sections at z-factor {2 * z_factor:g}, budget "
              f"{f'{cfg.steps} steps' if cfg.steps else f'{cfg.minutes:g} min'}", file=sys.stderr)
        with progress_bar(1000, "check: training") as bar:
            for event in events:
                if isinstance(event, StageStarted):
                    bar.set_description(f"check: stage {event.stage}", refresh=False)
                elif isinstance(event, TrainStep):
                    advance(bar, 0.9 * event.progress, step=event.step)
                elif isinstance(event, CheckProgress):
                    if event.phase != phase:
                        phase = event.phase
                        bar.set_description(f"check: {phase}", refresh=False)
                    advance(bar, 0.9 + 0.1 * event.progress)
                elif isinstance(event, HiddenSectionsChecked):
                    report = event.report
    if report is None:
        raise IsoReconError("The check was stopped before it could score the hidden sections; nothing written.")
    paths = report.save(out, overwrite=args.overwrite)
    print(report.to_markdown().split("## Per section")[0].rstrip())
    print(f"\nReport: {paths['md']} (figure: {paths['png']})")
    return report
