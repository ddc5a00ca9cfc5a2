"""Scale and speed of blockwise reconstruction (core.inference.blockwise): throughput, peak memory, exactness.

    python benchmarks/scale_bench.py                 # everything (~5 min on a 2-core CPU)
    python benchmarks/scale_bench.py --quick         # small sizes only (~1 min)

Prints and writes benchmarks/results/scale.md (and scale.json) with:

1. the machine (CPU, cores, memory, library versions, load average during the run);
2. the conv limit: GFLOP/s of a plain large 3x3 convolution (64 -> 64 channels, 8 x 128 x 128), the best
   of contiguous and channels-last memory formats;
3. the default network (TrainConfig defaults: edsr, 32 channels, 4 blocks, z-factor 10): convolution FLOPs
   per output voxel (both slice passes, halo excluded) and, for several volume sizes, blockwise voxels/s,
   achieved GFLOP/s and its fraction of the conv limit, peak RSS, and the maximum difference to the
   whole-volume result (core.inference.reconstruct.slice_passes);
4. memory flatness: cubic interpolation (AxialInterpolator, the same block machinery, cheap enough to write
   0.25, 1 and 4 GB outputs in minutes) from a synthetic uint8 zarr to an OME-Zarr, peak RSS per size.

Every measured job runs in its own subprocess, so its peak RSS (ru_maxrss) is its own; "above baseline"
subtracts the RSS of the same process after its imports (torch, dask, zarr).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GB = 1e9


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# ------------------------------------------------------------------------------------- child jobs
def child_make_input(path, shape, seed=0):
    """A synthetic smooth uint8 volume (sum of three random 1D profiles plus a small texture) as zarr,
    generated and stored chunk by chunk."""
    import dask.array as da

    from napari_isorecon.core.io import write_zarr

    rng = np.random.default_rng(seed)
    profiles = [np.cumsum(rng.standard_normal(n)).astype(np.float32) for n in shape]
    profiles = [(p - p.min()) / (np.ptp(p) + 1e-6) for p in profiles]

    def chunk(block_info=None):
        (z0, z1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
        pz, py, px = profiles[0][z0:z1], profiles[1][y0:y1], profiles[2][x0:x1]
        v = 60 * pz[:, None, None] + 60 * py[None, :, None] + 60 * px[None, None, :]
        yy, xx = np.meshgrid(np.arange(y0, y1), np.arange(x0, x1), indexing="ij")
        v = v + 40 * (np.sin(yy * 0.3) * np.cos(xx * 0.2))[None]
        return np.clip(v, 0, 255).astype(np.uint8)

    chunks = (32, 256, 256)
    lazy = da.map_blocks(chunk, dtype=np.uint8, chunks=tuple(
        tuple(min(c, n - s) for s in range(0, n, c)) for n, c in zip(shape, chunks, strict=True)))
    write_zarr(path, lazy, voxel_size=(40.0, 10.0, 10.0), chunks=chunks)


def _model_net(z_factor):
    import torch

    from napari_isorecon.core.networks.backbones import build_backbone
    from napari_isorecon.core.settings.config import TrainConfig

    cfg = TrainConfig(z_factor=z_factor)
    torch.manual_seed(0)
    net = build_backbone(cfg.backbone, cfg.z_factor, cfg.channels, cfg.blocks)
    for p in net.parameters():  # random weights: every layer matters for the difference check
        torch.nn.init.normal_(p, std=0.02)
    return net.eval()


def _job_net(kind, z_factor):
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.networks.generators import AxialInterpolator

    if kind == "model":  # float32 output (intensity units 0..255): the blockwise difference is measured exactly
        return _model_net(z_factor), Normalizer(0.0, 255.0, "<f4")
    return AxialInterpolator(z_factor, "cubic"), Normalizer(0.0, 255.0, "|u1")


def conv_gflops(memory_format=None, repeats=4, precision="float32") -> float:
    """GFLOP/s of a plain 3x3 convolution, 64 -> 64 channels on 8 x 128 x 128, best of ``repeats``, in
    ``precision`` (autocast, as the engine runs the networks)."""
    import torch

    from napari_isorecon.core.settings.precision import resolve_precision

    fmt = torch.channels_last if memory_format is None else memory_format
    autocast = resolve_precision(precision, "cpu").autocast
    with torch.inference_mode():
        layer = torch.nn.Conv2d(64, 64, 3, padding=1).to(memory_format=fmt)
        x = torch.randn(8, 64, 128, 128).contiguous(memory_format=fmt)
        with autocast():
            layer(x)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            with autocast():
                layer(x)
            times.append(time.perf_counter() - t)
    return 2 * 64 * 64 * 9 * 8 * 128 * 128 / min(times) / 1e9


def child_blockwise(src, out, kind, z_factor, block, batch, workers, precision="float32"):
    from napari_isorecon.core.inference.blockwise import write_blockwise
    from napari_isorecon.core.inference.reconstruct import run_to_end
    from napari_isorecon.core.io import read_zarr
    from napari_isorecon.core.settings.config import ReconConfig

    net, norm = _job_net(kind, z_factor)
    volume, _ = read_zarr(src)
    baseline = current_rss_mb()
    # the shared machine's load drifts: bracket with the conv limit in the same precision
    conv_before = conv_gflops(precision=precision) if kind == "model" else None
    t0 = time.perf_counter()
    cfg = ReconConfig(device="cpu", batch_size=batch, precision=precision)
    final = run_to_end(write_blockwise(volume, net, z_factor, norm, out, cfg, block=tuple(block), num_workers=workers))
    seconds = time.perf_counter() - t0
    conv_after = conv_gflops(precision=precision) if kind == "model" else None
    assert not final.stopped
    return {"seconds": seconds, "peak_rss_mb": rss_mb(), "baseline_rss_mb": baseline,
            "blocks": final.info["blocks"], "out_shape": list(final.info["shape"]),
            "conv_gflops_around": [conv_before, conv_after], "loadavg": os.getloadavg()[0]}


def child_whole(src, out_npy, kind, z_factor, batch, precision="float32"):
    from napari_isorecon.core.inference.reconstruct import run_to_end, slice_passes
    from napari_isorecon.core.io import read_zarr
    from napari_isorecon.core.settings.config import ReconConfig

    net, norm = _job_net(kind, z_factor)
    volume = np.asarray(read_zarr(src)[0][:])
    t0 = time.perf_counter()
    cfg = ReconConfig(device="cpu", batch_size=batch, precision=precision)
    result = run_to_end(slice_passes(volume, net, z_factor, norm, cfg))
    seconds = time.perf_counter() - t0
    np.save(out_npy, result.volume)
    return {"seconds": seconds, "peak_rss_mb": rss_mb()}


def child_conv_and_flops(z_factor, block, batch):
    """Conv limit, and the default network's FLOPs per output voxel (halo excluded and included)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from napari_isorecon.core.inference.blockwise import compute_block, plan_blocks
    from napari_isorecon.core.model.intensity import Normalizer

    conv = {"contiguous": conv_gflops(torch.contiguous_format, 6), "channels_last": conv_gflops(torch.channels_last, 6)}
    by_precision = {name: conv_gflops(torch.channels_last, 6, name) for name in precisions()}
    net = _model_net(z_factor)
    rows, width = 64, 256  # FLOPs per output voxel of one pass, no halo: count on one slice
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        net(torch.rand(1, 1, rows, width), int(round(rows * z_factor)))
    per_pass = counter.get_total_flops() / (int(round(rows * z_factor)) * width)
    # one interior block of a large volume, halo included, both passes
    plan = plan_blocks((3 * block[0], 3 * block[1], 3 * block[2]), z_factor, net.receptive_radius, block)
    blk = plan.block((1, 1, 1))
    raw = np.random.default_rng(0).integers(0, 255, [s.stop - s.start for s in blk.read], dtype=np.uint8)
    with FlopCounterMode(display=False) as counter:
        t = time.perf_counter()
        out = compute_block(raw, net, blk, Normalizer(0, 255, "|u1"), batch_size=batch)
        seconds = time.perf_counter() - t
    per_voxel_halo = counter.get_total_flops() / out.size
    return {"conv_gflops": conv, "conv_gflops_by_precision": by_precision, "flops_per_voxel": 2 * per_pass, "flops_per_voxel_with_halo": per_voxel_halo,
            "block": list(block), "block_read": [s.stop - s.start for s in blk.read],
            "block_seconds_counted": seconds}


def precisions() -> list[str]:
    """float32, and the reduced precision that "auto" takes on this CPU when it has one (bfloat16)."""
    from napari_isorecon.core.settings.precision import resolve_precision

    reduced = resolve_precision("auto", "cpu").name
    return ["float32"] + [reduced] * (reduced != "float32")


def run_child(name, *args):
    """Run ``name(*args)`` in a fresh interpreter; returns its JSON result."""
    code = (f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import scale_bench as b; "
            f"r = b.{name}(*json.loads(sys.argv[1])); print('@@' + json.dumps(r))")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("@@")]
    return json.loads(lines[-1][2:]) if lines and lines[-1] != "@@null" else None


# ------------------------------------------------------------------------------------------ machine
def machine() -> dict:
    import dask
    import torch
    import zarr

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/meminfo") as f:
            mem_gb = int(f.readline().split()[1]) / 2**20
    except OSError:
        mem_gb = float("nan")
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "memory_gb": round(mem_gb, 1), "gpu": "none" if not torch.cuda.is_available()
            else torch.cuda.get_device_name(0), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "dask": dask.__version__, "zarr": zarr.__version__, "python": platform.python_version(),
            "platform": platform.platform()}


# --------------------------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--out", default=str(HERE / "results" / "scale.md"))
    parser.add_argument("--workers", type=int, default=2, help="local dask threads (default 2)")
    parser.add_argument("--batch", type=int, default=16, help="slices per forward pass (default 16)")
    parser.add_argument("--parts", default="model,memory",
                        help="comma-separated parts to run (model, memory); the others are kept from the "
                             "existing results file")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    previous = {}
    if Path(args.out).with_suffix(".json").exists():
        previous = json.loads(Path(args.out).with_suffix(".json").read_text())

    work = Path(args.workdir or tempfile.mkdtemp(prefix="isorecon-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    load_start = os.getloadavg()
    report = {"machine": machine(), "workers": args.workers, "batch": args.batch}
    print(json.dumps(report["machine"], indent=1), flush=True)

    z_model, block_model = 10.0, (64, 256, 256)  # the default block
    speed = run_child("child_conv_and_flops", z_model, block_model, args.batch)
    conv_limit = max(speed["conv_gflops"].values())
    report["speed"] = speed
    report["conv_limit_gflops"] = conv_limit
    print(f"conv limit {conv_limit:.1f} GFLOP/s {speed['conv_gflops']}; default network "
          f"{speed['flops_per_voxel'] / 1e3:.1f} kFLOP per output voxel "
          f"({speed['flops_per_voxel_with_halo'] / 1e3:.1f} with the halo of a {block_model} block)", flush=True)

    # default network, blockwise vs whole
    model_sizes = [(8, 128, 128), (16, 256, 256)] if args.quick else [(8, 128, 128), (16, 256, 256),
                                                                        (32, 384, 384)]
    report["model"] = [] if "model" in parts else previous.get("model", [])
    for shape in model_sizes if "model" in parts else []:
        src = work / f"model_in_{'x'.join(map(str, shape))}.zarr"
        if not src.exists():
            run_child("child_make_input", str(src), list(shape))
        whole_npy = work / "whole.npy"
        whole = run_child("child_whole", str(src), str(whole_npy), "model", z_model, args.batch)  # float32
        import zarr

        reference = np.load(whole_npy)
        scale = float(np.abs(reference).max())
        for precision in precisions():  # side by side in one run
            out = work / f"model_out_{'x'.join(map(str, shape))}.zarr"
            shutil.rmtree(out, ignore_errors=True)
            blocked = run_child("child_blockwise", str(src), str(out), "model", z_model, list(block_model),
                                args.batch, args.workers, precision)
            diff = float(np.abs(zarr.open_group(str(out), mode="r")["0"][:] - reference).max())
            voxels = int(np.prod(blocked["out_shape"]))
            row = {"input": list(shape), "output": blocked["out_shape"], "voxels": voxels, "precision": precision,
                   "blocks": blocked["blocks"], "seconds": blocked["seconds"],
                   "voxels_per_s": voxels / blocked["seconds"],
                   "gflops": voxels / blocked["seconds"] * speed["flops_per_voxel"] / 1e9,
                   "peak_rss_mb": blocked["peak_rss_mb"], "baseline_rss_mb": blocked["baseline_rss_mb"],
                   "whole_seconds": whole["seconds"], "whole_voxels_per_s": voxels / whole["seconds"],
                   "whole_peak_rss_mb": whole["peak_rss_mb"], "max_abs_diff": diff, "max_abs_value": scale}
            around = [v for v in blocked["conv_gflops_around"] if v]
            limit = speed["conv_gflops_by_precision"][precision]
            row["conv_limit_around"] = max(around)
            row["conv_fraction"] = row["gflops"] / max(limit, row["conv_limit_around"])
            row["loadavg_after"] = blocked["loadavg"]
            report["model"].append(row)
            print(f"model {shape} -> {tuple(row['output'])} in {precision}: {row['voxels_per_s'] / 1e6:.2f} Mvox/s "
                  f"blockwise ({row['gflops']:.1f} GFLOP/s = {100 * row['conv_fraction']:.0f}% of its conv limit), "
                  f"whole float32 {row['whole_voxels_per_s'] / 1e6:.2f} Mvox/s, peak RSS {row['peak_rss_mb']:.0f} MB, "
                  f"max |blockwise - whole float32| = {diff:.2e} (values up to {scale:.0f})", flush=True)
            shutil.rmtree(out, ignore_errors=True)
        whole_npy.unlink()

    # memory flatness with the interpolator: outputs of ~0.25, 1, 4 GB (uint8)
    z_interp = 4.0
    mem_sizes = {"0.25": (64, 1000, 1000), "1": (128, 1414, 1414), "4": (256, 2000, 2000)}
    if args.quick:
        mem_sizes = {"0.03": (32, 512, 512), "0.25": (64, 1000, 1000)}
    report["memory"] = [] if "memory" in parts else previous.get("memory", [])
    for label, shape in mem_sizes.items() if "memory" in parts else []:
        src = work / f"mem_in_{label}.zarr"
        if not src.exists():
            run_child("child_make_input", str(src), list(shape))
        out = work / f"mem_out_{label}.zarr"
        shutil.rmtree(out, ignore_errors=True)
        blocked = run_child("child_blockwise", str(src), str(out), "interp", z_interp, [64, 256, 256],
                            args.batch, args.workers)
        voxels = int(np.prod(blocked["out_shape"]))
        row = {"label_gb": label, "input": list(shape), "output": blocked["out_shape"], "output_gb": voxels / GB,
               "blocks": blocked["blocks"], "seconds": blocked["seconds"], "voxels_per_s": voxels / blocked["seconds"],
               "peak_rss_mb": blocked["peak_rss_mb"], "baseline_rss_mb": blocked["baseline_rss_mb"]}
        if voxels <= 0.3 * GB:  # whole-volume reference only where the whole output fits comfortably
            whole_npy = work / "whole.npy"
            whole = run_child("child_whole", str(src), str(whole_npy), "interp", z_interp, args.batch)
            import zarr

            result = zarr.open_group(str(out), mode="r")["0"]
            reference = np.load(whole_npy, mmap_mode="r")
            diff = 0
            for z0 in range(0, voxels // (shape[1] * shape[2]), 64):
                diff = max(diff, int(np.abs(result[z0:z0 + 64].astype(np.int16)
                                            - reference[z0:z0 + 64].astype(np.int16)).max()))
            row.update(max_abs_diff_uint8=diff, whole_peak_rss_mb=whole["peak_rss_mb"],
                       whole_seconds=whole["seconds"])
            del reference
            whole_npy.unlink()
        report["memory"].append(row)
        print(f"interp {label} GB {shape} -> {tuple(row['output'])}: {row['voxels_per_s'] / 1e6:.1f} Mvox/s, "
              f"{row['seconds']:.0f} s, peak RSS {row['peak_rss_mb']:.0f} MB "
              f"(baseline {row['baseline_rss_mb']:.0f} MB)"
              + (f", whole-volume peak {row['whole_peak_rss_mb']:.0f} MB, max diff {row['max_abs_diff_uint8']}"
                 if "max_abs_diff_uint8" in row else ""), flush=True)
        shutil.rmtree(out, ignore_errors=True)

    report["load_average"] = {"start": load_start, "end": os.getloadavg()}
    report["wall_seconds"] = time.time() - started
    report["parts_run"] = sorted(parts)
    if "memory" not in parts and previous:
        report["memory_run"] = previous.get("memory_run", {"load_average": previous.get("load_average"),
                                                           "wall_seconds": previous.get("wall_seconds")})
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    write_report(report, Path(args.out))
    return report


def write_report(report, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(report, indent=1))
    m = report["machine"]
    speed = report["speed"]
    lines = [
        "# Scale benchmark (blockwise reconstruction)", "",
        "Command: `python benchmarks/scale_bench.py"
        + ("" if set(report.get("parts_run", ["model", "memory"])) >= {"model", "memory"}
           else f" --parts {','.join(report['parts_run'])}")
        + f"` ({report['wall_seconds'] / 60:.1f} min). "
        f"Local dask threads: {report['workers']}, slices per forward pass: {report['batch']}.", "",
        (f"Machine: {m['cpu']}, {m['usable_cores']} usable cores, {m['memory_gb']} GB RAM, GPU: {m['gpu']}; "
         f"torch {m['torch']} ({m['torch_threads']} threads), dask {m['dask']}, zarr {m['zarr']}, "
         f"Python {m['python']}. Load average at start/end: "
         f"{' '.join(f'{v:.1f}' for v in report['load_average']['start'])} / "
         f"{' '.join(f'{v:.1f}' for v in report['load_average']['end'])} (the machine is shared)."), "",
        "## Conv limit and network cost", "",
        "- Plain 3x3 convolution, 64->64 channels, 8x128x128, float32: "
        + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in speed["conv_gflops"].items())
        + f"; the conv limit below is the best, **{report['conv_limit_gflops']:.1f} GFLOP/s**.",
        "- The same convolution, channels-last, per precision (the limit each precision's rows are read "
        "against): " + ", ".join(f"{k} **{v:.1f} GFLOP/s**" for k, v in
                                 speed.get("conv_gflops_by_precision", {}).items()) + ".",
        (f"- Default network (edsr, 32 channels, 4 blocks, z-factor 10): **{speed['flops_per_voxel'] / 1e3:.1f} "
         f"kFLOP per output voxel** (both slice passes, convolutions only); "
         f"{speed['flops_per_voxel_with_halo'] / 1e3:.1f} kFLOP with the halo of a {tuple(speed['block'])} block "
         f"(reads {tuple(speed['block_read'])})."), "",
        "## Default network: blockwise vs whole volume", "",
        ("| input (z,y,x) | output | blocks | precision | blockwise voxels/s | GFLOP/s | of its conv limit | "
         "peak RSS | whole-volume voxels/s (float32) | whole peak RSS | max abs diff to whole float32 "
         "(values 0-255) | load avg |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["model"]:
        lines.append(f"| {tuple(r['input'])} | {tuple(r['output'])} | {r['blocks']} | {r.get('precision', 'float32')} "
                     f"| {r['voxels_per_s'] / 1e6:.2f} M "
                     f"| {r['gflops']:.1f} | {100 * r['conv_fraction']:.0f}% of {r['conv_limit_around']:.0f} "
                     f"| {r['peak_rss_mb']:.0f} MB | {r['whole_voxels_per_s'] / 1e6:.2f} M "
                     f"| {r['whole_peak_rss_mb']:.0f} MB | {r['max_abs_diff']:.1e} | {r['loadavg_after']:.1f} |")
    lines += [
        "",
        ("FLOP/s counts the network's convolutions per output voxel without the halo (useful work); the "
         "halo, interpolation, normalisation and zarr I/O are overhead against the conv limit. The fraction is "
         "taken against the best conv throughput measured in the run (at the start, and just before and after "
         "each row, since the shared machine's load drifts). The network writes float32 here so that the "
         "difference is exact; in uint8 it is 0 in float32, or 1 for a value on .5 that float rounding tips the "
         "other way. A reduced-precision row's difference is its rounding against the float32 result (random "
         "weights: every layer matters)."),
        "", "## Memory: peak RSS is flat in the output size", "",
        "Cubic interpolation (AxialInterpolator through the same block machinery, z-factor 4, blocks of "
        "64x256x256 input voxels) from a synthetic uint8 zarr to an OME-Zarr."
        + (f" (Measured in an earlier run of this script, {report['memory_run']['wall_seconds'] / 60:.1f} min, "
           f"load average at its end {report['memory_run']['load_average']['end'][0]:.1f}.)"
           if report.get("memory_run") else ""), "",
        ("| output | output size | blocks | voxels/s | time | peak RSS | after imports | whole-volume peak RSS "
         "| max abs diff |"), "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["memory"]:
        lines.append(f"| {tuple(r['output'])} | {r['output_gb']:.2f} GB | {r['blocks']} | "
                     f"{r['voxels_per_s'] / 1e6:.1f} M | {r['seconds']:.0f} s | {r['peak_rss_mb']:.0f} MB | "
                     f"{r['baseline_rss_mb']:.0f} MB | "
                     + (f"{r['whole_peak_rss_mb']:.0f} MB | {r['max_abs_diff_uint8']} |" if "max_abs_diff_uint8" in r
                        else "not run (needs the output in memory) | - |"))
    path.write_text("\n".join(lines) + "\n")
    print(f"\nwritten {path} and {path.with_suffix('.json')}")


if __name__ == "__main__":
    main()
