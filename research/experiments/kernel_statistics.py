"""Is the section thickness identifiable from the volume's second-order statistics? (Measured: no.)

An anisotropic acquisition is the tissue integrated along z by a kernel h (thickness, blur) and sampled every
f lateral pixels. Under rotationally isotropic tissue with covariance c(r), the lateral covariance of the
sections is C(rho) = sum_d H2(d) c(sqrt(d^2 + rho^2)) and the covariance between sections m apart is
T(m, dx) = sum_d H2(d) c(sqrt((m f + d)^2 + dx^2)), H2 the autocorrelation of h. This experiment fits the
section model (a box of thickness t blurred by a Gaussian of sigma, centred) over a grid, solving for c(r)
(piecewise linear) by least squares for each candidate, on simulated acquisitions of the isotropic FIB-SEM
volume, and prints what it finds against the truth. Zero lags (pixel noise) and section means (brightness
offsets) are left out.

Result (research/log.md, "Real acquisitions"): it picks the thinnest kernel for every acquisition (box, thick,
thin, Gaussian, bicubic, at x4, x7.5, x10). Thicker sections make neighbouring sections more alike (on the
truth, the correlation between sections 100 nm apart is 0.43 for planes, 0.59 for one-z-step boxes, 0.70 for
1.5-step boxes), but the same projection makes each section's own lateral correlation rise alike (box x10:
T(1, 0) = 580 against C(10) = 588 grey levels^2), and the tissue's own anisotropy (0.43 along z and x,
0.50 along y at 100 nm) is as large as what is left. So the engine does not use it.

    python research/experiments/kernel_statistics.py --volume ../shared/data/fibsem_medulla_iso10nm_250.tif
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from napari_isorecon.core.errors import IsoReconError

MAX_SECTIONS = 48  # consecutive sections used (the middle of the stack)
MAX_LATERAL = 384  # lateral crop side used (the middle of each section)
SECTION_LAGS = 3  # T(m, .) for m = 0 .. SECTION_LAGS - 1
LATERAL_LAGS = 6  # |dx| = 1 .. LATERAL_LAGS
THICKNESS_GRID = np.round(np.arange(0.0, 3.0001, 0.05), 4)  # in z-steps
SIGMA_GRID = np.concatenate([[0.02], np.round(np.arange(0.05, 1.0001, 0.05), 4)])  # in z-steps


@dataclass(frozen=True)
class KernelEstimate:
    """The fitted section model, in lateral pixels, and how well it explains the statistics."""

    z_factor: float
    thickness: float  # box width, lateral pixels
    sigma: float  # Gaussian blur, lateral pixels
    residual: float  # relative misfit of the covariances at the optimum (0 = perfect)
    isotropy: float  # best-fit misfit relative to the misfit of assuming no axial kernel at all

    @property
    def thickness_steps(self) -> float:
        return self.thickness / self.z_factor

    @property
    def sigma_steps(self) -> float:
        return self.sigma / self.z_factor

    def kernel(self, taps: np.ndarray | None = None) -> np.ndarray:
        """The kernel's taps (one per lateral pixel, centred; default support +-2f) as float32."""
        from napari_isorecon.core.networks.generators import section_kernel

        if taps is None:
            half = int(math.ceil(2 * self.z_factor))
            taps = np.arange(-half, half + 1)
        return section_kernel(torch.as_tensor(taps, dtype=torch.float32), max(self.thickness, 1e-6),
                              max(self.sigma, 1e-3)).numpy()

    def describe(self) -> str:
        return (f"measured section kernel: thickness {self.thickness_steps:.2f} z-steps, blur sigma "
                f"{self.sigma_steps:.2f} z-steps (covariance misfit {100 * self.residual:.1f} %)")


def _central_crop(volume, max_sections: int, max_lateral: int) -> np.ndarray:
    z, y, x = volume.shape
    z0, y0, x0 = max(0, (z - max_sections) // 2), max(0, (y - max_lateral) // 2), max(0, (x - max_lateral) // 2)
    crop = np.asarray(volume[z0:z0 + max_sections, y0:y0 + max_lateral, x0:x0 + max_lateral], dtype=np.float64)
    return crop - crop.mean(axis=(1, 2), keepdims=True)


def lateral_covariance(sections: np.ndarray, max_dy: int, max_dx: int) -> np.ndarray:
    """C[dy + max_dy, dx + max_dx]: the mean over sections of the autocovariance of each (zero-mean) section,
    each lag averaged over the pixel pairs that exist (no wrap-around)."""
    n, h, w = sections.shape
    if max_dy >= h or max_dx >= w:
        raise IsoReconError(f"The sections ({h} x {w} pixels) are too small to measure the axial kernel.")
    shape = (2 * h, 2 * w)
    spectrum = np.fft.rfft2(sections, s=shape)
    auto = np.fft.irfft2((spectrum * spectrum.conj()).mean(axis=0), s=shape)
    ones = np.fft.rfft2(np.ones((h, w)), s=shape)
    counts = np.fft.irfft2(ones * ones.conj(), s=shape)
    auto = np.fft.fftshift(auto / np.maximum(np.round(counts), 1))
    cy, cx = h, w
    return auto[cy - max_dy:cy + max_dy + 1, cx - max_dx:cx + max_dx + 1]


def axial_covariance(sections: np.ndarray, lags: int, max_dx: int, axis: int) -> np.ndarray:
    """T[m, dx + max_dx]: the covariance between sections ``m`` apart and pixels ``dx`` apart along ``axis``
    (2: x, for xz slices; 1: y, for yz slices)."""
    z = sections.shape[0]
    out = np.zeros((lags, 2 * max_dx + 1))
    for m in range(lags):
        a, b = sections[:z - m], sections[m:]
        for dx in range(-max_dx, max_dx + 1):
            if axis == 2:
                pa = a[:, :, max(0, -dx):a.shape[2] - max(0, dx)]
                pb = b[:, :, max(0, dx):b.shape[2] - max(0, -dx)]
            else:
                pa = a[:, max(0, -dx):a.shape[1] - max(0, dx), :]
                pb = b[:, max(0, dx):b.shape[1] - max(0, -dx), :]
            out[m, dx + max_dx] = float(np.mean(pa * pb))
    return out


def radial_profile(cov: np.ndarray, max_radius: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean radius, mean covariance) of the 2D covariance ``cov`` (centred) in unit bins of in-plane distance
    1 .. max_radius (the zero lag, which holds the pixel noise, is left out)."""
    cy, cx = (cov.shape[0] - 1) // 2, (cov.shape[1] - 1) // 2
    yy, xx = np.mgrid[-cy:cov.shape[0] - cy, -cx:cov.shape[1] - cx]
    rho = np.hypot(yy, xx).ravel()
    bins = np.rint(rho).astype(int)
    keep = (bins >= 1) & (bins <= max_radius)
    counts = np.bincount(bins[keep], minlength=max_radius + 1)[1:]
    mean_rho = np.bincount(bins[keep], rho[keep], minlength=max_radius + 1)[1:] / np.maximum(counts, 1)
    mean_cov = np.bincount(bins[keep], cov.ravel()[keep], minlength=max_radius + 1)[1:] / np.maximum(counts, 1)
    return mean_rho, mean_cov


def _knots(max_radius: float) -> np.ndarray:
    """Knots of the radial covariance c(r): every pixel up to 6, then about 15 % apart."""
    knots = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    while knots[-1] < max_radius:
        knots.append(math.ceil(knots[-1] * 1.15))
    return np.asarray(knots)


def _hat_basis(r: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """(..., n_knots) piecewise-linear interpolation weights of radii ``r`` on ``knots`` (clamped at the end)."""
    r = np.clip(r, knots[0], knots[-1])
    idx = np.clip(np.searchsorted(knots, r, side="right") - 1, 0, len(knots) - 2)
    frac = (r - knots[idx]) / (knots[idx + 1] - knots[idx])
    out = np.zeros(r.shape + (len(knots),))
    np.put_along_axis(out, idx[..., None], (1 - frac)[..., None], axis=-1)
    np.put_along_axis(out, (idx + 1)[..., None], frac[..., None], axis=-1)
    return out


def _candidate_autocorrelations(z_factor: float, half: int):
    """(thickness, sigma) pairs over the grid and the autocorrelation H2 of each kernel on lags -2h .. 2h."""
    from napari_isorecon.core.networks.generators import section_kernel

    taps = torch.arange(-half, half + 1, dtype=torch.float32)
    pairs, kernels = [], []
    for t in THICKNESS_GRID:
        for s in SIGMA_GRID:
            pairs.append((t * z_factor, s * z_factor))
            kernels.append(section_kernel(taps, max(t * z_factor, 1e-6), s * z_factor).numpy().astype(np.float64))
    return pairs, np.stack([np.correlate(k, k, mode="full") for k in kernels])


def estimate_section_kernel(volume, z_factor: float, max_sections: int = MAX_SECTIONS,
                            max_lateral: int = MAX_LATERAL, axial_weight: float = 1.0) -> KernelEstimate:
    """Fit the section model (thickness, sigma) to the covariances of ``volume`` (Z, Y, X), sections ``z_factor``
    lateral pixels apart, under a rotationally isotropic tissue covariance c(r) fitted alongside."""
    f = float(z_factor)
    if volume.shape[0] < SECTION_LAGS:
        raise IsoReconError(f"Measuring the axial kernel needs at least {SECTION_LAGS} sections, "
                            f"got {volume.shape[0]}.")
    sections = _central_crop(volume, max_sections, max_lateral)
    if not np.any(sections):
        raise IsoReconError("The volume is constant within each section; the axial kernel cannot be measured.")
    half = int(math.ceil(2 * f))
    offsets = np.arange(-2 * half, 2 * half + 1, dtype=np.float64)
    max_radius = int(math.ceil((SECTION_LAGS - 1) * f + 2 * half + LATERAL_LAGS)) + 1
    side = min(sections.shape[1], sections.shape[2])
    if max_radius >= side:
        raise IsoReconError(f"The sections ({sections.shape[1]} x {sections.shape[2]} pixels) are too small to "
                            f"measure the axial kernel at z-factor {f:g}: they need more than {max_radius}.")
    rho, lateral = radial_profile(lateral_covariance(sections, max_radius, max_radius), max_radius)
    axial = [axial_covariance(sections, SECTION_LAGS, LATERAL_LAGS, axis) for axis in (2, 1)]
    axial = np.mean(axial, axis=0)  # xz and yz
    axial = (axial[:, LATERAL_LAGS:] + axial[:, LATERAL_LAGS::-1]) / 2  # +-dx, dx = 0 .. LATERAL_LAGS
    lags = np.arange(1, SECTION_LAGS)
    dx = np.arange(LATERAL_LAGS + 1)
    target_axial = axial[1:].reshape(-1)
    knots = _knots(float(np.hypot(lags[-1] * f + offsets[-1], dx[-1])) + 1)
    basis_lateral = _hat_basis(np.hypot(offsets[:, None], rho[None, :]), knots)  # (d, rho, k)
    axial_r = np.hypot(lags[None, :, None] * f + offsets[:, None, None], dx[None, None, :]).reshape(len(offsets), -1)
    basis_axial = _hat_basis(axial_r, knots)  # (d, (m, dx), k)
    pairs, auto = _candidate_autocorrelations(f, half)
    scale = float(np.abs(lateral[0]))
    w_lat = 1.0 / math.sqrt(len(rho))
    w_ax = axial_weight / math.sqrt(len(target_axial))
    design = np.concatenate([w_lat * np.einsum("cd,dpk->cpk", auto, basis_lateral),
                             w_ax * np.einsum("cd,dpk->cpk", auto, basis_axial)], axis=1) / scale
    target = np.concatenate([w_lat * lateral, w_ax * target_axial]) / scale
    gram = np.einsum("cpk,cpl->ckl", design, design) + 1e-9 * np.eye(len(knots))
    rhs = np.einsum("cpk,p->ck", design, target)
    coeffs = np.linalg.solve(gram, rhs[..., None])[..., 0]
    residuals = np.einsum("cpk,ck->cp", design, coeffs) - target[None]
    misfit = np.sum(residuals**2, axis=1) / np.sum(target**2)
    best = int(np.argmin(misfit))
    thickness, sigma = pairs[best]
    spread = float(np.min(misfit) / max(np.median(misfit), 1e-30))
    return KernelEstimate(z_factor=f, thickness=float(thickness), sigma=float(sigma),
                          residual=float(math.sqrt(misfit[best])), isotropy=spread)


def main():
    import argparse

    import tifffile

    from napari_isorecon.bench.simulate import exact_crop_depth, simulate_acquisition

    p = argparse.ArgumentParser()
    p.add_argument("--volume", default="../shared/data/fibsem_medulla_iso10nm_250.tif")
    args = p.parse_args()
    truth = tifffile.imread(args.volume)
    cases = [(10.0, k) for k in ("cubic", "box", "box_thick", "box_thin", "take_centred", "gaussian_centred")]
    cases += [(4.0, "cubic"), (4.0, "box"), (7.5, "cubic"), (7.5, "box")]
    for f, kind in cases:
        acquired = simulate_acquisition(truth[:exact_crop_depth(truth.shape[0], f)], f, kind)
        e = estimate_section_kernel(acquired, f)
        print(f"x{f:g} {kind:17s} fitted thickness {e.thickness_steps:.2f} z-steps, sigma {e.sigma_steps:.2f}, "
              f"misfit {e.residual:.3f}")


if __name__ == "__main__":
    main()
