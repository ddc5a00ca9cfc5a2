"""Does running a 2D network slice by slice leave line artefacts? A per-slice offset in the xz (yz) passes
shows in an xy view of the result as lines along x (y). Score: the std of an xy image's high-passed row
(column) means over the image's std, averaged over xy images of the result at the sections and half-way
between them, for ours (the default, trained on the stack), cubic, and the real sections themselves.

    python research/experiments/line_artefacts.py ../shared/data/sstem_cremi_4x4x40nm_train.tif \
        --z-factor 10 --minutes 3 --out benchmarks/results/line_artefacts_cremi.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.ndimage import uniform_filter1d

from napari_isorecon.core import TrainConfig
from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
from napari_isorecon.core.io import read_volume
from napari_isorecon.core.training.train import train_to_end


def line_score(image: np.ndarray, along: int) -> float:
    """Lines running along ``along`` (1: along x, i.e. per-row offsets; 0: along y): high-passed means' std."""
    profile = image.astype(np.float64).mean(axis=along)
    high = profile - uniform_filter1d(profile, 9, mode="reflect")
    return float(high.std() / image.std())


def scores(volume: np.ndarray, planes) -> dict:
    return {"lines along x": float(np.mean([line_score(volume[z], 1) for z in planes])),
            "lines along y": float(np.mean([line_score(volume[z], 0) for z in planes]))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("volume")
    parser.add_argument("--z-factor", type=int, required=True)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    volume, _ = read_volume(args.volume)
    f = args.z_factor
    model = train_to_end(volume, TrainConfig(z_factor=f, minutes=args.minutes, seed=args.seed))
    results = {"real sections": scores(volume, range(volume.shape[0]))}
    outputs = {"cubic": run_to_end(interpolate(volume, f, "cubic")).volume,
               "ours": run_to_end(reconstruct(volume, model)).volume}
    for offset, where in ((0, "at the sections"), (f // 2, "half-way between sections")):
        planes = [k * f + offset for k in range(2, volume.shape[0] - 2)]  # away from the stack's ends
        for name, output in outputs.items():
            results[f"{name}, {where}"] = scores(output, planes)
    report = {"volume": args.volume, "z_factor": f, "minutes": args.minutes, "seed": args.seed,
              "steps": model.state.step, "scores": results}
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=2)
    for name, value in results.items():
        print(f"{name:38s} lines along x {value['lines along x']:.4f}   along y {value['lines along y']:.4f}")


if __name__ == "__main__":
    main()
