"""The learned kernel in numbers: centroid, FWHM, equivalent section thickness; `isorecon info`."""

import numpy as np
import pytest

from napari_isorecon.cli import main
from napari_isorecon.core.checks.kernel_summary import describe_kernel, kernel_summary
from napari_isorecon.core.networks.generators import AxialDegradation


def test_the_box_start_is_one_z_step_thick_and_centred():
    taps = AxialDegradation(10).axial_kernel().detach().numpy()
    s = kernel_summary(taps, 10, xy_nm=4.0)
    assert s["centroid_px"] == pytest.approx(0, abs=1e-6)
    assert s["fwhm_px"] == pytest.approx(10, abs=0.6)
    assert s["equivalent_thickness_z_steps"] == pytest.approx(1.0, abs=0.05)
    assert s["fwhm_nm"] == pytest.approx(4 * s["fwhm_px"])
    assert "FWHM 4" in describe_kernel(s) and "nm" in describe_kernel(s)


def test_a_shifted_gaussian_has_its_centroid_and_width():
    t = np.arange(-20, 21)
    sigma = 3.0
    s = kernel_summary(np.exp(-0.5 * ((t - 2) / sigma) ** 2), 10)
    assert s["centroid_px"] == pytest.approx(2, abs=1e-3)
    assert s["fwhm_px"] == pytest.approx(2.3548 * sigma, rel=0.02)
    assert s["equivalent_thickness_px"] == pytest.approx(np.sqrt(12) * sigma, rel=0.01)
    assert "px" in describe_kernel(s)


def test_info_prints_settings_history_and_kernel(tmp_path, capsys):
    model = tmp_path / "m.pt"
    assert main(["train", "sample", "--steps", "3", "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["info", str(model), "--xy-nm", "10"]) == 0
    out = capsys.readouterr().out
    assert "z-factor 5" in out and "trained: 3 steps" in out and "Section kernel (declared)" in out and " nm" in out
    assert "stage-2 pairs from 'section'" in out
    assert main(["info", str(tmp_path / "missing.pt")]) == 2


def test_warnings_flag_thick_and_off_centre_kernels_but_not_thin_ones():
    from napari_isorecon.core.checks.kernel_summary import kernel_warnings

    t = np.arange(-40, 41)
    box = lambda width, shift=0: ((t >= shift - width / 2) & (t < shift + width / 2)).astype(float)  # noqa: E731
    assert kernel_warnings(kernel_summary(box(10), 10)) == []
    assert kernel_warnings(kernel_summary(box(1), 10)) == []  # planes: FIB-SEM with coarse steps
    thick = kernel_warnings(kernel_summary(box(30), 10))
    assert len(thick) == 1 and "3.0 z-steps thick" in thick[0]
    shifted = kernel_warnings(kernel_summary(box(10, shift=4), 10))
    assert len(shifted) == 1 and "off-centre by +0.35" in shifted[0]  # taps -1..8
