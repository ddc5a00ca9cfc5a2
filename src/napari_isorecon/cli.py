"""Command line: ``isorecon run | train | reconstruct | interpolate``.

VOLUME is a .tif file, a zarr / OME-Zarr (read lazily; its voxel size gives the z-factor) or the word
``sample`` (the real EM sample shipped with the package). A ``.zarr`` output of ``reconstruct`` or
``interpolate`` is written block by block (flat memory, resumable, optionally on a dask cluster).
Every error a user can fix is one line on stderr and exit status 2; nothing is written then.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from .core.errors import IsoReconError

SAMPLE = "sample"


def _load(volume_arg: str):
    """(array, voxel size or None, display name)."""
    if volume_arg == SAMPLE:
        from .sample import anisotropic_sample

        array, voxel = anisotropic_sample()
        return array, voxel, "sample"
    from .core.io import open_volume

    array, voxel = open_volume(volume_arg)
    return array, voxel, Path(volume_arg).stem


def _z_factor(args, voxel) -> float:
    from .core.config import check_z_factor
    from .core.geometry import z_factor_from_scale

    if args.z_factor is not None:
        return check_z_factor(args.z_factor)
    if voxel is None:
        raise IsoReconError("The file has no voxel size: give --z-factor (z spacing / xy spacing).")
    return z_factor_from_scale(voxel)


@contextmanager
def _stop_on_interrupt():
    """Ctrl-C sets a stop flag (the job ends cleanly between steps); a second Ctrl-C aborts."""
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        print("\nStopping after this step (Ctrl-C again to abort)...", file=sys.stderr)
        stop.set()

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not in the main thread
        previous = None
    try:
        yield stop
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _progress_bar(total, desc):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="", file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}")


def _advance(bar, fraction: float, **postfix) -> None:
    """Move the bar to ``fraction``; tqdm redraws at most every ``mininterval`` (a log stays short)."""
    bar.set_postfix(**postfix, refresh=False)
    bar.update(int(fraction * 1000) - bar.n)


def _train(volume, cfg, resume=None, autosave: Path | None = None, checkpoint_minutes: float = 0.0):
    """Train with a progress bar; every ``checkpoint_minutes`` the model so far is saved to ``autosave``
    (replaced each time), so that a killed process can resume from it."""
    from .core.checkpoint import autosaving
    from .core.events import StageStarted, TrainFinished, TrainStep
    from .core.train import train

    final = None
    every = checkpoint_minutes * 60.0 if autosave is not None else 0.0
    with _stop_on_interrupt() as stop:
        events = train(volume, cfg, stop=stop, resume=resume, snapshot_every=every)  # checks input first
        if every:
            events = autosaving(events, autosave)
        bar = _progress_bar(1000, "train")
        for event in events:
            if isinstance(event, StageStarted):
                bar.set_description(f"stage {event.stage}: {event.name}")
            elif isinstance(event, TrainStep):
                shown = {k: f"{v:.3g}" for k, v in list(event.losses.items())[:4]}
                _advance(bar, event.progress, step=event.step, **shown)
            elif isinstance(event, TrainFinished):
                final = event
        bar.close()
    if final.stopped:
        print(f"Stopped after {final.steps} steps; the model trained so far is kept.", file=sys.stderr)
    return final.model, final.stopped


def _check_autosave(autosave: Path, resume_from) -> None:
    """An interrupted run's checkpoint is never overwritten by a new run: resume it or delete it."""
    if autosave.exists() and (resume_from is None or Path(resume_from).resolve() != autosave.resolve()):
        raise IsoReconError(f"{autosave} holds the last checkpoint of an interrupted run; continue it with "
                            f"--resume {autosave}, or delete it to start over.")


def _finish_autosave(autosave: Path) -> None:
    """The final model is saved: the interrupted-run checkpoint is no longer needed."""
    if autosave.exists():
        autosave.unlink()


def _run_volume_job(events, desc):
    from .core.events import ReconFinished, ReconProgress

    with _stop_on_interrupt() as stop:
        job = events(stop)  # checks the input before any output
        with _progress_bar(1000, desc) as bar:
            for event in job:
                if isinstance(event, ReconProgress):
                    _advance(bar, event.progress, axis=event.axis)
                elif isinstance(event, ReconFinished):
                    if event.stopped:
                        raise IsoReconError(f"{desc} stopped before the end; its output was not written.")
                    return event.volume


def _train_config(args, z_factor, resume=None):
    """Settings from the command line; a resumed model keeps its own unless --preset/--backbone are given
    (then training refuses a mismatch). The budget (total, both stages) and device always come from here."""
    from .core.config import preset

    overrides = {"device": args.device}
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.steps is not None:
        overrides.update(steps=args.steps, minutes=None)
    elif args.minutes is not None:
        overrides.update(minutes=args.minutes, steps=None)
    if resume is not None and args.preset is None and args.backbone is None:
        cfg = resume.config.replace(**overrides)
    else:
        overrides["z_factor"] = z_factor
        if args.backbone:
            overrides["backbone"] = args.backbone
        cfg = preset(args.preset or "fast", **overrides)
    if args.kernel_smooth is not None:
        cfg = cfg.replace_weights(kernel_smooth=args.kernel_smooth)
    return cfg


def _recon_config(args):
    from .core.config import ReconConfig

    return ReconConfig(device=args.device, batch_size=args.batch_size)


def _iso_voxel(voxel, z_factor, n_slices):
    from .core.geometry import output_depth

    if voxel is None:
        return None
    return (voxel[0] * n_slices / output_depth(n_slices, z_factor), voxel[1], voxel[2])


def cmd_train(args):
    from .core.checkpoint import autosave_path, check_writable, load_model, save_model

    volume, voxel, _ = _load(args.volume)
    check_writable(args.out, args.overwrite)
    autosave = autosave_path(args.out)
    _check_autosave(autosave, args.resume)
    resume = load_model(args.resume) if args.resume else None
    z_factor = _z_factor(args, voxel) if args.z_factor is not None or resume is None else resume.z_factor
    cfg = _train_config(args, z_factor, resume)
    model, _ = _train(volume, cfg, resume, autosave, args.checkpoint_every)
    save_model(model, args.out, overwrite=args.overwrite)
    _finish_autosave(autosave)
    print(f"Model saved to {args.out}")


def _is_zarr_out(path) -> bool:
    return str(path).rstrip("/").lower().endswith(".zarr")


def _check_output(path, args):
    """The output checks of every writer, before any work: a .zarr folder or a file."""
    from .core.checkpoint import check_writable
    from .core.io import check_zarr_writable

    if _is_zarr_out(path):
        return check_zarr_writable(path, args.overwrite)
    if getattr(args, "scheduler", None) or getattr(args, "block_size", None):
        raise IsoReconError("--scheduler and --block-size need a .zarr output (written block by block); "
                            f"got {Path(path).name}.")
    return check_writable(path, args.overwrite)


def _block_size(args):
    from .core.blocks import DEFAULT_BLOCK

    if not getattr(args, "block_size", None):
        return DEFAULT_BLOCK
    try:
        size = tuple(int(v) for v in args.block_size.split(","))
    except ValueError:
        size = ()
    if len(size) != 3 or min(size) < 1:
        raise IsoReconError(f"--block-size must be three positive integers Z,Y,X, got {args.block_size!r}.")
    return size


@contextmanager
def _dask_client(address):
    """A dask.distributed Client for --scheduler ADDRESS, or None (dask's local threads)."""
    if not address:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise IsoReconError("--scheduler needs dask.distributed: pip install 'napari-isorecon[distributed]'.") \
            from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise IsoReconError(f"Cannot reach the dask scheduler at {address}: {str(exc).splitlines()[0][:120]}.") \
            from None
    try:
        yield client
    finally:
        client.close()


def _run_block_job(events, desc):
    """Drive a blockwise writer (core.blocks) with a progress bar; a stop keeps OUT.partial for a rerun."""
    from .core.events import ReconFinished, ReconProgress

    with _stop_on_interrupt() as stop:
        job = events(stop)  # checks input, output and any partial run before any work
        with _progress_bar(1000, desc) as bar:
            for event in job:
                if isinstance(event, ReconProgress):
                    _advance(bar, event.progress, blocks=f"{event.done}/{event.total}")
                elif isinstance(event, ReconFinished):
                    info = event.info
                    if event.stopped:
                        raise IsoReconError(
                            f"{desc} stopped with {info['skipped'] + info['computed']} of {info['blocks']} blocks "
                            f"written to {info['partial']}; run the same command again to resume.")
                    if info["skipped"]:
                        print(f"Resumed: {info['skipped']} of {info['blocks']} blocks were already written.",
                              file=sys.stderr)
                    return event.volume


def _write_blocks(args, volume, out, desc, net, z_factor, normalizer, cfg, voxel, client):
    from .core.blocks import plan_blocks, write_blockwise

    iso_voxel = _iso_voxel(voxel, z_factor, volume.shape[0])
    block = _block_size(args)
    plan = plan_blocks(volume.shape, z_factor, net.receptive_radius, block)
    if len(plan.z_edges) == 2 and volume.shape[0] > 2 * block[0]:
        print(f"Note: {volume.shape[0]} slices at z-factor {z_factor:g} give {plan.depth} output rows, a ratio "
              f"with no exact z blocks below {plan.lattice} slices: each block spans the whole depth "
              "(memory grows with z; use smaller y,x in --block-size).", file=sys.stderr)
    source = "sample" if args.volume == SAMPLE else str(Path(args.volume).resolve())
    result = _run_block_job(
        lambda stop: write_blockwise(volume, net, z_factor, normalizer, out, cfg, block=block,
                                     client=client, voxel_size=iso_voxel, overwrite=args.overwrite, stop=stop,
                                     source_name=f"{source}|{desc}"), desc)
    return result


def cmd_reconstruct(args):
    from .core.checkpoint import load_model
    from .core.io import write_volume
    from .core.reconstruct import interpolate, reconstruct

    volume, voxel, _ = _load(args.volume)
    for out in filter(None, (args.out, args.interpolated)):
        _check_output(out, args)
    expected = _z_factor(args, voxel) if args.z_factor is not None else None
    model = load_model(args.model, z_factor=expected)
    _warn_if_voxel_disagrees(voxel, model.z_factor, args.volume)
    cfg = _recon_config(args)
    if _is_zarr_out(args.out) or (args.interpolated and _is_zarr_out(args.interpolated)):
        return _reconstruct_blockwise(args, volume, voxel, model, cfg)
    result = _run_volume_job(lambda stop: reconstruct(volume, model, cfg, stop), "reconstruct")
    iso_voxel = _iso_voxel(voxel, model.z_factor, volume.shape[0])
    write_volume(args.out, result, iso_voxel, overwrite=args.overwrite)
    print(f"Isotropic volume {result.shape} written to {args.out}")
    results = {"isotropic": result}
    if args.interpolated:
        twin = _run_volume_job(lambda stop: interpolate(volume, model.z_factor, "cubic", cfg, stop), "interpolate")
        write_volume(args.interpolated, twin, iso_voxel, overwrite=args.overwrite)
        print(f"Cubic interpolation written to {args.interpolated}")
        results["interpolated"] = twin
    _print_consistency(model, volume, results)


def _warn_if_voxel_disagrees(voxel, model_factor: float, volume_arg: str) -> None:
    """The model's factor is used; say so when the file's voxel size implies another one."""
    from .core.geometry import z_factor_from_scale

    if voxel is None:
        return
    try:
        implied = z_factor_from_scale(voxel)
    except IsoReconError:
        return
    if abs(implied - model_factor) > 0.01 * model_factor:
        print(f"isorecon: warning: the voxel size of {volume_arg} implies z-factor {implied:g}, but the model "
              f"was trained for {model_factor:g}; using {model_factor:g} (give --z-factor to refuse a mismatch).",
              file=sys.stderr)


def _reconstruct_blockwise(args, volume, voxel, model, cfg):
    """``reconstruct`` when an output is a .zarr: zarr outputs blockwise, a tif twin in memory."""
    from .core.io import write_volume
    from .core.networks import AxialInterpolator
    from .core.reconstruct import interpolate, interpolation_normalizer, reconstruct

    with _dask_client(args.scheduler) as client:
        jobs = [(args.out, "reconstruct", model.reconstruction_network(), model.normalizer)]
        if args.interpolated:
            jobs.append((args.interpolated, "interpolate", AxialInterpolator(model.z_factor, "cubic"),
                         interpolation_normalizer(volume)))
        for out, desc, net, normalizer in jobs:
            if _is_zarr_out(out):
                result = _write_blocks(args, volume, out, desc, net, model.z_factor, normalizer, cfg, voxel, client)
            else:
                job = ((lambda stop: reconstruct(volume, model, cfg, stop)) if desc == "reconstruct"
                       else (lambda stop: interpolate(volume, model.z_factor, "cubic", cfg, stop)))
                result = _run_volume_job(job, desc)
                write_volume(out, result, _iso_voxel(voxel, model.z_factor, volume.shape[0]),
                             overwrite=args.overwrite)
            what = "Isotropic volume" if desc == "reconstruct" else "Cubic interpolation"
            print(f"{what} {tuple(result.shape)} written to {out}")


def cmd_interpolate(args):
    from .core.io import write_volume
    from .core.reconstruct import interpolate

    volume, voxel, _ = _load(args.volume)
    _check_output(args.out, args)
    z_factor = _z_factor(args, voxel)
    cfg = _recon_config(args)
    if _is_zarr_out(args.out):
        from .core.networks import AxialInterpolator
        from .core.reconstruct import interpolation_normalizer

        with _dask_client(args.scheduler) as client:
            result = _write_blocks(args, volume, args.out, f"interpolate-{args.order}",
                                   AxialInterpolator(z_factor, args.order), z_factor,
                                   interpolation_normalizer(volume), cfg, voxel, client)
        print(f"{args.order.capitalize()} interpolation {tuple(result.shape)} written to {args.out}")
        return
    result = _run_volume_job(lambda stop: interpolate(volume, z_factor, args.order, cfg, stop), "interpolate")
    write_volume(args.out, result, _iso_voxel(voxel, z_factor, volume.shape[0]), overwrite=args.overwrite)
    print(f"{args.order.capitalize()} interpolation {result.shape} written to {args.out}")


def cmd_run(args):
    """Train, save the model, reconstruct and write the interpolated twin, all into one folder."""
    from .core.checkpoint import autosave_path, check_writable, load_model, save_model
    from .core.geometry import check_volume
    from .core.io import write_volume
    from .core.reconstruct import interpolate, reconstruct

    volume, voxel, name = _load(args.volume)
    out_dir = Path(args.out_dir)
    paths = {key: out_dir / f"{name}_{key}" for key in ("model.pt", "isotropic.tif", "interpolated.tif")}
    autosave = autosave_path(paths["model.pt"])
    if args.resume and not autosave.exists():
        raise IsoReconError(f"Nothing to resume: {autosave} does not exist.")
    _check_autosave(autosave, autosave if args.resume else None)
    resume = load_model(autosave) if args.resume else None
    z_factor = _z_factor(args, voxel) if args.z_factor is not None or resume is None else resume.z_factor
    cfg = _train_config(args, z_factor, resume)
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
    model, stopped = _train(volume, cfg, resume, autosave, args.checkpoint_every)
    save_model(model, paths["model.pt"], overwrite=args.overwrite)
    _finish_autosave(autosave)
    if stopped:
        print(f"Model saved to {paths['model.pt']}; reconstructing with it (Ctrl-C again stops that too).",
              file=sys.stderr)
    recon_cfg = _recon_config(args)
    iso_voxel = _iso_voxel(voxel, z_factor, volume.shape[0])
    result = _run_volume_job(lambda stop: reconstruct(volume, model, recon_cfg, stop), "reconstruct")
    write_volume(paths["isotropic.tif"], result, iso_voxel, overwrite=args.overwrite)
    twin = _run_volume_job(lambda stop: interpolate(volume, z_factor, "cubic", recon_cfg, stop), "interpolate")
    write_volume(paths["interpolated.tif"], twin, iso_voxel, overwrite=args.overwrite)
    for key, path in paths.items():
        print(f"{key:>17}: {path}")
    _print_consistency(model, volume, {"isotropic": result, "interpolated": twin})


def _print_consistency(model, volume, results: dict) -> None:
    """The no-reference health check (core.evaluate.input_consistency) of each result."""
    from .core.evaluate import consistency_summary, input_consistency

    scores = {name: input_consistency(model, result, volume) for name, result in results.items()}
    print(consistency_summary(scores), file=sys.stderr)



def cmd_bench(args):
    """Simulate an anisotropic acquisition of an isotropic volume and score every method against it."""
    from .bench import METHODS, run_bench

    volume, _, _ = _load(args.volume)
    out_dir = Path(args.out)
    if out_dir.exists() and any(out_dir.iterdir()) and not args.overwrite:
        raise IsoReconError(f"{out_dir} exists and is not empty; choose another folder or pass --overwrite.")
    methods = METHODS if args.methods == ["all"] else args.methods
    report = run_bench(volume, args.z_factor, degradation=args.degradation, minutes=args.minutes,
                       baseline_minutes=args.baseline_minutes, methods=methods, seed=args.seed, out_dir=out_dir,
                       steps=args.steps,
                       log=lambda msg: print(msg, file=sys.stderr))
    print((out_dir / "report.md").read_text())
    return report


def _add_common(p, z_factor=True):
    p.add_argument("volume", help="a 3D .tif or zarr / OME-Zarr (z, y, x), or 'sample' for the shipped real EM "
                                  "sample")
    if z_factor:
        p.add_argument("--z-factor", type=float, default=None,
                       help="z spacing / xy spacing, e.g. 10 for 4x4x40 nm; read from the file's voxel size "
                            "when omitted")
    p.add_argument("--device", default="auto", help="auto (default: cuda, then mps, then cpu), cpu, cuda or mps")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")


def _add_training(p):
    from .core.config import LossWeights

    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=None,
                        help="training budget in wall-clock minutes (default: the preset's, 10 for 'fast')")
    budget.add_argument("--steps", type=int, default=None, help="training budget in steps, instead of minutes")
    p.add_argument("--preset", default=None, choices=["fast", "paper"],
                   help="'fast' (default): small networks for a CPU; 'paper': the paper's sizes, for a GPU")
    p.add_argument("--backbone", default=None, choices=["drcnet", "edsr", "rcan", "vdsr"],
                   help="reconstruction network (default: the preset's)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0); the same seed repeats a CPU run")
    p.add_argument("--kernel-smooth", type=_non_negative, default=None, metavar="WEIGHT",
                   help="weight of the smoothness prior on the learned axial kernel (default "
                        f"{LossWeights().kernel_smooth:g}; 0: off, for "
                        "acquisitions that sample single planes with nothing in between)")
    p.add_argument("--checkpoint-every", type=_non_negative, default=5.0, metavar="MINUTES",
                   help="save the model so far every MINUTES of training (default 5; 0: never) to "
                        "MODEL.autosave, so that a killed run can resume (--resume); removed when training ends")


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _add_recon(p):
    p.add_argument("--batch-size", type=int, default=8, help="slices per forward pass (default 8)")


def _add_scale(p):
    p.add_argument("--block-size", default=None, metavar="Z,Y,X",
                   help="input voxels per block for a .zarr output (default 64,256,256; z is rounded to keep "
                        "the z geometry exact)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the blocks on this dask.distributed scheduler (e.g. tcp://host:8786); the output "
                        "must be on a file system the workers share")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="isorecon",
        description="Isotropic reconstruction of anisotropic 3D EM volumes: learn the real axial degradation "
                    "from the volume itself (Deng et al., MICCAI 2020), then reconstruct.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="train, reconstruct and interpolate in one go (the main job)",
                       description="Train on VOLUME, then write DIR/<name>_model.pt, <name>_isotropic.tif and "
                                   "<name>_interpolated.tif (cubic, for comparison).")
    _add_common(p)
    _add_training(p)
    _add_recon(p)
    p.add_argument("--out-dir", required=True, help="folder for the model and the two volumes")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run whose checkpoint (<name>_model.pt.autosave) is in DIR")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("train", help="train a model on an anisotropic volume",
                       description="Learn the volume's axial degradation (CycleGAN) and a reconstruction "
                                   "network; Ctrl-C stops early and still saves the model.")
    _add_common(p)
    _add_training(p)
    p.add_argument("--out", required=True, help="model file to write (.pt)")
    p.add_argument("--resume", default=None, help="continue training from this model file")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("reconstruct", help="make the isotropic volume with a trained model",
                       description="Apply the model to every xz and yz slice and fuse them.")
    _add_common(p)
    _add_recon(p)
    _add_scale(p)
    p.add_argument("--model", required=True, help="model file from 'isorecon train'")
    p.add_argument("--out", required=True,
                   help="isotropic volume to write: .tif (in memory), or .zarr (OME-Zarr, block by block; an "
                        "interrupted run resumes when rerun)")
    p.add_argument("--interpolated", default=None, help="also write the cubic interpolation here, for comparison")
    p.set_defaults(func=cmd_reconstruct)

    p = sub.add_parser("interpolate", help="linear or cubic interpolation along z (same geometry)")
    _add_common(p)
    _add_recon(p)
    _add_scale(p)
    p.add_argument("--order", default="cubic", choices=["linear", "cubic"])
    p.add_argument("--out", required=True, help="volume to write (.tif, or .zarr block by block)")
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("bench", help="score every method on an isotropic volume with simulated anisotropy",
                       description="The paper's protocol: degrade an ISOTROPIC volume along z, reconstruct it with "
                                   "interpolation, hand-made-degradation baselines, the oracle and ours, and score "
                                   "PSNR/SSIM on every xz and yz slice against it. Writes OUT/report.json, "
                                   "OUT/report.md and OUT/xz_compare.png.")
    p.add_argument("--volume", required=True, help="an isotropic 3D .tif (or 'sample' for the shipped crop)")
    p.add_argument("--z-factor", type=float, required=True, help="anisotropy to simulate, e.g. 10, 4 or 7.5")
    p.add_argument("--degradation", default="cubic",
                   choices=["cubic", "take", "take_centred", "gaussian", "gaussian_centred"],
                   help="how the acquisition is simulated (default cubic: antialiased bicubic, the paper's)")
    p.add_argument("--minutes", type=float, default=10.0, help="training budget of each trained method")
    p.add_argument("--baseline-minutes", type=float, default=None,
                   help="budget for take/gaussian baselines only (default: --minutes)")
    p.add_argument("--steps", type=int, default=None,
                   help="budget in steps for every trained method instead of minutes (repeatable)")
    p.add_argument("--methods", nargs="+", default=["all"],
                   help="any of linear cubic take take_centred gaussian gaussian_centred oracle ours ours_stage2, "
                        "or all (default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="folder for the report and figure")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty folder")
    p.set_defaults(func=cmd_bench)
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except IsoReconError as exc:
        print(f"isorecon: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("isorecon: aborted.", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        if type(exc).__name__ != "OutOfMemoryError":  # torch.cuda.OutOfMemoryError; other errors are bugs
            raise
        print("isorecon: error: the GPU ran out of memory; use a smaller --batch-size, or --device cpu.",
              file=sys.stderr)
        return 2
    except MemoryError:
        print("isorecon: error: out of memory; write a .zarr output (block by block, --block-size) or use a "
              "smaller volume.", file=sys.stderr)
        return 2
    except OSError as exc:  # a fault outside our checks (disk full, permissions, network storage, ...)
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"isorecon: error: {exc.strerror or exc}{where}.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
