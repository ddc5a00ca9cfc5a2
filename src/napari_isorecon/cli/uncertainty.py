"""`isorecon reconstruct ... --uncertainty OUT`: the result by test-time augmentation and its spread
(core.inference.uncertainty), written like the result (core.jobs.reconstruct_with_twin: both .tif, or both .zarr block
by block)."""

from __future__ import annotations

import sys

HELP = ("also write the uncertainty map here (.tif, or .zarr when --out is one): the result becomes the mean of "
        "predictions of flipped copies of every slice (x and y, and z when the learned kernel is symmetric) and "
        "OUT their per-voxel standard deviation, in the input's grey levels; 2-4x the time. Not a reliable "
        "error map: on a volume with ground truth it ranked voxels by error hardly better than the image "
        "gradient (docs/benchmarks.md)")


def add_argument(parser) -> None:
    parser.add_argument("--uncertainty", default=None, metavar="OUT", help=HELP)


def report(event) -> None:
    """What the uncertainty map holds (``event``: the result's ReconWithUncertainty), and what it is not."""
    from ..core.inference.uncertainty import NOT_AN_ERROR_MAP

    info = event.info
    print(f"The uncertainty is the per-voxel spread of {len(info['flips']) * len(info.get('axes', ('xz', 'yz')))} "
          f"predictions ({info['augmentation']}).")
    print(f"Note: {NOT_AN_ERROR_MAP}", file=sys.stderr)
