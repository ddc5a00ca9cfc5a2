"""`--uncertainty`: the standard deviation of the result's error per voxel (core.inference.error_model), written
beside the result (`run`: DIR/<name>_uncertainty.tif; `reconstruct --uncertainty OUT`), and what it is worth."""

from __future__ import annotations

from .flags import finite

WHAT = ("the standard deviation of the result's error per voxel, in the input's grey levels (+-1.645 of it: a 90 %% "
        "interval), from an error model fitted on the volume's own lateral planes (about a minute more)")
SCALE_HELP = ("the uncertainty's calibrating scale for this volume, from `isorecon validate` (its 'Uncertainty at "
              "the hidden sections' table); default: the scale measured on other volumes")


def add_argument(parser, flag_only: bool = False) -> None:
    """``--uncertainty`` as a flag (``run``: written into its folder) or with the path to write (``reconstruct``)
    and ``--uncertainty-scale``."""
    if flag_only:
        parser.add_argument("--uncertainty", action="store_true", help=f"also write <name>_uncertainty.tif: {WHAT}")
    else:
        parser.add_argument("--uncertainty", default=None, metavar="OUT",
                            help=f"also write the uncertainty here (.tif; the result must be one too): {WHAT}")
    parser.add_argument("--uncertainty-scale", type=finite, default=None, metavar="SCALE", help=SCALE_HELP)


def check_scale(args) -> None:
    from ..core.errors import IsoReconError

    scale = getattr(args, "uncertainty_scale", None)
    if scale is not None and not args.uncertainty:
        raise IsoReconError("--uncertainty-scale calibrates the uncertainty: give --uncertainty too.")
    if scale is not None and not scale > 0:
        raise IsoReconError(f"--uncertainty-scale must be positive, got {scale:g}.")


def report(finished) -> None:
    """How the written uncertainty is calibrated (``finished``: the "uncertainty" part's ReconFinished)."""
    from ..core.jobs import DEFAULT_CALIBRATION

    info = finished.info
    how = ("measured on other volumes; `isorecon validate` measures this volume's and prints it"
           if info["calibrated_on"] == DEFAULT_CALIBRATION else "the scale you gave")
    print(f"Uncertainty: the standard deviation of the result's error per voxel (error model fitted on "
          f"{info['planes']} lateral planes in {info['seconds']:.0f} s), scaled by {info['scale']:.2f} ({how}).")
