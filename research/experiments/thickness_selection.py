"""Can the hidden-section check tell which section thickness a stack was acquired with?

For each stack (simulated x10 acquisitions of an isotropic volume, whose thickness is known, and real
stacks), run the hidden-section check once per candidate thickness (training pairs and the hidden-section
prediction both use it) and report ours' PSNR / SSIM on the hidden sections. If the best-scoring candidate is
the simulation's thickness, the check can choose the thickness a user should declare.

    python research/experiments/thickness_selection.py --minutes 2 \
        --degradations take_centred box_thin box --real ../shared/data/sstem_cremi_4x4x40nm_train.tif
"""

from __future__ import annotations

import argparse

import numpy as np

from napari_isorecon.bench.simulate import simulate_acquisition
from napari_isorecon.core.checks.hidden_sections import run_hidden_section_check
from napari_isorecon.core.events import HiddenSectionsChecked
from napari_isorecon.core.io import open_volume
from napari_isorecon.core.settings.config import TrainConfig
from napari_isorecon.core.training.sections import BOX_THICKNESS

TRUE_THICKNESS = {**BOX_THICKNESS, "take_centred": 0.0}


def check(stack, z_factor, thickness, minutes, seed):
    cfg = TrainConfig(z_factor=z_factor, minutes=minutes, seed=seed, section_thickness=thickness,
                      thickness_spread=0.0)  # measured before the spread; each candidate exactly
    report = [e for e in run_hidden_section_check(stack, cfg) if isinstance(e, HiddenSectionsChecked)][-1].report
    return report.summary


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="../shared/data/fibsem_medulla_iso10nm_250.tif")
    p.add_argument("--z-factor", type=float, default=10.0)
    p.add_argument("--degradations", nargs="*", default=["take_centred", "box_thin", "box"])
    p.add_argument("--real", nargs="*", default=[], help="real anisotropic stacks (their own z-factor: --z-factor)")
    p.add_argument("--candidates", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    p.add_argument("--minutes", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    stacks = []
    if args.degradations:
        iso, _ = open_volume(args.volume)
        depth = int(iso.shape[0] // args.z_factor * args.z_factor)
        for kind in args.degradations:
            stack = simulate_acquisition(np.asarray(iso[:depth]), args.z_factor, kind, 0.0, args.seed)
            stacks.append((f"{kind} (true thickness {TRUE_THICKNESS.get(kind, float('nan')):g})", stack))
    for path in args.real:
        stacks.append((path, open_volume(path)[0]))
    print(f"x{args.z_factor:g}, {args.minutes:g} min per check, seed {args.seed}; ours on the hidden sections "
          "(PSNR / SSIM), cubic and neighbour mean for reference")
    for name, stack in stacks:
        print(f"\n{name}: {tuple(stack.shape)}")
        for t in args.candidates:
            s = check(stack, args.z_factor, t, args.minutes, args.seed)
            print(f"  declared {t:g}: ours {s['ours']['psnr']:.2f} / {s['ours']['ssim']:.3f}   cubic "
                  f"{s['cubic']['psnr']:.2f} / {s['cubic']['ssim']:.3f}   neighbour mean "
                  f"{s['neighbour mean']['psnr']:.2f} / {s['neighbour mean']['ssim']:.3f}", flush=True)


if __name__ == "__main__":
    main()
