"""No ground truth (the real use case): cubic vs ours on a real serial-section volume, scored without a reference.

    python benchmarks/no_reference.py --volume ../shared/data/sstem_cremi_4x4x40nm_train.tif --z-factor 10 \
        --minutes 5 --out research/bench/cremi_no_reference

Scores (napari_isorecon.core.checks.metrics):
- ``log_spectrum_gap_db``: mean |10 log10(P_z / P_xy)| over the upper half of frequencies of equal-length
  profiles along z and along y/x (0 = the result's z texture has the lateral power spectrum);
- ``degradation_consistency``: PSNR/SSIM between the real input xz slices and G_hl applied to the result's
  xz slices (does the result degrade back into the data we measured?).
- the sharp output's (``--sharp``, core.inference.sharp) consistency with the sections and the detail pulse of each.
Writes report.json and xz_compare.png: an xy crop of the input section at the middle of the xz crop (the same
tissue at the same pixel size, to judge isotropy by), the input's xz slice with each section repeated, cubic, ours
and, with ``--sharp``, the sharp output.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(argv=None):
    from napari_isorecon.bench import machine_description, write_stack_figure
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.checks.metrics import input_consistency, isotropy_score
    from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
    from napari_isorecon.core.io import read_volume
    from napari_isorecon.core.training.train import train_to_end

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--volume", required=True)
    parser.add_argument("--z-factor", type=float, required=True)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--sharp", action="store_true", help="also make, score and show the sharp output")
    args = parser.parse_args(argv)
    volume, _ = read_volume(args.volume)
    t0 = time.perf_counter()
    model = train_to_end(volume, TrainConfig(z_factor=args.z_factor, minutes=args.minutes, seed=args.seed))
    train_s = time.perf_counter() - t0
    ours = run_to_end(reconstruct(volume, model)).volume
    cubic = run_to_end(interpolate(volume, args.z_factor, "cubic")).volume
    report = {"volume": str(args.volume), "shape": list(volume.shape), "z_factor": args.z_factor,
              "minutes": args.minutes, "train_seconds": round(train_s, 1), "machine": machine_description(),
              "methods": {}}
    results = {"cubic": cubic, "ours": ours}
    if args.sharp:
        from napari_isorecon.core import sharpen_volume

        results["sharp"] = sharpen_volume(ours, volume, model)
    for name, result in results.items():
        report["methods"][name] = {"isotropy": isotropy_score(result),
                                   "degradation_consistency": input_consistency(model, result, volume)}
        if args.sharp:
            from napari_isorecon.core.inference.sharp import section_consistency, section_pulse

            report["methods"][name]["section_consistency"] = section_consistency(
                result, volume, args.z_factor, model.config.section_thickness)
            report["methods"][name]["pulse"] = section_pulse(result, args.z_factor)["modulation"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    write_stack_figure(out / "xz_compare.png", volume, results, size=160)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
