"""The GPU path, measured in one prepared run: training and blockwise reconstruction on CUDA in each precision
against the CPU, with agreement.

    python benchmarks/gpu_check.py                      # on a machine with CUDA (~10 min)
    python benchmarks/gpu_check.py --device cpu --small  # a smoke run of the same code anywhere (~1 min)

1. Trains on the shipped sample (x5) for ``--minutes`` on the device and on the CPU (float32 and "auto"
   precision): steps per second of each.
2. Reconstructs a synthetic (64, 1024, 1024) uint8 volume (x10, ``--small``: (16, 256, 256)) block by block
   with one trained model in float32, bfloat16 and float16 where the device has them: voxels per second,
   peak GPU memory, and the agreement of each with the CPU float32 result (mean and max absolute
   difference in grey levels) on a central crop.

Writes benchmarks/results/gpu_check.json (``--out``) and prints it. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def train_rate(volume, z_factor, device, precision, minutes):
    from napari_isorecon.core.settings.config import TrainConfig
    from napari_isorecon.core.training.train import train_to_end

    t0 = time.perf_counter()
    model = train_to_end(volume, TrainConfig(z_factor=z_factor, minutes=minutes, device=device, precision=precision))
    return model, {"device": device, "precision": precision, "steps": model.state.step,
                   "steps_per_s": round(model.state.step / model.state.elapsed, 2),
                   "wall_s": round(time.perf_counter() - t0, 1)}


def synthetic(shape, seed=0) -> np.ndarray:
    """A smooth uint8 volume with texture: cheap to make, every network layer matters on it."""
    rng = np.random.default_rng(seed)
    z, y, x = (np.linspace(0, 1, n, dtype=np.float32) for n in shape)
    v = 80 * np.sin(6 * z)[:, None, None] + 60 * np.cos(9 * y)[None, :, None] + 60 * np.sin(7 * x)[None, None, :]
    v = v + 20 * rng.standard_normal(shape).astype(np.float32)
    return np.clip(v + 128, 0, 255).astype(np.uint8)


def reconstruct_rate(volume, model, device, precision, batch):
    import torch

    from napari_isorecon.core.inference.blockwise import reconstruct_model_blockwise
    from napari_isorecon.core.settings.config import ReconConfig

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    cfg = ReconConfig(device=device, precision=precision, batch_size=batch)
    lazy = reconstruct_model_blockwise(volume, model, cfg)
    t0 = time.perf_counter()
    out = np.asarray(lazy.compute(scheduler="threads", num_workers=1))
    seconds = time.perf_counter() - t0
    record = {"device": device, "precision": precision, "seconds": round(seconds, 2),
              "voxels_per_s": round(out.size / seconds)}
    if device.startswith("cuda"):
        record["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    return out, record


def main(argv=None):
    import torch

    from napari_isorecon.bench import machine_description
    from napari_isorecon.core.settings.precision import resolve_precision
    from napari_isorecon.sample import anisotropic_sample

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help="the device to measure against the CPU (default cuda)")
    parser.add_argument("--minutes", type=float, default=2.0, help="training budget per run (default 2)")
    parser.add_argument("--small", action="store_true", help="small sizes: a smoke run of the same code")
    parser.add_argument("--batch", type=int, default=32, help="slices per forward pass on the device")
    parser.add_argument("--out", default=str(RESULTS / "gpu_check.json"))
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("No CUDA device here: run this on a machine with a GPU (or --device cpu --small).")
    minutes = 0.2 if args.small else args.minutes
    shape = (16, 256, 256) if args.small else (64, 1024, 1024)
    report = {"machine": machine_description(), "command": "python benchmarks/gpu_check.py "
              + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "training": [],
              "reconstruction": []}
    sample, _ = anisotropic_sample()
    model = None
    for device in (args.device, "cpu") if args.device != "cpu" else ("cpu",):
        for precision in ("float32", "auto"):
            trained, record = train_rate(sample, 5.0, device, precision, minutes)
            record["resolved"] = resolve_precision(precision, torch.device(device)).name
            report["training"].append(record)
            model = model or trained.to("cpu")
            print(json.dumps(record), flush=True)
    volume = synthetic(shape)
    crop = np.s_[:, shape[1] // 2 - 64:shape[1] // 2 + 64, shape[2] // 2 - 64:shape[2] // 2 + 64]
    reference, record = reconstruct_rate(volume, model, "cpu", "float32", 16)
    report["reconstruction"].append(record)
    names = [n for n in ("float32", "bfloat16", "float16") if _usable(n, args.device)]
    for precision in names:
        out, record = reconstruct_rate(volume, model, args.device, precision, args.batch)
        diff = np.abs(out[crop].astype(np.int16) - reference[crop])
        record.update(mean_abs_diff_to_cpu_float32=round(float(diff.mean()), 4), max_abs_diff_to_cpu_float32=int(diff.max()))
        report["reconstruction"].append(record)
        print(json.dumps(record), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


def _usable(name, device) -> bool:
    import torch

    from napari_isorecon.core.errors import IsoReconError
    from napari_isorecon.core.settings.precision import resolve_precision

    try:
        resolve_precision(name, torch.device(device))
    except IsoReconError:
        return False
    return True


if __name__ == "__main__":
    main()
