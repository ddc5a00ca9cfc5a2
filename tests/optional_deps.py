"""Optional dependencies of the tests (napari and pytest-qt, bioimage.io, distributed): one place that decides
whether a missing one skips its tests or fails them.

Without ``ISORECON_REQUIRE_ALL`` a missing package skips, as ``pytest.importorskip`` does (a developer without
the extras still runs the rest). With ``ISORECON_REQUIRE_ALL=1`` (CI) it fails with the package's name, so that a
broken install cannot pass as a green run with the tests of a whole feature skipped."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

REQUIRE_ALL = "ISORECON_REQUIRE_ALL"


def required() -> bool:
    """Whether every optional dependency must be there: ``ISORECON_REQUIRE_ALL`` set to anything but "" or "0"."""
    return os.environ.get(REQUIRE_ALL, "") not in ("", "0")


def optional_import(name: str) -> ModuleType:
    """The module ``name``; if it cannot be imported, skip (or, under ``ISORECON_REQUIRE_ALL``, fail)."""
    __tracebackhide__ = True  # the skip or failure is reported at the caller's line
    if not required():
        return pytest.importorskip(name)
    try:
        return importlib.import_module(name)
    except ImportError as err:
        pytest.fail(f"optional dependency {name!r} cannot be imported ({err}) and {REQUIRE_ALL} is set: "
                    f"install the testing extras (pip install -e .[testing])", pytrace=False)
