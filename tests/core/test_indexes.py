"""Every script is listed in its folder's index, and every script an index lists exists: benchmarks/*.py in
CONTRIBUTING.md's table, research/experiments/*.py (helpers included) in research/README.md's, examples/*.py in
examples/README.md's."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (scripts' folder, index, the pattern of a script named in one of the index's table rows)
INDEXES = [
    ("benchmarks", "CONTRIBUTING.md", r"^\| `([\w.]+\.py)` \|"),
    ("research/experiments", "research/README.md", r"^\| \[([\w.]+\.py)\]\(experiments/\1\) \|"),
    ("examples", "examples/README.md", r"^\| \[([\w.]+\.py)\]\(\1\) \|"),
]


def _listed(index: str, pattern: str) -> list[str]:
    return re.findall(pattern, (ROOT / index).read_text(), flags=re.MULTILINE)


@pytest.mark.parametrize("folder, index, pattern", INDEXES, ids=[i[1] for i in INDEXES])
def test_every_script_is_in_its_index_and_every_row_is_a_script(folder, index, pattern):
    scripts = {p.name for p in (ROOT / folder).glob("*.py")}
    listed = _listed(index, pattern)
    assert scripts, f"no scripts found in {folder}"
    assert sorted(scripts - set(listed)) == [], f"scripts in {folder}/ without a row in {index}"
    assert sorted(set(listed) - scripts) == [], f"rows of {index} naming no script in {folder}/"
    assert len(listed) == len(set(listed)), f"a script listed twice in {index}"


def test_the_check_sees_a_missing_row(tmp_path):
    """The patterns really read the tables: a row taken out of an index is missed."""
    for folder, index, pattern in INDEXES:
        text = (ROOT / index).read_text()
        first = _listed(index, pattern)[0]
        row = next(line for line in text.splitlines() if re.match(pattern, line))
        copy = tmp_path / Path(index).name
        copy.write_text(text.replace(row + "\n", ""))
        assert first not in re.findall(pattern, copy.read_text(), flags=re.MULTILINE), (folder, index)
