"""When does training stop, and what does stopping cost? One long default run on an isotropic volume made into box
sections, its held-back curve and its PSNR against the truth along the way, and the early-stopping rule replayed
on that curve for several budgets.

    python benchmarks/early_stop_curve.py --volume ../shared/data/fibsem_medulla_iso10nm_250.tif --z-factor 10 \
        --steps 57000 --out benchmarks/results/early_stop

The default pairs (declared sections) skip stage 1, so training does not depend on the budget: a run of N steps
is the first N steps of a longer one (the learning rate decays per step, not per budget), and one long run shows
every shorter budget. The network is kept at every ``--keep-every`` steps and at every held-back evaluation that
is a new best (the state a converged run restores); each kept state is scored against the truth (xz PSNR).
Budgets in minutes are converted with the run's own steps per second (say which machine, and that the run had
the CPU to itself). Writes early_stop.json and early_stop.md in ``--out``.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
from sharp_bench import box_sections  # a sibling: run this file as a script, from the repository root


def replay(curve, budget_steps: int, cfg) -> dict:
    """The plateau rule (core.training.early_stop.PlateauRule, the defaults of ``cfg``) replayed on the held-back
    ``curve`` [(step, psnr)] of a run with a budget of ``budget_steps``: where it stops and its best step."""
    from napari_isorecon.core.training.early_stop import PlateauRule

    rule = PlateauRule.of(cfg)
    for step, psnr in curve:
        if step > budget_steps:
            break
        rule.update(psnr, step)
        if rule.should_stop(step / budget_steps):
            return {"stopped_at": step, "kept": rule.best_step, "converged": True}
    return {"stopped_at": budget_steps, "kept": None, "converged": False}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--volume", required=True)
    ap.add_argument("--z-factor", type=int, default=10)
    ap.add_argument("--steps", type=int, default=57000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep-every", type=int, default=2000)
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 2, 5, 10, 20])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    import tifffile
    import torch

    from napari_isorecon.core import TrainConfig, interpolate_volume
    from napari_isorecon.core.checks.metrics import axial_scores
    from napari_isorecon.core.events import TrainFinished
    from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end
    from napari_isorecon.core.training import early_stop
    from napari_isorecon.core.training.train import train

    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    truth = tifffile.imread(args.volume)
    f = args.z_factor
    sections = box_sections(truth, f)
    truth = truth[:sections.shape[0] * f]
    cfg = TrainConfig(z_factor=f, steps=args.steps, minutes=None, seed=args.seed)
    states, curve, best = {}, [], [-np.inf]
    score = early_stop.HeldOutWatch.score

    def scored(self, network, state, *a, **k):  # keep the network at every new best and every --keep-every
        event = score(self, network, state, *a, **k)
        curve.append([event.step, event.psnr, event.elapsed])
        if event.psnr > best[0] or event.step // args.keep_every != (curve[-2][0] if len(curve) > 1 else -1) \
                // args.keep_every:
            states[event.step] = copy.deepcopy(network.state_dict())
            best[0] = max(best[0], event.psnr)
        return event

    early_stop.HeldOutWatch.score = scored
    early_stop.HeldOutWatch.converged = lambda self, progress: False  # never stop here: the rule is replayed
    finished = None
    for event in train(sections, cfg):
        if isinstance(event, TrainFinished):
            finished = event
    seconds_per_step = finished.elapsed / finished.steps
    model = finished.model
    rows = []
    for minutes in args.minutes:
        budget = min(args.steps, int(minutes * 60 / seconds_per_step))
        stop = replay([(c[0], c[1]) for c in curve], budget, cfg)
        rows.append({"minutes": minutes, "budget_steps": budget, **stop,
                     "minutes_early": stop["stopped_at"] * seconds_per_step / 60})
    grid = {s for s in states if s % args.keep_every == 0} | {max(states)}

    def state_at(step):  # the last kept state at or before ``step``
        return max(s for s in states if s <= step)

    wanted = grid | {state_at(r["budget_steps"]) for r in rows} | {r["kept"] for r in rows if r["converged"]}
    scores = {}
    for step in sorted(wanted):
        model.reconstructor.load_state_dict(states[step])
        scores[step] = axial_scores(run_to_end(reconstruct(sections, model)).volume, truth)["xz"]["psnr"]
        print(f"step {step}: {scores[step]:.3f} dB", flush=True)
    for r in rows:
        r["psnr_fixed"] = scores[state_at(r["budget_steps"])]
        r["psnr_early"] = scores[r["kept"]] if r["converged"] else r["psnr_fixed"]
    cubic = axial_scores(interpolate_volume(sections, f), truth)["xz"]["psnr"]
    report = {"volume": str(args.volume), "z_factor": f, "seed": args.seed, "steps": args.steps,
              "seconds_per_step": seconds_per_step, "cubic": cubic, "curve": curve,
              "truth_psnr": {str(k): v for k, v in scores.items()}, "budgets": rows,
              "rule": {"patience": cfg.early_stop_patience, "min_delta": cfg.early_stop_min_delta,
                       "after": cfg.early_stop_after, "share": early_stop.PLATEAU_SHARE}}
    (args.out / "early_stop.json").write_text(json.dumps(report, indent=1))
    lines = [f"# Early stopping on {Path(args.volume).name}, box sections x{f}, seed {args.seed}", "",
             f"{seconds_per_step * 1000:.1f} ms per step ({torch.get_num_threads()} threads); cubic {cubic:.2f} dB.",
             "", ("| budget (min) | steps | fixed budget: xz PSNR | early stop: stops at (min) | its xz PSNR | "
                  "converged |"), "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['minutes']:g} | {r['budget_steps']} | {r['psnr_fixed']:.3f} | {r['minutes_early']:.1f} "
                     f"| {r['psnr_early']:.3f} | {'yes' if r['converged'] else 'no (budget)'} |")
    (args.out / "early_stop.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"trained in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
