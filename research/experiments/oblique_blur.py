"""Is the section thickness identifiable from how oblique structures blur? (Measured: not reliably.)

A section t z-steps thick integrates the tissue over its thickness: a structure that moves laterally by d
pixels from one section to the next (spacing f pixels, so its slope is d / f) is smeared over t * d pixels
within each section image, and a structure that runs straight along z is not smeared at all. Unlike the
covariances of kernel_statistics.py, this relation holds structure by structure, whatever the tissue's
anisotropy (how many structures run at each slope). It is measured the same way on

- the real axial lines: the rows of every xz and yz slice (rows one section apart), and
- synthetic axial lines from the volume's own sections: each xy section integrated along y (and along x)
  over sections of a candidate thickness t, every f rows, with the pixel noise the averaging removed put back
  (core.training.noise), so the imaging, the pixel noise and the sections' own z blur are the same in both;

for each pair of neighbouring lines, the local lateral displacement (the best normalised cross-correlation
in a Gaussian window, subpixel) and a local blur measure (log of the ratio of gradient energy at two scales).
The median blur by slope bin gives a curve; the candidate whose curve falls with slope like the real one
(each curve less its first bin, least squares) is the estimate.

Result (research/log.md, "Real acquisitions"; benchmarks/results/oblique_blur.txt, deterministic, about 4 min):
on simulated acquisitions of the FIB-SEM volume it orders the thickness right but reads sections a quarter to
a third too thick (x10: planes 0.25, thin sections 0.5, one z-step 1.25, 1.5 z-steps 2; one z-step at x4 and x7.5
1.25-1.5; Gaussian 1.75, bicubic 1.5), and on the real CREMI stack (40 nm sections 40 nm apart, where the
hidden-section check prefers 1) it finds 0-0.25 with both pairs of scales. Neither lateral jitter between
sections nor noise explains that (simulated one z-step: 1-1.25 with jitter of 0.5-2 px, 1.25 with noise
of 2-4 grey levels). So the engine does not use it.

    python research/experiments/oblique_blur.py --real ../shared/data/sstem_cremi_4x4x40nm_train.tif \
        --out benchmarks/results/oblique_blur.txt
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

SLOPE_BINS = np.array([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25])  # |d| / f
THICKNESS_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)  # z-steps
MIN_CORRELATION = 0.8  # a displacement is kept where the best normalised cross-correlation exceeds this
MIN_PER_BIN = 100
LINE_STEP = 4  # every 4th xz / yz slice


def line_pairs(lines: np.ndarray, f: float, scales=(1.0, 2.5), window: float = 5.0):
    """(M, n, X) stacks of n lines one section apart -> (slope, blur) of every reliable local match."""
    lines = lines.astype(np.float32)
    upper, lower = lines[:, :-1], lines[:, 1:]
    reach = int(np.ceil(SLOPE_BINS[-1] * f))

    def local_mean(a):
        return ndi.gaussian_filter1d(a, window, axis=-1, mode="nearest")

    mean_u = local_mean(upper)
    var_u = local_mean(upper * upper) - mean_u ** 2
    scores = []
    for d in range(-reach, reach + 1):
        shifted = np.roll(lower, -d, axis=-1)  # shifted[x] = lower[x + d]
        mean_l = local_mean(shifted)
        cov = local_mean(upper * shifted) - mean_u * mean_l
        scores.append(cov / np.sqrt(np.maximum(var_u * (local_mean(shifted ** 2) - mean_l ** 2), 1e-6)))
    scores = np.stack(scores)
    k = scores.argmax(0)
    best = np.take_along_axis(scores, k[None], 0)[0]
    below = np.take_along_axis(scores, np.clip(k - 1, 0, 2 * reach)[None], 0)[0]
    above = np.take_along_axis(scores, np.clip(k + 1, 0, 2 * reach)[None], 0)[0]
    curvature = below - 2 * best + above
    with np.errstate(invalid="ignore", divide="ignore"):
        offset = np.where(np.abs(curvature) > 1e-6, 0.5 * (below - above) / curvature, 0.0)
    shift = k - reach + np.clip(np.nan_to_num(offset), -0.5, 0.5)
    fine = local_mean(ndi.gaussian_filter1d(lines, scales[0], axis=-1, order=1) ** 2)
    coarse = local_mean(ndi.gaussian_filter1d(lines, scales[1], axis=-1, order=1) ** 2)
    blur = (np.log(fine + 1e-6) - np.log(coarse + 1e-6))[:, :-1]
    valid = (best > MIN_CORRELATION) & (var_u > np.quantile(var_u, 0.3)) & (np.abs(k - reach) < reach)
    valid[..., :reach + 10] = False
    valid[..., -reach - 10:] = False
    return np.abs(shift[valid]) / f, blur[valid]


def blur_curve(stacks, f: float, **kw) -> np.ndarray:
    """Median blur measure per slope bin (NaN where a bin has too few matches) over stacks of lines."""
    pairs = [line_pairs(np.asarray(s), f, **kw) for s in stacks]
    slope = np.concatenate([p[0] for p in pairs])
    blur = np.concatenate([p[1] for p in pairs])
    curve = []
    for lo, hi in zip(SLOPE_BINS[:-1], SLOPE_BINS[1:], strict=True):
        inside = (slope >= lo) & (slope < hi)
        curve.append(np.median(blur[inside]) if inside.sum() >= MIN_PER_BIN else np.nan)
    return np.array(curve)


def real_lines(acquired: np.ndarray):
    """The rows of every LINE_STEP-th xz and yz slice: (slices, sections, lateral)."""
    return [acquired[:, ::LINE_STEP, :].transpose(1, 0, 2), acquired[:, :, ::LINE_STEP].transpose(2, 0, 1)]


def synthetic_lines(acquired: np.ndarray, f: float, thickness: float, noise_sigma: float, seed: int = 0):
    """Each section integrated along y and along x over sections ``thickness`` z-steps thick, every f rows."""
    from napari_isorecon.core.training.sections import box_weights

    rng = np.random.default_rng(seed)
    stacks = []
    for section in acquired.astype(np.float32):
        for image in (section, section.T):
            weights = box_weights(image.shape[0], int(image.shape[0] // f), f, thickness).astype(np.float32)
            lines = weights @ image
            lost = np.sqrt(np.maximum(1 - (weights ** 2).sum(1), 0))[:, None]
            stacks.append((lines + rng.normal(0, noise_sigma, lines.shape).astype(np.float32) * lost)[None])
    return stacks


def estimate_thickness(acquired: np.ndarray, f: float, **kw):
    """(thickness in z-steps, the real curve, {thickness: misfit})."""
    from napari_isorecon.core.training.noise import volume_noise_sigma

    sigma = volume_noise_sigma(acquired)  # in grey levels
    real = blur_curve(real_lines(acquired), f, **kw)
    misfit = {}
    for t in THICKNESS_GRID:
        synthetic = blur_curve(synthetic_lines(acquired, f, t, sigma), f, **kw)
        both = np.isfinite(real) & np.isfinite(synthetic)
        misfit[t] = float(np.sum(((real - real[0]) - (synthetic - synthetic[0]))[both] ** 2))
    return min(misfit, key=misfit.get), real, misfit


def main():
    import argparse

    import tifffile

    from napari_isorecon.bench.simulate import exact_crop_depth, simulate_acquisition

    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="../shared/data/fibsem_medulla_iso10nm_250.tif")
    p.add_argument("--real", help="a real anisotropic stack (z-factor 10) to estimate as well")
    p.add_argument("--out", help="also write the lines printed here to this file")
    args = p.parse_args()
    truth = tifffile.imread(args.volume)
    kinds = ("take_centred", "box_thin", "box", "box_thick", "gaussian_centred", "cubic")
    cases = [(10.0, k, 0.0, 0.0) for k in kinds] + [(4.0, "box", 0.0, 0.0), (7.5, "box", 0.0, 0.0)]
    cases += [(10.0, "box", jitter, 0.0) for jitter in (0.5, 1.0, 2.0)]  # lateral jitter between sections, px
    cases += [(10.0, "box", 0.0, noise) for noise in (2.0, 4.0)]
    lines = []

    def say(text):
        print(text, flush=True)
        lines.append(text)

    for scales in ((1.0, 2.5), (1.5, 3.0)):
        say(f"blur measure: gradient energy at scales {scales[0]:g} / {scales[1]:g} px")
        for f, kind, jitter, noise in cases:
            acquired = simulate_acquisition(truth[:exact_crop_depth(truth.shape[0], f)], f, kind, noise=noise)
            if jitter:
                offsets = np.random.default_rng(0).normal(0, jitter, (len(acquired), 2))
                acquired = np.stack([ndi.shift(s.astype(np.float32), o, order=3, mode="nearest")
                                     for s, o in zip(acquired, offsets, strict=True)])
            t, _, _ = estimate_thickness(acquired, f, scales=scales)
            say(f"  x{f:g} {kind:17s} jitter {jitter:g} px, noise {noise:g}: estimated thickness {t:.2f} z-steps")
        if args.real:
            t, real, misfit = estimate_thickness(tifffile.imread(args.real), 10.0, scales=scales)
            say(f"  real stack {args.real}: estimated thickness {t:.2f} z-steps; misfit by thickness "
                + ", ".join(f"{k:g}: {v:.4f}" for k, v in misfit.items()))
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
