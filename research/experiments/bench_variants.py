"""The simulated bench (bench.run.run_bench) for training-setting variants at a fixed step budget.

Each variant's overrides go to every trained method (the oracle too: same stage-2 network, loss and
budget). One JSON line per (degradation, variant) with the xz/yz scores of cubic, the oracle and ours.

    python research/experiments/bench_variants.py --degradations box box_thin --variants default l2 \
        --steps 9000 --out benchmarks/results/bench_variants.jsonl
    python research/experiments/bench_variants.py --degradations box_thin take_centred box_thick \
        gaussian_centred box --variants spread0.5 --methods cubic ours_stage2 --minutes 10 \
        --out benchmarks/results/thickness_spread.jsonl
"""

from __future__ import annotations

import argparse
import json
import time

import tifffile

from napari_isorecon.bench.run import run_bench

# every variant names the settings whose defaults changed on 2026-12-01 (research/log.md, "Real stacks"): the
# stage-2 loss and noise matching, then the stage-2 pairs (sections instead of the learned kernel), then the
# thickness spread, so that a variant means the same before and after; "default" is what TrainConfig says now
LEARNED = {"stage2_pairs": "kernel"}
OLD_DEFAULT = {"stage2_loss": "l1", "match_noise": False, **LEARNED}
VARIANTS = {
    "default": {},
    "old_default": OLD_DEFAULT,
    "l2": {**OLD_DEFAULT, "stage2_loss": "l2"},
    "match_noise": {**OLD_DEFAULT, "match_noise": True},
    "l2+noise": {"stage2_loss": "l2", "match_noise": True, **LEARNED},
    "section_pairs": {"stage2_loss": "l2", "match_noise": True, "stage2_pairs": "section",
                      "thickness_spread": 0.0},
    # stage-2 sections of a thickness drawn per patch around the declared one (research/log.md)
    "spread0.5": {"thickness_spread": 0.5},
    "spread1": {"thickness_spread": 1.0},
    # the output's mean held to the sections' between them (model.phase_levels, the default since 2026-12-03)
    # off, and the L1 stage-2 loss with it on (research/log.md, "Intensity")
    "no_hold": {"hold_section_mean": False},
    "l1": {"stage2_loss": "l1"},
    # capacity for the headroom table (docs/benchmarks.md, "Headroom"): twice the channels, twice the blocks
    "channels64": {"channels": 64},
    "blocks8": {"blocks": 8},
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="../shared/data/fibsem_medulla_iso10nm_250.tif")
    p.add_argument("--z-factor", type=float, default=10.0)
    p.add_argument("--steps", type=int, default=9000)
    p.add_argument("--minutes", type=float, default=None, help="a minutes budget instead of --steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--degradations", nargs="+", default=["box"])  # kind or kind:noise
    p.add_argument("--variants", nargs="+", default=list(VARIANTS))
    p.add_argument("--methods", nargs="+", default=["cubic", "oracle", "ours_stage2"])
    p.add_argument("--out", required=True)
    args = p.parse_args()
    truth = tifffile.imread(args.volume)
    for spec in args.degradations:
        kind, _, noise = spec.partition(":")
        for name in args.variants:
            t0 = time.time()
            report = run_bench(truth, args.z_factor, kind, steps=None if args.minutes else args.steps,
                               minutes=args.minutes or 10.0, methods=args.methods, seed=args.seed,
                               train_overrides=VARIANTS[name], noise=float(noise or 0), log=lambda *a: None)
            budget = {"minutes": args.minutes} if args.minutes else {"steps": args.steps}
            row = {"degradation": spec, "variant": name, **budget, "seed": args.seed,
                   "wall_s": round(time.time() - t0, 1),
                   "scores": {m: {ax: r[ax] for ax in ("xz", "yz")} for m, r in report["methods"].items()}}
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row, default=float) + "\n")
            print(spec, name, {m: round(v["xz"]["psnr"], 2) for m, v in row["scores"].items()}, flush=True)


if __name__ == "__main__":
    main()
