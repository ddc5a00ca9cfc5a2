"""Can a network learn the section thickness from the volume's own sections? (A fifth identifiability test.)

The stage-2 network trained with a thickness spread sees sections of many thicknesses, yet on thin and thick
sections it does little better than one trained on a single thickness (issue 11's bar), as if it could not
tell the thickness from its input. This asks whether anything can, with a network whose only job is to:

1. **self-supervised training**, as the product would do it: patches of the stack's own xy sections,
   integrated along one lateral axis over sections of a random thickness t in [0, T_MAX] z-steps, every f
   rows, with the pixel noise that the averaging removed put back (core.training.noise), standardised per patch; a
   small CNN regresses t (even sections train, odd sections are held out);
2. **in distribution**: its error on held-out synthetic patches, one patch at a time and pooled (the median
   over many patches, as a volume-level estimate would be);
3. **on the real axial slices** (xz and yz patches of the same size, rows one section apart): the median
   reading over 4,000 patches, for simulated acquisitions of known thickness and for a real stack;
4. **in the swapped geometry**: a synthetic patch is a section (already integrated along z over the true
   thickness) integrated along y over t, a real axial patch is integrated along z only, so the two differ
   even at t = truth. Averaging the axial slices across (xz slices along y, yz along x) over t gives them
   the synthetic patch's geometry with y and z swapped: for tissue alike along z and y the two then agree
   exactly at t = truth. The estimate is the t where the swapped reading meets the held-out reading of t.

Result (seed 0, about 15 min; benchmarks/results/thickness_regressor.txt): in distribution the regressor
tells thicknesses apart from half a z-step up (one patch: RMS error 0.19-0.34 z-steps; the median of 1,000
patches reads 1 z-step as 0.79-0.90) but hardly planes from thin sections (held-out medians 0.43-0.58 for
planes, 0.51-0.58 for half a z-step). On the axial slices its readings follow
the truth's order on every x10 simulation (planes and thin sections tied at 0.38, one z-step 0.52, bicubic 0.72, Gaussian
0.81, 1.5 z-steps 1.01) but squeezed (one z-step and more far too thin), and the swapped geometry does not fix it
(planes 0, thin 0, one z-step 0.59, 1.5 z-steps 1.32; one z-step at x4 0.58): what is left is the
tissue's own difference between z and the lateral axes. On the real CREMI
stack (40 nm sections 40 nm apart) it reads 0.59 directly and 0.92 swapped, the closest of any estimator
to the physics, but an estimate that reads one-z-step sections as 0.58-0.59 on a FIB-SEM volume cannot set
the default. So the engine does not use it.

    python research/experiments/thickness_regressor.py --real ../shared/data/sstem_cremi_4x4x40nm_train.tif \
        --out benchmarks/results/thickness_regressor.txt
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy import ndimage as ndi
from torch import nn

from napari_isorecon.core.training.noise import add_missing_noise, volume_noise_sigma
from napari_isorecon.core.training.sections import section_slices, section_taps, stacked_section_taps

ROWS, WIDTH = 8, 64  # a patch: 8 sections (rows) x 64 lateral pixels
T_MAX = 2.5  # z-steps
STEPS, BATCH = 2000, 128
SWAP_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def regressor() -> nn.Module:
    def block(cin, cout, stride):
        return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.ReLU()]

    return nn.Sequential(*block(1, 16, 1), *block(16, 32, (1, 2)), *block(32, 64, (2, 2)), *block(64, 64, (1, 2)),
                         *block(64, 64, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1))


def standardise(patches: np.ndarray) -> np.ndarray:
    mean = patches.mean(axis=(-2, -1), keepdims=True)
    std = patches.std(axis=(-2, -1), keepdims=True)
    return ((patches - mean) / (std + 1e-6)).astype(np.float32)


def synthetic_patches(sections: np.ndarray, f: float, thickness: np.ndarray, sigma: float, rng) -> np.ndarray:
    """One patch per thickness: a random window of a random section (either lateral axis as z) made into
    sections of that thickness every f rows, plus the noise the integration removed: what the engine's
    stage-2 inputs are (core.training.sections.section_slices, core.training.noise.add_missing_noise)."""
    height = int(round(ROWS * f))
    windows = np.empty((len(thickness), 1, height, WIDTH), np.float32)
    for i in range(len(thickness)):
        image = sections[rng.integers(len(sections))]
        if rng.random() < 0.5:
            image = image.T
        y0 = rng.integers(image.shape[0] - height + 1)
        x0 = rng.integers(image.shape[1] - WIDTH + 1)
        windows[i, 0] = image[y0:y0 + height, x0:x0 + WIDTH]
    patches = section_slices(torch.from_numpy(windows), f, thickness, ROWS)
    taps = torch.from_numpy(stacked_section_taps(f, thickness).astype(np.float32))
    generator = torch.Generator().manual_seed(int(rng.integers(2 ** 31)))
    return add_missing_noise(patches, sigma, taps, generator)[:, 0].numpy()


def axial_patches(acquired: np.ndarray, count: int, rng, f: float = 10.0, across: float = 0.0) -> np.ndarray:
    """Random ROWS x WIDTH windows of the real xz and yz slices (rows one section apart). ``across`` > 0:
    each xz slice first averaged over neighbouring xz slices (along y) over a section ``across`` z-steps
    thick, each yz slice over neighbouring yz slices (along x): the swapped geometry of a synthetic patch."""
    taps = section_taps(f, across).astype(np.float32) if across > 0 else np.ones(1, np.float32)
    xz_source = ndi.convolve1d(acquired, taps, axis=1, mode="nearest") if len(taps) > 1 else acquired
    yz_source = ndi.convolve1d(acquired, taps, axis=2, mode="nearest") if len(taps) > 1 else acquired
    out = np.empty((count, ROWS, WIDTH), np.float32)
    z, h, w = acquired.shape
    for i in range(count):
        z0 = rng.integers(z - ROWS + 1)
        if rng.random() < 0.5:
            y, x0 = rng.integers(h), rng.integers(w - WIDTH + 1)
            out[i] = xz_source[z0:z0 + ROWS, y, x0:x0 + WIDTH]
        else:
            x, y0 = rng.integers(w), rng.integers(h - WIDTH + 1)
            out[i] = yz_source[z0:z0 + ROWS, y0:y0 + WIDTH, x]
    return out


def crossing(readings: dict, targets: dict) -> float:
    """The thickness t at which ``readings[t]`` (the axial slices averaged across over t) meets ``targets[t]``
    (linear between grid points; the grid's end where they never cross)."""
    ts = np.array(sorted(readings))
    gap = np.array([readings[t] - targets[t] for t in ts])
    for i in range(len(ts) - 1):
        if gap[i] >= 0 >= gap[i + 1] and gap[i] != gap[i + 1]:
            return float(ts[i] + (ts[i + 1] - ts[i]) * gap[i] / (gap[i] - gap[i + 1]))
    return float(ts[0] if gap[0] < 0 else ts[-1])


def predict(net: nn.Module, patches: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return np.concatenate([net(torch.from_numpy(standardise(p))[:, None])[:, 0].numpy()
                               for p in np.array_split(patches, max(1, len(patches) // 512))])


def study(acquired: np.ndarray, f: float, seed: int = 0) -> dict:
    """Train a regressor on the stack's own sections; its held-out error and its readings of the axial slices."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    acquired = acquired.astype(np.float32)
    sigma = volume_noise_sigma(acquired)
    train, held_out = acquired[0::2], acquired[1::2]
    net = regressor()
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    for step in range(STEPS):
        t = rng.uniform(0, T_MAX, BATCH)
        x = torch.from_numpy(standardise(synthetic_patches(train, f, t, sigma, rng)))[:, None]
        loss = ((net(x)[:, 0] - torch.from_numpy(t.astype(np.float32))) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step == STEPS // 2:
            for group in optimiser.param_groups:
                group["lr"] = 3e-4
    net.eval()
    held = {}
    for t in SWAP_GRID:
        readings = predict(net, synthetic_patches(held_out, f, np.full(1000, t), sigma, rng))
        held[t] = (float(np.sqrt(np.mean((readings - t) ** 2))), float(np.median(readings)))
    axial = predict(net, axial_patches(acquired, 4000, rng))
    swapped = {t: float(np.median(predict(net, axial_patches(acquired, 4000, rng, f, t)))) for t in SWAP_GRID}
    return {"noise": sigma, "held_out": held, "axial_median": float(np.median(axial)),
            "axial_iqr": (float(np.percentile(axial, 25)), float(np.percentile(axial, 75))),
            "swapped": swapped, "swapped_estimate": crossing(swapped, {t: t for t in SWAP_GRID}),
            "matched_estimate": crossing(swapped, {t: m for t, (_, m) in held.items()})}


def main():
    import tifffile

    from napari_isorecon.bench.simulate import exact_crop_depth, simulate_acquisition

    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="../shared/data/fibsem_medulla_iso10nm_250.tif")
    p.add_argument("--real", help="a real anisotropic stack (z-factor 10) to read as well")
    p.add_argument("--cases", nargs="*", default=["10:take_centred", "10:box_thin", "10:box", "10:box_thick",
                                                  "10:gaussian_centred", "10:cubic", "4:box"])
    p.add_argument("--out")
    args = p.parse_args()
    truth = tifffile.imread(args.volume)
    lines = []

    def say(text):
        print(text, flush=True)
        lines.append(text)

    def report(name, result, seconds):
        held = "; ".join(f"t={t:g}: rmse {r:.2f}, median {m:.2f}" for t, (r, m) in result["held_out"].items())
        say(f"{name}: axial median {result['axial_median']:.2f} (IQR {result['axial_iqr'][0]:.2f}-"
            f"{result['axial_iqr'][1]:.2f}); held-out synthetic patches {held} ({seconds:.0f} s)")
        swapped = ", ".join(f"{t:g}: {m:.2f}" for t, m in result["swapped"].items())
        say(f"    swapped geometry (axial slices averaged across over t, reading): {swapped}; "
            f"reads its own t at {result['swapped_estimate']:.2f}, the held-out reading of t at "
            f"{result['matched_estimate']:.2f}")

    say(f"regressor: {STEPS} steps of {BATCH} patches of {ROWS} x {WIDTH}, thickness uniform in [0, {T_MAX}]")
    for case in args.cases:
        f, kind = case.split(":")
        f = float(f)
        start = time.perf_counter()
        acquired = simulate_acquisition(truth[:exact_crop_depth(truth.shape[0], f)], f, kind)
        report(f"x{f:g} {kind}", study(acquired, f), time.perf_counter() - start)
    if args.real:
        start = time.perf_counter()
        report(f"real stack {args.real} (x10)", study(tifffile.imread(args.real), 10.0),
               time.perf_counter() - start)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
