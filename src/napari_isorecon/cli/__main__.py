"""``python -m napari_isorecon.cli``: the same as the ``isorecon`` command."""

import sys

from . import main

sys.exit(main())
