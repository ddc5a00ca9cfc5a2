"""``isorecon validate``: the hidden-section self-check on real data (core.checks.hidden_sections), and with
``--compare`` the same check once per setting, compared on the same hidden sections (core.checks.compare_settings)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import IsoReconError
from .flags import add_common, add_training
from .inputs import load_volume, train_options, z_factor_of
from .progress import advance, progress_bar, stop_on_interrupt


def add_parser(sub) -> None:
    p = sub.add_parser(
        "validate", help="check quality without ground truth: hide every other section and predict it",
        description="Keep every other section, train with the same settings at twice the z-factor, predict each "
                    "hidden section (the mean of the reconstruction over its thickness) and score it against the "
                    "real one, for ours, cubic interpolation and the mean of the two neighbours. Dataset "
                    "artefacts (duplicated, blank, saturated, misaligned sections) are found first and set aside "
                    "from the verdict, which rests on medians and sections won. Writes OUT/report.json, report.md "
                    "and report.png. It measures quality at twice your spacing: a lower bound.")
    add_common(p)
    add_training(p, checkpoints=False)
    p.add_argument("--out", required=True, help="folder for report.json, report.md and report.png (with "
                                                "--compare: comparison.json, comparison.md and a folder per setting)")
    p.add_argument("--compare", nargs="+", metavar="SETTING",
                   help="run the check once per setting on the same hidden sections and say which to use; a "
                        "setting is key=value[,key=value] over the options above, e.g. --compare pairs=section "
                        "pairs=kernel thickness=0.5 (short names pairs, thickness, spread; or any training "
                        "setting's name)")
    p.set_defaults(func=cmd_validate)


def _check_out(out: Path, paths, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise IsoReconError(f"{out} is a file; --out needs a folder.")
    if not overwrite:
        for path in paths:
            if path.exists():
                raise IsoReconError(f"{path} exists; choose another folder or pass --overwrite.")


class _CheckBar:
    """Moves a progress bar over [start, start + share] with one check's events."""

    def __init__(self, bar, start: float = 0.0, share: float = 1.0, label: str = "check"):
        self.bar, self.start, self.share, self.label, self.phase = bar, start, share, label, None

    def show(self, event) -> None:
        from ..core.events import CheckProgress, StageStarted, TrainStep

        if isinstance(event, StageStarted):
            self.bar.set_description(f"{self.label}: stage {event.stage}", refresh=False)
        elif isinstance(event, TrainStep):
            advance(self.bar, self.start + self.share * 0.9 * event.progress, step=event.step)
        elif isinstance(event, CheckProgress):
            if event.phase != self.phase:
                self.phase = event.phase
                self.bar.set_description(f"{self.label}: {self.phase}", refresh=False)
            advance(self.bar, self.start + self.share * (0.9 + 0.1 * event.progress))


def cmd_validate(args):
    from ..core.jobs import training_config

    settings = None
    if args.compare:
        from ..core.jobs import parse_settings

        settings = parse_settings(args.compare)  # before any work: a typo costs nothing
    volume, voxel, name = load_volume(args.volume)
    z_factor = z_factor_of(args, voxel)
    cfg = training_config(train_options(args, z_factor))
    out = Path(args.out)
    if settings:
        return _compare(args, volume, name, cfg, settings, out)
    _check_out(out, [out / f"report.{ext}" for ext in ("json", "md", "png")], args.overwrite)
    from ..core.events import HiddenSectionsChecked
    from ..core.jobs import run_hidden_section_check

    with stop_on_interrupt() as stop:
        # checks first; scored with --section-thickness; the uncertainty calibrated on the hidden sections too
        events = run_hidden_section_check(volume, cfg, stop=stop, uncertainty=True)
        print(f"Hidden-section check on {name} {tuple(volume.shape)}: training on {(volume.shape[0] + 1) // 2} "
              f"sections at z-factor {2 * z_factor:g}, budget "
              f"{f'{cfg.steps} steps' if cfg.steps else f'{cfg.minutes:g} min'}", file=sys.stderr)
        report = None
        with progress_bar(1000, "check: training") as bar:
            shown = _CheckBar(bar)
            for event in events:
                shown.show(event)
                if isinstance(event, HiddenSectionsChecked):
                    report = event.report
    if report is None:
        raise IsoReconError("The check was stopped before it could score the hidden sections; nothing written.")
    paths = report.save(out, overwrite=args.overwrite)
    print(report.to_markdown().split("## Per section")[0].rstrip())
    print(f"\nReport: {paths['md']} (figure: {paths['png']})")
    return report


def _compare(args, volume, name, cfg, settings, out):
    from ..core.events import HiddenSectionsChecked, SettingsCompared
    from ..core.jobs import compare_settings, comparison_paths

    _check_out(out, comparison_paths(out, [s.name for s in settings]), args.overwrite)
    names = [s.name for s in settings]
    comparison = None
    with stop_on_interrupt() as stop:
        events = compare_settings(volume, cfg, settings, stop=stop)  # every setting checked first
        budget = f"{cfg.steps} steps" if cfg.steps else f"{cfg.minutes:g} min"
        print(f"Comparing {len(settings)} settings on the hidden sections of {name} {tuple(volume.shape)}: "
              f"{', '.join(names)}; one check each (budget {budget} each, unless a setting changes it)",
              file=sys.stderr)
        with progress_bar(1000, "compare") as bar:
            bars = {n: _CheckBar(bar, i / len(names), 1 / len(names), n) for i, n in enumerate(names)}
            for event in events:
                if isinstance(event, SettingsCompared):
                    comparison = event.comparison
                    continue
                bars[event.part].show(event.event)
                if isinstance(event.event, HiddenSectionsChecked) and event.event.report is not None:
                    print(f"\n{event.part}: {event.event.report.verdict}", file=sys.stderr)
    if comparison is None:
        raise IsoReconError("The comparison was stopped before every setting was checked; nothing written.")
    paths = comparison.save(out, overwrite=args.overwrite)
    print(comparison.to_markdown().split("How a pair is decided")[0].rstrip())
    print(f"\nComparison: {paths['md']} (each setting's report in its own folder there)")
    return comparison
