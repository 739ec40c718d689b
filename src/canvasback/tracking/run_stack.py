"""The fluent API's active runs: one stack per thread, as MLflow keeps them.

``start_run`` in a thread pushes onto that thread's stack, and ``log_metric`` there logs
to the top of it, so ten threads that each start a run log each into their own. A
thread that has started no run of its own sees none: ``active_run()`` is None there and
a ``log_*`` call starts a new run. ``start_run(nested=True)`` in such a thread nests
the new run under the run active in the main thread, if any (pass ``parent_run_id=``
to choose another parent). At exit every thread's runs end. The stacks are the process's
context's (``context.py``): a reset gives every thread a new, empty stack.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from canvasback.tracking.run import Run


class RunStacks:
    """Per-thread stacks of active runs, and each thread's last started run."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._stacks: dict[int, list[Run]] = {}  # thread ident -> that thread's stack

    def current(self) -> list[Run]:
        """The calling thread's stack (the hot path of every fluent ``log_*`` call)."""
        try:
            stack: list[Run] = self._local.stack
        except AttributeError:
            stack = self._local.stack = []
            with self._lock:
                self._stacks[threading.get_ident()] = stack
        return stack

    def main(self) -> list[Run]:
        """The main thread's stack (empty if it has started no run)."""
        with self._lock:
            return list(self._stacks.get(threading.main_thread().ident or 0, []))

    def forget(self, run: Run, _status: str = "") -> None:
        """Take an ended run off whichever thread's stack holds it (``Run.on_end``'s call)."""
        with self._lock:
            for stack in self._stacks.values():
                if run in stack:
                    stack.remove(run)

    def active(self) -> list[Run]:
        """Every thread's active runs, innermost first within each thread."""
        with self._lock:
            return [run for stack in self._stacks.values() for run in reversed(stack)]

    @property
    def last(self) -> Run | None:
        """The run this thread started last, active or ended."""
        last: Run | None = getattr(self._local, "last", None)
        return last

    @last.setter
    def last(self, run: Run) -> None:
        self._local.last = run

    def after_fork(self) -> None:
        """In a forked child: only the thread that forked lives on, with its stack."""
        self._lock = threading.Lock()  # another thread may have held it at the fork
        self._stacks = {threading.get_ident(): self.current()}
