"""The presets are what the paper and the docs say (tests/expected_presets.py writes their values out)."""

import pytest
from expected_presets import FAST, PAPER, PAPER_GPU, PAPER_NETWORKS, PAPER_OPTIMISER, fields

from napari_isorecon.core import TrainConfig, preset
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.settings.config import PRESETS


def test_the_paper_preset_has_the_papers_networks_and_optimiser():
    cfg = preset("paper")
    assert fields(cfg, PAPER_NETWORKS) == PAPER_NETWORKS
    assert fields(cfg, PAPER_OPTIMISER) == PAPER_OPTIMISER
    assert fields(cfg, PAPER_GPU) == PAPER_GPU
    assert cfg.steps is None and cfg.z_factor == 10.0  # the paper's factor, as every preset's default


def test_the_fast_preset_is_the_default_and_trains_as_the_paper_does():
    assert fields(preset("fast"), FAST) == FAST == fields(TrainConfig(), FAST)
    assert fields(preset("fast"), PAPER_OPTIMISER) == PAPER_OPTIMISER
    assert set(PRESETS) == {"fast", "paper"} and set(PAPER) <= set(FAST)
    with pytest.raises(IsoReconError, match="Unknown preset 'gpu'"):
        preset("gpu")


def test_overrides_and_an_acquisition_win_over_a_preset():
    cfg = preset("paper", z_factor=4, channels=16, batch_size=2)
    assert (cfg.z_factor, cfg.channels, cfg.batch_size) == (4, 16, 2)
    assert fields(cfg, PAPER_NETWORKS) == {**PAPER_NETWORKS, "channels": 16}
    fib = preset("paper", acquisition="fib-sem", z_factor=8)
    assert fields(fib, PAPER) == PAPER and fib.section_thickness == 0.0 and fib.acquisition == "fib-sem"
