"""A missing optional dependency skips its tests, or fails them under ISORECON_REQUIRE_ALL (CI), and every test
module goes through that one helper."""

from pathlib import Path

import pytest
from optional_deps import optional_import

MISSING = "isorecon_no_such_module_xyz"


def test_a_missing_optional_dependency_skips_without_the_variable(monkeypatch):
    monkeypatch.delenv("ISORECON_REQUIRE_ALL", raising=False)
    with pytest.raises(pytest.skip.Exception, match=MISSING):
        optional_import(MISSING)
    monkeypatch.setenv("ISORECON_REQUIRE_ALL", "0")
    with pytest.raises(pytest.skip.Exception, match=MISSING):
        optional_import(MISSING)


def test_a_missing_optional_dependency_fails_under_require_all(monkeypatch):
    monkeypatch.setenv("ISORECON_REQUIRE_ALL", "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        optional_import(MISSING)
    assert MISSING in str(failed.value) and "ISORECON_REQUIRE_ALL is set" in str(failed.value)
    with pytest.raises(pytest.fail.Exception, match="'isorecon_no_such_module_xyz.sub'"):
        optional_import(MISSING + ".sub")


@pytest.mark.parametrize("require", ["", "1"])
def test_a_present_module_is_returned(monkeypatch, require):
    monkeypatch.setenv("ISORECON_REQUIRE_ALL", require)
    assert optional_import("json").dumps([1]) == "[1]"


def test_no_test_module_skips_on_a_missing_import_by_itself():
    tests = Path(__file__).parents[1]
    direct = [str(path.relative_to(tests)) for path in tests.rglob("*.py")
              if path.name not in ("optional_deps.py", Path(__file__).name) and "importorskip(" in path.read_text()]
    assert direct == [], f"use optional_deps.optional_import in {direct}"
