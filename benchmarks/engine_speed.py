"""Engine speed on this machine: training seconds per step (both stages) and reconstruction time, in float32
and in the reduced precision that "auto" takes here (bfloat16 on a CPU with AVX512-BF16/AMX), side by side.

    python benchmarks/engine_speed.py [--out benchmarks/results/engine_speed.json]

Default settings ("fast" preset, z-factor 10 unless stated). The network's cost does not depend on its
weights, so reconstruction is timed with an untrained model of the default size; the 250^3 case is a
(25, 250, 250) uint8 volume (the x10 FIB-SEM benchmark's shape), the sample is the shipped one (x5).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def time_training(volume, z_factor, precision, steps_per_stage=60):
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.events import TrainStep
    from napari_isorecon.core.training.train import train

    cfg = TrainConfig(z_factor=z_factor, steps=2 * steps_per_stage, minutes=None, stage2_fraction=0.5,
                      stage2_pairs="kernel", precision=precision)  # both stages are timed
    times = {1: [], 2: []}
    previous = 0.0
    for event in train(volume, cfg):
        if isinstance(event, TrainStep):
            times[event.stage].append(event.elapsed - previous)
            previous = event.elapsed
    # skip the first steps of each stage (allocations, warm-up)
    return {f"stage{k}_seconds_per_step": round(float(np.median(v[5:])), 4) for k, v in times.items()}


def time_reconstruction(volume, z_factor, precision, repeats=2):
    from napari_isorecon.core import ReconConfig, TrainConfig
    from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel

    model = IsoModel(TrainConfig(z_factor=z_factor, steps=1, minutes=None), Normalizer.fit(volume))
    model.reconstructor = model.new_reconstructor()
    best = {}
    for name, job in (("reconstruct", lambda: reconstruct(volume, model, ReconConfig(precision=precision))),
                      ("cubic", lambda: interpolate(volume, z_factor, "cubic"))):
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = run_to_end(job()).volume
            runs.append(time.perf_counter() - t0)
        best[f"{name}_seconds"] = round(min(runs), 2)
    best["output_shape"] = list(out.shape)
    return best


def main(argv=None):
    from napari_isorecon.bench import machine_description
    from napari_isorecon.core.settings.precision import resolve_precision
    from napari_isorecon.sample import anisotropic_sample

    parser = argparse.ArgumentParser(description="Engine speed: training s/step and reconstruction time")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    sample, _ = anisotropic_sample()
    big = np.random.default_rng(0).integers(0, 256, size=(25, 250, 250)).astype(np.uint8)
    reduced = resolve_precision("auto", "cpu").name
    report = {"machine": machine_description(), "precisions": ["float32"] + [reduced] * (reduced != "float32")}
    for precision in report["precisions"]:  # side by side in one run
        report[precision] = {"training_x10_250": time_training(big, 10, precision),
                             "training_sample_x5": time_training(sample, 5, precision),
                             "reconstruct_sample_x5": time_reconstruction(sample, 5, precision),
                             "reconstruct_25x250x250_x10": time_reconstruction(big, 10, precision)}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
