"""What the OME writers cost: write and read times of a 256^3 volume as OME-TIFF and as OME-Zarr with and
without downsampled levels (ome-zarr-py metadata), best of a few repeats (wall time: a busy machine
inflates it).

    python benchmarks/io_formats.py [--size 256] [--repeats 3] [--dtype uint8]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None):
    from napari_isorecon.core.io import open_volume, read_zarr_levels, write_volume, write_zarr

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default="uint8")
    args = parser.parse_args(argv)
    n = args.size
    rng = np.random.default_rng(0)
    volume = (rng.random((n, n, n)) * 255).astype(args.dtype)
    voxel = (8.0, 8.0, 8.0)
    report = {"shape": [n, n, n], "dtype": args.dtype, "MB": volume.nbytes / 1e6}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        counter = iter(range(10**6))

        def fresh(suffix):
            return tmp / f"v{next(counter)}{suffix}"

        report["ome_tiff_write_s"] = _best(lambda: write_volume(fresh(".ome.tif"), volume, voxel), args.repeats)
        tif = write_volume(fresh(".ome.tif"), volume, voxel)
        report["ome_tiff_read_s"] = _best(lambda: open_volume(tif), args.repeats)
        for label, top in (("one_level", 10**9), ("levels_to_64", 64)):
            report[f"ome_zarr_{label}_write_s"] = _best(
                lambda top=top: write_zarr(fresh(".zarr"), volume, voxel, top=top), args.repeats)
            path = write_zarr(fresh(".zarr"), volume, voxel, top=top)
            levels, _ = read_zarr_levels(path)
            report[f"ome_zarr_{label}_levels"] = [list(level.shape) for level in levels]
            report[f"ome_zarr_{label}_MB_on_disk"] = sum(
                f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
