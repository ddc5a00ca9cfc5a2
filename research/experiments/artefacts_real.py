"""The artefact scan on the real volumes of ../shared/data, clean and with planted artefacts (docs/benchmarks.md,
"Dataset artefacts"):

    python research/experiments/artefacts_real.py
"""

import time

import numpy as np
import tifffile

from napari_isorecon.core.checks.artefacts import find_section_artefacts

VOLUMES = ["sstem_cremi_4x4x40nm_train.tif", "fibsem_medulla_iso10nm_250.tif", "fibsem_medulla_mini_a.tif",
           "fibsem_medulla_mini_b.tif"]

for name in VOLUMES:
    volume = tifffile.imread("../shared/data/" + name)
    start = time.time()
    found = find_section_artefacts(volume)
    print(name, volume.shape, volume.dtype, f"{time.time() - start:.1f} s", found.describe())
    planted = volume.copy()
    planted[5] = planted[4]  # a copy
    planted[9] = ((planted[8].astype(float) + planted[10]) / 2).astype(volume.dtype)  # the neighbours' mean
    planted[12] = 0  # blank
    planted[15] = np.iinfo(volume.dtype).max  # at the maximum
    planted[18] = np.roll(planted[18], 30, axis=1)  # out of register
    print("  planted 5, 9, 12, 15, 18:", find_section_artefacts(planted).describe())
