import numpy as np
import pytest
import torch
from old_checkpoints import load_version_1_config, version_1_config

from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.events import TrainStep
from napari_isorecon.core.settings.config import TrainConfig
from napari_isorecon.core.training.train import train


def test_unknown_stage2_loss_is_refused_and_old_configs_keep_l1():
    with pytest.raises(IsoReconError, match="stage2_loss"):
        TrainConfig(stage2_loss="huber")
    old = version_1_config(TrainConfig().to_dict())
    del old["stage2_loss"]
    assert load_version_1_config(old).stage2_loss == "l1"


@pytest.mark.parametrize("loss", ["l1", "l2"])
def test_stage2_reports_and_minimises_the_chosen_loss(em_volume, tiny_config, loss, monkeypatch):
    """The logged stage-2 loss is the chosen one, computed on the reconstructor's own prediction."""
    seen = []
    real_l1, real_mse = torch.nn.functional.l1_loss, torch.nn.functional.mse_loss

    def spy_l1(a, b, *args, **kwargs):
        seen.append("l1")
        return real_l1(a, b, *args, **kwargs)

    def spy_mse(a, b, *args, **kwargs):
        seen.append("l2")
        return real_mse(a, b, *args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "l1_loss", spy_l1)
    monkeypatch.setattr(torch.nn.functional, "mse_loss", spy_mse)
    cfg = tiny_config.replace(stage2_loss=loss, stage2_fraction=0.99)
    steps = [e for e in train(em_volume, cfg) if isinstance(e, TrainStep) and e.stage == 2]
    assert steps and all(set(s.losses) == {f"reconstruction {loss.upper()}"} for s in steps)
    assert np.all(np.isfinite([s.losses[f"reconstruction {loss.upper()}"] for s in steps]))
    assert seen.count(loss) >= len(steps)
