"""The example notebooks' markdown: every heading well formed, one title per notebook.

nbval runs the notebooks' code (``make test``); this checks what nbval does not read. A
heading is ``#{1,6} text``: a marker doubled by a conversion (``# ## Log runs``) renders
literally, and a ``# `` left in front of a sentence turns it into a second title.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
HEADING = re.compile(r"(#{1,6}) (?=\S)(.*)")
FENCE = re.compile(r"\s{0,3}(```|~~~)")


def headings(markdown: str) -> list[str]:
    """Lines of ``markdown`` that start with '#', outside fenced code blocks."""
    lines = []
    fenced = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            lines.append(line)
    return lines


def problems(line: str) -> list[str]:
    """What is wrong with a heading line; empty when it is well formed."""
    match = HEADING.fullmatch(line)
    if match is None:
        return ["not '#{1,6} text'"]
    text = match.group(2)
    if re.match(r"#+(\s|$)", text):
        return ["doubled heading marker"]
    if text.rstrip() != text:
        return ["trailing whitespace"]
    return []


def notebook_headings(path: Path) -> list[tuple[int, str]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [
        (index, line)
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "markdown"
        for line in headings("".join(cell["source"]))
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("# canvasback quickstart", []),
        ("###### deepest", []),
        ("# # canvasback quickstart", ["doubled heading marker"]),
        ("# ## Log runs", ["doubled heading marker"]),
        ("##Log runs", ["not '#{1,6} text'"]),
        ("####### too deep", ["not '#{1,6} text'"]),
        ("#", ["not '#{1,6} text'"]),
        ("## Log runs ", ["trailing whitespace"]),
    ],
)
def test_heading_rules(line, expected):
    assert problems(line) == expected


def test_fenced_code_is_not_a_heading():
    markdown = "## Shell\n```bash\n# a comment\n```\n#bad"
    assert headings(markdown) == ["## Shell", "#bad"]


def test_there_are_notebooks_to_check():
    assert {path.name for path in NOTEBOOKS} >= {"quickstart.ipynb", "demo.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_markdown_headings_are_well_formed(path):
    found = notebook_headings(path)
    bad = [(cell, line, problems(line)) for cell, line in found if problems(line)]
    assert bad == [], f"{path.name}: malformed headings (cell, line, problem)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_one_title_then_sections(path):
    levels = [
        (cell, len(match.group(1)))
        for cell, line in notebook_headings(path)
        if (match := HEADING.fullmatch(line))
    ]
    assert levels, f"{path.name} has no heading"
    assert levels[0] == (0, 1), f"{path.name} must open with its title, a level-1 heading"
    later_titles = [cell for cell, level in levels[1:] if level == 1]
    assert later_titles == [], f"{path.name}: level-1 headings after the title, in cells"
    # Sections nest one level at a time: no jump from '#' to '###'.
    jumps = [
        (cell, level)
        for (_, previous), (cell, level) in itertools.pairwise(levels)
        if level > previous + 1
    ]
    assert jumps == [], f"{path.name}: heading levels skipped at (cell, level)"
