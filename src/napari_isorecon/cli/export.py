"""``isorecon export MODEL --volume VOLUME --out model.zip``: a bioimage.io model package (spec 0.5)."""

from __future__ import annotations

import getpass
import sys

from .inputs import load_volume


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="export a model as a bioimage.io model package (.zip) for other tools",
        description="Write a bioimage.io model package (spec 0.5): TorchScript weights that take a raw 3D volume and "
                    "return the isotropic one (both slice passes fused, normalisation inside), test tensors and "
                    "a cover cut from VOLUME, a README, the paper's citation, and this model's checkpoint (so "
                    "'isorecon reconstruct --model PACKAGE.zip' works too). Needs the 'bioimageio' extra.")
    p.add_argument("model", help="model file from 'isorecon train' or 'isorecon run' (.pt)")
    p.add_argument("--volume", required=True,
                   help="the training volume or one like it (same dtype): test tensors and cover are cut from it; "
                        "'sample' for the shipped sample")
    p.add_argument("--out", required=True, help="package to write (.zip)")
    p.add_argument("--voxel-size", default=None, metavar="Z,Y,X",
                   help="voxel size in nm declared in the package (default: VOLUME's, if its file has one; else "
                        "scales in lateral pixels)")
    p.add_argument("--author", action="append", default=None, metavar="NAME",
                   help="author (repeatable; default: your login name)")
    p.add_argument("--name", default=None, help="package name (letters, digits, spaces, _+-(); default from the model)")
    p.add_argument("--license", default="BSD-3-Clause",
                   help="SPDX licence of the package (default BSD-3-Clause; mind the licence of the data the test "
                        "tensors and cover are cut from)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing package")
    for flag in ("--sharp", "--uncertainty"):
        p.add_argument(flag, action="store_true", help=f"not in a package: {NOT_IN_PACKAGE}")
    p.set_defaults(func=cmd_export)


NOT_IN_PACKAGE = ("the sharp output and the uncertainty are made from the whole result and the input sections "
                  "(the uncertainty with an error model fitted on the volume), which a bioimage.io model's one "
                  "network pass cannot do; the package gives the faithful result. Make them with 'isorecon "
                  "reconstruct --model PACKAGE.zip --sharp --uncertainty OUT' (the package holds the checkpoint).")


def _voxel(text: str):
    from ..core.errors import IsoReconError

    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise IsoReconError(f"--voxel-size needs three numbers Z,Y,X (nm), got {text!r}.")
    return values


def cmd_export(args):
    from ..core import load_model
    from ..core.jobs import check_writable, export_package, require_bioimageio

    if args.sharp or args.uncertainty:
        from ..core.errors import IsoReconError

        raise IsoReconError(f"{'--sharp' if args.sharp else '--uncertainty'}: {NOT_IN_PACKAGE}")
    require_bioimageio()  # before any slow work
    check_writable(args.out, args.overwrite)
    model = load_model(args.model)
    volume, voxel, name = load_volume(args.volume)
    voxel = _voxel(args.voxel_size) if args.voxel_size else voxel
    authors = args.author or [getpass.getuser()]
    print(f"Exporting {args.model} (z-factor {model.z_factor:g}) with test data from {name} {volume.shape}...",
          file=sys.stderr)
    facts = export_package(model, volume, args.out, voxel_size=voxel, unit="nanometer" if voxel else None,
                           authors=authors, name=args.name, license_id=args.license, source_name=name,
                           overwrite=args.overwrite)
    print(f"bioimage.io package written to {facts['path']} ({facts['size_bytes'] / 1e6:.1f} MB): TorchScript "
          f"weights, test tensors {facts['test_input_shape']} -> {facts['test_output_shape']} (the TorchScript module "
          f"reproduces the engine's output to {facts['max_diff']:g}), cover, README.")
