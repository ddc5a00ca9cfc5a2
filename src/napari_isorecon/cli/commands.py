"""The subcommands that train, reconstruct, interpolate and bench."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from ..core.errors import IsoReconError
from . import uncertainty as tta
from .inputs import (
    SAMPLE,
    dask_client,
    load_volume,
    outputs_of,
    recon_config,
    train_options,
    warn_if_voxel_disagrees,
    z_factor_of,
)
from .progress import run_parts, train_with_progress

WRITTEN = {"isotropic": "Isotropic volume", "interpolated": "Cubic interpolation", "uncertainty": "Uncertainty",
           "sharp": "Sharp volume"}
VERBS = {"interpolated": "interpolate", "isotropic": "reconstruct", "sharp": "sharpen"}


def _training_config(args, voxel, resume):
    """The run's settings (core.jobs.training_config); a resumed model's z-factor unless --z-factor is given."""
    from ..core.jobs import training_config

    z_factor = z_factor_of(args, voxel) if args.z_factor is not None or resume is None else None
    return training_config(train_options(args, z_factor), resume)


def cmd_train(args):
    from ..core.io.files import check_writable
    from ..core.jobs import check_autosave, finish_autosave
    from ..core.model.checkpoint import autosave_path, load_model, save_model

    volume, voxel, _ = load_volume(args.volume)
    check_writable(args.out, args.overwrite)
    autosave = autosave_path(args.out)
    check_autosave(autosave, args.resume)
    resume = load_model(args.resume) if args.resume else None
    cfg = _training_config(args, voxel, resume)
    _print_acquisition_notes(cfg)
    model, _ = train_with_progress(volume, cfg, resume, autosave, args.checkpoint_every,
                                   announce=f"Training for {_pairs_text(cfg)}")
    save_model(model, args.out, overwrite=args.overwrite)
    finish_autosave(autosave)
    _print_kernel(model, voxel)
    print(f"Model saved to {args.out}")


def cmd_reconstruct(args):
    from ..core.jobs import reconstruct_with_twin
    from ..core.model.checkpoint import load_model

    volume, voxel, _ = load_volume(args.volume)
    outputs = outputs_of(args, voxel, {"isotropic": args.out, "interpolated": args.interpolated,
                                       "uncertainty": args.uncertainty,
                                       "sharp": sharp_path(args.out) if args.sharp else None})
    expected = z_factor_of(args, voxel) if args.z_factor is not None else None
    model = load_model(args.model, z_factor=expected)
    warn_if_voxel_disagrees(voxel, model.z_factor, args.volume)
    cfg = recon_config(args)
    verbs = {**VERBS, "isotropic": "reconstruct with flips" if args.uncertainty else "reconstruct"}
    with dask_client(args.scheduler) as client:
        finals = run_parts(lambda stop: reconstruct_with_twin(
            volume, model, cfg, twin=bool(args.interpolated), uncertainty=bool(args.uncertainty),
            consistency=args.consistency, sharp=args.sharp, outputs=replace(outputs, client=client), stop=stop),
            verbs, WRITTEN)
    if args.uncertainty:
        tta.report(finals["isotropic"])
    if args.sharp:
        _print_sharp(finals["sharp"])
    _print_checks(args, model, finals)


def cmd_interpolate(args):
    from ..core.events import PartEvent
    from ..core.jobs import interpolation

    volume, voxel, _ = load_volume(args.volume)
    outputs = outputs_of(args, voxel, {"interpolated": args.out})
    z_factor = z_factor_of(args, voxel)
    cfg = recon_config(args)
    with dask_client(args.scheduler) as client:
        run_parts(lambda stop: (PartEvent("interpolated", event) for event in interpolation(
            volume, z_factor, args.order, cfg, replace(outputs, client=client), stop, job=f"interpolate-{args.order}")),
            VERBS, {"interpolated": f"{args.order.capitalize()} interpolation"})


def cmd_run(args):
    """Train, save the model, reconstruct and write the interpolated twin, all into one folder. The volume is
    scanned for sections that are no real image once, for both."""
    from ..core.checks.artefacts import find_section_artefacts
    from ..core.geometry import check_volume
    from ..core.io.files import check_writable
    from ..core.jobs import Outputs, check_autosave, finish_autosave, reconstruct_with_twin
    from ..core.model.checkpoint import autosave_path, load_model, save_model

    volume, voxel, name = load_volume(args.volume)
    out_dir = Path(args.out_dir)
    keys = ("model.pt", "isotropic.tif", "interpolated.tif") + (("sharp.tif",) if args.sharp else ())
    paths = {key: out_dir / f"{name}_{key}" for key in keys}
    autosave = autosave_path(paths["model.pt"])
    if args.resume and not autosave.exists():
        raise IsoReconError(f"Nothing to resume: {autosave} does not exist.")
    check_autosave(autosave, autosave if args.resume else None)
    resume = load_model(autosave) if args.resume else None
    cfg = _training_config(args, voxel, resume)
    check_volume(volume)  # shape and dtype only: a 2D image is refused before any folder is made
    if out_dir.exists() and not out_dir.is_dir():
        raise IsoReconError(f"{out_dir} is a file; --out-dir needs a folder.")
    if out_dir.exists():  # a new folder holds nothing to refuse; it is made only once all else is checked
        for path in paths.values():
            check_writable(path, args.overwrite)
    announce = (f"Training on {name} {volume.shape}, z-factor {cfg.z_factor:g}, budget "
                f"{f'{cfg.steps} steps' if cfg.steps else f'{cfg.minutes:g} min'}"
                f"{f' (resuming at step {resume.state.step})' if resume else ''}; assumes {_pairs_text(cfg)}")
    _print_acquisition_notes(cfg)
    artefacts = find_section_artefacts(volume)  # once: training sets them aside, the reconstruction fills them
    # the folder is made once training has checked the volume (its sections included): refused, nothing is made
    model, stopped = train_with_progress(volume, cfg, resume, autosave, args.checkpoint_every, announce=announce,
                                         checked=lambda: out_dir.mkdir(parents=True, exist_ok=True),
                                         artefacts=artefacts)
    save_model(model, paths["model.pt"], overwrite=args.overwrite)
    finish_autosave(autosave)
    _print_kernel(model, voxel)
    if stopped:
        print(f"Model saved to {paths['model.pt']}; reconstructing with it (Ctrl-C again stops that too).",
              file=sys.stderr)
    outputs = Outputs({"isotropic": paths["isotropic.tif"], "interpolated": paths["interpolated.tif"],
                       "sharp": paths.get("sharp.tif")}, voxel=voxel, overwrite=args.overwrite)
    finals = run_parts(lambda stop: reconstruct_with_twin(volume, model, recon_config(args),
                                                          consistency=args.consistency, sharp=args.sharp,
                                                          outputs=outputs, stop=stop, artefacts=artefacts),
                       VERBS, WRITTEN)
    for key, path in paths.items():
        print(f"{key:>17}: {path}")
    if args.sharp:
        _print_sharp(finals["sharp"])
    _print_checks(args, model, finals)


def _pairs_text(cfg) -> str:
    """What the run assumes about the acquisition, and how to change it."""
    from ..core.settings.acquisition import ACQUISITION_NAMES

    return f"{cfg.describe_acquisition()} (--acquisition {' | '.join(ACQUISITION_NAMES)})"


def _print_acquisition_notes(cfg) -> None:
    """A setting given on the command line overrides the acquisition's: say so (the override wins)."""
    from ..core.jobs import acquisition_notes

    for note in acquisition_notes(cfg):
        print(f"isorecon: note: {note}", file=sys.stderr)


def _same_training_options(cfg) -> str:
    """The options that make 'isorecon validate' train as this run did: the acquisition and the pair
    settings that differ from it (from the default acquisition's for a custom one)."""
    from ..core.settings.acquisition import CUSTOM, DEFAULT_ACQUISITION, acquisition_named, pair_differences
    from ..core.settings.config import TRAIN_OPTIONS
    from ..core.settings.options import option_named

    options = ""
    if cfg.acquisition not in (CUSTOM, DEFAULT_ACQUISITION.name):
        options += f" --acquisition {cfg.acquisition}"
    entry = DEFAULT_ACQUISITION if cfg.acquisition == CUSTOM else acquisition_named(cfg.acquisition)
    for name, _, used in pair_differences(cfg, entry):
        flag = "--kernel-smooth" if name == "kernel_smooth" else option_named(TRAIN_OPTIONS, name).flag
        options += f" {flag} {used:g}" if isinstance(used, (int, float)) else f" {flag} {used}"
    return options


def _print_checks(args, model, finals: dict) -> None:
    """Where to find honest evidence of quality; the circular consistency score only when asked for."""
    if "checks" in finals:
        from ..core.checks.metrics import consistency_summary

        scores = finals["checks"].scores
        print(consistency_summary(scores) if scores else "Consistency with the input: not computed for "
              "results written block by block (.zarr).", file=sys.stderr)
    options = f"--z-factor {model.z_factor:g}{_same_training_options(model.config)}"
    print(f"To check quality without ground truth: isorecon validate {args.volume} {options} --out CHECK_DIR "
          "(hides every other section and scores our prediction of it against cubic interpolation).",
          file=sys.stderr)


def sharp_path(out) -> Path:
    """Where ``--sharp`` writes beside the result ``out``: <stem>_sharp<suffix> (iso.tif -> iso_sharp.tif)."""
    out = Path(out)
    return out.with_name(f"{out.stem}_sharp{out.suffix}")


def _print_sharp(finished) -> None:
    """What the sharp output is and how it agrees with the sections (core.inference.sharp)."""
    info = finished.info
    print(f"Sharp output: fine detail evened over the section period (gain up to {info['largest_detail_gain']:.2f}, "
          f"cap {info['gain_cap']:g}), then made to agree with every section: mean |sections - section model of the "
          f"output| {info['consistency_sharp']:.2f} grey levels (the result: {info['consistency_faithful']:.2f}); "
          f"detail pulse with the sections {info['pulse_sharp']:.2f} (the result: {info['pulse_faithful']:.2f}). "
          "It looks more like a section; the result is the more faithful on average.", file=sys.stderr)


def _print_kernel(model, voxel) -> None:
    """One line on the axial kernel of the pairs (core.checks.kernel_summary), in nm when the voxel size is known,
    and what says the result may not be trusted (core.checks.kernel_summary.training_warnings)."""
    from ..core.checks.kernel_summary import describe_kernel, model_kernel_summary, training_warnings

    xy_nm = (voxel[1] + voxel[2]) / 2 if voxel is not None else None
    print(describe_kernel(model_kernel_summary(model, xy_nm)), file=sys.stderr)
    for warning in training_warnings(model, xy_nm):
        print(f"isorecon: warning: {warning} The result may be worse than interpolation: check it with "
              "isorecon validate.", file=sys.stderr)


def cmd_bench(args):
    """Simulate an anisotropic acquisition of an isotropic volume and score every method against it."""
    from ..bench import ISOTROPIC_SAMPLE, METHODS, check_isotropic_voxel, run_bench

    if args.hidden_sections:
        return _bench_hidden_sections(args)
    if args.volume == SAMPLE:
        raise IsoReconError(f"'{SAMPLE}' is the anisotropic sample; the bench needs an isotropic volume: use "
                            f"--volume {ISOTROPIC_SAMPLE} (its 10 nm original).")
    if args.volume == ISOTROPIC_SAMPLE:
        from ..sample import ISO_VOXEL_NM, isotropic_sample

        volume, voxel = isotropic_sample("a"), ISO_VOXEL_NM
    else:
        volume, voxel, _ = load_volume(args.volume)
    check_isotropic_voxel(voxel, args.volume)
    out_dir = Path(args.out)
    if out_dir.exists() and any(out_dir.iterdir()) and not args.overwrite:
        raise IsoReconError(f"{out_dir} exists and is not empty; choose another folder or pass --overwrite.")
    methods = METHODS if args.methods == ["all"] else args.methods
    report = run_bench(volume, args.z_factor, degradation=args.degradation, minutes=args.minutes,
                       baseline_minutes=args.baseline_minutes, methods=methods, seed=args.seed, out_dir=out_dir,
                       steps=args.steps, noise=args.noise, seeds=args.seeds, train_overrides=_declared(args),
                       log=lambda msg: print(msg, file=sys.stderr))
    print((out_dir / "report.md").read_text())
    return report


def _declared(args) -> dict:
    """What the user declares about the acquisition (the bench's ours gets it as a user's run would)."""
    from .parser import option_values

    given = {"section_thickness": args.section_thickness, **option_values(args), "precision": args.precision}
    return {name: value for name, value in given.items() if value is not None}


def _bench_hidden_sections(args):
    """The bench's real-data mode: an anisotropic stack, its own hidden sections as the truth."""
    from ..bench.hidden import run_hidden_bench
    from ..core.settings.zfactor import check_z_factor

    volume, _, _ = load_volume(args.volume)
    z_factor = check_z_factor(args.z_factor)
    out_dir = Path(args.out)
    if out_dir.exists() and any(out_dir.iterdir()) and not args.overwrite:
        raise IsoReconError(f"{out_dir} exists and is not empty; choose another folder or pass --overwrite.")
    report = run_hidden_bench(volume, z_factor, minutes=args.minutes, steps=args.steps, seed=args.seed,
                              seeds=args.seeds, out_dir=out_dir, train_overrides=_declared(args),
                              log=lambda msg: print(msg, file=sys.stderr))
    print((out_dir / "report.md").read_text())
    return report
