"""Stage 2 stops when it has learned: the plateau rule, the fixed held-back pairs, the reason a run ended and
where it is recorded (events, the saved model, the command line)."""

import threading

import numpy as np
import pytest
import torch

from napari_isorecon.core.events import HeldOutScore, TrainFinished, TrainStep
from napari_isorecon.core.training import early_stop
from napari_isorecon.core.training.early_stop import HeldOutPairs, PlateauRule, describe_held_out
from napari_isorecon.core.training.train import TrainingSteps, train, train_to_end


def test_a_rise_of_min_delta_resets_the_count_and_a_plateau_of_patience_stops():
    rule = PlateauRule(patience=3, min_delta=0.1, share=0.0)
    for step, score in enumerate((20.0, 20.05, 20.09)):  # rises, but never 0.1 dB above 20.0
        rule.update(score, step)
        assert not rule.should_stop(progress=1.0)
    assert (rule.since_best, rule.best, rule.best_step) == (2, 20.09, 2)
    rule.update(20.11, 3)  # 0.11 dB above the last rise: the count starts again
    assert rule.since_best == 0 and not rule.should_stop(progress=1.0)
    for step in (4, 5):
        rule.update(20.0, step)
        assert not rule.should_stop(progress=1.0)
    rule.update(20.2, 6)  # 0.09 above 20.11: a new best, but no rise of min_delta
    assert rule.since_best == 3 and rule.best == 20.2 and rule.should_stop(progress=1.0)
    assert rule.reason() == ("converged: the held-back PSNR rose less than 0.1 dB over the last 3 evaluations "
                             "(best 20.20 dB at step 6)")


def test_the_rule_never_stops_before_its_share_of_the_budget():
    rule = PlateauRule(patience=2, min_delta=0.1, after=0.5, share=0.0)
    for step in range(10):
        rule.update(20.0, step)
    assert rule.since_best == 9
    assert not rule.should_stop(progress=0.49) and rule.should_stop(progress=0.5)


def test_the_window_grows_with_the_evaluations_so_far():
    """Gains that shrink like log(steps) are not a plateau: the window is a quarter of the evaluations so far."""
    rule = PlateauRule(patience=2, min_delta=0.05)
    scores = [20 + 0.3 * np.log(1 + k) for k in range(200)]  # 0.3 dB per e-fold of evaluations
    fixed = PlateauRule(patience=2, min_delta=0.05, share=0.0)  # a fixed window of 2 evaluations
    stops, fixed_stops = [], []
    for k, score in enumerate(scores):
        rule.update(score, k)
        fixed.update(score, k)
        stops.append(rule.should_stop(progress=1.0))
        fixed_stops.append(fixed.should_stop(progress=1.0))
    assert not any(stops)  # 0.3 * ln(4/3) = 0.086 dB over each last quarter > 0.05
    assert any(fixed_stops)  # a fixed window stops once 2 evaluations gain less than 0.05 dB
    assert rule.window() == 50 and fixed.window() == 2
    flat = PlateauRule(patience=2, min_delta=0.05)
    for k in range(3):
        flat.update(20.0, k)
    assert flat.should_stop(progress=1.0)  # flat: stops after patience


def _config(tiny_config, **changes):
    """Stage 2 alone on the declared sections, scored every 2 steps; a rise of 5 dB never comes, so the rule
    stops after 2 evaluations without one (and a quarter of those so far), once a tenth of the budget is used."""
    return tiny_config.replace(**{**dict(stage2_pairs="section", precision="float32", steps_per_epoch=4,
                                         early_stop_patience=2, early_stop_min_delta=5.0, early_stop_after=0.1),
                                  **changes})


def test_a_plateau_ends_stage_2_before_the_budget_and_keeps_the_best_network(em_volume, tiny_config):
    cfg = _config(tiny_config, steps=400)
    events = list(train(em_volume, cfg))
    final, scores = events[-1], [e for e in events if isinstance(e, HeldOutScore)]
    assert isinstance(final, TrainFinished) and not final.stopped and final.converged
    assert 40 <= final.steps < 400  # not before a tenth of the budget, well before its end
    assert final.reason.startswith("converged: the held-back PSNR rose less than 5 dB over the last")
    assert final.reason.endswith("; that network is kept")
    assert [s.step for s in scores] == list(range(0, final.steps + 1, 2))  # at stage 2's start, every 2 steps
    assert scores[-1].since_best >= scores[-1].patience >= 2
    model = final.model
    assert model.state.stop_reason == final.reason
    assert [entry[0] for entry in model.state.held_out] == [s.step for s in scores]
    assert [entry[2] for entry in model.state.held_out] == [s.psnr for s in scores]
    # the network kept is the best one: scored again on the same pairs, it gives the best score
    pairs = _held_out_pairs(em_volume, model)
    assert pairs.score(model.reconstructor) == pytest.approx(max(s.psnr for s in scores), abs=1e-6)
    assert max(s.psnr for s in scores) > scores[-1].psnr or scores[-1].psnr == scores[-1].best


def test_a_network_that_gets_worse_gives_back_its_best_state(em_volume, tiny_config):
    """After stage-2 step 10 every step shrinks the network's last layer: its held-back score falls, the rule
    stops, and the network of the best score comes back."""

    def supervised(model, opts, hr, *rest):
        losses = TrainingSteps().supervised(model, opts, hr, *rest)
        if model.state.stage_steps[1] >= 10:
            with torch.no_grad():
                list(model.reconstructor.parameters())[-2].mul_(0.7)
        return losses

    events = list(train(em_volume, _config(tiny_config, steps=400), steps=TrainingSteps(supervised=supervised)))
    final, scores = events[-1], [e.psnr for e in events if isinstance(e, HeldOutScore)]
    assert final.converged and final.steps < 400 and max(scores) > scores[-1] + 0.01  # it did get worse
    kept = _held_out_pairs(em_volume, final.model).score(final.model.reconstructor)
    assert kept == pytest.approx(max(scores), abs=1e-6) and "that network is kept" in final.reason


def _held_out_pairs(volume, model):
    from napari_isorecon.core.checks.artefacts import find_section_artefacts
    from napari_isorecon.core.geometry import patch_geometry
    from napari_isorecon.core.training.noise import volume_noise_sigma
    from napari_isorecon.core.training.train import _artefact_sampler

    cfg = model.config
    geometry = patch_geometry(volume.shape, cfg.z_factor, cfg.lr_rows, cfg.patch_width)
    sampler, _ = _artefact_sampler(volume, model, geometry, np.random.default_rng(0), find_section_artefacts(volume))
    sigma = volume_noise_sigma(volume, model.normalizer) if cfg.match_noise else 0.0
    return HeldOutPairs.draw(model, sampler, geometry[0], noise_sigma=sigma)


def test_without_early_stopping_the_whole_budget_is_used_and_nothing_is_scored(em_volume, tiny_config):
    events = list(train(em_volume, _config(tiny_config, steps=120, early_stop=False)))
    final = events[-1]
    assert final.steps == 120 and final.reason == "budget" and not final.converged
    assert not any(isinstance(e, HeldOutScore) for e in events) and final.model.state.held_out == []


def test_scoring_changes_nothing_in_training(em_volume, tiny_config):
    """The held-back pairs have random draws of their own: a run scored every 2 steps that does not stop trains
    exactly as one that is not scored (the benchmarks' numbers repeat)."""
    cfg = _config(tiny_config, steps=20, early_stop_patience=50)
    scored, plain = train_to_end(em_volume, cfg), train_to_end(em_volume, cfg.replace(early_stop=False))
    assert len(scored.state.held_out) == 11 and not plain.state.held_out
    for key, value in plain.reconstructor.state_dict().items():
        assert torch.equal(value, scored.reconstructor.state_dict()[key]), key


def test_stage_1_keeps_its_budget_and_a_run_without_stage_2_is_not_scored(em_volume, tiny_config):
    eager = dict(steps_per_epoch=4, early_stop_patience=1, early_stop_min_delta=5.0, early_stop_after=0.0)
    final = list(train(em_volume, tiny_config.replace(steps=40, **eager)))[-1]  # kernel pairs: both stages
    assert final.converged and final.model.state.stage_steps[0] == 20  # stage 1 ran its whole half
    assert final.model.state.held_out[0][0] == 20  # scored from stage 2's start only
    events = list(train(em_volume, tiny_config.replace(steps=8, stage2_fraction=0.0, **eager)))
    assert events[-1].steps == 8 and events[-1].reason == "budget"
    assert not any(isinstance(e, HeldOutScore) for e in events)


def test_the_held_back_pairs_are_one_fixed_draw_that_training_never_uses(em_volume, tiny_config, monkeypatch):
    scored, trained_on = [], []
    original = HeldOutPairs.score

    def spy(self, network, *args, **kwargs):
        scored.append((self.lr.clone(), self.hr.clone()))
        return original(self, network, *args, **kwargs)

    def supervised(model, opts, hr, *rest):
        trained_on.append(hr.clone())
        return TrainingSteps().supervised(model, opts, hr, *rest)

    monkeypatch.setattr(HeldOutPairs, "score", spy)
    cfg = _config(tiny_config, steps=12, early_stop_min_delta=0.0)  # 0 dB: every rise counts, no stop
    list(train(em_volume, cfg, steps=TrainingSteps(supervised=supervised)))
    assert len(scored) == 7  # steps 0, 2, ..., 12
    for lr, hr in scored[1:]:  # the same pairs every time
        assert torch.equal(lr, scored[0][0]) and torch.equal(hr, scored[0][1])
    held = scored[0][1].flatten(1)
    assert held.shape[0] == early_stop.HELD_OUT_PATCHES
    for batch in trained_on:  # no training patch is one of them
        assert not (torch.cdist(batch.flatten(1), held) < 1e-6).any()
    # the thickness spread and the noise of the pairs are drawn once too: the same seed draws the same pairs
    model = train_to_end(em_volume, cfg.replace(steps=1))
    again = _held_out_pairs(em_volume, model)
    assert torch.equal(again.lr, scored[0][0]) and torch.equal(again.hr, scored[0][1])


def test_a_resumed_run_scores_the_same_pairs_and_replays_the_rule(em_volume, tiny_config):
    cfg = _config(tiny_config, steps=30, early_stop_patience=50)  # no stop: the whole curve is compared
    straight = train_to_end(em_volume, cfg)
    stop = threading.Event()
    for event in train(em_volume, cfg, stop=stop):
        if isinstance(event, TrainStep) and event.step == 11:
            stop.set()
    first = event.model
    assert event.reason == "stopped by the user" and first.state.stop_reason == "stopped by the user"
    resumed = train_to_end(em_volume, cfg, resume=first)
    assert [e[0] for e in resumed.state.held_out] == [e[0] for e in straight.state.held_out] == list(range(0, 31, 2))
    np.testing.assert_allclose([e[2] for e in resumed.state.held_out], [e[2] for e in straight.state.held_out],
                               atol=1e-4)
    assert resumed.state.stop_reason == "budget"


def test_the_curve_and_the_reason_are_saved_and_older_models_load_without_them(tmp_path, em_volume, tiny_config):
    from napari_isorecon.core.model.checkpoint import load_model, save_model
    from napari_isorecon.core.model.iso_model import TrainState

    model = train_to_end(em_volume, _config(tiny_config, steps=400))
    save_model(model, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.state.held_out == model.state.held_out and loaded.state.stop_reason.startswith("converged")
    old = model.state.to_dict()
    del old["held_out"], old["stop_reason"]
    state = TrainState.from_dict(old)
    assert state.held_out == [] and state.stop_reason == ""
    assert describe_held_out([]) == ""
    assert describe_held_out([[0, 0.0, 20.0], [100, 1.0, 21.5], [200, 2.0, 21.25]]) == (
        "PSNR 20.00 dB at step 0, best 21.50 dB at step 100, last 21.25 dB at step 200 (3 evaluations)")


def test_the_command_line_says_why_training_ended_and_info_shows_it(tmp_path, capsys, monkeypatch):
    from napari_isorecon.cli import main

    common = ["train", "sample", "--steps", "2", "--channels", "8", "--blocks", "1", "--patch-width", "32"]
    assert main([*common, "--out", str(tmp_path / "b.pt")]) == 0
    err = capsys.readouterr().err
    assert "Training used its whole budget (2 steps)." in err
    assert "Held-back pairs: PSNR " in err and "at step 0" in err and "(2 evaluations)" in err  # start, end
    assert main(["info", str(tmp_path / "b.pt")]) == 0
    out = capsys.readouterr().out
    assert "training ended: budget" in out and "held-back pairs (early stopping on): PSNR" in out

    monkeypatch.setattr(PlateauRule, "should_stop", lambda self, progress: True)  # a plateau at once
    assert main([*common, "--out", str(tmp_path / "c.pt")]) == 0
    err = capsys.readouterr().err
    assert "Stopped early after 0 steps: converged: the held-back PSNR rose less than 0.02 dB" in err
    assert "--no-early-stop trains to the end of the budget" in err
    assert main(["info", str(tmp_path / "c.pt")]) == 0
    assert "training ended: converged: the held-back PSNR" in capsys.readouterr().out

    assert main([*common, "--no-early-stop", "--out", str(tmp_path / "d.pt")]) == 0
    err = capsys.readouterr().err
    assert "Training used its whole budget (2 steps)." in err and "Held-back pairs" not in err
    assert main(["info", str(tmp_path / "d.pt")]) == 0
    assert "held-back pairs (early stopping off): not scored" in capsys.readouterr().out
