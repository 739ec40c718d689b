"""Hooks through which the layers above tracking follow runs, unknown to tracking.

The notebook side registers a run-start hook (the package root wires the live view in),
so that ``tracking`` never imports ``widgets``. A hook is called before a run is
created, with ``start_run``'s ``live`` argument: it may refuse (raise), and nothing has
been written then; or it returns a function that gets the run once it has started.

Run-create hooks are asked the same way, with ``start_run``'s ``capture`` argument,
before a new run is created (never for a resumed one); reproducibility capture
(``canvasback.projects``) is one, registered by the package root.

The process's hooks are its context's (``context.py``, which also has the module-level
``add_run_start_hook`` and ``add_run_create_hook``).
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


class RunHooks:
    """The run-start and run-create hooks of a context, each called once per run."""

    def __init__(self) -> None:
        self._start: list[RunStartHook] = []
        self._create: list[RunCreateHook] = []
        self._lock = threading.Lock()

    @property
    def run_start(self) -> list[RunStartHook]:
        """The run-start hooks, in the order they were added."""
        with self._lock:
            return list(self._start)

    @property
    def run_create(self) -> list[RunCreateHook]:
        """The run-create hooks, in the order they were added."""
        with self._lock:
            return list(self._create)

    def add_run_start(self, hook: RunStartHook) -> None:
        """Call ``hook(live)`` before every fluent ``start_run`` (once per hook)."""
        with self._lock:
            if hook not in self._start:
                self._start.append(hook)

    def remove_run_start(self, hook: RunStartHook) -> None:
        """Stop calling a run-start hook."""
        with self._lock:
            if hook in self._start:
                self._start.remove(hook)

    def add_run_create(self, hook: RunCreateHook) -> None:
        """Call ``hook(capture)`` before every fluent ``start_run`` that creates a new run."""
        with self._lock:
            if hook not in self._create:
                self._create.append(hook)

    def remove_run_create(self, hook: RunCreateHook) -> None:
        """Stop calling a run-create hook."""
        with self._lock:
            if hook in self._create:
                self._create.remove(hook)

    def prepare_run_start(self, live: bool | None) -> list[RunAttach]:
        """Ask every hook about a run about to start; a refusal propagates, writing nothing."""
        return [attach for attach in (hook(live) for hook in self.run_start) if attach is not None]

    def prepare_run_create(self, capture: object) -> list[RunAttach]:
        """Ask every run-create hook about a new run; a refusal propagates, writing nothing."""
        return [
            attach for attach in (hook(capture) for hook in self.run_create) if attach is not None
        ]

    def after_fork(self) -> None:
        """In a forked child: a lock of its own (another thread may have held this one)."""
        self._lock = threading.Lock()
