"""The scripts in examples/ run as a user runs them (a subprocess, from the repository root), on tiny budgets,
and write what their docstrings say."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(script: str, out: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), "--steps", "2", "--out", str(out), *args],
                          capture_output=True, text=True, cwd=EXAMPLES.parent, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_example_is_tested_here_and_says_what_it_shows():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))  # examples/README.md's rows: tests/core/test_indexes.py
    assert scripts == ["compare_settings.py", "large_zarr_blockwise.py", "python_api.py"]
    for name in scripts:
        assert (EXAMPLES / name).read_text().startswith('"""'), f"{name} has no docstring"


@pytest.mark.slow
def test_python_api_example(tmp_path):
    import tifffile

    stdout = _run("python_api.py", tmp_path)
    assert (tmp_path / "model.pt").is_file()
    assert tifffile.imread(tmp_path / "isotropic.tif").shape == (50, 100, 200)
    assert (tmp_path / "check" / "report.md").is_file()
    assert "better" in stdout.splitlines()[-1]  # the check's verdict


@pytest.mark.slow
def test_large_zarr_blockwise_example(tmp_path):
    from napari_isorecon import open_volume

    stdout = _run("large_zarr_blockwise.py", tmp_path, "--block", "4,64,64")
    assert "isotropic: block 24/24" in stdout  # really block by block
    for name in ("isotropic", "interpolated"):
        volume, voxel = open_volume(tmp_path / f"{name}.zarr")
        assert volume.shape == (50, 100, 200) and np.allclose(voxel, (10, 10, 10))
    assert not list(tmp_path.glob("*.partial"))  # finished, not half-written


@pytest.mark.slow
def test_compare_settings_example(tmp_path):
    stdout = _run("compare_settings.py", tmp_path, "--settings", "pairs=section", "thickness=0.5")
    assert (tmp_path / "comparison.json").is_file() and (tmp_path / "comparison.md").is_file()
    assert (tmp_path / "1-pairs_section" / "report.md").is_file()
    assert (tmp_path / "2-thickness_0.5" / "report.md").is_file()
    recommendation = json.loads((tmp_path / "comparison.json").read_text())["recommendation"]
    assert stdout.splitlines()[-1] == recommendation
