import json
import subprocess
import sys


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
