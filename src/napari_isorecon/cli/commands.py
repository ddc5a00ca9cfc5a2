"""The subcommands that train, reconstruct, interpolate and bench."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import IsoReconError
from . import uncertainty as tta
from .inputs import (
    SAMPLE,
    block_size,
    check_autosave,
    check_output,
    dask_client,
    finish_autosave,
    is_zarr_out,
    isotropic_voxel,
    load_volume,
    recon_config,
    train_config,
    warn_if_voxel_disagrees,
    z_factor_of,
)
from .progress import run_block_job, run_volume_job, train_with_progress


def cmd_train(args):
    from ..core.checkpoint import autosave_path, check_writable, load_model, save_model

    volume, voxel, _ = load_volume(args.volume)
    check_writable(args.out, args.overwrite)
    autosave = autosave_path(args.out)
    check_autosave(autosave, args.resume)
    resume = load_model(args.resume) if args.resume else None
    z_factor = z_factor_of(args, voxel) if args.z_factor is not None or resume is None else resume.z_factor
    cfg = train_config(args, z_factor, resume)
    model, _ = train_with_progress(volume, cfg, resume, autosave, args.checkpoint_every)
    save_model(model, args.out, overwrite=args.overwrite)
    finish_autosave(autosave)
    _print_kernel(model, voxel)
    print(f"Model saved to {args.out}")


def _write_blocks(args, volume, out, desc, net, z_factor, normalizer, cfg, voxel, client):
    from ..core.blocks import plan_blocks, write_blockwise

    iso_voxel = isotropic_voxel(voxel, z_factor, volume.shape[0])
    block = block_size(args)
    plan = plan_blocks(volume.shape, z_factor, net.receptive_radius, block)
    if len(plan.z_edges) == 2 and volume.shape[0] > 2 * block[0]:
        print(f"Note: {volume.shape[0]} slices at z-factor {z_factor:g} give {plan.depth} output rows, a ratio "
              f"with no exact z blocks below {plan.lattice} slices: each block spans the whole depth "
              "(memory grows with z; use smaller y,x in --block-size).", file=sys.stderr)
    source = "sample" if args.volume == SAMPLE else str(Path(args.volume).resolve())
    result = run_block_job(
        lambda stop: write_blockwise(volume, net, z_factor, normalizer, out, cfg, block=block,
                                     client=client, voxel_size=iso_voxel, overwrite=args.overwrite, stop=stop,
                                     source_name=f"{source}|{desc}"), desc)
    return result


def cmd_reconstruct(args):
    from ..core.checkpoint import load_model
    from ..core.io import write_volume
    from ..core.reconstruct import interpolate, reconstruct

    volume, voxel, _ = load_volume(args.volume)
    for out in filter(None, (args.out, args.interpolated, args.uncertainty)):
        check_output(out, args)
    tta.check_kinds(args)
    expected = z_factor_of(args, voxel) if args.z_factor is not None else None
    model = load_model(args.model, z_factor=expected)
    warn_if_voxel_disagrees(voxel, model.z_factor, args.volume)
    cfg = recon_config(args)
    if is_zarr_out(args.out) or (args.interpolated and is_zarr_out(args.interpolated)):
        return _reconstruct_blockwise(args, volume, voxel, model, cfg)
    result = tta.reconstruct_in_memory(args, volume, voxel, model, cfg) if args.uncertainty else \
        run_volume_job(lambda stop: reconstruct(volume, model, cfg, stop), "reconstruct")
    iso_voxel = isotropic_voxel(voxel, model.z_factor, volume.shape[0])
    write_volume(args.out, result, iso_voxel, overwrite=args.overwrite)
    print(f"Isotropic volume {result.shape} written to {args.out}")
    results = {"isotropic": result}
    if args.interpolated:
        twin = run_volume_job(lambda stop: interpolate(volume, model.z_factor, "cubic", cfg, stop), "interpolate")
        write_volume(args.interpolated, twin, iso_voxel, overwrite=args.overwrite)
        print(f"Cubic interpolation written to {args.interpolated}")
        results["interpolated"] = twin
    _print_checks(args, model, volume, results)


def _reconstruct_blockwise(args, volume, voxel, model, cfg):
    """``reconstruct`` when an output is a .zarr: zarr outputs blockwise, a tif twin in memory."""
    from ..core.io import write_volume
    from ..core.networks import AxialInterpolator
    from ..core.reconstruct import interpolate, interpolation_normalizer, reconstruct

    with dask_client(args.scheduler) as client:
        jobs = [(args.out, "reconstruct", model.reconstruction_network(), model.normalizer)]
        if args.interpolated:
            jobs.append((args.interpolated, "interpolate", AxialInterpolator(model.z_factor, "cubic"),
                         interpolation_normalizer(volume)))
        for out, desc, net, normalizer in jobs:
            with_uncertainty = desc == "reconstruct" and args.uncertainty  # of --out's kind (tta.check_kinds)
            if with_uncertainty and is_zarr_out(out):
                result = tta.write_blocks(args, volume, voxel, model, cfg, client)
            elif is_zarr_out(out):
                result = _write_blocks(args, volume, out, desc, net, model.z_factor, normalizer, cfg, voxel, client)
            else:
                job = ((lambda stop: reconstruct(volume, model, cfg, stop)) if desc == "reconstruct"
                       else (lambda stop: interpolate(volume, model.z_factor, "cubic", cfg, stop)))
                result = tta.reconstruct_in_memory(args, volume, voxel, model, cfg) if with_uncertainty else \
                    run_volume_job(job, desc)
                write_volume(out, result, isotropic_voxel(voxel, model.z_factor, volume.shape[0]),
                             overwrite=args.overwrite)
            what = "Isotropic volume" if desc == "reconstruct" else "Cubic interpolation"
            print(f"{what} {tuple(result.shape)} written to {out}")


def cmd_interpolate(args):
    from ..core.io import write_volume
    from ..core.reconstruct import interpolate

    volume, voxel, _ = load_volume(args.volume)
    check_output(args.out, args)
    z_factor = z_factor_of(args, voxel)
    cfg = recon_config(args)
    if is_zarr_out(args.out):
        from ..core.networks import AxialInterpolator
        from ..core.reconstruct import interpolation_normalizer

        with dask_client(args.scheduler) as client:
            result = _write_blocks(args, volume, args.out, f"interpolate-{args.order}",
                                   AxialInterpolator(z_factor, args.order), z_factor,
                                   interpolation_normalizer(volume), cfg, voxel, client)
        print(f"{args.order.capitalize()} interpolation {tuple(result.shape)} written to {args.out}")
        return
    result = run_volume_job(lambda stop: interpolate(volume, z_factor, args.order, cfg, stop), "interpolate")
    write_volume(args.out, result, isotropic_voxel(voxel, z_factor, volume.shape[0]), overwrite=args.overwrite)
    print(f"{args.order.capitalize()} interpolation {result.shape} written to {args.out}")


def cmd_run(args):
    """Train, save the model, reconstruct and write the interpolated twin, all into one folder."""
    from ..core.checkpoint import autosave_path, check_writable, load_model, save_model
    from ..core.geometry import check_volume
    from ..core.io import write_volume
    from ..core.reconstruct import interpolate, reconstruct

    volume, voxel, name = load_volume(args.volume)
    out_dir = Path(args.out_dir)
    paths = {key: out_dir / f"{name}_{key}" for key in ("model.pt", "isotropic.tif", "interpolated.tif")}
    autosave = autosave_path(paths["model.pt"])
    if args.resume and not autosave.exists():
        raise IsoReconError(f"Nothing to resume: {autosave} does not exist.")
    check_autosave(autosave, autosave if args.resume else None)
    resume = load_model(autosave) if args.resume else None
    z_factor = z_factor_of(args, voxel) if args.z_factor is not None or resume is None else resume.z_factor
    cfg = train_config(args, z_factor, resume)
    check_volume(volume)  # shape and dtype only: a 2D image is refused before any folder is made
    if out_dir.exists() and not out_dir.is_dir():
        raise IsoReconError(f"{out_dir} is a file; --out-dir needs a folder.")
    if out_dir.exists():  # a new folder holds nothing to refuse; it is made only once all else is checked
        for path in paths.values():
            check_writable(path, args.overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"Training on {name} {volume.shape}, z-factor {z_factor:g}, budget "
          f"{f'{cfg.steps} steps' if cfg.steps else f'{cfg.minutes:g} min'}"
          f"{f' (resuming at step {resume.state.step})' if resume else ''}", file=sys.stderr)
    model, stopped = train_with_progress(volume, cfg, resume, autosave, args.checkpoint_every)
    save_model(model, paths["model.pt"], overwrite=args.overwrite)
    finish_autosave(autosave)
    _print_kernel(model, voxel)
    if stopped:
        print(f"Model saved to {paths['model.pt']}; reconstructing with it (Ctrl-C again stops that too).",
              file=sys.stderr)
    recon_cfg = recon_config(args)
    iso_voxel = isotropic_voxel(voxel, z_factor, volume.shape[0])
    result = run_volume_job(lambda stop: reconstruct(volume, model, recon_cfg, stop), "reconstruct")
    write_volume(paths["isotropic.tif"], result, iso_voxel, overwrite=args.overwrite)
    twin = run_volume_job(lambda stop: interpolate(volume, z_factor, "cubic", recon_cfg, stop), "interpolate")
    write_volume(paths["interpolated.tif"], twin, iso_voxel, overwrite=args.overwrite)
    for key, path in paths.items():
        print(f"{key:>17}: {path}")
    _print_checks(args, model, volume, {"isotropic": result, "interpolated": twin})


def _print_checks(args, model, volume, results: dict) -> None:
    """Where to find honest evidence of quality; the circular consistency score only when asked for."""
    if getattr(args, "consistency", False):
        from ..core.evaluate import consistency_summary, input_consistency

        scores = {name: input_consistency(model, result, volume) for name, result in results.items()}
        print(consistency_summary(scores), file=sys.stderr)
    print(f"To check quality without ground truth: isorecon validate {args.volume} "
          f"--z-factor {model.z_factor:g} --out CHECK_DIR (hides every other section and scores our "
          "prediction of it against cubic interpolation).", file=sys.stderr)


MIN_STAGE1_STEPS = 500  # the learned kernel settles after ~1,500 steps (docs/method.md)


def _print_kernel(model, voxel) -> None:
    """One line on the learned axial degradation (core.kernel_summary), in nm when the voxel size is known."""
    from ..core.kernel_summary import describe_kernel, kernel_warnings, model_kernel_summary

    xy_nm = (voxel[1] + voxel[2]) / 2 if voxel is not None else None
    summary = model_kernel_summary(model, xy_nm)
    print(describe_kernel(summary), file=sys.stderr)
    warnings = kernel_warnings(summary)
    if model.state.stage_steps[0] < MIN_STAGE1_STEPS:
        warnings.append(f"Stage 1 ran only {model.state.stage_steps[0]} steps: the learned degradation is not "
                        "reliable yet (train longer).")
    for warning in warnings:
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
                       steps=args.steps, noise=args.noise, seeds=args.seeds,
                       log=lambda msg: print(msg, file=sys.stderr))
    print((out_dir / "report.md").read_text())
    return report


def _bench_hidden_sections(args):
    """The bench's real-data mode: an anisotropic stack, its own hidden sections as the truth."""
    from ..bench.hidden import run_hidden_bench
    from ..core.config import check_z_factor

    volume, _, _ = load_volume(args.volume)
    z_factor = check_z_factor(args.z_factor)
    out_dir = Path(args.out)
    if out_dir.exists() and any(out_dir.iterdir()) and not args.overwrite:
        raise IsoReconError(f"{out_dir} exists and is not empty; choose another folder or pass --overwrite.")
    report = run_hidden_bench(volume, z_factor, minutes=args.minutes, steps=args.steps, seed=args.seed,
                              seeds=args.seeds, out_dir=out_dir, log=lambda msg: print(msg, file=sys.stderr))
    print((out_dir / "report.md").read_text())
    return report
