"""What the commands take from their arguments: the volume, the z-factor, settings and output checks."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import IsoReconError
from .flags import option_values

SAMPLE = "sample"


def load_volume(volume_arg: str):
    """(array, voxel size or None, display name)."""
    if volume_arg == SAMPLE:
        from ..sample import anisotropic_sample

        array, voxel = anisotropic_sample()
        return array, voxel, "sample"
    from ..core import open_volume

    array, voxel = open_volume(volume_arg)
    return array, voxel, Path(volume_arg).stem


def z_factor_of(args, voxel) -> float:
    from ..core.settings import check_z_factor, z_factor_from_scale

    if args.z_factor is not None:
        return check_z_factor(args.z_factor)
    if voxel is None:
        raise IsoReconError("The file has no voxel size: give --z-factor (z spacing / xy spacing).")
    return z_factor_from_scale(voxel)


def train_options(args, z_factor):
    """The training settings given on the command line (``None``: not given; see core.jobs.training_config
    for what a resumed model keeps): every training option's flag (cli/flags.py ``add_option_flags``) by
    its TrainConfig name, the acquisition apart (its pair settings come first, the flags override them)."""
    from ..core.jobs import TrainOptions

    given = option_values(args)
    return TrainOptions(z_factor=z_factor, preset=args.preset, acquisition=given.pop("acquisition", None),
                        steps=args.steps,
                        minutes=args.minutes, kernel_smooth=args.kernel_smooth, device=args.device,
                        precision=args.precision, other_settings=given)


def recon_config(args):
    from ..core.settings import ReconConfig

    return ReconConfig(device=args.device, precision=args.precision, batch_size=args.batch_size,
                       fill_artefacts=not getattr(args, "keep_artefacts", False))


def outputs_of(args, voxel, paths: dict):
    """Where a command writes its volumes ({name: path or None}), checked before any work: the checks of
    their writers (core.jobs.Outputs.check) and that --scheduler / --block-size come with .zarr outputs."""
    from ..core.jobs import Outputs, is_zarr_output

    paths = {name: path for name, path in paths.items() if path}
    for path in paths.values():
        if not is_zarr_output(path) and (getattr(args, "scheduler", None) or getattr(args, "block_size", None)):
            raise IsoReconError("--scheduler and --block-size need a .zarr output (written block by block); "
                                f"got {Path(path).name}.")
    source = "sample" if args.volume == SAMPLE else str(Path(args.volume).resolve())
    outputs = Outputs(paths, voxel=voxel, overwrite=args.overwrite, block=block_size(args), source=source)
    outputs.check()
    return outputs


def block_size(args):
    from ..core.jobs import DEFAULT_BLOCK

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
    from ..core.settings import same_z_factor, z_factor_from_scale

    if voxel is None:
        return
    try:
        implied = z_factor_from_scale(voxel)
    except IsoReconError:
        return
    if not same_z_factor(implied, model_factor):
        print(f"isorecon: warning: the voxel size of {volume_arg} implies z-factor {implied:g}, but the model "
              f"was trained for {model_factor:g}; using {model_factor:g} (give --z-factor to refuse a mismatch).",
              file=sys.stderr)
