"""Stage-2 section pairs whose thickness is drawn per patch around the declared one (thickness_spread)."""

import numpy as np
import pytest
import torch
from old_checkpoints import load_version_1_config, version_1_config

from napari_isorecon.core import TrainConfig
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.model.iso_model import IsoModel
from napari_isorecon.core.training.noise import PixelNoise, add_missing_noise
from napari_isorecon.core.training.sections import section_slices, section_taps, stacked_section_taps
from napari_isorecon.core.training.train import train_to_end


def _model(**settings) -> IsoModel:
    return IsoModel(TrainConfig(z_factor=5.0, **settings), Normalizer(0.0, 1.0, "float32"))


def test_one_thickness_per_patch_is_each_patchs_own_section():
    x = torch.randn(3, 1, 40, 7, generator=torch.Generator().manual_seed(1))
    thicknesses = [0.0, 0.5, 1.5]
    batch = section_slices(x, 5.0, thicknesses, 8)
    for i, t in enumerate(thicknesses):
        torch.testing.assert_close(batch[i:i + 1], section_slices(x[i:i + 1], 5.0, t, 8))
    with pytest.raises(ValueError, match="2 thicknesses for a batch of 3"):
        section_slices(x, 5.0, [1.0, 1.0], 8)


def test_stacked_taps_are_each_sections_kernel_centred_and_zero_padded():
    stacked = stacked_section_taps(10.0, [0.0, 0.5, 1.5])
    assert stacked.shape == (3, len(section_taps(10.0, 1.5)))
    middle = stacked.shape[1] // 2
    assert stacked[0, middle] == 1.0 and stacked[0].sum() == 1.0
    np.testing.assert_allclose(stacked.sum(axis=1), 1.0)
    for row, t in zip(stacked, (0.0, 0.5, 1.5), strict=True):
        taps = section_taps(10.0, t)
        half = len(taps) // 2
        np.testing.assert_allclose(row[middle - half:middle + half + 1], taps)


def test_missing_noise_follows_each_patchs_kernel():
    kernels = torch.from_numpy(stacked_section_taps(10.0, [0.0, 1.0]))
    out = add_missing_noise(torch.zeros(2, 1, 100, 100), 0.2, kernels, torch.Generator().manual_seed(0))
    assert out[0].abs().max() == 0.0  # a plane keeps all its noise: nothing is missing
    assert out[1].std().item() == pytest.approx(0.2 * np.sqrt(1 - 1 / 10), rel=0.03)


def test_without_spread_the_inputs_are_the_declared_sections():
    model = _model(section_thickness=0.5, thickness_spread=0.0)
    hr = torch.randn(4, 1, 40, 9, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(model.stage2_inputs(hr, 8), section_slices(hr, 5.0, 0.5, 8))


def test_with_spread_each_patch_is_a_section_within_the_range_drawn_by_seed_and_step():
    """On a convex profile (z^2) a thicker section has a larger mean, so each patch's section tells its
    thickness: all inside [t (1 - s), t (1 + s)], not all equal, repeated for the same seed and step."""
    model = _model(section_thickness=1.0, thickness_spread=0.5)
    rows = torch.arange(40, dtype=torch.float32)
    hr = ((rows + 0.5) ** 2)[:, None].expand(40, 5)[None, None].repeat(16, 1, 1, 1)
    lr = model.stage2_inputs(hr, 8)[:, 0, 3, 0]
    thin, thick = section_slices(hr[:1], 5.0, 0.5, 8)[0, 0, 3, 0], section_slices(hr[:1], 5.0, 1.5, 8)[0, 0, 3, 0]
    assert torch.all(lr >= thin - 1e-3) and torch.all(lr <= thick + 1e-3)
    assert lr.std() > 0.1 * (thick - thin)
    torch.testing.assert_close(model.stage2_inputs(hr, 8)[:, 0, 3, 0], lr)
    model.state.step += 1
    assert not torch.allclose(model.stage2_inputs(hr, 8)[:, 0, 3, 0], lr)
    noisy = model.stage2_inputs(torch.zeros(16, 1, 40, 50), 8, PixelNoise(0.1, 0, 0))
    assert 0.0 < noisy.std().item() < 0.1


@pytest.mark.parametrize("spread", [-0.1, 1.5, "wide"])
def test_a_spread_outside_zero_to_one_is_refused(spread):
    with pytest.raises(IsoReconError, match="thickness_spread must be in"):
        TrainConfig(thickness_spread=spread)


def test_training_with_spread_runs_and_keeps_it_in_the_model(em_volume, tiny_config):
    model = train_to_end(em_volume, tiny_config.replace(stage2_pairs="section", thickness_spread=0.5))
    assert model.config.thickness_spread == 0.5 and model.state.stage_steps == (0, 6)


def test_old_checkpoints_trained_without_spread():
    old = version_1_config(TrainConfig().to_dict())
    del old["thickness_spread"]
    assert load_version_1_config(old).thickness_spread == 0.0
