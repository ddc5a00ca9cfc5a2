"""The uncertainty's calibration by the hidden-section check, without the truth: on the FIB-SEM volume made into box
sections x10 and on the real CREMI stack, the check (3,000 steps at 2F, seed 0) with ``uncertainty=True``: the rank
correlation of the error model with the error at the hidden sections, the interval's coverage on sections the
scale was not fitted on, with the default scale, the volume's scale and the averaging factor.

    python research/experiments/uncertainty_check.py [--steps 3000] > benchmarks/results/uncertainty/uncertainty_check.txt
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

VOLUMES = (("FIB-SEM box x10", "../shared/data/fibsem_medulla_iso10nm_250.tif", True),
           ("CREMI", "../shared/data/sstem_cremi_4x4x40nm_train.tif", False))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--z-factor", type=int, default=10)
    args = ap.parse_args(argv)
    import tifffile

    from napari_isorecon.core.checks.hidden_sections import run_hidden_section_check
    from napari_isorecon.core.settings.config import TrainConfig

    f = args.z_factor
    for name, path, isotropic in VOLUMES:
        volume = tifffile.imread(path)
        if isotropic:  # box sections: each the mean of F rows
            z = volume.shape[0] // f * f
            volume = np.rint(volume[:z].astype(np.float64).reshape(z // f, f, *volume.shape[1:]).mean(axis=1))
            volume = volume.astype(np.uint8)
        start = time.perf_counter()
        cfg = TrainConfig(z_factor=f, steps=args.steps, minutes=None, seed=0)
        report = list(run_hidden_section_check(volume, cfg, uncertainty=True))[-1].report
        print(name, round(time.perf_counter() - start), json.dumps(report.uncertainty),
              {m: round(s["psnr"], 2) for m, s in report.summary.items()}, flush=True)


if __name__ == "__main__":
    main()
