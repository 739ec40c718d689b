"""The ``canvasback`` command, run as users run it: ``python -m canvasback`` in a process.

Every bad invocation exits with status 2 and one line on stderr naming the problem;
nothing is written anywhere. Good ones keep working on a real store.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import pytest

import canvasback as cb
from canvasback.tracking.client import Client

pytestmark = pytest.mark.slow  # each test runs `python -m canvasback` in a child process


def canvasback(*args, env=None, cwd=None):
    # The command sees only the store a test names: never one the calling shell chose.
    base = {k: v for k, v in os.environ.items() if k != "CANVASBACK_STORE"}
    return subprocess.run(
        [sys.executable, "-m", "canvasback", *map(str, args)],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd,
        check=False,
        timeout=120,
    )


def refused(result, *words):
    """Status 2, nothing on stdout, one line on stderr holding every word."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _tree(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "MLproject").write_text(
        "name: p\nentry_points:\n  main:\n    command: \"python -c 'print(42)'\"\n"
    )
    return root


def test_the_help_says_what_canvasback_is_and_lists_its_commands():
    result = canvasback("--help")
    assert result.returncode == 0, result.stderr
    assert "experiment tracker and model registry" in result.stdout
    assert "recover" in result.stdout
    assert "run" in result.stdout
    for command, words in (("run", ("--entry-point", "KEY=VALUE", "--store")), ("recover", ())):
        shown = canvasback(command, "--help")
        assert shown.returncode == 0, shown.stderr
        assert f"Usage: canvasback {command}" in shown.stdout
        for word in words:
            assert word in shown.stdout
    assert canvasback().stdout == result.stdout  # a bare `canvasback` shows the same help


def test_the_version():
    result = canvasback("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"canvasback, version {version('canvasback')}"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["bogus"], ["canvasback:", "No such command 'bogus'", "canvasback --help"]),
        (["run"], ["canvasback run:", "Missing argument 'PATH'"]),
        (["run", "x.ipynb", "--bogus"], ["canvasback run:", "No such option '--bogus'"]),
        (["recover", "a", "b"], ["canvasback recover:", "unexpected extra argument (b)"]),
        (["run", "x.ipynb", "-P", "lr"], ["canvasback run:", "'lr'", "key=value"]),
    ],
)
def test_a_bad_command_line_is_one_line_and_status_2(args, words, tmp_path):
    refused(canvasback(*args, cwd=tmp_path), *words)
    assert _tree(tmp_path) == []  # not even a default store was made


def test_recover_refuses_what_is_no_store(tmp_path):
    missing = tmp_path / "missing"
    refused(canvasback("recover", missing), str(missing), "no such folder")
    assert not missing.exists()
    other = tmp_path / "papers"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    refused(canvasback("recover", other), str(other), "holds no canvasback store")
    refused(canvasback("recover", "/"), "'/'", "holds no canvasback store")
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(canvasback("recover", empty), "an empty folder")
    refused(canvasback("recover", "http://localhost:5000"), "http://localhost:5000", "not a local")
    refused(canvasback("recover", other / "notes.txt"), "notes.txt", "is a file")
    long_path = "/" + "x" * 5000
    line = refused(canvasback("recover", long_path), "5001 characters", "too long")
    assert len(line) < 300
    # Nothing was written anywhere.
    assert _tree(tmp_path) == [Path("empty"), Path("papers"), Path("papers/notes.txt")]
    refused(
        canvasback("recover", env={"CANVASBACK_STORE": str(other / "notes.txt")}),
        "the default store",
        "is a file",
    )


def test_recover_works_on_a_store(store):
    root = store
    with cb.start_run():
        cb.log_metric("loss", 1.0)
    cb.flush()
    result = canvasback("recover", root)
    assert result.returncode == 0, result.stderr
    assert f"wrote 0 row(s) in 0 file(s) to {root}" in result.stdout
    # A short folder: a long path (a pytest-xdist worker's) is shortened in the message.
    with tempfile.TemporaryDirectory(prefix="cb-") as folder:
        result = canvasback("recover", cwd=folder)  # ./canvasback-store: none here
    refused(result, "the default store", "canvasback-store", "no such folder")


def test_run_refuses_a_store_that_is_a_file_or_another_folder(tmp_path, project):
    file = tmp_path / "store.txt"
    file.write_text("not a store")
    refused(canvasback("run", project, "--store", file), "canvasback run:", "is a file")
    refused(canvasback("run", project, "--store", file / "below"), "inside a file")
    refused(canvasback("run", project, "--store", "/"), "'/'", "holds no canvasback store")
    refused(canvasback("run", project, "--store", "http://x"), "http://x", "not a local")
    assert file.read_text() == "not a store"


def test_a_store_of_another_scheme_is_refused(tmp_path, project):
    # A store on object storage works (tests/store/test_s3_store.py); gs:// is no store.
    refused(
        canvasback("run", project, "--store", "gs://bucket/x", cwd=tmp_path),
        "canvasback run: store 'gs://bucket/x'",
        "the scheme 'gs' is not one canvasback serves",
    )
    refused(
        canvasback("import-mlflow", tmp_path, "--store", "gs://bucket/x", cwd=tmp_path),
        "'gs://bucket/x'",
        "the scheme 'gs' is not one canvasback serves",
    )
    assert _tree(tmp_path) == [Path("project"), Path("project/MLproject")]  # no store made


def test_run_makes_its_store_in_a_new_folder(store, project):
    assert not store.exists()
    result = canvasback("run", project, "--store", store / "below")
    assert result.returncode == 0, result.stderr
    assert "FINISHED" in result.stdout
    assert len(Client(store / "below").search_runs_frame(["0"])) == 1


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("command = 3", ["command = 3", "string"]),
        ('notebook = ["a.ipynb"]', ["notebook = ['a.ipynb']", "string"]),
        ('script = ""', ["script = ''", "non-empty string"]),
        ('comand = "python x.py"', ["'comand'", "notebook, script, command, parameters"]),
        (
            'command = "python x.py"\nparameters = { lr = { type = 3 } }',
            ["type = 3", "'lr'", "float"],
        ),
        (
            'command = "python x.py"\nparameters = { lr = { type = "float", default = "high" } }',
            ["'high'", "'lr'", "type float"],
        ),
    ],
)
def test_run_refuses_a_canvasback_toml_of_the_wrong_types(tmp_path, entry, words):
    root = tmp_path / "project"
    root.mkdir()
    (root / "canvasback.toml").write_text(f"[entry_points.main]\n{entry}\n")
    store = tmp_path / "store"
    # Checked when the file is read: even a default that -P replaces.
    refused(canvasback("run", root, "-P", "lr=0.1", "--store", store), "canvasback run:", *words)
    assert not store.exists()  # nothing ran, so no store was made
