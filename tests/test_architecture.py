"""The house's rules, checked: one query layer (the layers above it hold no SQL), the
store's connection kept inside and its private relations unnamed outside it, the import
layers enforced (and proven to catch an upward import), modules kept small unless the
architecture doc says why one is not."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "canvasback"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# A soft limit: past it a module is split by concern, or waived in the architecture doc.
SOFT_MAX_MODULE_LINES = 500

_SQL = re.compile(
    r"\bSELECT\b.*\bFROM\b|\b(INSERT INTO|DELETE FROM|CREATE (OR REPLACE )?(TEMP )?(TABLE|VIEW)"
    r"|read_parquet|UNION ALL|GROUP BY|ORDER BY)\b",
    re.DOTALL,
)


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal, f-string parts included, but not docstrings."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_the_sql_detector_finds_sql():
    tree = ast.parse('q = f"SELECT run_id FROM {t} WHERE x = ?"\nlabel = "Select a run"\n')
    assert [s for _, s in _strings(tree) if _SQL.search(s)] == ["SELECT run_id FROM "]


# The layers above the query layer ask it; none holds SQL. (The registry declares its
# views to the store in SQL, and the importers read other trackers' databases.)
_ABOVE_THE_QUERY_LAYER = ("tracking", "widgets", "charts", "projects", "models", "integrations")


def _sql_in(path: Path) -> list[str]:
    return [
        f"{path.name}:{line}: {text[:60]!r}"
        for line, text in _strings(ast.parse(path.read_text()))
        if _SQL.search(text)
    ]


@pytest.mark.parametrize(
    "path",
    [path for package in _ABOVE_THE_QUERY_LAYER for path in _modules(PACKAGE / package)],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_the_layers_above_the_query_layer_hold_no_sql(path):
    found = _sql_in(path)
    assert not found, "SQL belongs in canvasback.query or registry/reads.py:\n" + "\n".join(found)


def test_tracking_holds_no_sql():
    tracking = {p.relative_to(PACKAGE).as_posix() for p in _modules(PACKAGE / "tracking")}
    assert len(tracking) > 20  # the scan sees the whole package
    assert not any(_sql_in(PACKAGE / name) for name in tracking)


def _outside_store() -> list[Path]:
    return [p for p in _modules(PACKAGE) if "store" not in p.relative_to(PACKAGE).parts]


@pytest.mark.parametrize("path", _outside_store(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_store_touches_the_catalog_connection_and_lock(path):
    bad = [
        f"{path.name}:{node.lineno}: .{node.attr}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and (
            node.attr == "con"
            or (node.attr == "lock" and "catalog" in ast.unparse(node.value).lower())
        )
    ]
    assert not bad, "use the catalog's methods (arrow, rows, cursor, atomically):\n" + "\n".join(
        bad
    )


# A table, event or view of a layer above, named in the store's code (not its docs).
_ABOVE_THE_STORE = re.compile(r"registry|model_version|registered_model|model_alias", re.IGNORECASE)


@pytest.mark.parametrize(
    "path", _modules(PACKAGE / "store"), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_the_store_names_nothing_of_the_layers_above(path):
    found = [
        f"{path.name}:{line}: {text[:60]!r}"
        for line, text in _strings(ast.parse(path.read_text()))
        if _ABOVE_THE_STORE.search(text)
    ]
    assert not found, "a layer declares its tables (store/declarations.py):\n" + "\n".join(found)


# The catalog's relations other than its public views, spelled out: only the read side
# names them (store/read/relations.py); a layer above asks relations.py for them.
_PRIVATE_RELATION = re.compile(
    r"\b_(wide|wide_v|wide_base|state|state_v|latest_metrics|latest_metrics_v|shadow|hydrate"
    r"|experiments|runs|runs_v|params|params_v|inputs|inputs_v|artifacts|artifacts_v"
    r"|registered_models|model_versions|model_aliases)\b"
)


@pytest.mark.parametrize("path", _outside_store(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_read_side_spells_the_catalog_s_private_relations(path):
    found = [
        f"{path.name}:{line}: {text[:60]!r}"
        for line, text in _strings(ast.parse(path.read_text()))
        if _SQL.search(text) and _PRIVATE_RELATION.search(text)
    ]
    assert not found, "name them through store/read/relations.py:\n" + "\n".join(found)


def _relations_named(tree: ast.AST) -> list[tuple[int, str]]:
    """Names taken from ``store/read/relations.py``: imported, or read as ``relations.X``."""
    found = [
        (node.lineno, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "canvasback.store.read.relations"
        for alias in node.names
    ]
    found += [
        (node.lineno, node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "relations"
    ]
    return found


def test_the_relations_check_sees_imports_and_attributes():
    tree = ast.parse(
        "from canvasback.store.read.relations import RUNS_WIDE, WIDE\n"
        "from canvasback.store.read import relations\nq = relations.LATEST + relations.FACTS\n"
    )
    assert sorted(name for _, name in _relations_named(tree)) == [
        "FACTS",
        "LATEST",
        "RUNS_WIDE",
        "WIDE",
    ]


@pytest.mark.parametrize("path", _outside_store(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_layers_above_the_store_name_only_its_public_relations(path):
    from canvasback.store.read import relations  # noqa: PLC0415

    public = set(relations.__all__)
    found = [
        f"{path.name}:{line}: relations.{name}"
        for line, name in _relations_named(ast.parse(path.read_text()))
        if name not in public
    ]
    assert not found, f"only {sorted(public)} are for the layers above:\n" + "\n".join(found)


def waived_modules(markdown: str) -> dict[str, str]:
    """The modules the "Module size" section lets grow past the limit, and why.

    Each is a list item ``- `path/in/package.py`: why``; anything else is prose.
    """
    section = re.search(r"^## Module size\n(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    if section is None:
        return {}
    items = re.finditer(r"^- `([^`]+\.py)`:?\s*(.*)$", section.group(1), re.MULTILINE)
    return {item.group(1): item.group(2).strip() for item in items}


def test_waivers_are_read_from_their_section_only():
    markdown = (
        "## The house\n- `store/layout.py`: not a waiver\n"
        "## Module size\nProse about `cli.py`.\n\n- `store/reader.py`: one concern, the catalog\n"
        "- `widgets/compare.py`\n"
        "## Where the next parts go\n- `tracking/run.py`: not one either\n"
    )
    assert waived_modules(markdown) == {
        "store/reader.py": "one concern, the catalog",
        "widgets/compare.py": "",
    }
    assert waived_modules("# no such section\n- `cli.py`: x\n") == {}


def _waivers() -> dict[str, str]:
    return waived_modules(ARCHITECTURE.read_text())


@pytest.mark.parametrize("path", _modules(PACKAGE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small_or_are_waived(path):
    lines = len(path.read_text().splitlines())
    name = path.relative_to(PACKAGE).as_posix()
    if lines > SOFT_MAX_MODULE_LINES:
        assert name in _waivers(), (
            f"{name} has {lines} lines: split it by concern, or waive it with a reason in "
            "the 'Module size' section of docs/architecture.md"
        )


def test_every_waiver_is_a_module_past_the_limit_with_a_reason():
    for name, reason in _waivers().items():
        path = PACKAGE / name
        assert path.is_file(), f"the waiver for {name} names no module"
        lines = len(path.read_text().splitlines())
        assert lines > SOFT_MAX_MODULE_LINES, f"{name} has {lines} lines: drop its waiver"
        assert reason, f"the waiver for {name} gives no reason"


def _lint_imports(src: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(tool), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=src.parent,
        env={"PYTHONPATH": str(src), "PATH": str(tool.parent)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.slow  # lint-imports runs in a child process (as in `make lint`)
def test_the_import_contracts_hold():
    result = _lint_imports(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr


BROKEN_CONTRACTS = {
    "an upward import": ("store/layout.py", "canvasback.widgets", "live_run"),
    "the write side reading": ("store/write/writer.py", "canvasback.store.read", "merge"),
    "the read side writing": ("store/read/catalog.py", "canvasback.store.write", "spill"),
    "the shared part using a side": ("store/layout.py", "canvasback.store.read", "wide"),
    "the query layer reaching up": ("query/search.py", "canvasback.tracking", "validation"),
    "the store reaching the query layer": ("store/read/catalog.py", "canvasback.query", "runs"),
    "tracking reading the registry": ("tracking/client.py", "canvasback.registry", "reads"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", BROKEN_CONTRACTS)
def test_a_forbidden_import_breaks_a_contract(tmp_path, case):
    module, package, name = BROKEN_CONTRACTS[case]
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "canvasback", ignore=shutil.ignore_patterns("static"))
    path = src / "canvasback" / module
    path.write_text(
        path.read_text() + f"\n\ndef _forbidden() -> object:\n"
        f"    from {package} import {name}\n\n    return {name}\n"
    )
    result = _lint_imports(src)
    assert result.returncode != 0
    importer = "canvasback." + module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {package}.{name}" in result.stdout
    if package == "canvasback.registry":  # its own contract, whatever the layers say
        assert "tracking knows nothing of the model registry BROKEN" in result.stdout
