"""The public Python API (napari_isorecon.core): each function on a tiny volume with a tiny budget, its
docstring examples, and the Python blocks of the README and the user guide."""

import ast
import doctest
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import napari_isorecon.core as core
from napari_isorecon.core import (
    IsoReconError,
    ReconConfig,
    TrainConfig,
    interpolate_volume,
    load_model,
    open_volume,
    reconstruct_volume,
    save_model,
    save_volume,
    train_model,
    validate,
)
from napari_isorecon.core.events import (
    CheckProgress,
    HiddenSectionsChecked,
    ReconFinished,
    ReconProgress,
    TrainFinished,
    TrainStep,
)

ROOT = Path(__file__).resolve().parents[2]
# a run of well under a second per step on a CPU (see tests/conftest.py)
TINY = dict(channels=8, blocks=1, lr_rows=4, patch_width=32, batch_size=2, device="cpu")
FUNCTIONS = ["interpolate_volume", "isotropic_voxel_size", "load_model", "open_volume", "reconstruct_volume",
             "run_to_folder", "save_model", "save_volume", "sharpen_volume", "train_model", "validate",
             "z_factor_from_voxel_size"]


@pytest.fixture(scope="module")
def sample():
    from napari_isorecon.sample import anisotropic_sample

    return anisotropic_sample()  # (10, 100, 200) uint8, voxel size (50, 10, 10): z-factor 5


@pytest.fixture(scope="module")
def model(sample):
    return train_model(sample[0], 5, steps=3, **TINY)


def test_the_package_exports_the_functions_with_numpydoc_docstrings_and_imports_no_torch():
    assert set(FUNCTIONS) <= set(core.__all__)
    for name in FUNCTIONS:
        doc = inspect.getdoc(getattr(core, name))
        for section in ("Parameters\n----------", "Returns\n-------", "Examples\n--------\n>>>"):
            assert section in doc, f"{name}: no {section.splitlines()[0]}"
    code = "import sys, json, napari_isorecon.core; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = set(json.loads(out.strip().splitlines()[-1]))
    assert "napari_isorecon.core.api" in modules and "torch" not in modules


def test_the_docstring_examples_run():
    from napari_isorecon.core.api import files, tasks

    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tested = set()
    for module in (tasks, files):
        for test in doctest.DocTestFinder().find(module):
            if test.examples:
                runner.run(test)
                tested.add(test.name.rsplit(".", 1)[-1])
    assert runner.summarize(verbose=False).failed == 0
    assert tested == set(FUNCTIONS)


def test_train_model_applies_the_settings_and_reports_every_event(sample):
    events = []
    model = train_model(sample[0], 5, progress=events.append, steps=3, seed=4, section_thickness=0.5, **TINY)
    assert model.config.z_factor == 5 and model.config.seed == 4 and model.config.section_thickness == 0.5
    assert model.config.steps == 3 and model.config.minutes is None  # steps replace the default minutes
    assert [e.step for e in events if isinstance(e, TrainStep)] == [1, 2, 3]
    assert isinstance(events[-1], TrainFinished) and events[-1].model is model and model.state.step == 3


def test_train_model_starts_from_a_config_and_stops_with_a_model(sample):
    config = TrainConfig(z_factor=5, minutes=5, **TINY)
    steps = []

    def progress(event):
        if isinstance(event, TrainStep):
            steps.append(event.step)

    model = train_model(sample[0], config=config, progress=progress, stop=lambda: len(steps) >= 2)
    assert steps == [1, 2] and model.state.step == 2 and model.config.minutes == 5
    assert model.reconstructor is not None  # a stopped run still gives a usable model


def test_train_model_refuses_bad_settings_in_one_line(sample):
    with pytest.raises(IsoReconError, match="Give the z-factor"):
        train_model(sample[0], steps=2)
    with pytest.raises(IsoReconError, match="Unknown training settings no_such, other; see TrainConfig"):
        train_model(sample[0], 5, no_such=1, other=2)
    with pytest.raises(IsoReconError, match="z-factor"):
        train_model(sample[0], 0.5, steps=2)


def test_train_model_continues_a_model_to_its_budget(sample, model, tmp_path):
    path = save_model(model, tmp_path / "model.pt")
    more = train_model(sample[0], resume=load_model(path), steps=5)
    assert more.state.step == 5 and more.config.channels == 8  # the model's own settings, a larger budget
    with pytest.raises(IsoReconError, match="already used 3 of a budget of 3 steps"):
        train_model(sample[0], resume=load_model(path), steps=3)
    with pytest.raises(IsoReconError, match="z-factor"):
        train_model(sample[0], 4, resume=load_model(path), steps=5)


def test_reconstruct_volume_is_the_generator_run_to_the_end(sample, model, tmp_path):
    from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end

    volume = sample[0]
    events = []
    result = reconstruct_volume(volume, model, progress=events.append, device="cpu", precision="float32")
    expected = run_to_end(reconstruct(volume, model, ReconConfig(device="cpu", precision="float32"))).volume
    assert result.shape == (50, 100, 200) and result.dtype == np.uint8
    np.testing.assert_array_equal(result, expected)
    assert isinstance(events[0], ReconProgress) and isinstance(events[-1], ReconFinished)
    path = save_model(model, tmp_path / "m.pt")
    from_file = reconstruct_volume(volume, path, ReconConfig(device="cpu", precision="float32"))
    np.testing.assert_array_equal(from_file, expected)
    assert reconstruct_volume(volume, model, device="cpu", stop=lambda: True) is None
    with pytest.raises(IsoReconError, match="Unknown reconstruction setting steps; see ReconConfig"):
        reconstruct_volume(volume, model, steps=3)


def test_interpolate_volume_is_exact_on_a_linear_ramp():
    z = np.arange(6, dtype=np.float32) * 10
    ramp = np.broadcast_to(z[:, None, None], (6, 32, 32)).copy()
    linear = interpolate_volume(ramp, 4, order="linear", device="cpu")
    assert linear.shape == (24, 32, 32) and linear.dtype == np.float32
    rows = (np.arange(24) + 0.5) * 6 / 24 - 0.5  # where output row j lies in input slices
    inside = (rows >= 0) & (rows <= 5)
    np.testing.assert_allclose(linear[inside, 16, 16], 10 * rows[inside], atol=1e-3)
    with pytest.raises(IsoReconError, match="order must be .linear. or .cubic., got .quintic."):
        interpolate_volume(ramp, 4, order="quintic")


def _tiny_stack(depth=9, size=48, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    vol = np.stack([120 + 60 * np.sin((xx + 3 * k) / 4.0) * np.cos(yy / 5.0) for k in range(depth)])
    return np.clip(vol + rng.normal(0, 4, vol.shape), 0, 255).astype(np.uint8)


def test_validate_scores_the_hidden_sections_with_the_given_settings():
    events = []
    report = validate(_tiny_stack(), 3, progress=events.append, steps=3, section_thickness=0.5,
                      **{**TINY, "lr_rows": 3, "patch_width": 16})
    assert [s["index"] for s in report.sections] == [1, 3, 5, 7] and report.thickness == 0.5
    assert report.z_factor == 3 and report.training["steps"] == 3
    assert set(report.summary) == {"ours", "cubic", "neighbour mean", "sharp"}
    finished = next(e for e in events if isinstance(e, TrainFinished))
    assert finished.model.z_factor == 6  # the check trains at twice the factor
    assert any(isinstance(e, CheckProgress) for e in events)
    assert events[-1] == HiddenSectionsChecked(report=report, stopped=False)
    assert validate(_tiny_stack(), 3, steps=3, stop=lambda: True, **TINY) is None


def test_models_round_trip_and_are_never_overwritten(model, tmp_path):
    path = save_model(model, tmp_path / "model.pt")
    again = load_model(path, z_factor=5)
    assert again.config == model.config and again.state.step == model.state.step
    for name, net in model.networks.items():
        for a, b in zip(net.state_dict().values(), again.networks[name].state_dict().values(), strict=True):
            assert np.array_equal(a.cpu().numpy(), b.cpu().numpy())
    with pytest.raises(IsoReconError, match="exists"):
        save_model(model, path)
    save_model(model, path, overwrite=True)
    with pytest.raises(IsoReconError, match="trained for z-factor 5, not 10"):
        load_model(path, z_factor=10)
    with pytest.raises(IsoReconError, match="does not exist"):
        load_model(tmp_path / "missing.pt")


@pytest.mark.parametrize("name", ["v.tif", "v.zarr"])
def test_volumes_round_trip_with_their_voxel_size(tmp_path, name):
    volume = np.random.default_rng(1).integers(0, 65535, (5, 40, 48), dtype=np.uint16)
    path = save_volume(tmp_path / name, volume, (40.0, 4.0, 4.0))
    read, voxel = open_volume(path)
    np.testing.assert_array_equal(np.asarray(read), volume)
    assert voxel == pytest.approx((40.0, 4.0, 4.0))
    with pytest.raises(IsoReconError, match="exists"):
        save_volume(path, volume)


def test_save_volume_refuses_another_format_and_writes_nothing(tmp_path):
    with pytest.raises(IsoReconError, match=r"\.tif"):
        save_volume(tmp_path / "v.png", np.zeros((2, 16, 16), np.uint8))
    assert list(tmp_path.iterdir()) == []


def _python_block(markdown: Path, heading: str = "## Python") -> str:
    text = markdown.read_text()
    section = text[text.index(heading + "\n"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_example_runs(sample, tmp_path, monkeypatch, capsys):
    """The README's block as written, on the sample saved as stack.tif, with a budget of two steps."""
    code = _python_block(ROOT / "README.md")
    assert code.count("minutes=10") == 3
    budget = "steps=2, " + ", ".join(f"{k}={v!r}" for k, v in TINY.items())
    save_volume(tmp_path / "stack.tif", *sample)
    monkeypatch.chdir(tmp_path)
    exec(compile(code.replace("minutes=10", budget), "README.md", "exec"), {})
    assert load_model(tmp_path / "model.pt", z_factor=5).state.step == 2
    isotropic, voxel = open_volume(tmp_path / "isotropic.tif")
    assert isotropic.shape == (50, 100, 200) and voxel == pytest.approx((10.0, 10.0, 10.0))
    assert "cubic interpolation" in capsys.readouterr().out  # the check's verdict was printed
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [  # the main job's files
        "volume_interpolated.tif", "volume_isotropic.tif", "volume_model.pt", "volume_uncertainty.tif"]


@pytest.mark.parametrize("doc", ["README.md", "docs/user_guide.md"])
def test_the_docs_python_blocks_use_only_the_public_api(doc):
    imports = [node for node in ast.walk(ast.parse(_python_block(ROOT / doc))) if isinstance(node, ast.ImportFrom)]
    ours = [node for node in imports if node.module.startswith("napari_isorecon")]
    assert ours and {node.module for node in ours} <= {"napari_isorecon.core", "napari_isorecon.core.events"}
    from_core = {alias.name for node in ours if node.module == "napari_isorecon.core" for alias in node.names}
    assert from_core and from_core <= set(core.__all__)
