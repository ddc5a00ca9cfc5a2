"""Stage 2 alone (from an interpolating backbone) on a saved G_hl, scored on every xz/yz slice.

    python research/experiments/s2.py MODE STEPS [GHL.pt] [F]

MODE: ``full`` (pairs from the whole G_hl), ``main`` (its kernel path alone) or ``oracle`` (the true cubic
degradation; GHL.pt unused). GHL.pt defaults to ``ghl_glh_500.pt`` (from init.py), F to 10.
"""
import json
import os
import sys
import time

import tifffile
import torch

import napari_isorecon.core.training.sections as D
from napari_isorecon.bench import exact_crop_depth
from napari_isorecon.core import TrainConfig
from napari_isorecon.core.checks.metrics import axial_scores
from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end
from napari_isorecon.core.networks.generators import AxialDegradation
from napari_isorecon.core.training import train as T

mode, steps = sys.argv[1], int(sys.argv[2])
path = sys.argv[3] if len(sys.argv) > 3 else "ghl_glh_500.pt"
f = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
iso = tifffile.imread(os.environ.get("ISORECON_FIBSEM", "../shared/data/fibsem_medulla_iso10nm_250.tif"))
iso = iso[:exact_crop_depth(iso.shape[0], f)]  # as the bench does
lr = D.degrade_volume(iso, f, "cubic")
if mode != "oracle":
    g = AxialDegradation(f, 16, 2)
    g.load_state_dict(torch.load(path))
    g.eval()
    if mode == "main":
        g.residual = None
    D.degrade_slices = lambda hr, factor, kind, rows=None: g(hr, rows)  # "cubic" now means this G_hl
t0 = time.time()
for event in T.train(lr, TrainConfig(z_factor=f, steps=steps, minutes=None), degradation="cubic"):
    last = event
scores = axial_scores(run_to_end(reconstruct(lr, last.model)).volume, iso)
print(json.dumps({"mode": mode, "ghl": path if mode != "oracle" else None, "steps": steps,
                  "xz": round(scores["xz"]["psnr"], 3), "yz": round(scores["yz"]["psnr"], 3),
                  "ssim": round(scores["xz"]["ssim"], 4), "t": round(time.time() - t0, 1)}))
