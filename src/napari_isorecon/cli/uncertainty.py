"""`isorecon reconstruct ... --uncertainty OUT`: the result by test-time augmentation and its spread
(core.uncertainty), in memory for a .tif, block by block for a .zarr like the result."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import IsoReconError
from .inputs import SAMPLE, block_size, is_zarr_out, isotropic_voxel
from .progress import run_block_job, run_volume_job

HELP = ("also write the uncertainty map here (.tif, or .zarr when --out is one): the result becomes the mean of "
        "predictions of flipped copies of every slice (x and y, and z when the learned kernel is symmetric) and "
        "OUT their per-voxel standard deviation, in the input's grey levels; 2-4x the time. Not a reliable "
        "error map: on a volume with ground truth it ranked voxels by error hardly better than the image "
        "gradient (docs/benchmarks.md)")


def add_argument(parser) -> None:
    parser.add_argument("--uncertainty", default=None, metavar="OUT", help=HELP)


def check_kinds(args) -> None:
    """Before any work: the uncertainty is written the way the result is (both .tif or both .zarr)."""
    if args.uncertainty and is_zarr_out(args.uncertainty) != is_zarr_out(args.out):
        raise IsoReconError(f"--uncertainty {Path(args.uncertainty).name} and --out {Path(args.out).name} must "
                            "both be .tif or both .zarr (the uncertainty is made with the result, the same way).")


def _report(event, path) -> None:
    info = event.info
    print(f"Uncertainty {tuple(event.uncertainty.shape)} written to {path} (per-voxel spread of "
          f"{len(info['flips']) * len(info.get('axes', ('xz', 'yz')))} predictions; {info['augmentation']}).")
    from ..core.uncertainty import NOT_AN_ERROR_MAP

    print(f"Note: {NOT_AN_ERROR_MAP}", file=sys.stderr)


def reconstruct_in_memory(args, volume, voxel, model, cfg):
    """Run the augmented reconstruction, write the uncertainty .tif, return the result (written by the
    caller like a plain one)."""
    from ..core.events import ReconWithUncertainty
    from ..core.io import write_volume
    from ..core.uncertainty import reconstruct_with_uncertainty

    final = {}

    def job(stop):
        events = reconstruct_with_uncertainty(volume, model, cfg, stop)  # checks the input here

        def kept():
            for event in events:
                if isinstance(event, ReconWithUncertainty):
                    final["event"] = event
                yield event
        return kept()

    result = run_volume_job(job, "reconstruct with flips")
    event = final["event"]
    write_volume(args.uncertainty, event.uncertainty, isotropic_voxel(voxel, model.z_factor, volume.shape[0]),
                 overwrite=args.overwrite)
    _report(event, args.uncertainty)
    return result


def write_blocks(args, volume, voxel, model, cfg, client):
    """Both .zarr outputs block by block, resumed together; returns the written result."""
    from ..core.uncertainty import write_with_uncertainty_blockwise

    source = "sample" if args.volume == SAMPLE else str(Path(args.volume).resolve())
    final = {}

    def job(stop):
        events = write_with_uncertainty_blockwise(
            volume, model, args.out, args.uncertainty, cfg, block=block_size(args), client=client,
            voxel_size=isotropic_voxel(voxel, model.z_factor, volume.shape[0]), overwrite=args.overwrite,
            stop=stop, source_name=f"{source}|reconstruct-with-uncertainty")

        def kept():
            for event in events:
                final["event"] = event
                yield event
        return kept()

    result = run_block_job(job, "reconstruct with flips")
    _report(final["event"], args.uncertainty)
    return result
