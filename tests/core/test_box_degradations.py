"""Section-integrating degradations (box, box_thick, box_thin): each is what it claims, for any z-factor."""

import numpy as np
import pytest
import torch

from napari_isorecon.core.training.sections import (
    BOX_THICKNESS,
    KINDS,
    box_weights,
    degrade_slices,
    degrade_volume,
)


def _columns(profile: np.ndarray) -> torch.Tensor:
    """(1, 1, H, 3): the z profile in three identical columns."""
    return torch.from_numpy(np.repeat(profile[:, None], 3, axis=1).astype(np.float64))[None, None]


def _integrated(profile: np.ndarray, z_factor: float, thickness: float, out_rows: int) -> np.ndarray:
    """Brute force: the mean of the piecewise-constant profile (row r on [r, r + 1)) over each section's z range
    clipped to the volume, by the midpoint rule on a fine grid."""
    out = []
    for k in range(out_rows):
        centre = (k + 0.5) * z_factor
        lo, hi = max(0.0, centre - thickness * z_factor / 2), min(len(profile), centre + thickness * z_factor / 2)
        n = 200_000
        z = lo + (np.arange(n) + 0.5) * (hi - lo) / n
        out.append(profile[np.floor(z).astype(int)].mean())
    return np.array(out)


@pytest.mark.parametrize("kind", sorted(BOX_THICKNESS))
@pytest.mark.parametrize("z_factor, rows", [(4, 24), (2.5, 20), (7.5, 30), (3.3, 33)])
def test_box_kinds_integrate_a_section_of_their_thickness(kind, z_factor, rows):
    profile = np.random.default_rng(1).uniform(0, 100, rows)
    out_rows = int(round(rows / z_factor))
    got = degrade_slices(_columns(profile), z_factor, kind, out_rows)[0, 0].numpy()
    expected = _integrated(profile, z_factor, BOX_THICKNESS[kind], out_rows)
    np.testing.assert_allclose(got[:, 0], expected, atol=2e-3)
    np.testing.assert_allclose(got[:, 0], got[:, 2], rtol=1e-12)


def test_box_of_a_ramp_gives_the_group_means():
    ramp = np.arange(40, dtype=np.float64) * 3 + 7
    out = degrade_slices(_columns(ramp), 4, "box")[0, 0, :, 0].numpy()
    np.testing.assert_allclose(out, ramp.reshape(10, 4).mean(axis=1), rtol=0, atol=1e-9)
    volume = np.broadcast_to(ramp[:, None, None], (40, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(degrade_volume(volume, 4, "box")[:, 2, 3], ramp.reshape(10, 4).mean(axis=1),
                               atol=1e-4)


@pytest.mark.parametrize("kind", ["box_thin", "take_centred", "gaussian_centred", "box"])
def test_centred_kinds_give_the_centre_value_of_a_ramp(kind):
    """A centred, symmetric kernel reads a linear ramp at the centre of each group (away from the ends for the
    kernels that reach past them)."""
    f = 10
    ramp = np.arange(100, dtype=np.float64) * 2.0
    out = degrade_slices(_columns(ramp), f, kind)[0, 0, :, 0].numpy()
    centres = ((np.arange(10) + 0.5) * f - 0.5) * 2.0  # row index of the group's centre
    inner = slice(2, -2) if kind == "gaussian_centred" else slice(None)
    np.testing.assert_allclose(out[inner], centres[inner], atol=1e-6)


@pytest.mark.parametrize("kind, support, peak", [("box", 10, 1 / 10), ("box_thick", 16, 1 / 15),
                                                 ("box_thin", 6, 1 / 5)])
def test_box_weights_of_a_bright_row_have_the_section_width(kind, support, peak):
    """Degrading deltas (each column a single bright row) reads the weights: an interior section t f rows
    wide (16 rows touched by a 15-row window whose ends fall mid-row), centred, summing to 1."""
    f, rows = 10, 60
    deltas = torch.eye(rows, dtype=torch.float64)[None, None]  # column c is bright at row c only
    weights = degrade_slices(deltas, f, kind)[0, 0].numpy()  # (sections, rows): weight of row c in section k
    assert weights.shape == (6, rows)
    for k in range(1, 5):  # interior sections
        w = weights[k]
        assert np.count_nonzero(w > 1e-12) == support
        assert w.sum() == pytest.approx(1.0, abs=1e-12)
        assert w.max() == pytest.approx(peak, abs=1e-12)
        assert (w * np.arange(rows)).sum() == pytest.approx((k + 0.5) * f - 0.5, abs=1e-9)  # centred
    assert np.allclose(weights.sum(axis=1), 1.0)  # the end sections too (renormalised)


def test_box_weights_for_a_non_integer_factor():
    w = box_weights(10, 4, 2.5) * 2.5
    np.testing.assert_allclose(w[0], [1, 1, 0.5, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(w[1], [0, 0, 0.5, 1, 1, 0, 0, 0, 0, 0])
    thick = box_weights(10, 4, 2.5, 1.5)
    np.testing.assert_allclose(thick[1] * 3.75, [0, 0.125, 1, 1, 1, 0.625, 0, 0, 0, 0])  # [1.875, 5.625]
    np.testing.assert_allclose(thick[0] * 3.125, [1, 1, 1, 0.125, 0, 0, 0, 0, 0, 0])  # [-0.625, 3.125] clipped
    np.testing.assert_allclose(thick.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="input rows"):
        box_weights(10, 5, 2.5)  # the last section's centre (11.25) is past the volume


def test_every_kind_is_listed_once_and_accepted():
    assert len(set(KINDS)) == len(KINDS)
    x = torch.rand(2, 1, 40, 16)
    for kind in KINDS:
        assert degrade_slices(x, 4, kind).shape == (2, 1, 10, 16)
