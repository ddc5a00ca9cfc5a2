"""What the commands take from their arguments: the volume, the z-factor, settings and output checks."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import IsoReconError

SAMPLE = "sample"


def load_volume(volume_arg: str):
    """(array, voxel size or None, display name)."""
    if volume_arg == SAMPLE:
        from ..sample import anisotropic_sample

        array, voxel = anisotropic_sample()
        return array, voxel, "sample"
    from ..core.io import open_volume

    array, voxel = open_volume(volume_arg)
    return array, voxel, Path(volume_arg).stem


def z_factor_of(args, voxel) -> float:
    from ..core.config import check_z_factor
    from ..core.geometry import z_factor_from_scale

    if args.z_factor is not None:
        return check_z_factor(args.z_factor)
    if voxel is None:
        raise IsoReconError("The file has no voxel size: give --z-factor (z spacing / xy spacing).")
    return z_factor_from_scale(voxel)


def train_config(args, z_factor, resume=None):
    """Settings from the command line; a resumed model keeps its own unless --preset/--backbone are given
    (then training refuses a mismatch). The budget (total, both stages) and device always come from here."""
    from ..core.config import preset

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


def recon_config(args):
    from ..core.config import ReconConfig

    return ReconConfig(device=args.device, batch_size=args.batch_size)


def isotropic_voxel(voxel, z_factor, n_slices):
    from ..core.geometry import output_depth

    if voxel is None:
        return None
    return (voxel[0] * n_slices / output_depth(n_slices, z_factor), voxel[1], voxel[2])


def check_autosave(autosave: Path, resume_from) -> None:
    """An interrupted run's checkpoint is never overwritten by a new run: resume it or delete it."""
    if autosave.exists() and (resume_from is None or Path(resume_from).resolve() != autosave.resolve()):
        raise IsoReconError(f"{autosave} holds the last checkpoint of an interrupted run; continue it with "
                            f"--resume {autosave}, or delete it to start over.")


def finish_autosave(autosave: Path) -> None:
    """The final model is saved: the interrupted-run checkpoint is no longer needed."""
    if autosave.exists():
        autosave.unlink()


def is_zarr_out(path) -> bool:
    return str(path).rstrip("/").lower().endswith(".zarr")


def check_output(path, args):
    """The output checks of every writer, before any work: a .zarr folder or a file."""
    from ..core.checkpoint import check_writable
    from ..core.io import check_zarr_writable

    if is_zarr_out(path):
        return check_zarr_writable(path, args.overwrite)
    if getattr(args, "scheduler", None) or getattr(args, "block_size", None):
        raise IsoReconError("--scheduler and --block-size need a .zarr output (written block by block); "
                            f"got {Path(path).name}.")
    return check_writable(path, args.overwrite)


def block_size(args):
    from ..core.blocks import DEFAULT_BLOCK

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
def dask_client(address):
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


def warn_if_voxel_disagrees(voxel, model_factor: float, volume_arg: str) -> None:
    """The model's factor is used; say so when the file's voxel size implies another one."""
    from ..core.geometry import z_factor_from_scale

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
