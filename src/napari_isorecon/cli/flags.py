"""The flags the subcommands share: the volume and device, the training options (one flag per declared option,
``add_option_flags`` / ``option_values``), the reconstruction's, ``--resume``, and the argument types.

Imports no subcommand (``parser`` imports the subcommands, and they import this), and nothing of ``core`` at
import time: building the parser stays light (no torch).
"""

from __future__ import annotations

import argparse

# ``args.resume`` after a bare --resume (``run`` and ``train``): continue the interrupted run from its checkpoint
RESUME_AUTOSAVE = "<the interrupted run's checkpoint>"

_DEST = "option_"


def add_common(p, z_factor=True):
    p.add_argument("volume", help="a 3D .tif or zarr / OME-Zarr (z, y, x), or 'sample' for the shipped real EM "
                                  "sample")
    if z_factor:
        p.add_argument("--z-factor", type=float, default=None,
                       help="z spacing / xy spacing, e.g. 10 for 4x4x40 nm; read from the file's voxel size "
                            "when omitted")
    p.add_argument("--device", default="auto", help="auto (default: cuda, then mps, then cpu), cpu, cuda or mps")
    add_precision(p)
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")


def add_precision(p):
    from ..core.settings import PRECISION_NAMES

    p.add_argument("--precision", default="auto", choices=PRECISION_NAMES,
                   help="the networks' arithmetic: auto (default: bfloat16 on a CPU with bfloat16 instructions "
                        "and on recent GPUs, float16 on other GPUs, float32 elsewhere), float32, bfloat16 or "
                        "float16 (GPU only); interpolation is always float32")


def add_training(p, checkpoints: bool = True):
    from ..core.settings import PRESETS, LossWeights

    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=None,
                        help="training budget in wall-clock minutes (default: the preset's, 10 for 'fast')")
    budget.add_argument("--steps", type=int, default=None, help="training budget in steps, instead of minutes")
    p.add_argument("--preset", default=None, choices=tuple(PRESETS),
                   help="'fast' (default): small networks for a CPU; 'paper': the paper's sizes, for a GPU")
    add_option_flags(p)
    p.add_argument("--kernel-smooth", type=non_negative, default=None, metavar="WEIGHT",
                   help="weight of the smoothness prior on the learned axial kernel (default "
                        f"{LossWeights().kernel_smooth:g}, 0 for --acquisition fib-sem; 0: off, for "
                        "acquisitions that sample single planes with nothing in between)")
    if not checkpoints:
        return
    p.add_argument("--checkpoint-every", type=non_negative, default=5.0, metavar="MINUTES",
                   help="save the model so far every MINUTES of training (default 5; 0: never) to "
                        "MODEL.autosave, so that a killed run can resume (--resume); removed when training ends")


def add_resume(p, model: bool, where: str) -> None:
    """``--resume``: bare, continue the interrupted run from its checkpoint ``where`` (``args.resume`` is
    :data:`RESUME_AUTOSAVE`); with ``model``, ``--resume MODEL`` also continues training from that model file.
    ``run``'s stays a bare flag, so that ``run --resume VOLUME ...`` still reads VOLUME as the volume."""
    text = f"continue the interrupted run from its checkpoint ({where})"
    if not model:
        p.add_argument("--resume", action="store_const", const=RESUME_AUTOSAVE, default=None, help=text)
        return
    p.add_argument("--resume", nargs="?", const=RESUME_AUTOSAVE, default=None, metavar="MODEL",
                   help=f"{text}; with MODEL, continue training from that model file")


def add_option_flags(p, names: tuple[str, ...] | None = None) -> None:
    """A flag per training option that declares one (core/settings/options.py), or only for ``names``; their
    values, by TrainConfig name: :func:`option_values` (a flag's own dest is prefixed: ``--train-batch-size``
    and the reconstruction's ``--batch-size`` are both there in ``run``)."""
    from ..core.settings import TRAIN_OPTIONS

    for opt in TRAIN_OPTIONS:
        if opt.flag is None or (names is not None and opt.name not in names):
            continue
        how = {"dest": _DEST + opt.name, "default": None, "help": _option_help(opt).replace("%", "%%")}
        if opt.allowed() is not None:
            how["choices"] = opt.allowed()
        elif opt.type is bool:
            how["action"] = argparse.BooleanOptionalAction
        else:
            how.update(type=finite if opt.type is float else opt.type, metavar=opt.metavar or opt.name.upper())
        p.add_argument(opt.flag, **how)


def option_values(args) -> dict:
    """The training options given on the command line (:func:`add_option_flags`), by TrainConfig name."""
    from ..core.settings import TRAIN_OPTIONS

    values = {opt.name: getattr(args, _DEST + opt.name, None) for opt in TRAIN_OPTIONS}
    return {name: value for name, value in values.items() if value is not None}


def _option_help(opt) -> str:
    from ..core.settings import DEFAULT_ACQUISITION, PRESETS, show_value

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


def add_recon(p):
    p.add_argument("--batch-size", type=int, default=8, help="slices per forward pass (default 8)")


def add_fill(p):
    p.add_argument("--keep-artefacts", action="store_true",
                   help="reconstruct the input exactly as it is: by default, sections found to be duplicated, "
                        "blank or saturated are filled from their neighbours first (and named)")


def add_consistency(p):
    p.add_argument("--consistency", action="store_true",
                   help="diagnostic: also print the input-consistency score (the result degraded again by the "
                        "learned degradation vs the input). It is circular, high for ours whether ours is better "
                        "or worse: not a quality score; use 'isorecon validate' for that")


def add_sharp(p):
    p.add_argument("--sharp", action="store_true",
                   help="also write a sharp output, <name>_sharp beside the result: its fine detail evened out "
                        "between the sections (as strong midway as at a section), then corrected so that the "
                        "sections come back exactly. Looks more like a section; less faithful on average than the "
                        "result (docs/method.md)")


def add_scale(p):
    p.add_argument("--block-size", default=None, metavar="Z,Y,X",
                   help="input voxels per block for a .zarr output (default 64,256,256; z is rounded to keep "
                        "the z geometry exact)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the blocks on this dask.distributed scheduler (e.g. tcp://host:8786); the output "
                        "must be on a file system the workers share")


class CoreChoices:
    """A flag's choices read from the registry in ``core`` that owns them (``names``: returns them), only when a
    value is checked or listed: a registry whose module imports torch then costs nothing to a parser that is
    only built. Give the flag a ``metavar`` (argparse lists the choices in the usage line otherwise)."""

    def __init__(self, names):
        self._names = names

    def __contains__(self, value) -> bool:
        return value in self._names()

    def __iter__(self):
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value
