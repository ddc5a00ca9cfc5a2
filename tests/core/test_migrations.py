"""Checkpoints of an older format version load as they trained (core.model.migrations); today's version loads
only complete."""

import pytest
import torch
from old_checkpoints import load_version_1_config, version_1_config, version_1_payload

from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.model.checkpoint import load_model, save_model
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.model.iso_model import IsoModel
from napari_isorecon.core.model.migrations import FORMAT_VERSION, MIGRATIONS, migrate
from napari_isorecon.core.settings.config import TrainConfig

# TrainConfig's settings in the first release (format version 1), and its loss weights
FIRST_RELEASE = ("z_factor", "backbone", "channels", "blocks", "ghl_channels", "ghl_blocks", "disc_channels", "lr_rows",
                 "patch_width", "batch_size", "steps", "minutes", "stage2_fraction", "lr_generators",
                 "lr_discriminators", "lr_decay", "steps_per_epoch", "betas", "weights", "percentiles", "seed",
                 "device", "log_every")
FIRST_RELEASE_WEIGHTS = ("adv_hl", "adv_lh", "cycle", "mean")


def test_the_migrations_lead_to_the_format_version():
    sources = [source for source, _ in MIGRATIONS]
    assert sources == sorted(sources) and sources[-1] == FORMAT_VERSION - 1 == 1


def test_a_version_1_config_without_the_newer_settings_loads_with_what_it_trained_with():
    """A first-release checkpoint has none of the settings added since: each gets the value its run trained
    with (today's loader gave them the same), not today's default."""
    today = TrainConfig().to_dict()
    first = {name: today[name] for name in FIRST_RELEASE}
    first["weights"] = {name: today["weights"][name] for name in FIRST_RELEASE_WEIGHTS}
    old = load_version_1_config(first)
    assert (old.stage2_pairs, old.kernel_model, old.match_noise, old.hold_section_mean, old.section_thickness,
            old.thickness_spread, old.stage2_loss, old.detail, old.stage1_max_steps, old.kernel_lr_factor,
            old.precision, old.subpixel_join, old.weights.kernel_smooth, old.early_stop) == \
        ("full", "free", False, False, 1.0, 0.0, "l1", 0.0, None, 1.0, "float32", "butt", 0.0, False)
    assert old.acquisition == "custom"  # its pairs are no acquisition's own
    assert old.replace(**{name: today[name] for name in FIRST_RELEASE if name != "weights"}) == old  # the rest kept
    assert TrainConfig.from_dict(today) == TrainConfig()  # today's, complete, loads as it is


@pytest.mark.parametrize("seamless, window, join", [
    (None, None, "butt"),  # before the cross-fade existed
    (None, "cosine", "butt"),
    (False, None, "butt"),
    (False, "cosine", "butt"),
    (True, None, "triangle"),  # the cross-fade before its window was a setting
    (True, "triangle", "triangle"),
    (True, "cosine", "cosine"),
])
def test_version_1_sub_pixel_settings_become_one_join(seamless, window, join):
    config = version_1_config(TrainConfig().to_dict())
    for name, value in (("seamless_subpixel", seamless), ("subpixel_window", window)):
        if value is None:
            del config[name]
        else:
            config[name] = value
    assert load_version_1_config(config).subpixel_join == join


def test_migrate_leaves_a_current_checkpoint_and_its_input_as_they_are():
    payload = {"format_version": FORMAT_VERSION, "config": TrainConfig().to_dict()}
    assert migrate(payload) == payload
    old = {"format_version": 1, "config": version_1_config(TrainConfig().to_dict())}
    before = {**old, "config": dict(old["config"])}
    assert migrate(old)["format_version"] == FORMAT_VERSION and old == before


def _model(join: str) -> IsoModel:
    """An edsr model with weights that are not an interpolator's (its sub-pixel tail shows in its output)."""
    torch.manual_seed(0)
    model = IsoModel(TrainConfig(z_factor=3, channels=4, blocks=1, ghl_channels=4, ghl_blocks=1, disc_channels=4,
                                 subpixel_join=join), Normalizer(0.0, 255.0, "uint8"))
    with torch.no_grad():
        for p in model.g_lh.parameters():
            p.normal_(0.0, 0.2)
    return model


@pytest.mark.parametrize("join, drop", [("butt", "seamless_subpixel"), ("triangle", "subpixel_window"),
                                        ("cosine", None)])
def test_a_version_1_checkpoint_loads_the_same_network(join, drop, tmp_path):
    """Saved by version 1 (its two sub-pixel settings, or fewer from before they existed): the same network,
    the same output."""
    model = _model(join)
    payload = version_1_payload(torch.load(save_model(model, tmp_path / "m.pt"), weights_only=True))
    if drop:
        del payload["config"][drop]
    torch.save(payload, tmp_path / "v1.pt")
    loaded = load_model(tmp_path / "v1.pt")
    assert loaded.config == model.config and loaded.g_lh.join == join
    x = torch.rand(2, 1, 7, 9)
    with torch.no_grad():
        assert torch.equal(loaded.reconstruction_network()(x), model.reconstruction_network()(x))


def test_a_version_2_checkpoint_missing_a_setting_is_named(tmp_path):
    payload = torch.load(save_model(_model("cosine"), tmp_path / "m.pt"), weights_only=True)
    assert payload["format_version"] == FORMAT_VERSION == 2
    del payload["config"]["subpixel_join"]
    torch.save(payload, tmp_path / "incomplete.pt")
    with pytest.raises(IsoReconError, match=r"incomplete\.pt is a damaged or incompatible napari-isorecon model "
                                            r"\(format version 2: Missing training settings: \['subpixel_join'\]\)"):
        load_model(tmp_path / "incomplete.pt")
    config = TrainConfig().to_dict()
    del config["weights"]["kernel_smooth"]
    with pytest.raises(IsoReconError, match=r"Missing loss weights: \['kernel_smooth'\]"):
        TrainConfig.from_dict(config)
    with pytest.raises(IsoReconError, match=r"Unknown training settings: \['seamless_subpixel'\]"):
        TrainConfig.from_dict({**TrainConfig().to_dict(), "seamless_subpixel": True})
