"""Property tests: for random shapes, dtypes and factors, geometry, dtype and value range hold."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_isorecon.core import ReconConfig
from napari_isorecon.core.geometry import isotropic_placement, output_depth
from napari_isorecon.core.inference.reconstruct import interpolate, interpolation_normalizer, run_to_end

DTYPES = [np.uint8, np.uint16, np.int16, np.int32, np.int64, np.float32, np.float64]
CUBIC_OVERSHOOT = 0.125  # Keys' cubic (a = -0.5), one resize: at most 1/8 of the range (derived below)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(z=st.integers(2, 9), y=st.integers(16, 40), x=st.integers(16, 40),
       factor=st.floats(1.1, 12.0, allow_nan=False), dtype=st.sampled_from(DTYPES),
       order=st.sampled_from(["linear", "cubic"]), seed=st.integers(0, 2**16),
       low_share=st.floats(0.0, 1.0), width_share=st.floats(0.0, 1.0))
def test_interpolation_geometry_dtype_and_range(z, y, x, factor, dtype, order, seed, low_share, width_share):
    """Integer volumes take values in a random part [a, b] of their dtype's range (anywhere from a few levels
    to all of it), so that leaving the input's range (an overshoot, a value wrapped round on the cast back)
    shows: clipping to the dtype's range alone would not keep the result in [a, b]."""
    rng = np.random.default_rng(seed)
    quantum = 0.0
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        full = int(info.max) - int(info.min)
        a = min(int(info.min) + int(low_share * full), int(info.max) - 1)
        b = min(int(info.max), a + max(1, int(width_share * (int(info.max) - a))))
        volume = rng.integers(a, b, size=(z, y, x), endpoint=True, dtype=dtype)
        # the engine computes in float64: beyond 2**53 it holds integers only to this spacing
        quantum = 2 * float(np.spacing(float(max(abs(a), abs(b)))))
    else:
        volume = (rng.normal(size=(z, y, x)) * 1e3).astype(dtype)
    out = run_to_end(interpolate(volume, factor, order, ReconConfig(tile_width=24, tile_overlap=4))).volume
    assert out.shape == (output_depth(z, factor), y, x)
    assert out.dtype == np.dtype(dtype)
    assert np.isfinite(out.astype(np.float64)).all()
    lo, hi = float(volume.min()), float(volume.max())
    span = hi - lo
    if order == "linear":  # a convex combination never leaves the input range
        margin = 1e-3 * span + quantum
    else:
        # CUBIC_OVERSHOOT of the range (one z-resize per slice pass; the xz and yz passes' average stays within
        # the bounds of each), beside float32 arithmetic (1e-6 of the range the engine normalises by: the
        # dtype's for 8- and 16-bit integers, else the volume's, widened where float64 sees a constant volume)
        # and, for integers, rounding back (0.5)
        scale = interpolation_normalizer(volume)
        margin = (CUBIC_OVERSHOOT * span + 1e-6 * (scale.high - scale.low)
                  + (0.5 if np.issubdtype(dtype, np.integer) else 0.0) + quantum)
    assert lo - margin <= float(out.min()) and float(out.max()) <= hi + margin, (lo, hi, out.min(), out.max())


def test_keys_cubic_overshoots_by_an_eighth_of_the_range_at_most_and_reaches_it():
    """Keys' kernel with a = -0.5 puts weight on the four nearest rows at phase t: -t (1 - t)^2 / 2,
    (2 - 5 t^2 + 3 t^3) / 2, (t + 4 t^2 - 3 t^3) / 2 and -t^2 (1 - t) / 2; the negative ones sum to t (1 - t) / 2,
    largest at t = 1/2: 1/8. With the rows under the positive taps at the top of the range and those under the
    negative ones at the bottom, one resize reaches top + range / 8. Output row 4 of 4 rows at factor 2.25 lies
    at input position (4 + 0.5) / 2.25 - 0.5 = 1.5, between rows 1 and 2, weights -1/16, 9/16, 9/16, -1/16."""
    t = np.linspace(0, 1, 10001)
    negative = t * (1 - t) ** 2 / 2 + t**2 * (1 - t) / 2
    assert negative.max() == pytest.approx(CUBIC_OVERSHOOT, abs=1e-12)
    volume = np.zeros((4, 16, 16))
    volume[1:3] = 1.0
    out = run_to_end(interpolate(volume, 2.25, "cubic", ReconConfig(device="cpu"))).volume
    assert out.shape == (9, 16, 16)
    np.testing.assert_allclose(out[4], 1 + CUBIC_OVERSHOOT, atol=1e-6)
    assert out.max() == pytest.approx(1 + CUBIC_OVERSHOOT, abs=1e-6)
    assert out.min() >= -CUBIC_OVERSHOOT - 1e-6


@settings(max_examples=50, deadline=None)
@given(z=st.integers(2, 500), factor=st.floats(1.01, 100.0, allow_nan=False),
       sz=st.floats(0.1, 100.0), t=st.floats(-1e3, 1e3))
def test_placement_centres_the_output_on_the_input(z, factor, sz, t):
    depth = output_depth(z, factor)
    scale, translate = isotropic_placement((sz, 1.0, 1.0), (t, 0.0, 0.0), z, factor)
    assert np.isclose(scale[0] * depth, sz * z)  # same physical extent
    centre_in = t + sz * (z - 1) / 2
    centre_out = translate[0] + scale[0] * (depth - 1) / 2
    assert np.isclose(centre_in, centre_out, atol=1e-6 * max(1.0, abs(centre_in)))


def _whole_volume_resize(volume: np.ndarray, depth: int, order: str) -> np.ndarray:
    """The reference: one resize of the whole volume along z (no slicing, tiling, batching or fusion)."""
    import torch

    from napari_isorecon.core.networks.resample import axial_resize

    z, y, x = volume.shape
    flat = torch.from_numpy(volume.astype(np.float64).reshape(1, 1, z, y * x))
    return axial_resize(flat, depth, order).numpy().reshape(depth, y, x)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(z=st.integers(2, 8), y=st.integers(16, 36), x=st.integers(16, 36),
       factor=st.floats(1.2, 8.0, allow_nan=False), backbone=st.sampled_from(["edsr", "rcan", "vdsr", "drcnet"]),
       tile=st.integers(16, 40), batch=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_reconstruct_in_interpolation_mode_equals_plain_interpolation(z, y, x, factor, backbone, tile, batch,
                                                                      seed):
    """An untrained model is an interpolator (its residual branches start at zero): reconstructing with it,
    through the slice passes, tiles, batches and the xz/yz fusion, equals interpolating the whole volume
    at once along z, to the rounding of uint8."""
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.inference.reconstruct import reconstruct
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel

    volume = np.random.default_rng(seed).integers(0, 256, size=(z, y, x)).astype(np.uint8)
    cfg = ReconConfig(tile_width=tile, tile_overlap=min(4, tile // 2 - 1), batch_size=batch, device="cpu")
    model = IsoModel(TrainConfig(z_factor=factor, steps=1, minutes=None, channels=4, blocks=1, backbone=backbone),
                     Normalizer(0.0, 255.0, np.dtype(np.uint8).str))
    order = "linear" if backbone == "drcnet" else "cubic"
    ours = run_to_end(reconstruct(volume, model, cfg)).volume.astype(int)
    plain = run_to_end(interpolate(volume, factor, order, cfg)).volume.astype(int)
    reference = np.clip(np.rint(_whole_volume_resize(volume, output_depth(z, factor), order)), 0, 255).astype(int)
    assert ours.shape == plain.shape == reference.shape
    assert np.abs(plain - reference).max() <= 1
    assert np.abs(ours - reference).max() <= 1
