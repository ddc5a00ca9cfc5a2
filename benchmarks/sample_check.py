"""The README's main job on the shipped sample, scored against the sample's isotropic original.

    python benchmarks/sample_check.py [--minutes 2] [--out benchmarks/results/sample_check.json]

Runs ``isorecon run sample`` into a temporary folder, then reports PSNR/SSIM on xz and yz slices of the
reconstruction and of the cubic twin against the isotropic crop, and the no-reference spectrum gap of each.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def main(argv=None):
    import tifffile

    from napari_isorecon.bench import machine_description
    from napari_isorecon.cli import main as isorecon
    from napari_isorecon.core.checks.metrics import axial_scores, isotropy_score
    from napari_isorecon.sample import isotropic_sample

    parser = argparse.ArgumentParser(description="Score the README's main job against the isotropic sample")
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    truth = isotropic_sample("a")
    with tempfile.TemporaryDirectory() as tmp:
        assert isorecon(["run", "sample", "--minutes", str(args.minutes), "--out-dir", tmp]) == 0
        results = {name: tifffile.imread(Path(tmp) / f"sample_{name}.tif") for name in ("isotropic", "interpolated")}
    report = {"command": f"isorecon run sample --minutes {args.minutes:g}", "machine": machine_description(),
              "truth_spectrum_gap_db": round(isotropy_score(truth)["log_spectrum_gap_db"], 3)}
    for name, volume in results.items():
        scores = axial_scores(volume, truth)
        report[name] = {axis: {k: round(v, 4) for k, v in scores[axis].items()} for axis in ("xz", "yz")}
        report[name]["spectrum_gap_db"] = round(isotropy_score(volume)["log_spectrum_gap_db"], 3)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
