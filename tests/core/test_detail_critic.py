"""The fidelity <-> detail setting: an adversarial critic (D_h) in stage 2's loss."""

import numpy as np
import pytest
import torch
from old_checkpoints import load_version_1_config, version_1_config

from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.events import TrainFinished, TrainStep
from napari_isorecon.core.settings.config import TrainConfig
from napari_isorecon.core.training.train import train


def _run(volume, cfg):
    events = list(train(volume, cfg))
    steps = [e for e in events if isinstance(e, TrainStep) and e.stage == 2]
    return steps, events[-1].model


def _critic_weights(model):
    return [p.detach().clone() for p in model.networks["d_h"].parameters()]


@pytest.fixture
def section_config(tiny_config):
    """Stage 2 alone on declared sections (the default pairs): D_h has nothing to do unless detail > 0."""
    return tiny_config.replace(stage2_pairs="section", steps=4, log_every=1)


def test_without_detail_the_critic_is_never_trained_or_consulted(em_volume, section_config, monkeypatch):
    calls = []
    from napari_isorecon.core.networks.generators import PatchDiscriminator

    real_forward = PatchDiscriminator.forward
    monkeypatch.setattr(PatchDiscriminator, "forward", lambda self, x: calls.append(1) or real_forward(self, x))
    steps, model = _run(em_volume, section_config)
    assert steps and all(set(s.losses) == {"reconstruction L2"} for s in steps)
    assert calls == []


def test_detail_trains_the_critic_and_reports_its_losses(em_volume, section_config):
    fresh = _critic_weights(_run(em_volume, section_config.replace(steps=1, detail=0.0))[1])
    steps, model = _run(em_volume, section_config.replace(detail=0.05))
    assert steps and all(set(s.losses) == {"reconstruction L2", "critic adversarial", "critic"} for s in steps)
    assert all(np.isfinite(list(s.losses.values())).all() for s in steps)
    trained = _critic_weights(model)
    assert any(not torch.equal(a, b) for a, b in zip(fresh, trained, strict=True))  # same seed, same start


def test_the_critic_changes_what_the_reconstructor_learns(em_volume, section_config):
    _, plain = _run(em_volume, section_config)
    _, detailed = _run(em_volume, section_config.replace(detail=0.5))
    plain_w = [p.detach() for p in plain.reconstructor.parameters()]
    detail_w = [p.detach() for p in detailed.reconstructor.parameters()]
    assert any(not torch.allclose(a, b) for a, b in zip(plain_w, detail_w, strict=True))
    # and with detail 0 the same seed repeats exactly: the difference is the critic's
    _, again = _run(em_volume, section_config)
    assert all(torch.equal(a.detach(), b.detach()) for a, b in zip(plain.reconstructor.parameters(),
                                                                      again.reconstructor.parameters(), strict=True))


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_detail_outside_its_range_is_refused(bad):
    with pytest.raises(IsoReconError, match="[Dd]etail"):
        TrainConfig(detail=bad)


def test_old_configs_load_with_no_critic():
    old = version_1_config(TrainConfig().to_dict())
    del old["detail"]
    assert load_version_1_config(old).detail == 0.0


def test_detail_round_trips_through_a_checkpoint(em_volume, section_config, tmp_path):
    from napari_isorecon.core.model.checkpoint import load_model, save_model

    finished = [e for e in train(em_volume, section_config.replace(detail=0.02, steps=2))
                if isinstance(e, TrainFinished)][0]
    path = save_model(finished.model, tmp_path / "m.pt")
    assert load_model(path).config.detail == 0.02
