"""The command line's modules: no import circle (the flags in cli/flags.py, which imports no subcommand; no
function-level import of another cli module), one way for a subcommand to register, and its flags' forms."""

import argparse
import ast
import subprocess
import sys
from pathlib import Path

import pytest

import napari_isorecon.cli as cli
from napari_isorecon.cli import main
from napari_isorecon.cli.flags import RESUME_AUTOSAVE
from napari_isorecon.cli.parser import SUBCOMMANDS, build_parser

CLI = Path(cli.__file__).parent
MODULES = sorted(path.stem for path in CLI.glob("*.py") if path.stem != "__main__")


def _sibling_imports(tree: ast.Module):
    """(line, module) of every import of a cli module (``from . import x``, ``from .x import``, absolute) inside
    a function."""
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1:
                    yield node.lineno, node.module or ", ".join(alias.name for alias in node.names)
                elif node.level == 0 and (node.module or "").startswith("napari_isorecon.cli"):
                    yield node.lineno, node.module
            elif isinstance(node, ast.Import):
                yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("napari_isorecon.cli"))


def test_no_cli_module_imports_another_inside_a_function():
    """An import of a sibling inside a function hides a circle (commands and inputs once imported
    parser.option_values there, parser importing them at the top): the dependencies are at the top."""
    found = [f"{path.name}:{line} imports {module}" for path in sorted(CLI.glob("*.py"))
             for line, module in _sibling_imports(ast.parse(path.read_text()))]
    assert not found, found


# the core's front door: what a front-end needs, re-exported there from the module that defines it
FRONT_DOOR = {"core", "core.api", "core.jobs", "core.events", "core.errors", "core.settings"}


def _core_imports(tree: ast.Module):
    """(line, module) of every import of the core, as ``core`` or ``core.<dotted>``, however written (``from
    ..core.x import``, ``from .. import core``, ``from napari_isorecon.core.x import``, ``import napari_isorecon.core.x``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 2 and node.module is None:
                yield from ((node.lineno, "core") for alias in node.names if alias.name == "core")
                continue
            module = node.module or ""
            name = module.removeprefix("napari_isorecon.") if node.level == 0 else module
            if (node.level == 2 or node.level == 0 and module.startswith("napari_isorecon.")) and (
                    name == "core" or name.startswith("core.")):
                yield node.lineno, name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name.removeprefix("napari_isorecon.")
                if alias.name.startswith("napari_isorecon.") and (name == "core" or name.startswith("core.")):
                    yield node.lineno, name


def test_the_cli_imports_only_the_cores_front_door():
    """The command line needs the core's front door only: the public API, the jobs, the events, the errors and
    the settings package (each re-exporting what a front-end uses), never a module behind it."""
    imports = {(path.name, line, module) for path in sorted(CLI.glob("*.py"))
               for line, module in _core_imports(ast.parse(path.read_text()))}
    modules = {module for _, _, module in imports}
    assert modules and "core.jobs" in modules  # the walk found the imports
    behind = sorted(f"{name}:{line} imports {module}" for name, line, module in imports if module not in FRONT_DOOR)
    assert not behind, behind
    assert len(modules) <= 8, sorted(modules)


def test_the_front_doors_re_exports_are_the_defining_modules_names():
    """Each name core.jobs re-exports lazily is the very object of the module that defines it."""
    import importlib

    import napari_isorecon.core.jobs as jobs

    for name, (module, attribute) in jobs._LAZY.items():
        assert getattr(jobs, name) is getattr(importlib.import_module(module, jobs.__name__), attribute), name
        assert name in dir(jobs)
    with pytest.raises(AttributeError, match="no_such_name"):
        jobs.no_such_name  # noqa: B018


@pytest.mark.parametrize("first", MODULES)
def test_every_cli_module_imports_first_in_a_fresh_interpreter(first):
    """Whichever module comes first, all of them import (a circle fails for one order or another), and building
    the parser imports no torch."""
    names = [f"napari_isorecon.cli.{m}" if m != "__init__" else "napari_isorecon.cli" for m in MODULES]
    order = [names[MODULES.index(first)]] + [n for n in names if n != names[MODULES.index(first)]]
    code = ("import importlib, sys\n"
            f"for name in {order!r}:\n    importlib.import_module(name)\n"
            "from napari_isorecon.cli.parser import build_parser\nbuild_parser()\n"
            "assert 'torch' not in sys.modules, 'building the parser imported torch'\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_flags_import_no_subcommand():
    tree = ast.parse((CLI / "flags.py").read_text())
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1]


def test_every_subcommand_registers_the_same_way():
    """One function per subcommand, each adding one subparser, all listed in parser.SUBCOMMANDS."""
    built = build_parser()._subparsers._group_actions[0].choices
    names = []
    for add in SUBCOMMANDS:
        sub = argparse.ArgumentParser().add_subparsers()
        add(sub)
        assert len(sub.choices) == 1, add
        names += list(sub.choices)
    assert names == list(built) == ["run", "train", "reconstruct", "interpolate", "bench", "validate", "info",
                                    "export"]
    assert ".add_parser(" not in (CLI / "parser.py").read_text()  # no subcommand made in parser.py itself


def test_degradation_choices_are_the_cores():
    from napari_isorecon.core.training.sections import KINDS

    bench = build_parser()._subparsers._group_actions[0].choices["bench"]
    action = next(a for a in bench._actions if a.dest == "degradation")
    assert tuple(action.choices) == KINDS and "box_thin" in action.choices and "nope" not in action.choices
    argv = ["bench", "--volume", "v", "--z-factor", "4", "--out", "o"]
    assert build_parser().parse_args(argv + ["--degradation", "box_thin"]).degradation == "box_thin"
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv + ["--degradation", "nope"])


def test_resume_reads_the_same_on_run_and_train_and_the_old_forms_still_work():
    """A bare --resume continues the interrupted run from its checkpoint on both commands; train's --resume MODEL
    (the old form) still continues from a model file, and run's flag still goes before the volume."""
    parse = build_parser().parse_args
    for argv in (["run", "v.tif", "--out-dir", "d", "--resume"], ["run", "--resume", "v.tif", "--out-dir", "d"],
                 ["train", "v.tif", "--out", "m.pt", "--resume"], ["train", "v.tif", "--resume", "--out", "m.pt"]):
        args = parse(argv)
        assert (args.volume, args.resume) == ("v.tif", RESUME_AUTOSAVE), argv
    for argv in (["train", "v.tif", "--resume", "old.pt", "--out", "m.pt"],
                 ["train", "--resume", "old.pt", "v.tif", "--out", "m.pt"]):
        args = parse(argv)
        assert (args.volume, args.resume) == ("v.tif", "old.pt"), argv
    assert parse(["run", "v.tif", "--out-dir", "d"]).resume is None
    assert parse(["train", "v.tif", "--out", "m.pt"]).resume is None


def test_train_resumes_its_interrupted_run_with_a_bare_resume(em_volume, tiny_config, tmp_path, capsys):
    from napari_isorecon.core.model.checkpoint import autosave_path, load_model, save_model
    from napari_isorecon.core.training.train import train_to_end

    out = tmp_path / "m.pt"
    assert main(["train", "sample", "--steps", "3", "--resume", "--out", str(out)]) == 2
    assert f"Nothing to resume: {autosave_path(out)} does not exist." in capsys.readouterr().err
    save_model(train_to_end(em_volume, tiny_config.replace(steps=2)), autosave_path(out))
    assert main(["train", "sample", "--steps", "3", "--out", str(out)]) == 2
    assert "continue it with --resume (the same command)" in capsys.readouterr().err
    assert main(["train", "sample", "--steps", "3", "--resume", "--out", str(out)]) == 0
    assert load_model(out).state.step == 3 and not autosave_path(out).exists()
