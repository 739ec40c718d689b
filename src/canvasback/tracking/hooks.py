"""Hooks through which the layers above tracking follow runs, unknown to tracking.

The notebook side registers a run-start hook (the package root wires the live view in),
so that ``tracking`` never imports ``widgets``. A hook is called before a run is
created, with ``start_run``'s ``live`` argument: it may refuse (raise), and nothing has
been written then; or it returns a function that gets the run once it has started.

Run-create hooks are asked the same way, with ``start_run``'s ``capture`` argument,
before a new run is created (never for a resumed one); reproducibility capture
(``canvasback.projects``) is one, registered by the package root.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable

    from canvasback.tracking.run import Run

RunAttach: TypeAlias = "Callable[[Run], None]"
RunStartHook: TypeAlias = "Callable[[bool | None], RunAttach | None]"
RunCreateHook: TypeAlias = "Callable[[object], RunAttach | None]"

_hooks: list[RunStartHook] = []
_create_hooks: list[RunCreateHook] = []
_lock = threading.Lock()


def add_run_start_hook(hook: RunStartHook) -> None:
    """Call ``hook(live)`` before every fluent ``start_run`` (once per hook)."""
    with _lock:
        if hook not in _hooks:
            _hooks.append(hook)


def remove_run_start_hook(hook: RunStartHook) -> None:
    """Stop calling a hook added with :func:`add_run_start_hook`."""
    with _lock:
        if hook in _hooks:
            _hooks.remove(hook)


def prepare_run_start(live: bool | None) -> list[RunAttach]:
    """Ask every hook about a run about to start; a refusal propagates, writing nothing."""
    with _lock:
        hooks = list(_hooks)
    return [attach for attach in (hook(live) for hook in hooks) if attach is not None]


def add_run_create_hook(hook: RunCreateHook) -> None:
    """Call ``hook(capture)`` before every fluent ``start_run`` that creates a new run."""
    with _lock:
        if hook not in _create_hooks:
            _create_hooks.append(hook)


def remove_run_create_hook(hook: RunCreateHook) -> None:
    """Stop calling a hook added with :func:`add_run_create_hook`."""
    with _lock:
        if hook in _create_hooks:
            _create_hooks.remove(hook)


def prepare_run_create(capture: object) -> list[RunAttach]:
    """Ask every run-create hook about a new run; a refusal propagates, writing nothing."""
    with _lock:
        hooks = list(_create_hooks)
    return [attach for attach in (hook(capture) for hook in hooks) if attach is not None]
