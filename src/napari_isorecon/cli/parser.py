"""The command line's arguments: one parser, a subparser per command.

Every subcommand registers itself the same way: a function ``add_<name>(sub)`` (``add_parser`` in a module that
owns one subcommand) beside the command it runs, listed once in :data:`SUBCOMMANDS`. The flags they share are
in ``flags``, which imports no subcommand.
"""

from __future__ import annotations

import argparse

from . import commands, export, info, validate

# the subcommands, in the order ``isorecon --help`` lists them
SUBCOMMANDS = (commands.add_run, commands.add_train, commands.add_reconstruct, commands.add_interpolate,
               commands.add_bench, validate.add_parser, info.add_parser, export.add_parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="isorecon",
        description="Isotropic reconstruction of anisotropic 3D EM volumes: learn the real axial degradation "
                    "from the volume itself (Deng et al., MICCAI 2020), then reconstruct.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def _version() -> str:
    from .. import __version__

    return __version__
