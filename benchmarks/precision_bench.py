"""Reduced precision against float32 (core.precision): speed, agreement, training to the same quality.

    python benchmarks/precision_bench.py speed                    # ~3 min: conv limit, voxels/s, s/step
    python benchmarks/precision_bench.py agreement --volume ISO   # ~5 min: the same model in both precisions
    python benchmarks/precision_bench.py seeds --volume ISO       # same steps, seeds 0-2, both precisions
    python benchmarks/precision_bench.py time --volume ISO        # PSNR after 2, 5 and 10 min, both precisions

ISO is the isotropic FIB-SEM volume (../shared/data/fibsem_medulla_iso10nm_250.tif); it is made into the
bench's x10 box row (sections one z-step thick) and scored against itself like ``isorecon bench``. Each part
writes benchmarks/results/precision/<part>.json and prints a Markdown table. The reduced precision is what
"auto" resolves to on this machine (bfloat16 on a CPU with AVX512-BF16/AMX); a machine without it has
nothing to compare and says so. Never run two parts at once: on 2 cores both timings are wrong.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "precision"
DEFAULT_VOLUME = Path(__file__).resolve().parents[2] / "shared" / "data" / "fibsem_medulla_iso10nm_250.tif"


def reduced_name() -> str:
    from napari_isorecon.core.settings.precision import resolve_precision

    name = resolve_precision("auto", "cpu").name
    if name == "float32":
        raise SystemExit("This CPU has no bfloat16 instructions: 'auto' is float32 here, nothing to compare.")
    return name


def machine() -> dict:
    from napari_isorecon.bench import machine_description
    from napari_isorecon.core.settings.precision import cpu_has_native_bf16

    return {"machine": machine_description(), "cpu_bf16": cpu_has_native_bf16()}


def default_network(z_factor: float):
    """The default backbone with random weights (speed does not depend on them; every layer matters)."""
    import torch

    from napari_isorecon.core.networks.backbones import build_backbone
    from napari_isorecon.core.settings.config import TrainConfig

    cfg = TrainConfig(z_factor=z_factor)
    torch.manual_seed(0)
    net = build_backbone(cfg.backbone, cfg.z_factor, cfg.channels, cfg.blocks)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.02)
    return net.eval()


def conv_gflops(precision, channels: int, repeats: int = 6) -> float:
    """GFLOP/s of a plain 3x3 convolution (channels -> channels, 8 x 128 x 128, channels-last) in
    ``precision``: the machine's limit for the network's layers."""
    import torch

    with torch.inference_mode():
        layer = torch.nn.Conv2d(channels, channels, 3, padding=1).to(memory_format=torch.channels_last)
        x = torch.randn(8, channels, 128, 128).contiguous(memory_format=torch.channels_last)
        times = []
        for i in range(repeats + 1):
            t = time.perf_counter()
            with precision.autocast():
                layer(x)
            if i:
                times.append(time.perf_counter() - t)
    return 2 * channels * channels * 9 * 8 * 128 * 128 / min(times) / 1e9


def part_speed(args) -> dict:
    import torch

    from napari_isorecon.core.events import TrainStep
    from napari_isorecon.core.inference.blockwise import write_blockwise
    from napari_isorecon.core.inference.reconstruct import run_to_end, slice_passes
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.settings.config import ReconConfig, TrainConfig
    from napari_isorecon.core.settings.precision import resolve_precision
    from napari_isorecon.core.training.train import train

    names = ("float32", reduced_name())
    report = {**machine(), "torch_threads": torch.get_num_threads(), "conv_limit_gflops": {}, "whole": [],
              "blockwise": [], "training": {}}
    for name in names:
        p = resolve_precision(name, "cpu")
        report["conv_limit_gflops"][name] = {c: round(conv_gflops(p, c), 1) for c in (32, 64)}
    z_factor, net = 10.0, default_network(10.0)
    volume = np.random.default_rng(0).integers(0, 256, size=(25, 250, 250)).astype(np.uint8)
    norm = Normalizer(0.0, 255.0, "|u1")
    results = {}
    for batch in args.batches:
        for name in names:
            cfg = ReconConfig(device="cpu", precision=name, batch_size=batch)
            runs = []
            for _ in range(2):
                t0 = time.perf_counter()
                out = run_to_end(slice_passes(volume, net, z_factor, norm, cfg)).volume
                runs.append(time.perf_counter() - t0)
            results[name, batch] = out
            report["whole"].append({"precision": name, "batch": batch, "seconds": round(min(runs), 3),
                                    "voxels_per_s": round(out.size / min(runs))})
    for batch in args.batches:
        diff = np.abs(results[names[0], batch].astype(np.int16) - results[names[1], batch])
        report.setdefault("whole_difference", []).append(
            {"batch": batch, "mean_abs": round(float(diff.mean()), 4), "max_abs": int(diff.max())})
    big = np.random.default_rng(1).integers(0, 256, size=(32, 384, 384)).astype(np.uint8)
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            final = run_to_end(write_blockwise(big, net, z_factor, norm, Path(tmp) / "out.zarr",
                                               ReconConfig(device="cpu", precision=name, batch_size=16)))
            seconds = time.perf_counter() - t0
        voxels = int(np.prod(final.info["shape"]))
        report["blockwise"].append({"precision": name, "input": list(big.shape), "output": final.info["shape"],
                                    "blocks": final.info["blocks"], "seconds": round(seconds, 2),
                                    "voxels_per_s": round(voxels / seconds)})
    sample = np.random.default_rng(2).integers(0, 256, size=(25, 250, 250)).astype(np.uint8)
    for name in names:
        cfg = TrainConfig(z_factor=10, steps=2 * args.train_steps, minutes=None, stage2_pairs="kernel",
                          stage2_fraction=0.5, device="cpu", precision=name)
        times, previous = {1: [], 2: []}, 0.0
        for event in train(sample, cfg):
            if isinstance(event, TrainStep):
                times[event.stage].append(event.elapsed - previous)
                previous = event.elapsed
        report["training"][name] = {f"stage{k}_seconds_per_step": round(float(np.median(v[10:])), 5)
                                    for k, v in times.items()}
    return report


def iso_volume(path) -> np.ndarray:
    from napari_isorecon.core.io import open_volume

    volume, _ = open_volume(str(path))[:2]
    return np.asarray(volume)


def simulated(path, z_factor=10.0, kind="box"):
    from napari_isorecon.bench import exact_crop_depth, simulate_acquisition

    iso = iso_volume(path)
    truth = iso[:exact_crop_depth(iso.shape[0], z_factor)]
    return truth, simulate_acquisition(truth, z_factor, kind, 0.0, 0)


def _scores(result, truth) -> dict:
    from napari_isorecon.core.checks.metrics import axial_scores

    s = axial_scores(result, truth)
    return {axis: {k: round(float(v), 4) for k, v in s[axis].items()} for axis in ("xz", "yz")}


def part_agreement(args) -> dict:
    from napari_isorecon.core.inference.blockwise import reconstruct_model_blockwise
    from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end
    from napari_isorecon.core.settings.config import ReconConfig, TrainConfig
    from napari_isorecon.core.training.train import train_to_end
    from napari_isorecon.sample import anisotropic_sample

    names = ("float32", reduced_name())
    truth, lr = simulated(args.volume)
    sample, _ = anisotropic_sample()
    report = {**machine(), "train_minutes": args.minutes, "cases": []}
    for label, volume, z_factor, reference in (("FIB-SEM x10 box", lr, 10.0, truth),
                                                ("shipped sample x5", sample, 5.0, None)):
        model = train_to_end(volume, TrainConfig(z_factor=z_factor, minutes=args.minutes, precision="float32"))
        outputs = {name: run_to_end(reconstruct(volume, model, ReconConfig(precision=name))).volume for name in names}
        outputs[names[1] + " blockwise"] = np.asarray(reconstruct_model_blockwise(
            volume, model, ReconConfig(precision=names[1])).compute())
        case = {"volume": label, "shape": list(volume.shape), "z_factor": z_factor, "agreement": {}}
        for other in list(outputs)[1:]:
            diff = np.abs(outputs[names[0]].astype(np.float64) - outputs[other])
            case["agreement"][other] = {"mean_abs": round(float(diff.mean()), 4), "max_abs": float(diff.max()),
                                        "p99_9_abs": float(np.percentile(diff, 99.9))}
        if reference is not None:
            case["psnr_ssim"] = {name: _scores(out, reference) for name, out in outputs.items()}
        report["cases"].append(case)
    return report


def _bench(path, precision, seed, minutes=None, steps=None) -> dict:
    from napari_isorecon.bench import run_bench

    iso = iso_volume(path)
    report = run_bench(iso, 10.0, "box", minutes=minutes or 10.0, steps=steps, methods=["ours_stage2"], seed=seed,
                       train_overrides={"precision": precision}, log=lambda *a: None)
    ours = report["methods"]["ours_stage2"]
    return {"precision": precision, "seed": seed, "minutes": minutes, "steps": steps,
            "train_steps": ours.get("train_steps"), "train_seconds": ours.get("train_seconds"),
            "xz_psnr": ours["xz"]["psnr"], "yz_psnr": ours["yz"]["psnr"], "xz_ssim": ours["xz"]["ssim"]}


def part_seeds(args) -> dict:
    names = ("float32", reduced_name())
    runs = [_bench(args.volume, name, seed, steps=args.steps) for name in names for seed in range(args.seeds)]
    return {**machine(), "row": "x10 box, ours_stage2 (the default)", "runs": runs}


def part_time(args) -> dict:
    names = ("float32", reduced_name())
    budgets = [(name, m) for name in names for m in args.minutes_list]
    if args.runs:  # e.g. float32:10 bfloat16:5
        budgets = [(run.split(":")[0], float(run.split(":")[1])) for run in args.runs]
    runs = [_bench(args.volume, name, 0, minutes=m) for name, m in budgets]
    return {**machine(), "row": "x10 box, ours_stage2 (the default), seed 0", "runs": runs}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["speed", "agreement", "seeds", "time"])
    parser.add_argument("--volume", default=str(DEFAULT_VOLUME), help="the isotropic FIB-SEM volume")
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 16, 32], help="speed: slices per pass")
    parser.add_argument("--train-steps", type=int, default=150, help="speed: steps timed per stage")
    parser.add_argument("--minutes", type=float, default=2.0, help="agreement: training budget of each model")
    parser.add_argument("--steps", type=int, default=6000, help="seeds: steps of every run")
    parser.add_argument("--seeds", type=int, default=3, help="seeds: seeds 0..N-1")
    parser.add_argument("--minutes-list", type=float, nargs="+", default=[2.0, 5.0, 10.0], help="time: budgets")
    parser.add_argument("--runs", nargs="+", default=None, metavar="PRECISION:MINUTES",
                        help="time: these runs instead of every precision at every budget")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    report = {"speed": part_speed, "agreement": part_agreement, "seeds": part_seeds, "time": part_time}[args.part](args)
    report["command"] = "python benchmarks/precision_bench.py " + " ".join(argv or __import__("sys").argv[1:])
    report["wall_seconds"] = round(time.perf_counter() - t0, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.part}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
