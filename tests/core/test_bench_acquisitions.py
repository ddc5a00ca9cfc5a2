"""`isorecon bench` simulating real acquisitions: noise, seeds (mean and spread), the best global z shift of
off-centre sampling, and an isotropic input."""

import json
import math

import numpy as np
import pytest
import torch

from napari_isorecon.bench import run as bench_run
from napari_isorecon.bench import run_bench, simulate_acquisition
from napari_isorecon.bench.scores import best_z_shift_scores, mean_axial_psnr, shift_along_z
from napari_isorecon.bench.simulate import noisy_degradation
from napari_isorecon.cli import main
from napari_isorecon.cli.parser import build_parser
from napari_isorecon.core.checks.metrics import axial_scores
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.training.sections import KINDS, degrade_slices, degrade_volume


def quiet(_msg):
    pass


@pytest.fixture(scope="module")
def iso_volume():
    from napari_isorecon.sample import isotropic_sample

    return isotropic_sample("b")[:40, :48, :64]


def _smooth_volume(shape=(40, 24, 32), seed=0):
    """Smooth random structure (so shifts and interpolation behave as on real data), float32 in 0..200."""
    rng = np.random.default_rng(seed)
    v = rng.uniform(0, 200, shape)
    for axis in range(3):
        for _ in range(3):
            v = (np.roll(v, 1, axis) + 2 * v + np.roll(v, -1, axis)) / 4
    return v.astype(np.float32)


def test_noise_has_the_requested_std_and_leaves_the_truth_clean():
    truth = np.full((40, 64, 64), 100.0, np.float32) + _smooth_volume((40, 64, 64)) / 10
    before = truth.copy()
    clean = degrade_volume(truth, 4, "box")
    noisy = simulate_acquisition(truth, 4, "box", noise=5.0, seed=3)
    np.testing.assert_array_equal(truth, before)
    residual = noisy.astype(np.float64) - clean
    assert residual.std() == pytest.approx(5.0, rel=0.02)
    assert abs(residual.mean()) < 0.05
    np.testing.assert_array_equal(noisy, simulate_acquisition(truth, 4, "box", noise=5.0, seed=3))
    assert not np.array_equal(noisy, simulate_acquisition(truth, 4, "box", noise=5.0, seed=4))
    np.testing.assert_array_equal(simulate_acquisition(truth, 4, "box"), clean)  # no noise: unchanged
    grey = simulate_acquisition(np.full((40, 64, 64), 128, np.uint8), 4, "cubic", noise=3.0, seed=0)
    assert grey.dtype == np.uint8 and grey.astype(np.float64).std() == pytest.approx(3.0, rel=0.03)
    with pytest.raises(IsoReconError, match="noise"):
        simulate_acquisition(truth, 4, "box", noise=-1.0)


def test_noisy_pairs_are_the_kernel_plus_noise_of_the_given_std():
    hr = torch.rand(16, 1, 40, 32)
    degrade = noisy_degradation("box", 4, noise_unit=0.05, seed=1)
    residual = degrade(hr, 10) - degrade_slices(hr, 4, "box", 10)
    assert residual.std().item() == pytest.approx(0.05, rel=0.05)
    again = noisy_degradation("box", 4, noise_unit=0.05, seed=1)(hr, 10)
    torch.testing.assert_close(again, residual + degrade_slices(hr, 4, "box", 10))  # seeded


def test_oracle_pairs_get_the_acquisition_noise_and_scores_use_the_clean_truth(iso_volume, monkeypatch):
    captured, scored = {}, []
    real_train, real_scores = bench_run._train, axial_scores

    def spy_train(lr_volume, cfg, degradation=None, log=print):
        model, elapsed, steps = real_train(lr_volume, cfg, degradation, log)
        captured.update(lr=lr_volume, degradation=degradation, normalizer=model.normalizer)
        return model, elapsed, steps

    def spy_scores(result, truth, crop=0):
        scored.append(np.array(truth))
        return real_scores(result, truth, crop)

    monkeypatch.setattr(bench_run, "_train", spy_train)
    monkeypatch.setattr("napari_isorecon.core.checks.metrics.axial_scores", spy_scores)
    run_bench(iso_volume, 4, degradation="box", methods=("cubic", "oracle"), steps=1, noise=6.0, seed=2, log=quiet)
    clean_truth = np.asarray(iso_volume[:40])
    assert len(scored) == 2 and all(np.array_equal(t, clean_truth) for t in scored)
    # the acquisition has the noise...
    residual = captured["lr"].astype(np.float64) - degrade_volume(clean_truth, 4, "box")
    assert residual.std() == pytest.approx(6.0, rel=0.1)
    # ...and so do the oracle's pairs, in the grey levels of the normaliser that training used
    hr = torch.full((8, 1, 40, 32), 0.5)
    pairs = captured["degradation"](hr, 10) - degrade_slices(hr, 4, "box", 10)
    grey_std = pairs.std().item() * (captured["normalizer"].high - captured["normalizer"].low)
    assert grey_std == pytest.approx(6.0, rel=0.05)


def test_seeds_report_mean_and_spread(iso_volume, tmp_path):
    report = run_bench(iso_volume, 4, degradation="box_thin", methods=("linear", "cubic", "oracle", "ours_stage2"),
                       steps=2, seeds=2, seed=5, noise=2.0, out_dir=tmp_path, log=quiet)
    assert report["seeds"] == [5, 6] and report["noise_sigma"] == 2.0 and report["off_centre"] is False
    for name in ("oracle", "ours_stage2"):
        entry = report["methods"][name]
        assert entry["seeds"] == [5, 6] and [r["seed"] for r in entry["runs"]] == [5, 6]
        for axis in ("xz", "yz"):
            for metric in ("psnr", "ssim"):
                values = [r[axis][metric] for r in entry["runs"]]
                spread = entry["spread"][axis][metric]
                assert all(math.isfinite(v) for v in values)
                assert entry[axis][metric] == pytest.approx(np.mean(values))
                assert spread["min"] == min(values) and spread["max"] == max(values)
                assert spread["std"] == pytest.approx(np.std(values, ddof=1))
        assert entry["runs"][0]["xz"] != entry["runs"][1]["xz"]  # the seed reaches training
        assert "best_z_shift" not in entry  # centred sampling
    assert set(report["degradation_fidelity"]["ours_stage2"]["spread"]) == {"psnr", "ssim"}
    for name in ("linear", "cubic"):
        assert len(report["methods"][name]["runs"]) == 1 and "seeds" not in report["methods"][name]
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["methods"]["oracle"]["spread"] == report["methods"]["oracle"]["spread"]
    table = (tmp_path / "report.md").read_text()
    assert "seeds 5..6" in table and "Spread over seeds" in table and "+-" in table and "noise of 2 grey" in table


def test_seeded_run_with_noise_and_seeds_repeats(iso_volume):
    kwargs = dict(z_factor=4, degradation="box_thick", methods=("cubic", "oracle"), steps=2, seeds=2, seed=1,
                  noise=4.0, log=quiet)
    a, b = run_bench(iso_volume, **kwargs), run_bench(iso_volume, **kwargs)
    for name in a["methods"]:
        assert [r["xz"] for r in a["methods"][name]["runs"]] == [r["xz"] for r in b["methods"][name]["runs"]]
        assert a["methods"][name]["yz"] == b["methods"][name]["yz"]


def test_best_shift_finds_a_known_shift():
    truth = _smooth_volume()
    half = shift_along_z(truth, 0.5)
    np.testing.assert_allclose(half[3:-3], (truth[3:-3].astype(np.float64) + truth[4:-2]) / 2)  # read at z + 0.5
    result = np.concatenate([truth[:1], truth[:1], truth[:-2]])  # result(z) = truth(z - 2)
    found = best_z_shift_scores(result, truth, z_factor=4)
    assert found["shift_rows"] == 2.0
    plain = axial_scores(result, truth)
    assert found["xz"]["psnr"] > plain["xz"]["psnr"] + 10
    assert best_z_shift_scores(shift_along_z(truth, -1.25), truth, z_factor=4)["shift_rows"] == 1.25
    cheap = mean_axial_psnr(result, truth, 0.0, float(truth.max() - truth.min()))
    assert cheap == pytest.approx((plain["xz"]["psnr"] + plain["yz"]["psnr"]) / 2, abs=1e-9)


def test_off_centre_degradations_report_the_best_shift(iso_volume, tmp_path):
    report = run_bench(iso_volume, 4, degradation="take", methods=("linear", "cubic"), out_dir=tmp_path, log=quiet)
    assert report["off_centre"] is True and "best_z_shift_search" in report
    for name in ("linear", "cubic"):
        entry = report["methods"][name]
        plain = entry["xz"]["psnr"] + entry["yz"]["psnr"]
        shifted = entry["best_z_shift"]["xz"]["psnr"] + entry["best_z_shift"]["yz"]["psnr"]
        assert shifted > plain
        assert entry["best_z_shift"]["shift_rows"] == [1.5]  # take reads the first of 4 rows: (f - 1) / 2
    table = (tmp_path / "report.md").read_text()
    assert "registration test" in table and "best shift (rows)" in table and "| +1.5 |" in table


def test_bad_acquisition_arguments(iso_volume):
    with pytest.raises(IsoReconError, match="seeds"):
        run_bench(iso_volume, 4, methods=("cubic",), seeds=0, log=quiet)
    with pytest.raises(IsoReconError, match="noise"):
        run_bench(iso_volume, 4, methods=("cubic",), noise=float("nan"), log=quiet)


def test_cli_choices_are_the_degradation_kinds():
    sub = next(a for a in build_parser()._subparsers._group_actions[0].choices["bench"]._actions
               if a.dest == "degradation")
    assert tuple(sub.choices) == KINDS


def test_cli_bench_refuses_an_anisotropic_volume(tmp_path, capsys):
    from napari_isorecon.core.io import write_volume

    out = tmp_path / "out"
    assert main(["bench", "--volume", "sample", "--z-factor", "4", "--out", str(out)]) == 2
    assert "sample-isotropic" in capsys.readouterr().err
    aniso = write_volume(tmp_path / "aniso.tif", np.zeros((10, 32, 32), np.uint8), (40.0, 4.0, 4.0))
    assert main(["bench", "--volume", str(aniso), "--z-factor", "4", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "isotropic volume" in err and "10x coarser" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_bench_on_the_isotropic_sample(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["bench", "--volume", "sample-isotropic", "--z-factor", "5", "--degradation", "box", "--noise", "3",
            "--methods", "linear", "cubic", "--out", str(out)]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["crop"].startswith("z rows 0..50 of 50") and report["noise_sigma"] == 3.0
    # by hand: the input is the truth's box means of 5 rows plus N(0, 3) noise, rounded once (the noise std
    # about the exact means: sqrt(9 + 1/12), to 3 / sqrt(2 * 200000) = 0.005 for its 200000 voxels); the
    # reported PSNR is 10 log10(255^2 / MSE) of each xz (yz) slice of its cubic interpolation, averaged
    from napari_isorecon.core.inference.reconstruct import interpolate, run_to_end
    from napari_isorecon.sample import isotropic_sample

    truth = isotropic_sample("a").astype(np.float64)
    acquired = simulate_acquisition(isotropic_sample("a"), 5, "box", 3.0, seed=0)
    noise = acquired - truth.reshape(10, 5, 100, 200).mean(axis=1)
    assert abs(noise.std() - math.sqrt(9 + 1 / 12)) < 5 * 0.005 and abs(noise.mean()) < 5 * 3 / math.sqrt(200000)
    error = run_to_end(interpolate(acquired, 5, "cubic")).volume.astype(np.float64) - truth
    for name, across in (("xz", (0, 2)), ("yz", (0, 1))):  # an xz slice per y, a yz slice per x
        psnr = np.mean(10 * np.log10(255.0**2 / np.mean(error**2, axis=across)))
        assert report["methods"]["cubic"][name]["psnr"] == pytest.approx(psnr, rel=1e-9), name


def test_cli_bench_tells_ours_the_declared_thickness(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["bench", "--volume", "sample-isotropic", "--z-factor", "5", "--degradation", "take_centred",
            "--section-thickness", "0", "--methods", "cubic", "ours_stage2", "--steps", "2", "--out", str(out)]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["section_thickness"] == 0 and report["config"]["stage2_pairs"] == "section"
    assert "Ours is told: single planes" in (out / "report.md").read_text()
    # the pairs are the acquisition itself: take_centred is a plane at each group's centre
    assert report["degradation_fidelity"]["ours_stage2"]["psnr"] > 100
    assert main(argv[:-2] + ["--section-thickness", "5", "--out", str(tmp_path / "bad")]) == 2
