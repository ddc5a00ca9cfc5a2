import numpy as np
import pytest

from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.geometry import (
    check_volume,
    isotropic_placement,
    output_depth,
    patch_geometry,
)
from napari_isorecon.core.settings.zfactor import z_factor_from_scale


@pytest.mark.parametrize("z, f, depth", [(10, 10, 100), (10, 7.5, 75), (7, 12.5, 88), (3, 1.5, 4)])
def test_output_depth_is_rounded_product(z, f, depth):
    assert output_depth(z, f) == depth


def test_z_factor_from_scale():
    assert z_factor_from_scale((40, 4, 4)) == 10
    assert z_factor_from_scale((1, 30, 4, 4)) == 7.5  # leading axes are ignored
    with pytest.raises(IsoReconError, match="isotropic"):
        z_factor_from_scale((4, 4, 4))
    with pytest.raises(IsoReconError):
        z_factor_from_scale((1, 1))
    with pytest.raises(IsoReconError, match="isotropic"):  # the same z-factor as 1 (same_z_factor): isotropic
        z_factor_from_scale((4.002, 4, 4))
    assert z_factor_from_scale((4.02, 4, 4)) == pytest.approx(1.005)


@pytest.mark.parametrize("bad", [1, 0.5, -3, float("nan"), float("inf"), "ten", None, 1000])
def test_bad_z_factors_are_refused(bad):
    with pytest.raises(IsoReconError, match="z-factor"):
        output_depth(10, bad)


def test_isotropic_placement_overlays_the_input():
    scale, translate = isotropic_placement((40.0, 4.0, 4.0), (100.0, 0.0, 0.0), n_slices=10, z_factor=10)
    assert scale == (4.0, 4.0, 4.0)
    # output row j sits at input index (j + 0.5)/f - 0.5: the first output row is 0.45 input slices early
    assert translate[0] == pytest.approx(100.0 + 40.0 * (0.05 - 0.5))
    # the centre of the output stack is the centre of the input stack
    depth = output_depth(10, 10)
    centre_out = translate[0] + scale[0] * (depth - 1) / 2
    assert centre_out == pytest.approx(100.0 + 40.0 * (10 - 1) / 2)


@pytest.mark.parametrize(
    "shape, dtype, message",
    [
        ((64, 64), np.uint8, "2D"),
        ((2, 8, 64, 64), np.uint8, "4 axes"),
        ((64, 64, 3), np.uint8, "RGB"),
        ((1, 64, 64), np.uint8, "z slice"),
        ((8, 8, 64), np.uint8, "at least"),
        ((8, 64, 64), bool, "boolean"),
        ((8, 64, 64), np.complex64, "dtype"),
    ],
)
def test_check_volume_names_the_problem(shape, dtype, message):
    with pytest.raises(IsoReconError, match=message):
        check_volume(np.zeros(shape, dtype))


def test_patch_geometry_shrinks_to_fit_and_refuses_impossible():
    assert patch_geometry((50, 250, 250), 10, 8, 64) == (8, 80, 64)
    assert patch_geometry((5, 100, 200), 10, 8, 64) == (5, 50, 64)
    rows, hr_rows, width = patch_geometry((10, 100, 200), 7.5, 8, 64)
    assert hr_rows == round(rows * 7.5) and hr_rows <= 200
    with pytest.raises(IsoReconError, match="too small"):
        patch_geometry((10, 30, 30), 20, 8, 64)
