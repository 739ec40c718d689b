"""Hooks through which the layers above tracking follow runs, unknown to tracking.

The notebook side registers a run-start hook (the package root wires the live view in),
so that ``tracking`` never imports ``widgets``. A hook is called before a run is
created, with ``start_run``'s ``live`` argument: it may refuse (raise), and nothing has
been written then; or it returns a function that gets the run once it has started.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable

    from canvasback.tracking.run import Run

RunAttach: TypeAlias = "Callable[[Run], None]"
RunStartHook: TypeAlias = "Callable[[bool | None], RunAttach | None]"

_hooks: list[RunStartHook] = []
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
