"""The command line's arguments: one parser, a subparser per command."""

from __future__ import annotations

import argparse

from . import export, info, uncertainty, validate
from .commands import cmd_bench, cmd_interpolate, cmd_reconstruct, cmd_run, cmd_train


def _add_common(p, z_factor=True):
    p.add_argument("volume", help="a 3D .tif or zarr / OME-Zarr (z, y, x), or 'sample' for the shipped real EM "
                                  "sample")
    if z_factor:
        p.add_argument("--z-factor", type=float, default=None,
                       help="z spacing / xy spacing, e.g. 10 for 4x4x40 nm; read from the file's voxel size "
                            "when omitted")
    p.add_argument("--device", default="auto", help="auto (default: cuda, then mps, then cpu), cpu, cuda or mps")
    _add_precision(p)
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")


def _add_precision(p):
    from ..core.settings.precision import PRECISION_NAMES

    p.add_argument("--precision", default="auto", choices=PRECISION_NAMES,
                   help="the networks' arithmetic: auto (default: bfloat16 on a CPU with bfloat16 instructions "
                        "and on recent GPUs, float16 on other GPUs, float32 elsewhere), float32, bfloat16 or "
                        "float16 (GPU only); interpolation is always float32")


def _add_training(p, checkpoints: bool = True):
    from ..core.settings.config import PRESETS, LossWeights

    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=None,
                        help="training budget in wall-clock minutes (default: the preset's, 10 for 'fast')")
    budget.add_argument("--steps", type=int, default=None, help="training budget in steps, instead of minutes")
    p.add_argument("--preset", default=None, choices=tuple(PRESETS),
                   help="'fast' (default): small networks for a CPU; 'paper': the paper's sizes, for a GPU")
    add_option_flags(p)
    p.add_argument("--kernel-smooth", type=_non_negative, default=None, metavar="WEIGHT",
                   help="weight of the smoothness prior on the learned axial kernel (default "
                        f"{LossWeights().kernel_smooth:g}, 0 for --acquisition fib-sem; 0: off, for "
                        "acquisitions that sample single planes with nothing in between)")
    if not checkpoints:
        return
    p.add_argument("--checkpoint-every", type=_non_negative, default=5.0, metavar="MINUTES",
                   help="save the model so far every MINUTES of training (default 5; 0: never) to "
                        "MODEL.autosave, so that a killed run can resume (--resume); removed when training ends")


def add_option_flags(p, names: tuple[str, ...] | None = None) -> None:
    """A flag per training option that declares one (core/settings/options.py), or only for ``names``; their
    values, by TrainConfig name: :func:`option_values` (a flag's own dest is prefixed: ``--train-batch-size``
    and the reconstruction's ``--batch-size`` are both there in ``run``)."""
    from ..core.settings.config import TRAIN_OPTIONS

    for opt in TRAIN_OPTIONS:
        if opt.flag is None or (names is not None and opt.name not in names):
            continue
        how = {"dest": _DEST + opt.name, "default": None, "help": _option_help(opt).replace("%", "%%")}
        if opt.allowed() is not None:
            how["choices"] = opt.allowed()
        elif opt.type is bool:
            how["action"] = argparse.BooleanOptionalAction
        else:
            how.update(type=_finite if opt.type is float else opt.type, metavar=opt.metavar or opt.name.upper())
        p.add_argument(opt.flag, **how)


_DEST = "option_"


def option_values(args) -> dict:
    """The training options given on the command line (:func:`add_option_flags`), by TrainConfig name."""
    from ..core.settings.config import TRAIN_OPTIONS

    values = {opt.name: getattr(args, _DEST + opt.name, None) for opt in TRAIN_OPTIONS}
    return {name: value for name, value in values.items() if value is not None}


def _option_help(opt) -> str:
    from ..core.settings.acquisition import DEFAULT_ACQUISITION, show_value
    from ..core.settings.config import PRESETS

    text = opt.help[0].lower() + opt.help[1:]
    if opt.level == "experimental":
        text = "experimental: " + text
    if opt.name == "acquisition":
        default = DEFAULT_ACQUISITION.name
    elif opt.name in DEFAULT_ACQUISITION.settings():
        default = "the --acquisition's; a value given here overrides it"
    elif any(opt.name in values for values in PRESETS.values()):
        default = f"the preset's, {show_value(opt.default)} for 'fast'"
    else:
        default = show_value(opt.default)
    return f"{text.rstrip('.')} (default: {default})"


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


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


def _add_fill(p):
    p.add_argument("--keep-artefacts", action="store_true",
                   help="reconstruct the input exactly as it is: by default, sections found to be duplicated, "
                        "blank or saturated are filled from their neighbours first (and named)")


def _add_consistency(p):
    p.add_argument("--consistency", action="store_true",
                   help="diagnostic: also print the input-consistency score (the result degraded again by the "
                        "learned degradation vs the input). It is circular, high for ours whether ours is better "
                        "or worse: not a quality score; use 'isorecon validate' for that")


def _add_sharp(p):
    p.add_argument("--sharp", action="store_true",
                   help="also write a sharp output, <name>_sharp beside the result: its fine detail evened out "
                        "between the sections (as strong midway as at a section), then corrected so that the "
                        "sections come back exactly. Looks more like a section; less faithful on average than the "
                        "result (docs/method.md)")


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
    _add_fill(p)
    _add_consistency(p)
    _add_sharp(p)
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
    _add_fill(p)
    _add_consistency(p)
    _add_sharp(p)
    _add_scale(p)
    p.add_argument("--model", required=True, help="model file from 'isorecon train'")
    p.add_argument("--out", required=True,
                   help="isotropic volume to write: .tif (in memory), or .zarr (OME-Zarr, block by block; an "
                        "interrupted run resumes when rerun)")
    p.add_argument("--interpolated", default=None, help="also write the cubic interpolation here, for comparison")
    uncertainty.add_argument(p)
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
    p.add_argument("--volume", required=True,
                   help="an isotropic 3D .tif or zarr (an anisotropic voxel size is refused), or "
                        "'sample-isotropic' for the shipped 10 nm crop")
    p.add_argument("--z-factor", type=float, required=True,
                   help="anisotropy to simulate, e.g. 10, 4 or 7.5 (with --hidden-sections: the stack's own)")
    p.add_argument("--hidden-sections", action="store_true",
                   help="real-data mode: VOLUME is a real anisotropic stack; hide every other section, train at "
                        "twice the z-factor on the rest and score ours, cubic and the neighbour mean on the "
                        "hidden ones (the same check as 'isorecon validate', over --seeds)")
    p.add_argument("--degradation", default="cubic",
                   choices=["cubic", "box", "box_thick", "box_thin", "take_centred", "gaussian_centred", "take",
                            "gaussian"],
                   help="how the acquisition is simulated, centred on each group of f rows: cubic (default; "
                        "antialiased bicubic, the paper's), box (a section one z-step thick), box_thick (1.5 "
                        "z-steps), box_thin (half a z-step: gaps between sections), take_centred (the centre "
                        "plane), gaussian_centred (FWHM = z-step); off-centre registration tests, sampled from "
                        "each group's first row: take, gaussian (also scored after the best global z shift)")
    p.add_argument("--noise", type=_non_negative, default=0.0, metavar="SIGMA",
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
    p.add_argument("--section-thickness", type=_non_negative, default=None, metavar="Z_STEPS",
                   help="the section thickness ours is told (its stage-2 pairs; default 1 z-step, 0: single "
                        "planes), as a user would declare it; the simulated acquisition is --degradation's")
    add_option_flags(p, ("thickness_spread",))
    _add_precision(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="folder for the report and figure")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty folder")
    p.set_defaults(func=cmd_bench)

    validate.add_parser(sub, _add_common, _add_training)
    info.add_parser(sub)
    export.add_parser(sub)
    return parser


def _version() -> str:
    from .. import __version__

    return __version__
