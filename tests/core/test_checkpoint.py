import pytest
import torch
from old_checkpoints import version_1_payload

from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.model.checkpoint import load_model, save_model
from napari_isorecon.core.training.train import train_to_end


@pytest.fixture(scope="module")
def model(em_volume):
    from napari_isorecon.core import TrainConfig

    cfg = TrainConfig(z_factor=5, steps=4, minutes=None, channels=8, blocks=1, ghl_channels=4, ghl_blocks=1,
                      disc_channels=8, lr_rows=4, patch_width=32, batch_size=2, device="cpu")
    return train_to_end(em_volume, cfg)


def test_round_trip_keeps_weights_config_and_normaliser(model, tmp_path):
    path = save_model(model, tmp_path / "m.pt")
    loaded = load_model(path)
    assert loaded.config == model.config
    assert loaded.normalizer == model.normalizer
    assert loaded.state.step == model.state.step
    for name, net in model.networks.items():
        for key, value in net.state_dict().items():
            assert torch.equal(value, loaded.networks[name].state_dict()[key])
    for key, value in model.reconstructor.state_dict().items():
        assert torch.equal(value, loaded.reconstructor.state_dict()[key])
    payload = torch.load(path, weights_only=True)
    assert set(payload["versions"]) >= {"napari_isorecon", "torch"}


def test_existing_file_is_not_overwritten(model, tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(b"precious")
    with pytest.raises(IsoReconError, match="exists"):
        save_model(model, path)
    assert path.read_bytes() == b"precious"
    save_model(model, path, overwrite=True)
    assert load_model(path).config == model.config


def test_wrong_files_fail_loudly(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(IsoReconError, match="not a napari-isorecon model"):
        load_model(junk)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    with pytest.raises(IsoReconError, match="not a napari-isorecon model"):
        load_model(foreign)
    with pytest.raises(IsoReconError, match="does not exist"):
        load_model(tmp_path / "missing.pt")
    with pytest.raises(IsoReconError, match="not a file"):
        load_model(tmp_path)


def test_truncated_checkpoint_fails_loudly(model, tmp_path):
    path = save_model(model, tmp_path / "m.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IsoReconError, match="not a napari-isorecon model"):
        load_model(path)


def test_model_for_another_z_factor_is_refused(model, tmp_path):
    path = save_model(model, tmp_path / "m.pt")
    assert load_model(path, z_factor=5).z_factor == 5
    with pytest.raises(IsoReconError, match="trained for z-factor 5"):
        load_model(path, z_factor=10)


def test_missing_folder_is_refused(model, tmp_path):
    with pytest.raises(IsoReconError, match="does not exist"):
        save_model(model, tmp_path / "no" / "m.pt")


def test_a_checkpoint_from_before_the_acquisition_loads_and_says_what_it_assumed(model, tmp_path):
    """Older checkpoints have no ``acquisition``: one with the default pairs is 'serial-sections', one whose
    pairs no entry's default matches is 'custom'; both load."""
    path = save_model(model, tmp_path / "m.pt")
    payload = version_1_payload(torch.load(path, weights_only=True))
    del payload["config"]["acquisition"]
    torch.save(payload, tmp_path / "old.pt")
    loaded = load_model(tmp_path / "old.pt")
    assert loaded.config.acquisition == "serial-sections" and loaded.config == model.config
    for key in ("stage2_pairs", "section_thickness", "thickness_spread"):
        del payload["config"][key]  # from before section pairs: the learned 'full' G_hl, no spread
    torch.save(payload, tmp_path / "older.pt")
    older = load_model(tmp_path / "older.pt").config
    assert (older.acquisition, older.stage2_pairs, older.thickness_spread) == ("custom", "full", 0.0)
    assert older.describe_acquisition() == "custom acquisition: pairs from the learned degradation (full)"
