"""The output's mean held to the sections' between them (core.model.phase_levels): measured, taken off,
kept in checkpoints and the exported network, and what it does to the hidden-section bias."""

import math

import numpy as np
import pytest
import torch
from old_checkpoints import version_1_payload
from planted import check_config, tissue
from torch import nn

from napari_isorecon.core.checks.hidden_sections import predict_hidden, split_sections
from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end
from napari_isorecon.core.model.checkpoint import load_model, save_model
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.model.phase_levels import (
    PhaseLevelled,
    describe_phase_levels,
    harmonics_for,
    levels_at,
    measure_phase_levels,
    row_phases,
)
from napari_isorecon.core.networks.resample import axial_resize
from napari_isorecon.core.training.train import train_to_end


class FloorAt(nn.Module):
    """Cubic interpolation that never goes below ``floor`` (unit scale): not linear, so a blank section moves
    the rows around it away from the sections' interpolated mean."""

    def __init__(self, floor: float):
        super().__init__()
        self.floor = floor
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x, out_rows):
        return axial_resize(x, out_rows, "cubic").clamp(min=self.floor)


class GapDarkening(nn.Module):
    """Cubic interpolation whose rows between sections are darkened by ``depth`` (unit scale): the failure seen
    on real stacks, where the network's mean midway between sections is off."""

    def __init__(self, depth: float):
        super().__init__()
        self.depth = depth
        self.unused = nn.Parameter(torch.zeros(1))  # a device to run on, like every network

    def forward(self, x, out_rows):
        phase = torch.from_numpy(row_phases(x.shape[-2], out_rows)).to(x.dtype)
        dip = self.depth * (1 - torch.cos(2 * math.pi * phase)) / 2
        return axial_resize(x, out_rows, "cubic") - dip.view(1, 1, -1, 1)


def _unit_normalizer():
    return Normalizer(0.0, 255.0, np.dtype(np.uint8).str)


def test_row_phases_follow_the_engine_geometry():
    phases = row_phases(3, 12)  # z-factor 4: rows at -0.375, -0.125, 0.125, 0.375, 0.625, ... input rows
    assert np.allclose(phases[:6], [0.625, 0.875, 0.125, 0.375, 0.625, 0.875])
    assert harmonics_for(2) == 1 and harmonics_for(4) == 2 and harmonics_for(20) == 4


def test_a_planted_gap_darkening_is_measured_and_taken_off():
    vol = tissue(z=16, size=64, seed=1)
    depth = 0.04  # 10 grey levels at midway
    net = GapDarkening(depth)
    coefficients = measure_phase_levels(net, vol, _unit_normalizer(), 4.0)
    phase = np.linspace(0, 1, 9)
    measured = levels_at(coefficients, phase)
    planted = -depth * (1 - np.cos(2 * np.pi * phase)) / 2
    # cubic interpolation of the sections keeps their mean at every phase, so what is measured is the dip
    assert np.abs(measured - planted).max() * 255 < 0.6
    held = PhaseLevelled(net, coefficients)
    x = torch.from_numpy(_unit_normalizer().to_unit(vol[:, 20:28, :].transpose(1, 0, 2)))[:, None]
    with torch.inference_mode():
        plain, fixed = net(x, 64), held(x, 64)
        cubic = axial_resize(x, 64, "cubic")
    phase_of_row = row_phases(16, 64)
    midway = np.abs(phase_of_row - 0.5) < 0.2
    off_plain = float((plain - cubic)[:, :, midway].mean()) * 255
    off_fixed = float((fixed - cubic)[:, :, midway].mean()) * 255
    assert off_plain < -7 and abs(off_fixed) < 0.6


def test_an_unbiased_network_measures_no_levels():
    vol = tissue(z=16, size=64, seed=2)
    coefficients = measure_phase_levels(GapDarkening(0.0), vol, _unit_normalizer(), 5.0)
    assert np.abs(coefficients).max() * 255 < 0.3


def test_sections_that_are_no_image_do_not_move_the_levels():
    vol = tissue(z=16, size=64, seed=3)
    blank = vol.copy()
    blank[8] = 0
    net = FloorAt(0.1)
    with_blank = measure_phase_levels(net, blank, _unit_normalizer(), 4.0, not_real=())
    set_aside = measure_phase_levels(net, blank, _unit_normalizer(), 4.0, not_real=(8,))
    assert np.abs(with_blank).max() * 255 > 1.0  # the blank section's dip lands on some phases
    assert np.abs(set_aside).max() * 255 < 0.3


def test_too_few_sections_measure_nothing():
    assert measure_phase_levels(GapDarkening(0.02), tissue(z=3, size=48), _unit_normalizer(), 2.0) is None


def test_the_hidden_section_bias_of_a_gap_darkening_network_goes():
    """The failure on the real stack in miniature: a network that darkens the gaps predicts hidden sections too
    dark; measured on the kept sections and taken off, the bias is within half a grey level."""
    vol = tissue(z=31, size=64, seed=4, z_smooth=2.0)
    kept, hidden = split_sections(vol)
    net = GapDarkening(0.03)
    normalizer = _unit_normalizer()

    def hidden_bias(network):
        x = torch.from_numpy(normalizer.to_unit(kept.transpose(1, 0, 2)))[:, None]
        with torch.inference_mode():
            dense = network(x, kept.shape[0] * 6)[:, 0].numpy().transpose(1, 0, 2) * 255
        return float((predict_hidden(dense, kept.shape[0], 1.0) - hidden).mean())

    held = PhaseLevelled(net, measure_phase_levels(net, kept, normalizer, 6.0))
    assert hidden_bias(net) < -3
    assert abs(hidden_bias(held) - hidden_bias(GapDarkening(0.0))) < 0.5


@pytest.mark.parametrize("hold", [True, False])
def test_training_measures_the_levels_when_asked(hold):
    model = train_to_end(tissue(z=12, size=48), check_config(hold_section_mean=hold))
    assert (model.phase_levels is not None) == hold
    net = model.reconstruction_network()
    assert (type(net) is PhaseLevelled) == hold and net.name == "edsr"


def test_levels_survive_a_checkpoint_and_shape_the_output(tmp_path):
    vol = tissue(z=12, size=48)
    model = train_to_end(vol, check_config())
    model.phase_levels = np.array([0.02, 0.01, 0.0], dtype=np.float32)  # a visible offset, 0.02 on average
    before = run_to_end(reconstruct(vol, model)).volume
    span = model.normalizer.high - model.normalizer.low
    loaded = load_model(save_model(model, tmp_path / "m.pt"))
    assert np.allclose(loaded.phase_levels, model.phase_levels)
    assert np.array_equal(run_to_end(reconstruct(vol, loaded)).volume, before)
    assert describe_phase_levels(loaded) == (
        f"mean between sections held to the sections': the network's rows were {0.03 * span:+.2f} grey levels off "
        f"at a section and {0.01 * span:+.2f} midway (taken off; largest {0.03 * span:.2f})")
    loaded.phase_levels = None
    assert describe_phase_levels(loaded).startswith("mean between sections: not held")
    without = run_to_end(reconstruct(vol, loaded)).volume.astype(float)
    assert abs((without.mean() - before.astype(float).mean()) / span - 0.02) < 0.002


def test_checkpoints_from_before_hold_no_levels(tmp_path):
    model = train_to_end(tissue(z=12, size=48), check_config())
    path = save_model(model, tmp_path / "m.pt")
    payload = version_1_payload(torch.load(path, weights_only=True))
    del payload["phase_levels"]
    del payload["config"]["hold_section_mean"]
    torch.save(payload, path)
    old = load_model(path)
    assert old.phase_levels is None and old.config.hold_section_mean is False
