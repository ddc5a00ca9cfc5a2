"""Command line: ``isorecon run | train | reconstruct | interpolate | bench``.

VOLUME is a .tif file, a zarr / OME-Zarr (read lazily; its voxel size gives the z-factor) or the word
``sample`` (the real EM sample shipped with the package). A ``.zarr`` output of ``reconstruct`` or
``interpolate`` is written block by block (flat memory, resumable, optionally on a dask cluster).
Every error a user can fix is one line on stderr and exit status 2; nothing is written then.

The package: ``parser`` (the parser, from the table of subcommands), ``flags`` (the flags they share; imports no
subcommand), ``inputs`` (volume, z-factor, settings, output checks), ``progress`` (progress bars, Ctrl-C),
``commands`` (run, train, reconstruct, interpolate, bench: each one's arguments and command), and a module per
other subcommand or option (``validate``, ``info``, ``export``, ``uncertainty``).
"""

from __future__ import annotations

import sys

from ..core.errors import IsoReconError
from .parser import build_parser


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
