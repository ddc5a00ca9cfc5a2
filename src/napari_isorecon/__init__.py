"""napari-isorecon: isotropic reconstruction of anisotropic 3D EM volumes.

The public Python API, :mod:`napari_isorecon.core`'s ``__all__``, is importable from here too::

    from napari_isorecon import open_volume, reconstruct_volume, train_model

Importing the package is cheap: it imports neither torch, dask, zarr nor Qt. The API's names are looked up in
:mod:`napari_isorecon.core` when first asked for (PEP 562), and importing that does not load the engine
either: each function imports it when it runs. The command line lives in :mod:`napari_isorecon.cli`.
"""

import importlib as _importlib

__version__ = "0.1.0"


def _public_api() -> list[str]:
    """core's ``__all__``: the one list of the public API."""
    return _importlib.import_module(f"{__name__}.core").__all__


def __getattr__(name: str):
    if name == "__all__":  # `from napari_isorecon import *` gives the public API
        return ["__version__", *_public_api()]
    if not name.startswith("_") and name in _public_api():
        value = getattr(_importlib.import_module(f"{__name__}.core"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"__all__", *_public_api()})
