"""An uncertainty map by test-time augmentation: the network also sees flipped copies of every slice.

    for event in reconstruct_with_uncertainty(volume, model):   # ReconProgress ..., ReconWithUncertainty
        ...
    result, spread = event.volume, event.uncertainty

Every xz and every yz slice is predicted as it is and flipped along its lateral axis (x in xz slices, y in
yz slices), and, where the learned degradation allows it, flipped along z and along both; each prediction
is flipped back. The mean of all of them (2 passes x 2 or 4 flips) is the result; their per-voxel standard
deviation (population, in input intensity units, float32) is the uncertainty: where the network's answer
depends on the orientation it was shown, or differs between the xz and the yz pass, it is guessing.
It costs as many network passes as there are flips (2x or 4x a plain reconstruction).

What it is worth, measured against ground truth (x10 on the bench volume, docs/benchmarks.md): the mean
gains nothing (+0.01 dB); the spread is largest in the rows between measured sections, where the error is
(rank correlation 0.80 per output row), but voxel by voxel it hardly tells good from bad (0.14, the image
gradient 0.13) and it is ~10x smaller than the real error: see :data:`NOT_AN_ERROR_MAP`.

The z rule. Lateral flips are always fair: stage-2 training flips its lateral patches both ways. A z flip
is fair only if a z-flipped section looks like one the network was trained on, i.e. if the degradation it
learned to invert is symmetric in z. Stage 2 trains on lateral patches (flipped both ways) degraded by
``model.pair_degradation()``; when that is a kernel (the declared section, ``stage2_pairs="section"``,
the default, or G_hl's kernel path alone, ``"kernel"``), its symmetry is the kernel's, and z is flipped when the kernel's asymmetry (half the L1
distance between the kernel and its mirror image, relative to its L1 mass: 0 for a symmetric kernel, 1
for one that does not overlap its mirror) is at most :data:`Z_FLIP_TOLERANCE`. With the whole G_hl
(whose residual branch learned real axial slices, which are never flipped in z) or without stage 2, z is
not flipped. Blockwise (``reconstruct_blockwise_with_uncertainty``, ``write_with_uncertainty_blockwise``)
uses exactly the same flips, so it gives the same volumes as the whole-volume job (to float rounding).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..events import ReconWithUncertainty
from ..model.intensity import Normalizer
from ..settings.config import ReconConfig
from .blockwise import DEFAULT_BLOCK, reconstruct_blockwise, write_blockwise
from .fusion import by_slabs

Z_FLIP_TOLERANCE = 0.05
# measured on the bench volume (benchmarks/uncertainty_bench.py, docs/benchmarks.md); shown wherever the map is
NOT_AN_ERROR_MAP = (
    "The uncertainty map is not a reliable predictor of the error: against ground truth it is largest between "
    "the measured sections, where the error is, but voxel by voxel it ranks errors hardly better than the "
    "image gradient (Spearman 0.14 vs 0.13), and it is ~10x smaller than the real error.")
# (lateral, z) flips: as it is, flipped laterally, flipped in z, flipped in both
LATERAL_FLIPS = ((False, False), (True, False))
ALL_FLIPS = LATERAL_FLIPS + ((False, True), (True, True))


def kernel_asymmetry(taps) -> float:
    """Half the L1 distance between an axial kernel and its mirror image, relative to its L1 mass."""
    k = np.asarray(taps, dtype=np.float64).ravel()
    return float(0.5 * np.abs(k - k[::-1]).sum() / max(np.abs(k).sum(), 1e-12))


@dataclass(frozen=True)
class FlipEnsemble:
    """A fusion (see :mod:`fusion`): every batch of slices predicted under each of ``flips`` ((lateral, z)
    pairs), the mean and the spread of all predictions over both passes as the two outputs."""

    flips: tuple = LATERAL_FLIPS
    reason: str = ""  # why these flips, for the user (not part of the identity of a blockwise run)

    outputs = ("result", "uncertainty")

    def __post_init__(self):
        flips = tuple((bool(a), bool(b)) for a, b in self.flips)
        if not flips or len(set(flips)) != len(flips):
            raise ValueError(f"flips must be distinct (lateral, z) pairs, got {self.flips!r}")
        object.__setattr__(self, "flips", flips)

    @property
    def z_flipped(self) -> bool:
        return any(z for _, z in self.flips)

    def predict(self, forward, slices: np.ndarray) -> np.ndarray:
        """(n, Z, W) normalised slices -> (len(flips), n, D, W), each prediction flipped back."""
        out = None
        for i, (lateral, z) in enumerate(self.flips):
            axes = (1,) * z + (2,) * lateral  # axes of (n, rows, W)
            pred = forward(np.flip(slices, axes) if axes else slices)
            if out is None:
                out = np.empty((len(self.flips),) + pred.shape, dtype=np.float32)
            out[i] = np.flip(pred, axes) if axes else pred
        return out

    def accumulator(self, shape, n_passes: int) -> _Moments:
        return _Moments(shape, n_passes, len(self.flips))

    def output_dtypes(self, normalizer: Normalizer) -> tuple:
        return (normalizer.np_dtype, np.dtype(np.float32))

    def describe(self) -> dict:
        return {"flips": [list(f) for f in self.flips]}

    def finished(self, volumes: tuple, elapsed: float, info: dict) -> ReconWithUncertainty:
        info = {**info, "flips": self.flips, "augmentation": self.reason or describe_flips(self.flips)}
        return ReconWithUncertainty(volume=volumes[0], uncertainty=volumes[1], stopped=False, elapsed=elapsed,
                                    info=info)


class _Moments:
    """Running mean and sum of squared deviations (float32, numerically stable: each batch's predictions
    are centred on their own mean, then merged with Chan et al.'s pairwise update)."""

    def __init__(self, shape, n_passes: int, per_pass: int):
        self.mean = np.zeros(shape, dtype=np.float32)
        self.m2 = np.zeros(shape, dtype=np.float32)
        self.n_passes, self.per_pass = n_passes, per_pass

    def add(self, pass_index: int, region, samples: np.ndarray) -> None:
        k = self.per_pass
        batch_mean = samples.mean(axis=0, dtype=np.float32)
        batch_m2 = np.square(samples - batch_mean).sum(axis=0, dtype=np.float32)
        before = pass_index * k  # predictions already merged at every voxel of this region
        if before == 0:
            self.mean[region] = batch_mean
            self.m2[region] = batch_m2
            return
        total = before + k
        delta = batch_mean - self.mean[region]
        self.mean[region] += delta * np.float32(k / total)
        self.m2[region] += batch_m2 + np.square(delta) * np.float32(before * k / total)

    def finish(self, normalizer: Normalizer) -> tuple:
        count = self.n_passes * self.per_pass
        scale = normalizer.high - normalizer.low
        result = by_slabs(normalizer.from_unit, self.mean, normalizer.np_dtype)
        spread = by_slabs(lambda m2: np.sqrt(np.maximum(m2, 0) / count) * scale, self.m2, np.float32)
        return result, spread


def describe_flips(flips) -> str:
    z = any(z for _, z in flips)
    return f"{len(flips)} flips per slice ({'lateral and z' if z else 'lateral only'})"


def z_flip_rule(model) -> tuple[bool, str]:
    """(whether z may be flipped for ``model``, why), by the rule in the module docstring."""
    if model.reconstructor is None:
        return False, ("z not flipped: the model has no stage-2 network; G_lh inverts the whole learned "
                       "degradation, whose symmetry in z is unknown")
    if model.config.stage2_pairs == "full":
        return False, ("z not flipped: stage 2 trained on pairs from the whole learned degradation, whose "
                       "symmetry in z is unknown")
    asymmetry = kernel_asymmetry(model.pair_kernel().detach().cpu().numpy())
    if asymmetry <= Z_FLIP_TOLERANCE:
        return True, (f"lateral and z flips: the learned axial kernel is symmetric in z (asymmetry "
                      f"{asymmetry:.3f} <= {Z_FLIP_TOLERANCE})")
    return False, (f"lateral flips only: the learned axial kernel is not symmetric in z (asymmetry "
                   f"{asymmetry:.3f} > {Z_FLIP_TOLERANCE}), so a z-flipped section would look like "
                   "another acquisition")


def flip_ensemble(model) -> FlipEnsemble:
    """The test-time augmentation that fits ``model``: lateral flips, and z flips where the rule allows."""
    z_ok, reason = z_flip_rule(model)
    return FlipEnsemble(ALL_FLIPS if z_ok else LATERAL_FLIPS, reason)


def reconstruct_with_uncertainty(volume, model, cfg: ReconConfig | None = None, stop=None,
                                 ensemble: FlipEnsemble | None = None) -> Iterator:
    """Like :func:`reconstruct.reconstruct`, with test-time augmentation: yields ReconProgress, then a
    ReconWithUncertainty (or a stopped ReconFinished). Checks the input at the call."""
    from .reconstruct import slice_passes  # imports torch

    return slice_passes(volume, model.reconstruction_network(), model.z_factor, model.normalizer,
                        cfg or ReconConfig(), stop, ensemble or flip_ensemble(model))


def reconstruct_blockwise_with_uncertainty(volume, model, cfg: ReconConfig | None = None, block=DEFAULT_BLOCK,
                                           client=None, ensemble: FlipEnsemble | None = None):
    """Two lazy dask arrays (result, uncertainty) over blocks of ``volume``; each block is computed once
    for both (see :class:`fusion.SharedBlocks`)."""
    return reconstruct_blockwise(volume, model.reconstruction_network(), model.z_factor, model.normalizer,
                                 cfg, block, client, fusion=ensemble or flip_ensemble(model))


def write_with_uncertainty_blockwise(volume, model, path, uncertainty_path, cfg: ReconConfig | None = None,
                                     ensemble: FlipEnsemble | None = None, **kwargs) -> Iterator:
    """:func:`blockwise.write_blockwise` of the augmented result to ``path`` and its uncertainty to
    ``uncertainty_path`` (both OME-Zarr, resumed together); the last event is a ReconWithUncertainty
    holding both written arrays, opened lazily."""
    return write_blockwise(volume, model.reconstruction_network(), model.z_factor, model.normalizer, path, cfg,
                           fusion=ensemble or flip_ensemble(model), more_paths=(uncertainty_path,), **kwargs)
