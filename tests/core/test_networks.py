import pytest
import torch
from old_checkpoints import load_version_1_config, version_1_config
from torch.nn import functional as F

from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.networks.backbones import NAMES, build_backbone
from napari_isorecon.core.networks.generators import (
    AxialDegradation,
    AxialDiscriminator,
    AxialInterpolator,
    PatchDiscriminator,
)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("factor, rows, out_rows", [(10, 6, 60), (7.5, 8, 60), (4, 5, 20)])
def test_backbones_upsample_the_vertical_axis_only(name, factor, rows, out_rows):
    net = build_backbone(name, factor, channels=8, blocks=1)
    y = net(torch.rand(2, 1, rows, 40), out_rows)
    assert y.shape == (2, 1, out_rows, 40)
    assert net(torch.rand(1, 1, rows, 40)).shape[-2] == round(rows * factor)


@pytest.mark.parametrize("name", NAMES)
def test_untrained_backbones_start_as_interpolators(name):
    net = build_backbone(name, 7.5, channels=8, blocks=2)
    x = torch.rand(2, 1, 8, 40)
    order = "linear" if name == "drcnet" else "cubic"
    assert torch.allclose(net(x, 60), AxialInterpolator(7.5, order)(x, 60), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_receptive_radius_bounds_the_influence_of_a_pixel(name):
    torch.manual_seed(0)
    net = build_backbone(name, 4, channels=8, blocks=2)
    for p in net.parameters():  # leave the interpolating start: give every weight a value
        torch.nn.init.normal_(p, std=0.1)
    x = torch.rand(1, 1, 12, 64)
    x2 = x.clone()
    x2[..., 32] += 1.0
    changed = (net(x2, 48) - net(x, 48)).abs().amax(dim=(0, 1, 2)) > 0
    columns = torch.nonzero(changed).flatten()
    assert columns.min() >= 32 - net.receptive_radius and columns.max() <= 32 + net.receptive_radius


def test_unknown_backbone_is_a_clear_error():
    with pytest.raises(IsoReconError, match="Unknown backbone"):
        build_backbone("unet", 10, 8, 1)


def test_degradation_starts_as_box_average_and_sampling():
    g = AxialDegradation(5, channels=4, blocks=1)
    x = torch.rand(2, 1, 50, 32)
    y = g(x, 10)
    assert y.shape == (2, 1, 10, 32)
    # away from the borders, the start is exactly the mean of each group of 5 rows (average pooling)
    pooled = F.avg_pool2d(x, (5, 1))
    assert torch.allclose(y[:, :, 2:-2], pooled[:, :, 2:-2], atol=1e-5)
    assert torch.isclose(g.axial_kernel().sum(), torch.tensor(1.0))


def test_degradation_handles_non_integer_factors():
    g = AxialDegradation(7.5)
    assert g(torch.rand(1, 1, 60, 32), 8).shape == (1, 1, 8, 32)
    assert g(torch.rand(1, 1, 60, 32)).shape == (1, 1, 8, 32)


def test_discriminators_judge_patches():
    assert AxialDiscriminator(8)(torch.rand(2, 1, 8, 64)).shape == (2, 1, 8, 4)
    scores = PatchDiscriminator(8)(torch.rand(2, 1, 80, 64))
    assert scores.shape[:2] == (2, 1) and scores.shape[-1] > 1 and scores.shape[-2] > 1


@pytest.mark.parametrize("factor", [4.0, 7.5, 10.0])
def test_kernel_roughness_is_a_property_of_the_shape_not_of_the_factor(factor):
    """Keys' cubic drawn f taps wide costs ~16 (the integral of its squared second derivative) at every
    factor; the f-row box that G_hl starts from costs more (f^3: its edges are jumps), and a straight line nothing."""
    import numpy as np

    from napari_isorecon.core.networks.losses import kernel_roughness
    from napari_isorecon.core.networks.resample import _keys

    taps = np.arange(-2 * int(factor) - 2, 2 * int(factor) + 3)
    cubic = torch.from_numpy(_keys(taps / factor) / factor)
    assert kernel_roughness(cubic, factor).item() == pytest.approx(16.0, rel=0.15)
    box = AxialDegradation(factor).axial_kernel().detach().double()
    assert kernel_roughness(box, factor).item() > 3 * 16.0
    assert kernel_roughness(torch.linspace(0.0, 1.0, 21, dtype=torch.float64), factor).item() == pytest.approx(0.0, abs=1e-9)


def test_seamless_sub_pixel_rows_cross_fade_without_a_seam():
    import torch

    from napari_isorecon.core.networks.resample import overlap_add_rows

    r, rows = 4, 5
    # blocks that all predict the same value reproduce it everywhere, ends included (the window is divided out)
    assert torch.allclose(overlap_add_rows(torch.full((1, 2 * r, rows, 3), 2.5), r), torch.tensor(2.5))
    assert torch.allclose(overlap_add_rows(torch.full((1, 2 * r, rows, 3), 2.5), r, "triangle"), torch.tensor(2.5))
    # one row's block is centred on that row's own r output rows and fades into its neighbours': linearly with
    # the triangle (models before 2026-12-03), along a raised cosine by default
    one = torch.zeros(1, 2 * r, rows, 1)
    one[0, :, 2, 0] = 1.0
    out = overlap_add_rows(one, r, "triangle")[0, 0, :, 0]
    assert torch.allclose(out[6:14], torch.tensor([1, 3, 5, 7, 7, 5, 3, 1]) / 8)
    assert out[:6].abs().max() == 0 and out[14:].abs().max() == 0
    out = overlap_add_rows(one, r)[0, 0, :, 0]
    t = torch.arange(2 * r) + 0.5
    assert torch.allclose(out[6:14], 0.5 - 0.5 * torch.cos(torch.pi * t / r))
    assert out[:6].abs().max() == 0 and out[14:].abs().max() == 0


def test_old_models_keep_their_triangular_cross_fade_and_a_bad_join_is_refused():
    from napari_isorecon.core.errors import IsoReconError
    from napari_isorecon.core.model.iso_model import build_networks
    from napari_isorecon.core.settings.config import TrainConfig

    config = version_1_config(TrainConfig().to_dict())
    del config["subpixel_window"]  # a version-1 checkpoint cross-faded from before the window was a setting
    old = load_version_1_config(config)
    assert old.subpixel_join == "triangle" and TrainConfig().subpixel_join == "cosine"
    assert build_networks(old)["g_lh"].join == "triangle" and build_networks(TrainConfig())["g_lh"].join == "cosine"
    assert TrainConfig().network_mismatch(old) is not None  # the window is part of what the weights mean
    with pytest.raises(IsoReconError, match="subpixel_join must be one of butt, triangle, cosine"):
        TrainConfig(subpixel_join="hann")


def test_old_models_keep_their_butted_sub_pixel_tail():
    from napari_isorecon.core.model.iso_model import build_networks
    from napari_isorecon.core.settings.config import TrainConfig

    config = version_1_config(TrainConfig().to_dict())
    del config["seamless_subpixel"]  # a version-1 checkpoint from before the cross-fade existed
    old = load_version_1_config(config)
    assert old.subpixel_join == "butt"
    assert build_networks(old)["g_lh"].tail.out_channels == 10
    assert build_networks(TrainConfig())["g_lh"].tail.out_channels == 20
    assert TrainConfig().network_mismatch(old) is not None  # a seamed model cannot continue as a seamless one
