"""The default stage-2 pairs: lateral patches integrated over declared serial sections (no stage 1)."""

import numpy as np
import pytest
import torch
from old_checkpoints import load_version_1_config, version_1_config

from napari_isorecon.core import TrainConfig
from napari_isorecon.core.checks.kernel_summary import describe_kernel, kernel_summary, model_kernel_summary
from napari_isorecon.core.events import StageStarted, TrainStep
from napari_isorecon.core.inference.uncertainty import z_flip_rule
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.model.iso_model import IsoModel
from napari_isorecon.core.training.sections import box_weights, degrade_slices, section_slices, section_taps
from napari_isorecon.core.training.train import train


def test_sections_are_the_default_and_old_checkpoints_keep_their_pairs():
    cfg = TrainConfig()
    assert cfg.stage2_pairs == "section" and not cfg.learns_degradation
    assert cfg.replace(stage2_pairs="kernel").learns_degradation
    old = version_1_config(cfg.to_dict())
    del old["stage2_pairs"]  # a checkpoint from before the setting existed trained on the whole G_hl
    assert load_version_1_config(old).stage2_pairs == "full"


def test_section_pairs_train_stage_2_alone(em_volume, tiny_config):
    events = list(train(em_volume, tiny_config.replace(stage2_pairs="section")))
    assert [e.stage for e in events if isinstance(e, StageStarted)] == [2]
    steps = [e for e in events if isinstance(e, TrainStep)]
    assert len(steps) == 6 and {s.stage for s in steps} == {2}
    assert all(set(s.losses) == {"reconstruction L2"} for s in steps)
    assert events[-1].model.state.stage_steps == (0, 6)


@pytest.mark.parametrize("thickness", [1.0, 0.5, 1.5])
def test_section_pairs_of_a_ramp_are_the_means_over_each_section(thickness):
    """A linear ramp along z, integrated over a section centred on each group of f rows, is the ramp's value
    at the group's centre, whatever the thickness; and the pairs are exactly box_weights."""
    f = 5.0
    model = IsoModel(TrainConfig(z_factor=f, section_thickness=thickness), Normalizer(0.0, 1.0, "float32"))
    rows = torch.arange(40, dtype=torch.float64)
    hr = (rows[:, None] + 0.5).expand(40, 3)[None, None].clone()  # row r covers [r, r + 1): its mean is r + 0.5
    lr = model.pair_degradation()(hr, 8)
    centres = (np.arange(8) + 0.5) * f
    inside = (centres - thickness * f / 2 >= 0) & (centres + thickness * f / 2 <= 40)
    assert np.allclose(lr[0, 0, :, 0].numpy()[inside], centres[inside])
    expected = torch.from_numpy(box_weights(40, 8, f, thickness)) @ hr[0, 0]
    assert torch.allclose(lr[0, 0], expected)


def test_the_section_kernel_is_a_centred_box_of_the_declared_thickness():
    for f, thickness in ((10.0, 1.0), (10.0, 0.5), (7.5, 1.5), (4.0, 1.0)):
        taps = section_taps(f, thickness)
        assert taps.sum() == pytest.approx(1.0) and np.allclose(taps, taps[::-1])
        summary = kernel_summary(taps, f)
        # a box's equivalent thickness is its width (a tap's own width adds 1/12 px^2 of variance)
        assert summary["equivalent_thickness_px"] == pytest.approx(np.sqrt((thickness * f) ** 2 + 1), rel=0.05)
        assert summary["centroid_px"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("f, rows", [(10.0, 250), (7.5, 240), (4.0, 248), (3.0, 30)])
def test_thickness_zero_is_single_planes_at_each_group_centre(f, rows):
    """A plane (FIB-SEM's milled face) is a section of thickness 0: the bench's take_centred, read linearly
    between row centres, with the single tap 1 as its kernel."""
    x = torch.randn(2, 1, rows, 12, generator=torch.Generator().manual_seed(0))
    planes = section_slices(x, f, 0.0)
    torch.testing.assert_close(planes, degrade_slices(x, f, "take_centred"), rtol=0, atol=1e-5)
    ramp = torch.arange(rows, dtype=torch.float64).view(1, 1, rows, 1)
    centres = (np.arange(planes.shape[-2]) + 0.5) * f - 0.5  # row-index coordinate of each plane
    np.testing.assert_allclose(section_slices(ramp, f, 0.0)[0, 0, :, 0].numpy(), np.minimum(centres, rows - 1))
    np.testing.assert_array_equal(section_taps(f, 0.0), [1.0])
    assert TrainConfig(section_thickness=0).section_thickness == 0


def test_a_section_model_reports_its_kernel_as_declared_and_flips_z():
    model = IsoModel(TrainConfig(z_factor=5.0, section_thickness=0.5), Normalizer(0.0, 1.0, "float32"))
    summary = model_kernel_summary(model)
    assert summary["learned"] is False and describe_kernel(summary).startswith("Section kernel (declared)")
    assert summary["equivalent_thickness_z_steps"] == pytest.approx(0.5, rel=0.25)
    model.reconstructor = model.new_reconstructor()
    allowed, why = z_flip_rule(model)
    assert allowed and "symmetric" in why
    learned = IsoModel(TrainConfig(z_factor=5.0, stage2_pairs="kernel"), Normalizer(0.0, 1.0, "float32"))
    assert model_kernel_summary(learned)["learned"] is True
    assert describe_kernel(model_kernel_summary(learned)).startswith("Learned axial kernel")
