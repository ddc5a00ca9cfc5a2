"""The subcommands that train, reconstruct, interpolate and bench: each one's arguments (``add_<name>``, listed
in ``parser.SUBCOMMANDS``) and what it does (``cmd_<name>``)."""

from __future__ import annotations

import sys
import threading
from dataclasses import replace
from pathlib import Path

from ..core.errors import IsoReconError
from . import uncertainty as tta
from .flags import (
    RESUME_AUTOSAVE,
    CoreChoices,
    add_common,
    add_consistency,
    add_fill,
    add_option_flags,
    add_precision,
    add_recon,
    add_resume,
    add_scale,
    add_sharp,
    add_training,
    non_negative,
    option_values,
)
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
from .progress import run_main, run_parts, train_with_progress

WRITTEN = {"isotropic": "Isotropic volume", "interpolated": "Cubic interpolation", "uncertainty": "Uncertainty",
           "sharp": "Sharp volume"}
VERBS = {"interpolated": "interpolate", "isotropic": "reconstruct", "sharp": "sharpen",
         "uncertainty": "estimate the uncertainty"}


def _training_config(args, voxel, resume):
    """The run's settings (core.jobs.training_config); a resumed model's z-factor unless --z-factor is given."""
    from ..core.jobs import training_config

    z_factor = z_factor_of(args, voxel) if args.z_factor is not None or resume is None else None
    return training_config(train_options(args, z_factor), resume)


def add_run(sub) -> None:
    p = sub.add_parser("run", help="train, reconstruct and interpolate in one go (the main job)",
                       description="Train on VOLUME, then write DIR/<name>_model.pt, <name>_isotropic.tif and "
                                   "<name>_interpolated.tif (cubic, for comparison).")
    add_common(p)
    add_training(p)
    add_recon(p)
    add_fill(p)
    add_consistency(p)
    add_sharp(p)
    tta.add_argument(p, flag_only=True)
    p.add_argument("--out-dir", required=True, help="folder for the model and the two volumes")
    add_resume(p, model=False, where="<name>_model.pt.autosave in DIR")
    p.set_defaults(func=cmd_run)


def add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model on an anisotropic volume",
                       description="Learn the volume's axial degradation (CycleGAN) and a reconstruction "
                                   "network; Ctrl-C stops early and still saves the model.")
    add_common(p)
    add_training(p)
    p.add_argument("--out", required=True, help="model file to write (.pt)")
    add_resume(p, model=True, where="OUT.autosave")
    p.set_defaults(func=cmd_train)


def _resume_from(args, autosave: Path) -> Path | None:
    """The model a run continues: the interrupted run's checkpoint ``autosave`` for a bare --resume (``run``
    and ``train``), the model file of ``train --resume MODEL``, or None."""
    if args.resume is None:
        return None
    if args.resume == RESUME_AUTOSAVE:
        if not autosave.exists():
            raise IsoReconError(f"Nothing to resume: {autosave} does not exist.")
        return autosave
    return Path(args.resume)


def cmd_train(args):
    from ..core import load_model, save_model
    from ..core.jobs import autosave_path, check_autosave, check_writable, finish_autosave

    volume, voxel, _ = load_volume(args.volume)
    check_writable(args.out, args.overwrite)
    autosave = autosave_path(args.out)
    resume_from = _resume_from(args, autosave)
    check_autosave(autosave, resume_from)
    resume = load_model(resume_from) if resume_from else None
    cfg = _training_config(args, voxel, resume)
    _print_acquisition_notes(cfg)
    model, _ = train_with_progress(volume, cfg, resume, autosave, args.checkpoint_every,
                                   announce=f"Training for {_pairs_text(cfg)}")
    save_model(model, args.out, overwrite=args.overwrite)
    finish_autosave(autosave)
    _print_kernel(model, voxel)
    print(f"Model saved to {args.out}")


def add_reconstruct(sub) -> None:
    p = sub.add_parser("reconstruct", help="make the isotropic volume with a trained model",
                       description="Apply the model to every xz and yz slice and fuse them.")
    add_common(p)
    add_recon(p)
    add_fill(p)
    add_consistency(p)
    add_sharp(p)
    add_scale(p)
    p.add_argument("--model", required=True, help="model file from 'isorecon train'")
    p.add_argument("--out", required=True,
                   help="isotropic volume to write: .tif (in memory), or .zarr (OME-Zarr, block by block; an "
                        "interrupted run resumes when rerun)")
    p.add_argument("--interpolated", default=None, help="also write the cubic interpolation here, for comparison")
    tta.add_argument(p)
    p.set_defaults(func=cmd_reconstruct)


def cmd_reconstruct(args):
    from ..core import load_model
    from ..core.jobs import reconstruct_with_twin

    tta.check_scale(args)
    volume, voxel, _ = load_volume(args.volume)
    outputs = outputs_of(args, voxel, {"isotropic": args.out, "interpolated": args.interpolated,
                                       "uncertainty": args.uncertainty,
                                       "sharp": sharp_path(args.out) if args.sharp else None})
    expected = z_factor_of(args, voxel) if args.z_factor is not None else None
    model = load_model(args.model, z_factor=expected)
    warn_if_voxel_disagrees(voxel, model.z_factor, args.volume)
    cfg = recon_config(args)
    with dask_client(args.scheduler) as client:
        finals = run_parts(lambda stop: reconstruct_with_twin(
            volume, model, cfg, twin=bool(args.interpolated), uncertainty=bool(args.uncertainty),
            consistency=args.consistency, sharp=args.sharp, outputs=replace(outputs, client=client), stop=stop,
            uncertainty_scale=args.uncertainty_scale), VERBS, WRITTEN)
    if args.sharp:
        _print_sharp(finals["sharp"])
    if args.uncertainty and "uncertainty" in finals:
        tta.report(finals["uncertainty"])
    _print_checks(args, model, finals)


def add_interpolate(sub) -> None:
    p = sub.add_parser("interpolate", help="linear or cubic interpolation along z (same geometry)")
    add_common(p)
    add_recon(p)
    add_scale(p)
    p.add_argument("--order", default="cubic", choices=["linear", "cubic"])
    p.add_argument("--out", required=True, help="volume to write (.tif, or .zarr block by block)")
    p.set_defaults(func=cmd_interpolate)


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
    """Train, save the model, reconstruct and write the interpolated twin, all into one folder
    (core.jobs.run_main_job); the volume is scanned for sections that are no real image once, for both."""
    from ..core import load_model
    from ..core.jobs import check_autosave, run_autosave, run_files, run_main_job

    tta.check_scale(args)
    volume, voxel, name = load_volume(args.volume)
    autosave = run_autosave(args.out_dir, name)
    resume_from = _resume_from(args, autosave)
    check_autosave(autosave, resume_from)
    resume = load_model(resume_from) if resume_from else None
    cfg = _training_config(args, voxel, resume)
    stops = (threading.Event(), threading.Event())  # training's, then the reconstruction's: a Ctrl-C each
    job = run_main_job(volume, cfg, args.out_dir, name, voxel=voxel, overwrite=args.overwrite,
                       recon_config=recon_config(args), consistency=args.consistency, sharp=args.sharp,
                       uncertainty=args.uncertainty, uncertainty_scale=args.uncertainty_scale, resume=resume,
                       checkpoint_every=args.checkpoint_every, stop=stops[0], reconstruction_stop=stops[1])
    _print_acquisition_notes(cfg)
    announce = (f"Training on {name} {volume.shape}, z-factor {cfg.z_factor:g}, budget "
                f"{f'{cfg.steps} steps' if cfg.steps else f'{cfg.minutes:g} min'}"
                f"{f' (resuming at step {resume.state.step})' if resume else ''}; assumes {_pairs_text(cfg)}")
    files = run_files(args.out_dir, name, sharp=args.sharp, uncertainty=args.uncertainty)

    def saved(model, stopped):
        _print_kernel(model, voxel)
        if stopped:
            print(f"Model saved to {files['model.pt']}; reconstructing with it (Ctrl-C again stops that too).",
                  file=sys.stderr)

    model, finals = run_main(job, stops, announce, saved, VERBS, WRITTEN)
    for key, path in files.items():
        print(f"{key:>17}: {path}")
    if args.sharp:
        _print_sharp(finals["sharp"])
    if args.uncertainty and "uncertainty" in finals:
        tta.report(finals["uncertainty"])
    _print_checks(args, model, finals)


def _pairs_text(cfg) -> str:
    """What the run assumes about the acquisition, and how to change it."""
    from ..core.settings import ACQUISITION_NAMES

    return f"{cfg.describe_acquisition()} (--acquisition {' | '.join(ACQUISITION_NAMES)})"


def _print_acquisition_notes(cfg) -> None:
    """A setting given on the command line overrides the acquisition's: say so (the override wins)."""
    from ..core.jobs import acquisition_notes

    for note in acquisition_notes(cfg):
        print(f"isorecon: note: {note}", file=sys.stderr)


def _same_training_options(cfg) -> str:
    """The options that make 'isorecon validate' train as this run did: the acquisition and the pair
    settings that differ from it (from the default acquisition's for a custom one)."""
    from ..core.settings import (
        CUSTOM,
        DEFAULT_ACQUISITION,
        TRAIN_OPTIONS,
        acquisition_named,
        option_named,
        pair_differences,
    )

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
        from ..core.jobs import consistency_summary

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
    from ..core.jobs import describe_kernel, model_kernel_summary, training_warnings

    xy_nm = (voxel[1] + voxel[2]) / 2 if voxel is not None else None
    print(describe_kernel(model_kernel_summary(model, xy_nm)), file=sys.stderr)
    for warning in training_warnings(model, xy_nm):
        print(f"isorecon: warning: {warning} The result may be worse than interpolation: check it with "
              "isorecon validate.", file=sys.stderr)


def _degradation_kinds() -> tuple[str, ...]:
    from ..core.jobs import DEGRADATION_KINDS  # imports torch: read only when a value is checked or listed

    return DEGRADATION_KINDS


def add_bench(sub) -> None:
    p = sub.add_parser("bench", help="score every method on an isotropic volume with simulated anisotropy",
                       description="The paper's protocol: degrade an ISOTROPIC volume along z, reconstruct it with "
                                   "interpolation, hand-made-degradation baselines, the oracle and ours, and score "
                                   "PSNR/SSIM on every xz and yz slice against it. Writes OUT/report.json, "
                                   "OUT/report.md and OUT/xz_compare.png.")
    p.add_argument("--volume", required=True,
                   help="an isotropic 3D .tif or zarr (an anisotropic voxel size is refused), or "
                        "'sample-isotropic' for the shipped 10 nm crop")
    p.add_argument("--z-factor", type=float, required=True,
                   help="anisotropy to simulate, e.g. 10, 4 or 7.5 (with --hidden-sections: the stack's own)")
    p.add_argument("--hidden-sections", action="store_true",
                   help="real-data mode: VOLUME is a real anisotropic stack; hide every other section, train at "
                        "twice the z-factor on the rest and score ours, cubic and the neighbour mean on the "
                        "hidden ones (the same check as 'isorecon validate', over --seeds)")
    p.add_argument("--degradation", default="cubic", choices=CoreChoices(_degradation_kinds), metavar="KIND",
                   help="how the acquisition is simulated, centred on each group of f rows: cubic (default; "
                        "antialiased bicubic, the paper's), box (a section one z-step thick), box_thick (1.5 "
                        "z-steps), box_thin (half a z-step: gaps between sections), take_centred (the centre "
                        "plane), gaussian_centred (FWHM = z-step); off-centre registration tests, sampled from "
                        "each group's first row: take, gaussian (also scored after the best global z shift)")
    p.add_argument("--noise", type=non_negative, default=0.0, metavar="SIGMA",
                   help="add Gaussian noise of std SIGMA grey levels (the input's units) to the simulated "
                        "acquisition (drawn with --seed); the oracle's pairs get the same noise, the truth none")
    p.add_argument("--seeds", type=int, default=1, metavar="N",
                   help="train each trained method with seeds SEED..SEED+N-1 and report mean and spread "
                        "(default 1; interpolations run once)")
    p.add_argument("--minutes", type=float, default=10.0, help="training budget of each trained method")
    p.add_argument("--baseline-minutes", type=float, default=None,
                   help="budget for take/gaussian baselines only (default: --minutes)")
    p.add_argument("--steps", type=int, default=None,
                   help="budget in steps for every trained method instead of minutes (repeatable)")
    p.add_argument("--methods", nargs="+", default=["all"],
                   help="any of linear cubic take take_centred gaussian gaussian_centred oracle ours_g_lh "
                        "ours_stage2 ours_learned, or all (default); ours_stage2 is what 'isorecon validate' calls "
                        "ours (the default settings), ours_g_lh stage 1's G_lh alone (named 'ours' before)")
    p.add_argument("--section-thickness", type=non_negative, default=None, metavar="Z_STEPS",
                   help="the section thickness ours is told (its stage-2 pairs; default 1 z-step, 0: single "
                        "planes), as a user would declare it; the simulated acquisition is --degradation's")
    add_option_flags(p, ("thickness_spread",))
    add_precision(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="folder for the report and figure")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty folder")
    p.set_defaults(func=cmd_bench)


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
    given = {"section_thickness": args.section_thickness, **option_values(args), "precision": args.precision}
    return {name: value for name, value in given.items() if value is not None}


def _bench_hidden_sections(args):
    """The bench's real-data mode: an anisotropic stack, its own hidden sections as the truth."""
    from ..bench.hidden import run_hidden_bench
    from ..core.settings import check_z_factor

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
