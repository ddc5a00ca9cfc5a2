import json
import subprocess
import sys

import pytest


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_core_never_imports_gui_libraries():
    modules = _modules_after(
        "import napari_isorecon.core, napari_isorecon.core.training.train, napari_isorecon.core.inference.reconstruct, "
        "napari_isorecon.core.model.checkpoint, napari_isorecon.core.io, napari_isorecon.cli"
    )
    assert "torch" in modules  # the statement really imported the engine
    for gui in ("napari", "qtpy", "magicgui", "PyQt5", "PyQt6", "PySide2", "PySide6"):
        assert gui not in modules, f"core pulled in {gui}"


def test_package_import_is_light():
    modules = _modules_after("import napari_isorecon")
    assert "napari_isorecon" in modules
    assert "torch" not in modules and "napari" not in modules


def test_package_import_leaves_the_engine_unimported():
    modules = _modules_after("import napari_isorecon")
    for heavy in ("napari_isorecon.core", "torch", "dask", "zarr"):
        assert heavy not in modules, f"import napari_isorecon pulled in {heavy}"


def test_public_api_is_reachable_from_the_package_root():
    import napari_isorecon
    import napari_isorecon.core as core

    assert set(napari_isorecon.__all__) == {"__version__", *core.__all__}
    for name in core.__all__:
        assert getattr(napari_isorecon, name) is getattr(core, name), name
        assert name in dir(napari_isorecon)
    with pytest.raises(AttributeError, match="no_such_name"):
        napari_isorecon.no_such_name  # noqa: B018


def test_root_api_import_does_not_import_torch():
    for statement in ("from napari_isorecon import train_model, reconstruct_volume, validate, TrainConfig",
                      "from napari_isorecon import *"):
        modules = _modules_after(statement)
        assert "napari_isorecon.core" in modules, statement
        for heavy in ("torch", "dask", "zarr"):
            assert heavy not in modules, f"{statement} pulled in {heavy}"
