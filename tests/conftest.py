"""Shared fixtures: a fresh store and a fresh context per test, child-process helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

import canvasback


@pytest.fixture(autouse=True)
def _capture_off_by_default(monkeypatch):
    """Runs record their code and environment only in the tests of that capture.

    Elsewhere the tags and artifacts a test counts are the ones it logged itself;
    ``tests/test_projects_*.py`` switch capture back on (as it is by default).
    """
    monkeypatch.setenv("CANVASBACK_CAPTURE", "none")


@pytest.fixture(autouse=True)
def jupyter_data_dir(monkeypatch, tmp_path_factory):
    """A Jupyter data directory of the test's own, so nothing is written to the home's.

    ``run_notebook`` signs the notebooks it executes with the notary kept there. Not
    created: as on a machine where Jupyter never ran, the first signature creates it.
    """
    path = tmp_path_factory.mktemp("jupyter") / "data"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def _fresh_context():
    """Each test leaves the process as a new one: no active run, store or experiment."""
    yield
    canvasback.reset()


@pytest.fixture
def store(tmp_path):
    """Point the fluent API at a fresh store folder; returns its path."""
    return canvasback.set_store(tmp_path / "store")


@pytest.fixture
def run_python(tmp_path):
    """Run a Python snippet in a child process (``sys.executable``); returns the result."""
    counter = iter(range(1_000_000))

    def run(code: str, *args: object, timeout: float = 60, check: bool = True):
        script = tmp_path / f"child_{next(counter)}.py"
        script.write_text(textwrap.dedent(code))
        result = subprocess.run(
            [sys.executable, str(script), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=child_env(),
        )
        if check and result.returncode != 0:
            pytest.fail(f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    return run


@pytest.fixture
def spawn_python(tmp_path):
    """Start a Python snippet in a child process; returns the Popen (killed at teardown)."""
    children: list[subprocess.Popen[str]] = []
    counter = iter(range(1_000_000))

    def spawn(code: str, *args: object, **popen_kwargs):
        script = tmp_path / f"spawned_{next(counter)}.py"
        script.write_text(textwrap.dedent(code))
        popen_kwargs.setdefault("stdout", subprocess.PIPE)
        popen_kwargs.setdefault("stderr", subprocess.PIPE)
        child = subprocess.Popen(
            [sys.executable, str(script), *map(str, args)],
            text=True,
            env=child_env(),
            **popen_kwargs,
        )
        children.append(child)
        return child

    yield spawn
    for child in children:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CANVASBACK_STORE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_for(condition, *, timeout: float = 30.0, what: str = "condition"):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def wait():
    """The ``wait_for`` helper, as a fixture (tests are not a package)."""
    return wait_for
