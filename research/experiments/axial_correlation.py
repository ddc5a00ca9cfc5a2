"""Is the tissue as alike along z as along x and y? Correlation of sections m z-steps apart against the
correlation of lateral images m z-steps apart (after the same section integration along the lateral axis).

For an anisotropic stack (``--z-factor f``, sections one z-step thick) the lateral images are box-averaged
over f pixels along y (or x) and correlated with themselves shifted by m f pixels; the sections are
correlated with the sections m further on. With ``--simulate``, the volume is isotropic and is first made
into sections one z-step thick (the mean of each group of f slices). Isotropic tissue gives about the same
numbers along z as along y and x; tissue that runs along z (neurites cut across) gives higher ones along z,
and then lateral patches are no model of how the tissue changes from section to section. Deterministic, a
few seconds:

    python research/experiments/axial_correlation.py ../shared/data/sstem_cremi_4x4x40nm_train.tif --z-factor 10
    python research/experiments/axial_correlation.py ../shared/data/fibsem_medulla_iso10nm_250.tif \
        --z-factor 10 --simulate
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy import ndimage

from napari_isorecon.core.io import open_volume


def correlation(a, b) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("volume")
    p.add_argument("--z-factor", type=int, required=True)
    p.add_argument("--simulate", action="store_true")
    p.add_argument("--lags", type=int, nargs="+", default=[1, 2, 3])
    args = p.parse_args()
    volume, _ = open_volume(args.volume)
    volume = np.asarray(volume, dtype=np.float64)
    f = args.z_factor
    if args.simulate:
        n = volume.shape[0] // f
        volume = volume[:n * f].reshape(n, f, *volume.shape[1:]).mean(axis=1)
    sections = volume.shape[0]
    lateral = volume[::max(1, sections // 8)]
    rows = {}
    for m in args.lags:
        along_z = np.mean([correlation(volume[k], volume[k + m]) for k in range(sections - m)])
        row = {"z": along_z}
        for name, axis in (("y", 0), ("x", 1)):
            values = []
            for image in lateral:
                blurred = ndimage.uniform_filter1d(image, f, axis=axis)
                n = blurred.shape[axis] - m * f
                values.append(correlation(np.take(blurred, range(n), axis=axis),
                                          np.take(blurred, range(m * f, m * f + n), axis=axis)))
            row[name] = float(np.mean(values))
        rows[f"{m} z-steps"] = row
        print(f"{m} z-steps apart: z {row['z']:.3f}, y {row['y']:.3f}, x {row['x']:.3f}")
    print(json.dumps({"volume": args.volume, "z_factor": f, "simulated": args.simulate, "correlation": rows}))


if __name__ == "__main__":
    main()
