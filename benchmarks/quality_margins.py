"""The margins behind tests/core/test_quality.py: the default settings trained for a fixed number of steps on the
shipped crop "a" made into box sections, reconstructing the held-back crop "b", against scipy's cubic spline
(seeds, both precisions); and the hidden-section check's medians for a few step counts. Degradation and baseline
come from the test module (numpy / scipy), not from the code under test.

    python benchmarks/quality_margins.py --steps 600 --seeds 0 1 2 --out benchmarks/results/quality_margins.txt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))

from test_quality import Z_FACTOR, box_sections, psnr, spline_interpolation  # noqa: E402

from napari_isorecon.core import TrainConfig, reconstruct_volume, train_model, validate  # noqa: E402
from napari_isorecon.core.settings.precision import cpu_has_native_bf16  # noqa: E402
from napari_isorecon.sample import isotropic_sample  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--check-steps", type=int, nargs="+", default=[1, 400])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    lines = []

    def say(text):
        print(text, flush=True)
        lines.append(text)

    truth_a, truth_b = isotropic_sample("a"), isotropic_sample("b")
    sections_a, sections_b = box_sections(truth_a, Z_FACTOR), box_sections(truth_b, Z_FACTOR)
    spline = psnr(spline_interpolation(sections_b, Z_FACTOR, truth_b.shape[0]), truth_b)
    say(f"held-back crop b, x{Z_FACTOR} box sections: scipy cubic spline {spline:.3f} dB")
    precisions = ["float32"] + (["bfloat16"] if cpu_has_native_bf16() else [])
    for precision in precisions:
        for seed in args.seeds:
            start = time.perf_counter()
            model = train_model(sections_a, config=TrainConfig(z_factor=Z_FACTOR, steps=args.steps, minutes=None,
                                                               seed=seed, precision=precision))
            ours = psnr(reconstruct_volume(sections_b, model), truth_b)
            say(f"{precision} seed {seed} {args.steps} steps: ours {ours:.3f} dB, margin {ours - spline:+.3f} dB "
                f"({time.perf_counter() - start:.1f} s)")
    model = train_model(sections_a, config=TrainConfig(z_factor=Z_FACTOR, steps=1, minutes=None, seed=0,
                                                       precision="float32"))
    ours = psnr(reconstruct_volume(sections_b, model), truth_b)
    say(f"float32 seed 0 1 step (untrained): ours {ours:.3f} dB, margin {ours - spline:+.3f} dB")
    stack = box_sections(truth_a, 2)
    for steps in args.check_steps:
        for hold in (True, False):
            report = validate(stack, z_factor=2, steps=steps, minutes=None, seed=0, hold_section_mean=hold)
            cubic = report.against["cubic"]
            say(f"check x2 (trains x4), {steps} steps, hold_section_mean={hold}: ours_wins={report.ours_wins}, "
                f"vs cubic median {cubic['psnr']['median']:+.4f} dB / {cubic['ssim']['median']:+.4f} SSIM, "
                f"won {cubic['psnr']['sections_won']} of {cubic['psnr']['sections']}")
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
