"""Fusing the xz and yz passes by where each is reliable in the xy spectrum, instead of their mean.

Each xz slice is reconstructed on its own, so the xz pass's errors differ from one y to the next and are
smooth along x: in an xy plane of the result they sit at low |kx| and any ky (lines along x), the yz pass's
at low |ky|. The xz pass also sees structure that varies along x and not along y. So each plane's spectrum
can take the xz pass with weight kx^2 / (kx^2 + ky^2) and the yz pass with the rest (a cos^2 wedge, no
parameter; the mean at the origin) instead of half of each everywhere.

Result (research/log.md, "Tried and dropped"; benchmarks/results/wedge_fusion.txt, about 8 min): on the
FIB-SEM volume made into one-z-step sections at x10, +0.009 dB over the mean (xz PSNR 25.693 -> 25.702 dB,
scored like the bench; cubic 24.880; 3-min default model, seed 0); on the CREMI stack the line score half-way
between sections moves from 0.0285 to 0.0281 (cubic 0.0266, the real sections 0.0270) and the xy views look
the same. Not worth a fusion that needs both passes kept and a global filter across blocks, so the engine
keeps the mean.

    python research/experiments/wedge_fusion.py --minutes 3 --out benchmarks/results/wedge_fusion.txt
"""

from __future__ import annotations

import argparse

import numpy as np
import tifffile
from line_artefacts import scores

from napari_isorecon.bench.simulate import exact_crop_depth, simulate_acquisition
from napari_isorecon.core import ReconConfig, TrainConfig
from napari_isorecon.core.checks.metrics import axial_scores
from napari_isorecon.core.inference.reconstruct import interpolate, reconstruct, run_to_end
from napari_isorecon.core.training.train import train_to_end


def wedge_fuse(xz_plane: np.ndarray, yz_plane: np.ndarray) -> np.ndarray:
    """One xy plane from the xz and the yz pass: each weighted by a cos^2 wedge of the plane's spectrum."""
    ky = np.fft.fftfreq(xz_plane.shape[0])[:, None]
    kx = np.fft.fftfreq(xz_plane.shape[1])[None, :]
    radius2 = kx ** 2 + ky ** 2
    weight = np.where(radius2 > 0, kx ** 2 / np.where(radius2 > 0, radius2, 1.0), 0.5)
    spectrum = weight * np.fft.fft2(xz_plane) + (1 - weight) * np.fft.fft2(yz_plane)
    return np.real(np.fft.ifft2(spectrum)).astype(np.float32)


def compare(volume, f, minutes, seed, truth=None):
    model = train_to_end(volume, TrainConfig(z_factor=f, minutes=minutes, seed=seed))
    xz = run_to_end(reconstruct(volume, model, ReconConfig(axes=("xz",)))).volume.astype(np.float32)
    yz = run_to_end(reconstruct(volume, model, ReconConfig(axes=("yz",)))).volume.astype(np.float32)
    outputs = {"cubic": run_to_end(interpolate(volume, f, "cubic")).volume.astype(np.float32),
               "mean (the engine)": (xz + yz) / 2,
               "wedge": np.stack([wedge_fuse(a, b) for a, b in zip(xz, yz, strict=True)])}
    half_way = [k * f + f // 2 for k in range(2, volume.shape[0] - 2)]  # away from the stack's ends
    lines = []
    for name, output in outputs.items():
        line = scores(output, half_way)
        text = f"  {name:18s} line score half-way: along x {line['lines along x']:.4f}, y {line['lines along y']:.4f}"
        if truth is not None:
            psnr_xz = axial_scores(output, truth)["xz"]["psnr"]  # the bench's score: every xz slice, the dtype's range
            text += f"; xz PSNR against the truth {psnr_xz:.3f} dB"
        lines.append(text)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volume", default="../shared/data/fibsem_medulla_iso10nm_250.tif")
    parser.add_argument("--real", default="../shared/data/sstem_cremi_4x4x40nm_train.tif")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    f = 10
    truth = tifffile.imread(args.volume)
    truth = truth[:exact_crop_depth(truth.shape[0], f)]
    lines = [f"{args.volume} made into sections one z-step thick, x{f}, {args.minutes:g} min, seed {args.seed}"]
    lines += compare(simulate_acquisition(truth, f, "box"), f, args.minutes, args.seed, truth)
    lines.append(f"{args.real}, x{f}, {args.minutes:g} min, seed {args.seed}")
    lines += compare(tifffile.imread(args.real), f, args.minutes, args.seed)
    print("\n".join(lines))
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
