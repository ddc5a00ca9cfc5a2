"""The sharp output: the faithful reconstruction with its fine detail evened out over the section period, then
projected so that the section model applied to it returns the input sections.

The faithful (L2) output is the mean of what a gap may hold: at a section it draws the section's detail, midway
between two it draws a blur of both, so its fine detail pulses with the sections. The tissue does not know where
it was cut, so its detail statistics cannot depend on the phase within the section period (identifiable from the
data, as the mean per phase is in ``model.phase_levels``): :func:`even_detail_gain` measures each phase's lateral
fine-detail contrast on the output itself and scales each plane's fine detail up to that of the best phase
(capped). With ``isotropic=True`` the z spectrum is also equalised to the x spectrum, sqrt(P_x(k) / P_z(k)) per z
frequency, capped and never below 1 (a linear equaliser, the Gaussian optimum at equal power; Blau and Michaeli
2018); it assumes isotropic tissue, which real neuropil is not, and on the real serial-section stack it costs
more than it gives (docs/method.md, "The sharp output").

What is added must not contradict what was measured: :func:`project_onto_sections` moves each z column by the
least smooth change that makes the section model (sections ``thickness`` z-steps thick, the geometry of
:func:`core.training.sections.box_weights`) return the input sections exactly. :func:`section_consistency`
measures what is left, :func:`section_pulse` how the detail pulses.
"""

from __future__ import annotations

import numpy as np

from ..geometry import output_depth
from ..model.intensity import as_dtype
from ..training.sections import box_weights

# the largest gain per z frequency: on FIB-SEM made into box sections x10 (benchmarks/sharp_bench.py), cap 2 keeps
# PSNR above cubic's and SSIM within 0.01 of the faithful output's; cap 4 costs SSIM -0.026 (docs/method.md)
GAIN_CAP = 2.0
EQUALISER_ITERATIONS = 3  # measured: the band ratio 0.91 -> 0.96 -> 0.98 on a planted blur (tests/core/test_sharp.py)
_COLUMNS_PER_CHUNK = 65_536  # z columns projected or filtered at once (memory stays ~ D * this * 8 bytes)
SAMPLED_COLUMNS = 16_384  # z columns the spectra and the pulse are measured on (the means settle well before)


def section_operator(depth: int, n_sections: int, z_factor: float, thickness: float) -> np.ndarray:
    """(n_sections, depth) weights: section k is the mean of the output rows its thickness covers."""
    return box_weights(depth, n_sections, z_factor, thickness)


def _columns(volume, dtype=np.float64) -> np.ndarray:
    """(D, Y * X) view (a copy when the dtype differs) of a (D, Y, X) volume's z columns."""
    volume = np.asarray(volume, dtype=dtype)
    return volume.reshape(volume.shape[0], -1)


def section_consistency(volume, sections, z_factor: float, thickness: float = 1.0) -> float:
    """Mean |section model(volume) - sections| in the data's grey levels (0: every section is returned exactly)."""
    sections = np.asarray(sections, dtype=np.float64)
    operator = section_operator(volume.shape[0], sections.shape[0], z_factor, thickness)
    degraded = operator @ _columns(volume)
    return float(np.mean(np.abs(degraded - sections.reshape(sections.shape[0], -1))))


def section_lift(depth: int, n_sections: int, z_factor: float, thickness: float,
                 smooth: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(A, lift): the section operator A (n, D) and the (D, n) map from section residuals to the correction that
    returns them exactly, A @ lift = I. The correction is the smallest in the norm of a Gaussian covariance of
    ``smooth`` rows (default F / 2) along z: lift = W A^T (A W A^T)^-1, so a residual spreads smoothly over the
    rows around its section instead of as a step at the section's edges (W = I)."""
    operator = section_operator(depth, n_sections, z_factor, thickness)
    sigma = z_factor / 2 if smooth is None else smooth
    spread = operator.T if sigma <= 0 else _smooth_columns(operator.T, sigma)
    return operator, np.linalg.solve((operator @ spread).T, spread.T).T


def _smooth_columns(matrix: np.ndarray, sigma: float) -> np.ndarray:
    """Each column of ``matrix`` convolved with a Gaussian of ``sigma`` rows (truncated at 4 sigma), its edge
    values repeated beyond the ends."""
    radius = int(np.ceil(4 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(matrix, ((radius, radius), (0, 0)), mode="edge")
    return np.stack([np.convolve(column, taps / taps.sum(), mode="valid") for column in padded.T], axis=1)


def project_onto_sections(volume, sections, z_factor: float, thickness: float = 1.0,
                          smooth: float | None = None) -> np.ndarray:
    """``volume`` (D, Y, X) moved, column by column, by the smallest smooth change (:func:`section_lift`) that
    makes the section model return ``sections`` (n, Y, X) exactly. Float32 (a float32 ``volume`` is changed in
    place)."""
    sections = np.asarray(sections, dtype=np.float64)
    n, depth = sections.shape[0], volume.shape[0]
    if depth != output_depth(n, z_factor):
        raise ValueError(f"{n} sections at z-factor {z_factor:g} reconstruct to {output_depth(n, z_factor)} rows, "
                         f"not {depth}")
    operator, lift = section_lift(depth, n, z_factor, thickness, smooth)
    operator, lift = operator.astype(np.float32), lift.astype(np.float32)
    out = _columns(volume, np.float32)
    flat = sections.reshape(n, -1).astype(np.float32)
    for start in range(0, out.shape[1], _COLUMNS_PER_CHUNK):
        part = slice(start, start + _COLUMNS_PER_CHUNK)
        out[:, part] += lift @ (flat[:, part] - operator @ out[:, part])
    return out.reshape(volume.shape)


def _mean_power(lines: np.ndarray, length: int) -> np.ndarray:
    """Mean power spectrum (rfft, Hann window, mean removed) of ``lines`` (length, M) along axis 0."""
    window = np.hanning(length)[:, None]
    centred = lines - lines.mean(axis=0, keepdims=True)
    return np.mean(np.abs(np.fft.rfft(centred * window, axis=0)) ** 2, axis=1)


def z_and_x_power(volume, y_step: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequencies in cycles per pixel on the z FFT grid, mean z power, mean x power there) of a (D, Y, X)
    volume with isotropic voxels, from every ``y_step``-th xz slice; x power interpolated onto the z grid and
    scaled to the same window energy per sample."""
    volume = np.asarray(volume)
    depth, _, width = volume.shape
    xz = np.asarray(volume[:, ::y_step, :], dtype=np.float64)  # (D, Y', X)
    z_power = _mean_power(xz.reshape(depth, -1), depth) / depth
    x_power = _mean_power(np.moveaxis(xz, 2, 0).reshape(width, -1), width) / width
    freqs = np.fft.rfftfreq(depth)
    return freqs, z_power, np.interp(freqs, np.fft.rfftfreq(width), x_power)


def _ratio_gain(volume, y_step: int) -> tuple[np.ndarray, np.ndarray]:
    freqs, z_power, x_power = z_and_x_power(volume, y_step)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.sqrt(np.where(z_power > 0, x_power / z_power, 1.0))
    return freqs, np.nan_to_num(gain, nan=1.0, posinf=np.inf)


def equaliser_gain(volume, cap: float = GAIN_CAP, y_step: int | None = None, iterations: int = EQUALISER_ITERATIONS
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, gain) per z frequency that brings the volume's z power to its x power: sqrt(P_x / P_z),
    refined ``iterations`` times on the equalised xz slices (a windowed spectrum smears a steep fall-off, so one
    measurement under-corrects it), clipped to [1, cap]; 1 at zero frequency."""
    if not cap >= 1:
        raise ValueError(f"the gain cap must be >= 1, got {cap}")
    sample = np.asarray(volume[:, ::y_step or y_step_for(volume.shape), :], dtype=np.float64)
    freqs, gain = _ratio_gain(sample, 1)
    gain = np.clip(gain, 1.0, cap)
    for _ in range(iterations - 1):
        _, more = _ratio_gain(equalise_z(sample, freqs, gain), 1)
        gain = np.clip(gain * more, 1.0, cap)
    gain[0] = 1.0
    return freqs, gain


def equalise_z(volume, freqs: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Filter every z column of ``volume`` by ``gain`` at ``freqs`` (cycles per pixel), mirrored at both ends
    (no wrap-around between the first and last rows). Float32, in torch's FFT (all cores)."""
    import torch

    volume = np.asarray(volume)
    depth = volume.shape[0]
    padded = 2 * depth
    filt = torch.from_numpy(np.interp(np.fft.rfftfreq(padded), freqs, gain).astype(np.float32))[:, None]
    cols = np.asarray(volume, dtype=np.float32).reshape(depth, -1)
    out = np.empty_like(cols)
    with torch.inference_mode():
        for start in range(0, cols.shape[1], _COLUMNS_PER_CHUNK):
            part = torch.from_numpy(cols[:, start:start + _COLUMNS_PER_CHUNK])
            spectrum = torch.fft.rfft(torch.cat([part, part.flip(0)]), dim=0) * filt
            out[:, start:start + part.shape[1]] = torch.fft.irfft(spectrum, n=padded, dim=0)[:depth].numpy()
    return out.reshape(volume.shape)


def y_step_for(shape, columns: int = SAMPLED_COLUMNS) -> int:
    """The step between the xz slices a measurement reads so that it sees about ``columns`` z columns."""
    return max(1, int(np.ceil(shape[1] * shape[2] / columns)))


def model_section_thickness(model) -> float:
    """The section thickness, in z-steps, of the section model a trained IsoModel's pairs assume: the declared one,
    or the learned kernel's equivalent thickness (``checks.kernel_summary``), clipped to [0, 2]."""
    if model.config.stage2_pairs == "section":
        return float(model.config.section_thickness)
    from ..checks.kernel_summary import model_kernel_summary

    return float(np.clip(model_kernel_summary(model)["equivalent_thickness_z_steps"], 0.0, 2.0))


DETAIL_WINDOW = 9  # pixels: the lateral running mean whose residual is a plane's fine detail (section_pulse too)
_PLANES_PER_CHUNK = 64


def _plane_detail(planes: np.ndarray, window: int = DETAIL_WINDOW) -> np.ndarray:
    """The fine detail of (N, Y, X) planes: each minus its ``window`` x ``window`` running mean (mirrored edges)."""
    import torch
    from torch.nn import functional as F

    half = window // 2
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32))[:, None]
        mean = F.avg_pool2d(F.pad(x, (half, half, half, half), mode="reflect"), window, stride=1)
        return (x - mean)[:, 0].numpy()


def _phase_bins(depth: int, z_factor: float) -> tuple[np.ndarray, np.ndarray]:
    """(bin of each output row's phase within the section period, rows away from the ends)."""
    rows = np.arange(depth)
    phase = ((rows + 0.5) / z_factor) % 1.0
    n_bins = int(min(16, max(4, round(z_factor))))
    inner = (rows >= z_factor) & (rows < depth - z_factor)  # the first and last sections have one neighbour
    return np.minimum((phase * n_bins).astype(int), n_bins - 1), inner


def even_detail_gain(volume, z_factor: float, cap: float) -> np.ndarray:
    """Per output row, the gain on its fine detail that brings the detail's contrast at every phase of the section
    period up to that at the best phase (tissue does not know where it was cut: identifiable from the data, as the
    mean per phase is in model.phase_levels); between 1 and ``cap``."""
    depth = volume.shape[0]
    step = max(1, int(np.ceil(volume.shape[1] * volume.shape[2] / SAMPLED_COLUMNS / 4)))
    contrast = np.empty(depth)
    for start in range(0, depth, _PLANES_PER_CHUNK):
        planes = np.asarray(volume[start:start + _PLANES_PER_CHUNK, ::step, ::step])
        contrast[start:start + planes.shape[0]] = _plane_detail(planes).std(axis=(1, 2))
    bins, inner = _phase_bins(depth, z_factor)
    per_bin = {b: contrast[inner & (bins == b)].mean() for b in np.unique(bins) if np.any(inner & (bins == b))}
    if not per_bin:
        return np.ones(depth)
    best = max(per_bin.values())
    return np.array([np.clip(best / per_bin[b], 1.0, cap) if b in per_bin and per_bin[b] > 0 else 1.0
                     for b in bins])


def even_detail(volume, gain: np.ndarray) -> np.ndarray:
    """``volume`` (D, Y, X) with each plane's fine detail scaled by ``gain`` (one per plane). Float32."""
    out = np.asarray(volume, dtype=np.float32).copy()
    for start in range(0, out.shape[0], _PLANES_PER_CHUNK):
        part = slice(start, start + _PLANES_PER_CHUNK)
        out[part] += (gain[part, None, None] - 1).astype(np.float32) * _plane_detail(out[part])
    return out


def sharpen(faithful, sections, z_factor: float, thickness: float = 1.0, cap: float = GAIN_CAP,
            isotropic: bool = False) -> tuple:
    """(sharp volume in the input's dtype, info): the faithful output's fine detail evened out over the phases of
    the section period (:func:`even_detail_gain`), with ``isotropic`` its z spectrum equalised to its x spectrum
    (:func:`equalise_z`: assumes the tissue is isotropic, which real neuropil is not), then
    :func:`project_onto_sections`. ``info``: the largest gains and the consistency of both outputs."""
    faithful = np.asarray(faithful)
    detail_gain = even_detail_gain(faithful, z_factor, cap)
    sharp = even_detail(faithful, detail_gain)
    info = {"gain_cap": cap, "largest_detail_gain": float(detail_gain.max()), "isotropic": bool(isotropic)}
    if isotropic:
        freqs, gain = equaliser_gain(sharp, cap)
        sharp = equalise_z(sharp, freqs, gain)
        info["largest_z_gain"] = float(gain.max())
    sharp = as_dtype(project_onto_sections(sharp, sections, z_factor, thickness), np.asarray(sections).dtype)
    info.update(consistency_faithful=section_consistency(faithful, sections, z_factor, thickness),
                consistency_sharp=section_consistency(sharp, sections, z_factor, thickness))
    return sharp, info


def section_pulse(volume, z_factor: float, y_step: int | None = None, window: int = DETAIL_WINDOW) -> dict:
    """How the fine detail pulses with the sections: each output row's high-pass contrast (the std across x after
    removing a ``window``-pixel running mean), averaged over xz slices, binned by the row's phase within the section
    period; modulation = (max - min) / mean of the binned contrast (0 for a volume as detailed everywhere)."""
    volume = np.asarray(volume)
    xz = np.asarray(volume[:, ::y_step or y_step_for(volume.shape), :], dtype=np.float64)
    half = window // 2
    padded = np.pad(xz, ((0, 0), (0, 0), (half + 1, half)), mode="reflect")
    sums = np.cumsum(padded, axis=2)
    running_mean = (sums[:, :, window:] - sums[:, :, :-window]) / window
    contrast = (xz - running_mean).std(axis=2).mean(axis=1)  # (D,)
    bins, inner = _phase_bins(volume.shape[0], z_factor)
    binned = np.array([contrast[inner & (bins == b)].mean() for b in np.unique(bins) if np.any(inner & (bins == b))])
    return {"modulation": float((binned.max() - binned.min()) / binned.mean()), "contrast_per_phase": binned.tolist()}
