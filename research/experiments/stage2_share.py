"""Share of the budget given to stage 2 (supervised training on G_hl pairs): ours_stage2 at a minutes budget.

    python research/experiments/stage2_share.py 10 10 0.8 benchmarks/results/stage2_share_x10_0.8.json

Arguments: z-factor, minutes, stage2_fraction, output JSON. Uses the bench's protocol (cubic degradation of the
isotropic FIB-SEM volume, every xz/yz slice scored); the oracle and interpolations are in research/bench reports.
"""

import json
import os
import sys

import tifffile

from napari_isorecon.bench import run_bench
from napari_isorecon.core.settings.config import LossWeights

z_factor, minutes, share, out = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
iso = tifffile.imread(os.environ.get("ISORECON_FIBSEM", "../shared/data/fibsem_medulla_iso10nm_250.tif"))
report = run_bench(iso, z_factor, minutes=minutes, methods=("ours_stage2",),
                   # as measured, before the kernel prior and kernel-path pairs became the defaults
                   train_overrides={"stage2_fraction": share, "stage2_pairs": "full",
                                    "weights": LossWeights(kernel_smooth=0.0)})
result = {"z_factor": z_factor, "minutes": minutes, "stage2_fraction": share,
          "ours_stage2": report["methods"]["ours_stage2"],
          "fidelity": report["degradation_fidelity"]["ours_stage2"], "machine": report["machine"]}
with open(out, "w") as f:
    json.dump(result, f, indent=2)
print(json.dumps(result, indent=2))
