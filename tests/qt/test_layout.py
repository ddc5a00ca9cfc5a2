"""The layout of ``_qt/`` (docs/architecture.md): modules grouped by role in subpackages, each name said once,
dependencies pointing one way, and report saving with its "replace?" question written once, in the shared helper
that both checks use. Read from the sources (ast), no Qt display."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

import napari_isorecon

QT = Path(napari_isorecon.__file__).parent / "_qt"
GROUPS = ("train", "reconstruct", "checks", "shared")
# which groups a group may import from: the docks over the checks over what they all share
MAY_IMPORT = {"train": {"checks", "shared"}, "reconstruct": {"shared"}, "checks": {"shared"}, "shared": set()}
REPORT_SAVING = "shared/report_saving.py"
MAX_LINES = 400


def modules() -> dict[str, ast.Module]:
    """Every module of ``_qt/`` by its path relative to ``_qt/`` (``train/train_widget.py``), parsed."""
    return {path.relative_to(QT).as_posix(): ast.parse(path.read_text(), filename=str(path))
            for path in sorted(QT.rglob("*.py"))}


def calls(tree: ast.Module, owner: str, method: str) -> bool:
    """Whether ``tree`` calls ``owner.method(...)`` (e.g. ``QMessageBox.question``)."""
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method
               and isinstance(node.func.value, ast.Name) and node.func.value.id == owner for node in ast.walk(tree))


def strings(tree: ast.Module) -> list[str]:
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_qt_is_grouped_by_role_with_names_said_once():
    paths = modules()
    assert {path for path in paths if "/" not in path} == {"__init__.py"}, "a module directly in _qt/: put it in a group"
    assert {path.split("/")[0] for path in paths if "/" in path} == set(GROUPS)
    assert all(f"{group}/__init__.py" in paths for group in GROUPS)
    names = [path.rsplit("/", 1)[1] for path in paths if not path.endswith("__init__.py")]
    assert sorted(set(names)) == sorted(names), "two _qt modules of the same name"
    long = {path: n for path, n in ((p, len((QT / p).read_text().splitlines())) for p in paths) if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: split them {long}"


def test_qt_groups_import_one_way():
    for path, tree in modules().items():
        group = path.split("/")[0]
        if group not in GROUPS:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:  # from ..group.module import
                other = node.module.split(".")[0]
                assert other in MAY_IMPORT[group], f"{path} imports _qt/{other}/: {group}/ may use {MAY_IMPORT[group]}"


def test_report_saving_and_its_replace_question_are_written_once():
    paths = modules()
    asking = {path for path, tree in paths.items() if calls(tree, "QMessageBox", "question")
              or any("replace?" in text.lower() for text in strings(tree))}
    assert asking == {REPORT_SAVING}, f"the \"replace?\" question is asked outside the shared helper: {asking}"
    folders = {path for path, tree in paths.items() if calls(tree, "QFileDialog", "getExistingDirectory")}
    assert folders == {REPORT_SAVING}, f"a folder for a report is asked for outside the shared helper: {folders}"
    users = {path for path, tree in paths.items() if "ReportSaver" in {node.id for node in ast.walk(tree)
                                                                        if isinstance(node, ast.Name)}}
    assert users == {"checks/hidden_section_check.py", "checks/acquisition_comparison.py"}


def test_the_manifest_names_widgets_in_their_groups():
    import importlib

    manifest = yaml.safe_load((QT.parent / "napari.yaml").read_text())
    names = {c["id"]: c["python_name"] for c in manifest["contributions"]["commands"]}
    for widget in manifest["contributions"]["widgets"]:
        module, attr = names[widget["command"]].split(":")
        assert module.split(".")[2] in ("train", "reconstruct"), module
        assert callable(getattr(importlib.import_module(module), attr))
