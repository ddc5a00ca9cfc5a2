"""The sharp output against the faithful one and cubic on an isotropic volume made into box sections: PSNR / SSIM
on xz slices, z power share and correlation per band of periods against the truth, consistency with the sections,
the section-grid peaks and the section pulse, for several gain caps, with and without the z equaliser
(core.inference.sharp).

    python benchmarks/sharp_bench.py --volume ../shared/data/fibsem_medulla_iso10nm_250.tif --z-factor 10 \
        --steps 3000 --caps 2 4 8 --out benchmarks/results/sharp

Trains the default settings for ``--steps`` (or takes ``--model``), seed ``--seed``; writes sharp.json and
sharp.md in ``--out`` (and the model, so a rerun with ``--model`` scores other caps without training).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def box_sections(truth: np.ndarray, factor: int) -> np.ndarray:
    z = truth.shape[0] // factor * factor
    groups = truth[:z].astype(np.float64).reshape(z // factor, factor, *truth.shape[1:])
    return np.rint(groups.mean(axis=1)).astype(truth.dtype)


def score(name, volume, truth, sections, z_factor) -> dict:
    from napari_isorecon.core.checks.metrics import axial_scores
    from napari_isorecon.core.checks.spectra import section_period_peak, z_band_power
    from napari_isorecon.core.inference.sharp import section_consistency, section_pulse

    bands = z_band_power(volume, truth, z_factor=z_factor)
    peaks = section_period_peak(volume, z_factor)
    return {"name": name, **axial_scores(volume, truth)["xz"],
            "bands": {label: [b["power_share"], b["correlation"]] for label, b in bands.items()},
            "consistency": section_consistency(volume, sections, z_factor, 1.0),
            "grid": [peaks["1/F"], peaks["2/F"]], "pulse": section_pulse(volume, z_factor)["modulation"]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--volume", required=True)
    ap.add_argument("--z-factor", type=int, default=10)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default=None)
    ap.add_argument("--caps", type=float, nargs="+", default=[2.0, 4.0, 8.0])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    import tifffile

    from napari_isorecon.core import (
        TrainConfig,
        interpolate_volume,
        load_model,
        reconstruct_volume,
        save_model,
        train_model,
    )
    from napari_isorecon.core.inference.sharp import project_onto_sections, sharpen

    args.out.mkdir(parents=True, exist_ok=True)
    truth = tifffile.imread(args.volume)
    f = args.z_factor
    sections = box_sections(truth, f)
    truth = truth[:sections.shape[0] * f]
    if args.model:
        model = load_model(args.model)
    else:
        start = time.perf_counter()
        model = train_model(sections, config=TrainConfig(z_factor=f, steps=args.steps, minutes=None, seed=args.seed))
        print(f"trained {args.steps} steps in {time.perf_counter() - start:.0f} s", flush=True)
        save_model(model, args.out / "model.pt", overwrite=True)
    start = time.perf_counter()
    faithful = reconstruct_volume(sections, model)
    faithful_seconds = time.perf_counter() - start
    rows = [score("cubic", interpolate_volume(sections, f), truth, sections, f),
            score("faithful", faithful, truth, sections, f)]
    for smooth in (None, 0.0):
        projected = np.clip(np.rint(project_onto_sections(faithful, sections, f, 1.0, smooth)), 0, 255)
        label = "F/2" if smooth is None else f"{smooth:g} rows"
        rows.append(score(f"faithful, projected (smooth {label})", projected.astype(truth.dtype), truth, sections, f))
    for cap, isotropic in [(cap, iso) for cap in args.caps for iso in (False, True)]:
        start = time.perf_counter()
        sharp, info = sharpen(faithful, sections, f, 1.0, cap, isotropic=isotropic)
        seconds = time.perf_counter() - start
        row = score(f"sharp, cap {cap:g}{' + z equaliser' if isotropic else ''}", sharp, truth, sections, f)
        row.update(seconds=seconds, faithful_seconds=faithful_seconds)
        rows.append(row)
        print(row, flush=True)
    (args.out / "sharp.json").write_text(json.dumps({"volume": str(args.volume), "z_factor": f, "steps": args.steps,
                                                      "seed": args.seed, "rows": rows}, indent=1))
    labels = list(rows[0]["bands"])
    lines = ["| output | PSNR / SSIM | " + " | ".join(f"{b} share / corr" for b in labels)
             + " | consistency (grey) | grid 1/F, 2/F | pulse |", "|---" * (len(labels) + 5) + "|"]
    for r in rows:
        cells = [f"{s:.2f} / {c:.2f}" if s is not None and c is not None else "-" for s, c in r["bands"].values()]
        grid = ", ".join("-" if g is None else f"{g:.2f}" for g in r["grid"])
        lines.append(f"| {r['name']} | {r['psnr']:.2f} / {r['ssim']:.3f} | " + " | ".join(cells)
                     + f" | {r['consistency']:.2f} | {grid} | {r['pulse']:.2f} |")
    lines.append(f"\nFaithful reconstruction {faithful_seconds:.2f} s; sharp output (equaliser and projection) "
                 + ", ".join(f"{r['name']} {r['seconds']:.2f} s" for r in rows if "seconds" in r) + ".")
    (args.out / "sharp.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
