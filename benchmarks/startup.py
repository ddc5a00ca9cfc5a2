"""How long from start to the first training step: the whole `isorecon train sample --steps 1` command (best of
``--repeats``), and inside one process the imports, the artefact scan, the set-up before stage 2 and the first
step, with the share of torch's own import of ``torch._dynamo`` (made when the first optimizer is built).

    python benchmarks/startup.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def command_seconds(repeats: int) -> float:
    exe = Path(sys.executable).with_name("isorecon")
    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([str(exe), "train", "sample", "--steps", "1", "--out", f"{tmp}/m.pt", "--overwrite"],
                           check=True, capture_output=True)
            best = min(best, time.perf_counter() - start)
    return best


def in_process() -> dict:
    code = """
import time; t0 = time.perf_counter()
from napari_isorecon.core.training.train import train
from napari_isorecon.core import TrainConfig
from napari_isorecon.sample import anisotropic_sample
t_import = time.perf_counter() - t0
volume, _ = anisotropic_sample()
marks = {}
for event in train(volume, TrainConfig(z_factor=5, steps=3, minutes=None)):
    marks.setdefault(type(event).__name__, time.perf_counter() - t0)
    if type(event).__name__ == "TrainStep":
        break
t1 = time.perf_counter(); import torch.optim; torch.optim.Adam([torch.zeros(1, requires_grad=True)])
print(t_import, marks["ArtefactsFound"], marks["StageStarted"], marks["TrainStep"], time.perf_counter() - t1)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    imports, scanned, started, first, second_optimizer = map(float, out)
    code = "import time, torch; t = time.perf_counter(); import torch._dynamo; print(time.perf_counter() - t)"
    dynamo = float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    return {"imports": imports, "artefact scan done": scanned, "stage started": started, "first step": first,
            "importing torch._dynamo alone": dynamo, "a later optimizer": second_optimizer}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    import platform

    print(f"{platform.processor() or platform.machine()}; seconds from the start of the process")
    print(f"isorecon train sample --steps 1 (whole command, best of {args.repeats}): "
          f"{command_seconds(args.repeats):.2f} s")
    for name, seconds in in_process().items():
        print(f"{name}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
