"""Which training settings make the hidden-section check on a real serial-section stack come out best?

Runs core.checks.hidden_sections.run_hidden_section_check (the code behind ``isorecon validate``) for each variant
of TrainConfig at a fixed step budget (results do not depend on machine load; wall times do) and writes one
JSON line per variant with the ours / cubic / neighbour-mean scores and the learned kernel's summary.

    python research/experiments/real_variants.py --steps 8000 --variants default match_noise \
        --out benchmarks/results/real_variants.jsonl
"""

from __future__ import annotations

import argparse
import json
import time

from napari_isorecon.core.checks.hidden_sections import run_hidden_section_check
from napari_isorecon.core.checks.kernel_summary import model_kernel_summary
from napari_isorecon.core.events import HiddenSectionsChecked, TrainFinished
from napari_isorecon.core.io import open_volume
from napari_isorecon.core.settings.config import TrainConfig

# every variant names the settings whose defaults changed on 2026-12-01 (research/log.md, "Real stacks"): the
# stage-2 loss and noise matching, then the stage-2 pairs (sections instead of the learned kernel), so that a
# variant means the same before and after; "default" is whatever TrainConfig says now
LEARNED = {"stage2_pairs": "kernel"}
OLD_DEFAULT = {"stage2_loss": "l1", "match_noise": False, **LEARNED}
VARIANTS = {
    "default": {},
    "old_default": OLD_DEFAULT,
    "match_noise": {**OLD_DEFAULT, "match_noise": True},
    "no_prior": {**OLD_DEFAULT, "kernel_smooth": 0.0},
    "section+noise": {**OLD_DEFAULT, "kernel_model": "section", "match_noise": True},
    "no_prior+noise": {**OLD_DEFAULT, "kernel_smooth": 0.0, "match_noise": True},
    "l2": {**OLD_DEFAULT, "stage2_loss": "l2"},
    "l2+noise": {"stage2_loss": "l2", "match_noise": True, **LEARNED},
    "section_pairs": {"stage2_loss": "l2", "match_noise": True, "stage2_pairs": "section"},
    "section+l2+noise": {"kernel_model": "section", "stage2_loss": "l2", "match_noise": True, **LEARNED},
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="../shared/data/sstem_cremi_4x4x40nm_train.tif")
    p.add_argument("--z-factor", type=float, default=10.0)
    p.add_argument("--steps", type=int, default=8000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS))
    p.add_argument("--out", required=True)
    args = p.parse_args()
    volume, _ = open_volume(args.volume)
    for name in args.variants:
        options = dict(VARIANTS[name])
        weights = {}
        if "kernel_smooth" in options:
            weights["kernel_smooth"] = options.pop("kernel_smooth")
        cfg = TrainConfig(z_factor=args.z_factor, steps=args.steps, minutes=None, seed=args.seed, **options)
        if weights:
            cfg = cfg.replace_weights(**weights)
        t0 = time.time()
        model, report = None, None
        for event in run_hidden_section_check(volume, cfg):
            if isinstance(event, TrainFinished):
                model = event.model
            if isinstance(event, HiddenSectionsChecked):
                report = event.report
        row = {"variant": name, "steps": args.steps, "seed": args.seed, "wall_s": round(time.time() - t0, 1),
               "summary": report.summary, "kernel": model_kernel_summary(model)}
        with open(args.out, "a") as fh:
            fh.write(json.dumps(row, default=float) + "\n")
        print(name, json.dumps(row["summary"], default=float), flush=True)


if __name__ == "__main__":
    main()
