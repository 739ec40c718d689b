"""Functions waiting for a module's import: called once, after the module ran, at once if
it is already imported; a failing one warns and the import goes on."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys

import pytest

from canvasback.integrations import AutologgingWarning, post_import


@pytest.fixture
def module_name(tmp_path, monkeypatch):
    """A module on sys.path that nobody imported yet."""
    name = f"cb_waited_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    post_import.forget(name)
    sys.modules.pop(name, None)


def test_a_hook_runs_once_the_module_has_run(module_name):
    seen = []

    def hook(module):
        seen.append((module.__name__, module.VALUE))

    post_import.when_imported(module_name, hook)
    post_import.when_imported(module_name, hook)  # asked twice: called once
    assert seen == []
    assert module_name not in sys.modules  # waiting imports nothing
    module = importlib.import_module(module_name)
    assert seen == [(module_name, 42)]
    # The module keeps its own loader, and the finder leaves once nothing waits.
    assert isinstance(module.__loader__, importlib.machinery.SourceFileLoader)
    assert isinstance(module.__spec__.loader, importlib.machinery.SourceFileLoader)
    assert module_name not in post_import._waiting
    assert all(type(f).__module__ != post_import.__name__ for f in sys.meta_path)
    importlib.reload(module)
    assert seen == [(module_name, 42)]


def test_a_module_already_imported_runs_the_hook_at_once(module_name):
    module = importlib.import_module(module_name)
    seen = []
    post_import.when_imported(module_name, seen.append)
    assert seen == [module]


def test_a_forgotten_hook_is_not_called(module_name):
    seen = []
    post_import.when_imported(module_name, seen.append)
    post_import.forget(module_name)
    importlib.import_module(module_name)
    assert seen == []


def test_a_failing_hook_warns_and_the_import_goes_on(module_name):
    def hook(_module):
        msg = "no patches today"
        raise RuntimeError(msg)

    post_import.when_imported(module_name, hook)
    with pytest.warns(AutologgingWarning, match=rf"{module_name}.*RuntimeError: no patches today"):
        module = importlib.import_module(module_name)
    assert module.VALUE == 42
