import threading

import numpy as np
import pytest
import torch
from old_checkpoints import load_version_1_config, version_1_config

from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.events import StageStarted, TrainFinished, TrainStep
from napari_isorecon.core.training.train import train, train_to_end


def _steps(events):
    return [e for e in events if isinstance(e, TrainStep)]


def test_events_and_both_stages(em_volume, tiny_config):
    events = list(train(em_volume, tiny_config))
    assert [e.stage for e in events if isinstance(e, StageStarted)] == [1, 2]
    steps = _steps(events)
    assert [s.step for s in steps] == list(range(1, 7))
    assert {s.stage for s in steps[:3]} == {1} and {s.stage for s in steps[3:]} == {2}
    assert set(steps[0].losses) >= {"G_hl adversarial", "G_lh adversarial", "cycle LR", "cycle HR", "D_l", "D_h"}
    assert "reconstruction L2" in steps[-1].losses
    assert steps[-1].progress == 1.0 and all(s.elapsed > 0 for s in steps)
    final = events[-1]
    assert isinstance(final, TrainFinished) and not final.stopped and final.steps == 6
    assert final.model.reconstructor is not None


def test_short_training_lowers_the_cycle_loss(em_volume, tiny_config):
    cfg = tiny_config.replace(steps=60, stage2_fraction=0.0, channels=16, batch_size=4)
    cycle = [s.losses["cycle LR"] + s.losses["cycle HR"] for s in _steps(train(em_volume, cfg))]
    assert np.mean(cycle[-10:]) < 0.9 * np.mean(cycle[:10])


def test_stage_two_improves_on_its_starting_point(em_volume, tiny_config):
    """Stage 2 starts from G_lh; on fixed held-out pairs of the kind it trains on (the learned
    degradation of xy, xy) it must end better than G_lh."""
    from napari_isorecon.core.training.sampling import PatchSampler

    cfg = tiny_config.replace(steps=80, stage2_fraction=0.75, batch_size=4, lr_generators=1e-3)
    model = train_to_end(em_volume, cfg)
    sampler = PatchSampler(em_volume, model.normalizer, 4, 20, 32, np.random.default_rng(123))
    hr = torch.from_numpy(sampler.hr_batch(64))
    with torch.no_grad():
        lr = model.pair_degradation()(hr, 4)
        before = torch.nn.functional.l1_loss(model.g_lh(lr, 20), hr)
        after = torch.nn.functional.l1_loss(model.reconstructor(lr, 20), hr)
    assert after < before


def test_stop_flag_ends_between_steps_and_keeps_a_model(em_volume, tiny_config):
    stop = threading.Event()
    events = []
    for event in train(em_volume, tiny_config.replace(steps=1000), stop=stop):
        events.append(event)
        if isinstance(event, TrainStep) and event.step == 4:
            stop.set()
    final = events[-1]
    assert isinstance(final, TrainFinished) and final.stopped and final.steps == 4
    assert final.model.g_lh is not None and final.model.state.step == 4


def test_callable_stop_flag(em_volume, tiny_config):
    final = list(train(em_volume, tiny_config, stop=lambda: True))[-1]
    assert final.stopped and final.steps == 0


def test_minutes_budget_ends_at_the_first_step_past_it(em_volume, tiny_config):
    cfg = tiny_config.replace(steps=None, minutes=0.02)  # 1.2 s of training
    events = list(train(em_volume, cfg))
    elapsed = [e.elapsed for e in _steps(events)]
    assert elapsed[-1] >= 1.2  # the budget was used ...
    assert len(elapsed) == 1 or elapsed[-2] < 1.2  # ... and training stopped at the first step past it
    assert events[-1].steps == len(elapsed) and not events[-1].stopped


def test_seeded_runs_repeat_exactly(em_volume, tiny_config):
    a = train_to_end(em_volume, tiny_config)
    b = train_to_end(em_volume, tiny_config)
    for key, value in a.reconstruction_network().state_dict().items():
        assert torch.equal(value, b.reconstruction_network().state_dict()[key])
    c = train_to_end(em_volume, tiny_config.replace(seed=1))
    assert not torch.equal(c.g_hl.kernel, a.g_hl.kernel)


def test_resume_continues_exactly_where_it_stopped(em_volume, tiny_config):
    straight = train_to_end(em_volume, tiny_config)
    stop = threading.Event()
    for event in train(em_volume, tiny_config, stop=stop):
        if isinstance(event, TrainStep) and event.step == 2:
            stop.set()
    first = event.model
    assert first.state.step == 2
    resumed = train_to_end(em_volume, tiny_config, resume=first)
    assert resumed.state.step == 6
    for key, value in straight.reconstruction_network().state_dict().items():
        assert torch.allclose(value, resumed.reconstruction_network().state_dict()[key], atol=1e-6), key


def test_resume_refuses_another_z_factor(em_volume, tiny_config):
    model = train_to_end(em_volume, tiny_config.replace(steps=1))
    with pytest.raises(IsoReconError, match="z-factor"):
        train_to_end(em_volume, tiny_config.replace(z_factor=4), resume=model)


@pytest.mark.parametrize("volume, message", [
    (np.zeros((64, 64), np.uint8), "2D"),
    (np.full((6, 64, 64), 3, np.uint8), "constant"),
    (np.full((6, 64, 64), np.nan, np.float32), "no finite"),
    (np.random.default_rng(0).integers(0, 255, (6, 18, 18)).astype(np.uint8), "too small"),
])
def test_bad_volumes_are_refused_before_training(volume, message, tiny_config):
    with pytest.raises(IsoReconError, match=message):
        train_to_end(volume, tiny_config.replace(z_factor=10))


def test_partly_nan_volume_trains_without_nan(em_volume, tiny_config):
    volume = em_volume.astype(np.float32)
    volume[2, 10:40, 10:40] = np.nan
    model = train_to_end(volume, tiny_config)
    assert all(torch.isfinite(p).all() for p in model.reconstruction_network().parameters())


def test_kernel_smoothness_prior_smooths_the_learned_axial_kernel(em_volume, tiny_config):
    from napari_isorecon.core.networks.losses import kernel_roughness
    from napari_isorecon.core.settings.config import LossWeights

    def roughness(weight):
        cfg = tiny_config.replace(steps=40, stage2_fraction=0.0, lr_generators=2e-3,
                                  weights=LossWeights(kernel_smooth=weight))
        return kernel_roughness(train_to_end(em_volume, cfg).g_hl.axial_kernel(), cfg.z_factor).item()

    assert roughness(0.3) < 0.5 * roughness(0.0)


@pytest.mark.parametrize("pairs", ["kernel", "full"])
def test_stage_two_trains_on_the_chosen_pair_degradation(em_volume, tiny_config, pairs, monkeypatch):
    """Stage-2 inputs come from G_hl's kernel path alone (default) or from the whole G_hl."""
    from napari_isorecon.core.networks.generators import AxialDegradation

    calls = []
    for name in ("forward", "kernel_path"):
        original = getattr(AxialDegradation, name)

        def spy(self, x, out_rows=None, _original=original, _name=name):
            calls.append(_name)
            return _original(self, x, out_rows)
        monkeypatch.setattr(AxialDegradation, name, spy)
    cfg = tiny_config.replace(stage2_pairs=pairs)
    events = iter(train(em_volume, cfg))
    for event in events:  # through stage 1
        if isinstance(event, StageStarted) and event.stage == 2:
            break
    calls.clear()
    list(events)
    assert "kernel_path" in calls
    if pairs == "kernel":
        assert "forward" not in calls
    else:
        assert calls.count("forward") == calls.count("kernel_path")


def test_pair_degradation_drops_the_residual_branch_only_for_kernel_pairs(tiny_config):
    from napari_isorecon.core.model.intensity import Normalizer
    from napari_isorecon.core.model.iso_model import IsoModel

    model = IsoModel(tiny_config, Normalizer(0.0, 255.0, "uint8"))
    torch.nn.init.normal_(model.g_hl.residual[-1].weight)  # a residual branch that does something
    x = torch.rand(2, 1, 20, 32)
    with torch.no_grad():
        kernel_only, whole = model.g_hl.kernel_path(x, 4), model.g_hl(x, 4)
        assert not torch.allclose(kernel_only, whole)
        assert torch.equal(model.pair_degradation()(x, 4), kernel_only)
        full = IsoModel(tiny_config.replace(stage2_pairs="full"), Normalizer(0.0, 255.0, "uint8"), model.networks)
        assert torch.equal(full.pair_degradation()(x, 4), whole)


def test_unknown_stage2_pairs_is_refused(tiny_config):
    with pytest.raises(IsoReconError, match="stage2_pairs"):
        tiny_config.replace(stage2_pairs="residual")


def test_configs_saved_before_the_kernel_prior_load_as_they_trained():
    from napari_isorecon.core import TrainConfig

    old = version_1_config(TrainConfig().to_dict())
    del old["stage2_pairs"], old["weights"]["kernel_smooth"], old["stage1_max_steps"]
    loaded = load_version_1_config(old)
    assert loaded.stage2_pairs == "full" and loaded.weights.kernel_smooth == 0.0
    assert loaded.stage1_max_steps is None
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()


@pytest.mark.parametrize("share, stage1_steps", [(0.5, 3), (0.0, 20)])
def test_stage_one_stops_at_its_step_cap_and_stage_two_gets_the_rest(em_volume, tiny_config, share, stage1_steps):
    """With a stage 2 to give the time to, stage 1 ends at stage1_max_steps; without one (G_lh alone) the
    cap does not apply."""
    cfg = tiny_config.replace(steps=20, stage2_fraction=share, stage1_max_steps=3)
    model = train_to_end(em_volume, cfg)
    assert model.state.stage_steps == (stage1_steps, 20 - stage1_steps)


def test_stage_one_step_cap_must_be_positive(tiny_config):
    with pytest.raises(IsoReconError, match="stage1_max_steps"):
        tiny_config.replace(stage1_max_steps=0)


def test_experiments_plug_in_their_own_step_functions(em_volume, tiny_config):
    """train() calls the TrainingSteps it is given, for both stages, and nothing is patched."""
    from napari_isorecon.core.training import train as train_module

    calls = []

    def cycle(*args):
        calls.append(1)
        return train_module.TrainingSteps().cycle(*args)

    def supervised(*args):
        calls.append(2)
        return {"custom": 0.5, **train_module.TrainingSteps().supervised(*args)}

    events = list(train(em_volume, tiny_config, steps=train_module.TrainingSteps(cycle=cycle, supervised=supervised)))
    assert calls == [1, 1, 1, 2, 2, 2]
    assert all("custom" in e.losses for e in _steps(events) if e.stage == 2)
    assert train_module.TrainingSteps().cycle is train_module._cycle_step  # the default is the engine's own


def _recording_steps(seen):
    """Step functions that only record the patches they are given (in input grey levels), no network."""
    from napari_isorecon.core.training import train as train_module

    def grey(model, patches):
        return model.normalizer.from_unit(patches.cpu().numpy())

    def cycle(model, opts, hr, lr, *rest):
        seen["hr"].append(grey(model, hr))
        seen["lr"].append(grey(model, lr))
        return {"none": 0.0}

    def supervised(model, opts, hr, *rest):
        seen["hr"].append(grey(model, hr))
        return {"none": 0.0}

    return train_module.TrainingSteps(cycle=cycle, supervised=supervised)


def test_planted_artefacts_are_reported_and_never_sampled(tiny_config):
    from planted import tissue

    from napari_isorecon.core.events import ArtefactsFound

    volume = tissue(z=24, size=96, even=True)  # every value even
    volume[5] = volume[4] + 1  # a duplicate (a copy, brighter by one grey level): all its values odd
    volume[12] = 3  # a blank section, one odd value
    seen = {"hr": [], "lr": []}
    cfg = tiny_config.replace(steps=120, stage1_max_steps=60)  # stage 1 (real axial patches) and stage 2
    events = list(train(volume, cfg, steps=_recording_steps(seen)))
    found = events[0]
    assert isinstance(found, ArtefactsFound) and found.artefacts.not_real == (5, 12)
    assert {f.index: f.kind for f in found.artefacts.findings} == {5: "duplicate", 12: "blank"}
    assert "leaves out sections 5, 12" in found.describe() and not found.note
    assert isinstance(events[1], StageStarted)
    hr, lr = np.concatenate(seen["hr"]), np.concatenate(seen["lr"])
    assert len(hr) == 2 * 120 and len(lr) == 2 * 60
    # no patch holds a pixel of section 5 or 12 (drawn from all 24, 240 HR patches would miss both with
    # probability (22/24)^240 < 1e-9; an LR window of 4 misses them in only 13 of 21 places)
    assert not (hr % 2).any() and not (lr % 2).any()


def test_a_stack_without_real_sections_is_refused_at_the_call(tiny_config):
    from planted import tissue

    few = tissue(z=6, size=64)
    few[[1, 3, 5]] = 0  # three blank sections: three real ones are left
    with pytest.raises(IsoReconError, match=r"^Only 3 of 6 sections are real images .*at least 4 are needed\.$"):
        train(few, tiny_config)
    copies = np.repeat(tissue(z=1, size=64), 8, axis=0)  # one section, copied: nothing changes along z
    with pytest.raises(IsoReconError, match="copy of section 0"):
        train(copies, tiny_config)
