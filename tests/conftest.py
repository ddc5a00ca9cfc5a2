import numpy as np
import pytest


@pytest.fixture(scope="session")
def em_volume():
    """The shipped anisotropic real EM sample (10, 100, 200) uint8, z-factor 5."""
    from napari_isorecon.sample import anisotropic_sample

    volume, _ = anisotropic_sample()
    return volume


@pytest.fixture
def tiny_config():
    """A training config that runs a step in well under a second on a CPU. It runs both stages (stage-2 pairs
    from the learned degradation); the default, stage 2 alone on declared sections, is tested on its own."""
    from napari_isorecon.core import TrainConfig

    return TrainConfig(z_factor=5, steps=6, minutes=None, channels=8, blocks=1, ghl_channels=4, ghl_blocks=1,
                       disc_channels=8, lr_rows=4, patch_width=32, batch_size=2, device="cpu", stage2_pairs="kernel")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory):
    """A model trained for z-factor 5 on the sample (core API, a few steps), saved to a file."""
    from napari_isorecon.core import TrainConfig
    from napari_isorecon.core.model.checkpoint import save_model
    from napari_isorecon.core.training.train import train_to_end
    from napari_isorecon.sample import anisotropic_sample

    volume, _ = anisotropic_sample()
    cfg = TrainConfig(z_factor=5, steps=4, minutes=None, channels=8, blocks=1, ghl_channels=4, ghl_blocks=1,
                      disc_channels=8, lr_rows=4, patch_width=32, batch_size=2, device="cpu")
    path = tmp_path_factory.mktemp("models") / "tiny_z5.pt"
    save_model(train_to_end(volume, cfg), path)
    return path


@pytest.fixture(autouse=True)
def quick_error_model(monkeypatch):
    """The uncertainty's error model (core.inference.error_model) fitted in 20 steps instead of FIT_STEPS in every
    test (the check and the jobs fit one): what they do with it, not how well it fits, is tested with it; a test
    of the fit itself passes ``steps``."""
    from napari_isorecon.core.inference import error_model

    monkeypatch.setattr(error_model, "FIT_STEPS", 20)
    return 20
