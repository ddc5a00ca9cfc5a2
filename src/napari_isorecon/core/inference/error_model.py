"""Where the faithful output is guessing: a per-voxel standard deviation of its error, learned from the volume's
own lateral images and calibrated on its own hidden sections.

    errors = fit_error_model(volume, model)             # ~1 minute on a laptop CPU
    sigma = errors.sigma(faithful, interpolated)         # float32, the data's grey levels

The lateral (xy) planes of the volume are sharp images of the same tissue. Each is made into sections along one
of its axes with the section model the reconstruction network was trained to invert (the declared thickness, or
the learned kernel's equivalent thickness), reconstructed by the network, and compared with itself: pairs of
(what the network drew, what was there). A small convolutional network (:class:`ErrorNet`) learns, with the
Gaussian negative log-likelihood (a heteroscedastic loss), the log variance of that error from what it can see
at reconstruction time: the faithful output, the cubic interpolation, their difference, and each row's
distance to the nearest section. Applied to the xz and the yz slices of the reconstruction (log variances
averaged) it gives ``sigma``.

Calibration. The network's errors on lateral planes are in-sample (stage 2 trained on those planes), so the raw
``sigma`` is too small along z. :attr:`ErrorModel.scale` multiplies it. The scale that makes +-1.645 sigma a 90 %
interval is measured on the hidden sections of the user's own volume by the check (:func:`calibration_scale`,
``core.checks.hidden_sections``); without a check, :data:`DEFAULT_SCALE`, measured on a FIB-SEM volume with
ground truth and on a real serial-section stack's hidden sections (docs/benchmarks.md, "Uncertainty"), is used,
and the output says so.

What it is worth: the rank correlation of ``sigma`` with the faithful output's absolute error is bounded well
below 1 even for a perfect standard deviation, because the error at one voxel is a random draw of that size:
:func:`rank_ceiling` gives the bound for a map (docs/benchmarks.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..geometry import output_depth
from ..model.intensity import as_dtype

Z90 = 1.6448536269514722  # the standard normal's 95th percentile: +-Z90 sigma holds 90 %
DEFAULT_SCALE = 1.6  # measured, see the module docstring; replaced by the check's own scale where there is one
DEFAULT_CALIBRATION = "default"  # ErrorModel.calibrated_on when the scale is DEFAULT_SCALE
FIT_STEPS = 600
PATCH = 48
BATCH = 8
MAX_PLANES = 48  # lateral planes (per orientation) the pairs are made from
MIN_PLANES = 16
MAX_PLANE_SIDE = 512  # larger planes are cropped at their centre
CHANNELS = 16


def row_phase_distance(depth: int, n_sections: int) -> np.ndarray:
    """(depth,) each output row's distance, in section spacings, to the nearest section centre: 0 at a section,
    0.5 midway (output row j lies at section index (j + 0.5) n / D - 0.5, core.geometry)."""
    p = (np.arange(depth, dtype=np.float64) + 0.5) * n_sections / depth - 0.5
    return np.abs(p - np.round(p)).astype(np.float32)


def _error_net(channels: int = CHANNELS):
    import torch.nn as nn

    layers = [nn.Conv2d(4, channels, 3, padding=1), nn.ReLU()]
    for _ in range(4):
        layers += [nn.Conv2d(channels, channels, 3, padding=2, dilation=2), nn.ReLU()]
    layers.append(nn.Conv2d(channels, 1, 3, padding=1))
    return nn.Sequential(*layers)


def _inputs(faithful: np.ndarray, cubic: np.ndarray, phase: np.ndarray, low: float, span: float) -> np.ndarray:
    """(n, D, W) slices and the rows' phase distance (D,) -> (n, 4, D, W) network inputs."""
    f = (np.asarray(faithful, np.float32) - low) / span
    c = (np.asarray(cubic, np.float32) - low) / span
    ph = np.broadcast_to(phase[None, :, None] * 4, f.shape)
    return np.stack([f - 0.5, c - 0.5, (f - c) * 4, ph], axis=1).astype(np.float32)


@dataclass
class ErrorModel:
    """A fitted :class:`ErrorNet` and the scale that calibrates it (see the module docstring)."""

    net: object
    low: float
    span: float
    scale: float = DEFAULT_SCALE
    calibrated_on: str = DEFAULT_CALIBRATION
    info: dict = field(default_factory=dict)

    def log_variance_slices(self, faithful: np.ndarray, cubic: np.ndarray, n_sections: int, batch: int = 8) -> np.ndarray:
        """(n, D, W) slices -> (n, D, W) raw log variances (before the scale), in units of the span squared."""
        import torch

        phase = row_phase_distance(faithful.shape[1], n_sections)
        out = np.empty(faithful.shape, np.float32)
        self.net.eval()
        with torch.no_grad():
            for i in range(0, faithful.shape[0], batch):
                x = torch.from_numpy(_inputs(faithful[i:i + batch], cubic[i:i + batch], phase, self.low, self.span))
                out[i:i + batch] = self.net(x)[:, 0].numpy()
        return out

    def sigma(self, faithful, cubic, n_sections: int) -> np.ndarray:
        """(D, Y, X) standard deviation of the faithful output's error, float32, in the data's grey levels: the
        log variances of the xz and the yz slices averaged, times :attr:`scale`."""
        faithful = np.asarray(faithful, np.float32)
        cubic = np.asarray(cubic, np.float32)
        log_var = self.log_variance_slices(faithful.transpose(1, 0, 2), cubic.transpose(1, 0, 2), n_sections)
        log_var = log_var.transpose(1, 0, 2)
        log_var += self.log_variance_slices(faithful.transpose(2, 0, 1), cubic.transpose(2, 0, 1),
                                         n_sections).transpose(1, 2, 0)
        return (np.exp(log_var / 4) * self.span * self.scale).astype(np.float32)

    def calibrated(self, scale: float, where: str) -> ErrorModel:
        return ErrorModel(self.net, self.low, self.span, float(scale), where, dict(self.info))


def _planes(volume, max_planes: int) -> np.ndarray:
    """Up to ``max_planes`` whole lateral planes of ``volume``, evenly spread, each cropped to its centre."""
    n = volume.shape[0]
    take = np.unique(np.linspace(0, n - 1, min(n, max_planes)).round().astype(int))
    ys = _centre(volume.shape[1], MAX_PLANE_SIDE)
    xs = _centre(volume.shape[2], MAX_PLANE_SIDE)
    return np.stack([np.asarray(volume[int(k), ys, xs], np.float32) for k in take])


def _centre(length: int, most: int) -> slice:
    start = max(0, (length - most) // 2)
    return slice(start, start + min(length, most))


def lateral_pairs(volume, model, thickness: float, max_planes: int = MAX_PLANES) -> dict:
    """The volume's lateral planes (both orientations) made into sections along their rows by the section model,
    with the faithful and the cubic reconstruction of each, per orientation: {"truth", "faithful", "cubic",
    "n_sections"} (lists of two), and "planes" (how many planes)."""
    from ..settings.config import ReconConfig
    from ..training.sections import box_weights
    from .reconstruct import interpolate, reconstruct, run_to_end

    z_factor = model.z_factor
    planes = _planes(volume, max_planes)
    unique_planes = planes.shape[0]
    if planes.shape[0] < MIN_PLANES:  # the planes are run as one volume's xz slices, which needs 16 of them
        planes = np.concatenate([planes] * int(np.ceil(MIN_PLANES / planes.shape[0])))
    truths, faithfuls, cubics, counts = [], [], [], []
    for oriented in (planes, planes.transpose(0, 2, 1)):
        rows = oriented.shape[1]
        n_sections = int(np.floor(rows / z_factor))
        while output_depth(n_sections, z_factor) > rows:
            n_sections -= 1
        depth = output_depth(n_sections, z_factor)
        weights = box_weights(depth, n_sections, z_factor, thickness).astype(np.float32)  # (n, depth)
        truth = oriented[:, :depth]
        sections = np.einsum("kd,pdw->kpw", weights, truth)  # (n_sections, planes, W): axis 0 plays z
        sections = as_dtype(sections, model.normalizer.np_dtype)
        cfg = ReconConfig(axes=("xz",), device="cpu")
        faithful = run_to_end(reconstruct(sections, model, cfg)).volume
        cubic = run_to_end(interpolate(sections, z_factor, "cubic", cfg)).volume
        truths.append(truth)
        faithfuls.append(np.asarray(faithful, np.float32).transpose(1, 0, 2))
        cubics.append(np.asarray(cubic, np.float32).transpose(1, 0, 2))
        counts.append(n_sections)
    return {"truth": truths, "faithful": faithfuls, "cubic": cubics, "n_sections": counts, "planes": unique_planes}


def fit_error_model(volume, model, steps: int | None = None, seed: int = 0, stop=None,
                    averaged_as=None) -> Iterator:
    """Fit the error model of ``model`` on ``volume``'s own lateral planes (module docstring) in ``steps``
    (default :data:`FIT_STEPS`, read at the call). Yields ErrorModelProgress events, then an ErrorModelFitted
    holding the :class:`ErrorModel` (stopped early: the model so far, ``stopped`` True). ``averaged_as``: the
    weights ``(n_sections, depth) -> (m, depth)`` of means whose error the check scores; their
    :func:`averaging_factor` is then in the model's ``info``."""
    import torch

    from ..events import ErrorModelFitted, ErrorModelProgress, stop_requested
    from .sharp import model_section_thickness

    steps = FIT_STEPS if steps is None else steps
    start = time.perf_counter()
    pairs = lateral_pairs(volume, model, model_section_thickness(model))
    low, high = float(model.normalizer.low), float(model.normalizer.high)
    span = max(high - low, 1e-6)
    slices, errors = [], []
    for truth, faithful, cubic, n_sections in zip(pairs["truth"], pairs["faithful"], pairs["cubic"],
                                                  pairs["n_sections"], strict=True):
        slices.append(torch.from_numpy(_inputs(faithful, cubic, row_phase_distance(truth.shape[1], n_sections),
                                               low, span)))
        errors.append(torch.from_numpy((faithful - truth) / span)[:, None])
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = _error_net()
    with torch.no_grad():  # start from the pairs' overall error: the fit only has to learn where it varies
        last = net[-1]
        last.weight.mul_(0.1)
        last.bias.fill_(float(np.log(np.mean([float((e ** 2).mean()) for e in errors]) + 1e-12)))
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    side = min([PATCH] + [min(x.shape[2:]) for x in slices])  # one patch side for every slice: they are stacked
    stopped = False
    for step in range(1, steps + 1):
        if stop_requested(stop):
            stopped = True
            break
        batch_x, batch_e = [], []
        for _ in range(BATCH):
            which = int(rng.integers(len(slices)))
            x, e = slices[which], errors[which]
            i, r, c = (int(rng.integers(x.shape[0])), int(rng.integers(x.shape[2] - side + 1)),
                       int(rng.integers(x.shape[3] - side + 1)))
            batch_x.append(x[i, :, r:r + side, c:c + side])
            batch_e.append(e[i, :, r:r + side, c:c + side])
        log_var = net(torch.stack(batch_x))
        loss = 0.5 * (log_var + torch.stack(batch_e) ** 2 * torch.exp(-log_var)).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 50 == 0 or step == steps:
            yield ErrorModelProgress(step=step, steps=steps, loss=float(loss.detach()),
                                     elapsed=time.perf_counter() - start)
    info = {"steps": step if not stopped else step - 1, "planes": pairs["planes"],
            "thickness": model_section_thickness(model)}
    fitted = ErrorModel(net, low, span, info=info)
    if averaged_as is not None and not stopped:
        info["averaging_factor"] = averaging_factor(fitted, pairs, averaged_as)
    info["seconds"] = time.perf_counter() - start
    yield ErrorModelFitted(fitted, stopped=stopped, elapsed=time.perf_counter() - start)


def averaging_factor(fitted: ErrorModel, pairs: dict, weights_for) -> float:
    """How much smaller, relative to the raw standard deviation, the error of a weighted mean of output rows is
    than a voxel's: the calibrating scale of such means (errors and standard deviations averaged with
    ``weights_for(n_sections, depth)``, an (m, depth) array) over that of voxels, on the lateral pairs, where
    every voxel's error is known. The check's hidden sections are such means (placed midway between sections,
    where the pairs' rows are no section's), so its scale divided by this factor is a voxel's."""
    voxel_errors, voxel_sigma, mean_errors, mean_sigma = [], [], [], []
    for truth, faithful, cubic, n_sections in zip(pairs["truth"], pairs["faithful"], pairs["cubic"],
                                                  pairs["n_sections"], strict=True):
        raw = np.exp(fitted.log_variance_slices(faithful, cubic, n_sections) / 2)
        error = (faithful - truth) / fitted.span
        weights = np.asarray(weights_for(n_sections, error.shape[1]), np.float32)  # (m, depth)
        voxel_errors.append(error.ravel())
        voxel_sigma.append(raw.ravel())
        mean_errors.append(np.einsum("md,pdw->pmw", weights, error).ravel())
        mean_sigma.append(np.einsum("md,pdw->pmw", weights, raw).ravel())
    voxel = calibration_scale(np.concatenate(voxel_errors), np.concatenate(voxel_sigma))
    return calibration_scale(np.concatenate(mean_errors), np.concatenate(mean_sigma)) / voxel


def calibration_scale(errors: np.ndarray, raw_sigma: np.ndarray) -> float:
    """The factor that makes +-1.645 x factor x ``raw_sigma`` hold 90 % of ``errors`` (paired arrays)."""
    ratio = np.abs(np.asarray(errors, np.float64)) / np.maximum(np.asarray(raw_sigma, np.float64), 1e-12)
    return float(np.quantile(ratio, 0.9) / Z90)


def interval_coverage(errors: np.ndarray, sigma: np.ndarray) -> float:
    """The share of ``errors`` inside +-1.645 ``sigma``."""
    return float(np.mean(np.abs(np.asarray(errors)) <= Z90 * np.asarray(sigma)))


def rank_ceiling(sigma: np.ndarray, seed: int = 0, samples: int = 200_000) -> float:
    """The Spearman correlation a perfect standard deviation map ``sigma`` would reach with Gaussian errors of
    that size: what the rank correlation can be at best, however good the map."""
    rng = np.random.default_rng(seed)
    s = np.asarray(sigma, np.float64).ravel()
    s = s[rng.choice(s.size, min(samples, s.size), replace=False)]
    return spearman(s, s * np.abs(rng.standard_normal(s.size)))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation; 0 where either side is constant (it ranks nothing)."""
    from scipy.stats import spearmanr

    a, b = np.ravel(a), np.ravel(b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b)[0])


def hidden_section_calibration(sigma_hidden: np.ndarray, errors: np.ndarray, scored: np.ndarray,
                               seed: int = 0) -> dict:
    """How well the raw standard deviation predicts the error at the check's hidden sections, and the scale that
    calibrates it. ``sigma_hidden`` and ``errors`` (n_hidden, Y, X); ``scored`` (n_hidden,) bool. The coverage is
    measured honestly: the scale is fitted on every other scored section and the coverage counted on the rest,
    both ways round; ``scale`` itself is fitted on all of them."""
    which = np.flatnonzero(np.asarray(scored, bool))
    sigma = np.asarray(sigma_hidden, np.float64)[which]
    errors = np.asarray(errors, np.float64)[which]
    rng = np.random.default_rng(seed)
    pick = rng.choice(errors.size, min(errors.size, 400_000), replace=False)
    halves = (which % 2 == 0, which % 2 == 1) if len(which) >= 2 else (np.ones(len(which), bool),) * 2
    covered = []
    for fit, test in (halves, halves[::-1]):
        if fit.any() and test.any():
            covered.append(interval_coverage(errors[test], calibration_scale(errors[fit], sigma[fit]) * sigma[test]))
    scale = calibration_scale(errors, sigma)
    return {"spearman": spearman(sigma.ravel()[pick], np.abs(errors).ravel()[pick]),
            "rank_ceiling": rank_ceiling(sigma * scale, seed), "scale": scale,
            "coverage": float(np.mean(covered)) if covered else None,
            "coverage_default_scale": interval_coverage(errors, sigma * DEFAULT_SCALE),
            "sections": len(which)}
