"""napari-isorecon: isotropic reconstruction of anisotropic 3D EM volumes.

Importing the package is cheap: it imports neither torch nor Qt. The engine lives in
:mod:`napari_isorecon.core`, the command line in :mod:`napari_isorecon.cli`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
