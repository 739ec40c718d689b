"""The process's context: the one object that holds what the module-level API acts on.

``canvasback.set_store``, ``set_experiment``, ``start_run``, ``log_metric`` and
``canvasback.client()`` read and change the current :class:`Context`:

* the store chosen with ``set_store`` (else ``CANVASBACK_STORE``, else
  ``MLFLOW_TRACKING_URI``'s, else the default);
* the current experiment (``set_experiment``);
* the fluent API's active runs, one stack per thread (``run_stack.py``);
* the run-start and run-create hooks through which the layers above follow runs;
* slots: per-process state of the layers above tracking, which tracking cannot import
  (the fluent API's client, the registry's client, the capture setting, the open
  registry panels, the current notebook cell's live view). A layer declares a
  :class:`Slot` and reads it with ``current_context().get(slot)``; a fresh context
  starts every slot empty.

:func:`reset` gives the process a fresh context, as a new process would start (tests
call it between tests). Caches of facts that stay true (git state per commit, a file's
digest, settled registry claims, the interpreter's exit hooks) are not the context's:
they stay module-level, and a reset keeps them.

There is one context per process. After ``fork`` the child keeps its parent's (the
store choice, the experiment, the forking thread's runs) with fresh locks; the store
gives the child writers of its own (``store/lifecycle.py``).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from canvasback import _config, store
from canvasback.tracking import process_exit
from canvasback.tracking.hooks import RunHooks
from canvasback.tracking.run_stack import RunStacks

if TYPE_CHECKING:
    from collections.abc import Callable

    from canvasback._config import StoreAddress
    from canvasback.tracking.hooks import RunCreateHook, RunStartHook

T = TypeVar("T")

__all__ = [
    "Context",
    "Slot",
    "add_run_create_hook",
    "add_run_start_hook",
    "current_context",
    "remove_run_create_hook",
    "remove_run_start_hook",
    "reset",
]


class Slot(Generic[T]):
    """A place in every context for one layer's per-process state, made on first use.

    Parameters
    ----------
    name
        What the state is, for reprs.
    make
        Makes the state for a context that has none yet (it gets that context).

    """

    def __init__(self, name: str, make: Callable[[Context], T]) -> None:
        self.name = name
        self.make = make

    def __repr__(self) -> str:
        return f"<Slot {self.name!r}>"


class Context:
    """What the module-level API of one process acts on; see the module's description.

    Parameters
    ----------
    hooks
        The run hooks to start with (a reset keeps the ones the package wired in).

    """

    def __init__(self, hooks: RunHooks | None = None) -> None:
        self.lock = threading.RLock()
        self.chosen_store: StoreAddress | None = None
        """``set_store``'s choice; None: ``CANVASBACK_STORE`` or the default."""
        self.experiment_id: str | None = None
        """``set_experiment``'s choice; None: the environment's, else ``Default``."""
        self.stacks = RunStacks()
        self.hooks = RunHooks() if hooks is None else hooks
        self._slots: dict[Slot[Any], Any] = {}

    def __repr__(self) -> str:
        return f"<Context store={self.chosen_store} experiment={self.experiment_id}>"

    def store_address(
        self, root: str | os.PathLike[str] | StoreAddress | None = None
    ) -> StoreAddress:
        """The store for an optional explicit root: else the chosen one, else the default.

        A store string is parsed by ``_config.parse_store``: a folder, or a bucket and
        prefix on S3-compatible object storage; an unknown scheme is refused.
        """
        chosen = self.chosen_store if root is None else root
        return _config.resolve_store(chosen)

    def get(self, slot: Slot[T]) -> T:
        """The state of ``slot`` in this context (made on first use)."""
        try:
            value: T = self._slots[slot]
        except KeyError:
            with self.lock:
                if slot not in self._slots:
                    self._slots[slot] = slot.make(self)
                value = self._slots[slot]
        return value

    def set(self, slot: Slot[T], value: T) -> None:
        """Replace the state of ``slot``."""
        with self.lock:
            self._slots[slot] = value

    def discard(self, slot: Slot[Any]) -> None:
        """Forget the state of ``slot``: the next :meth:`get` makes it again."""
        with self.lock:
            self._slots.pop(slot, None)

    def end_runs(self, status: str) -> None:
        """End every thread's active runs (innermost first) with ``status``."""
        for run in self.stacks.active():
            run.end(status)

    def after_fork(self) -> None:
        """In a forked child: locks of its own, and only the forking thread's runs."""
        self.lock = threading.RLock()  # another thread may have held it at the fork
        self.stacks.after_fork()
        self.hooks.after_fork()


_current = Context()
_swap = threading.Lock()


def current_context() -> Context:
    """The context of this process."""
    return _current


def reset() -> None:
    """Give this process a fresh context, as a new process starts.

    Every active run (in any thread) ends ``FINISHED``; the store and experiment
    choices are forgotten (``CANVASBACK_STORE`` or the default store again); every
    store this process opened is flushed and closed; the layers' slots start empty.
    The run hooks stay: they are how the package's layers are wired together. A test
    suite calls it after each test (``tests/conftest.py`` does). A client made before
    still reads; what it logs is written at its next flush or read, or at exit.
    """
    global _current  # noqa: PLW0603  # the one process-wide object, replaced whole
    with _swap:
        old = _current
        old.end_runs("FINISHED")
        _current = Context(old.hooks)
    store.close_stores()


def add_run_start_hook(hook: RunStartHook) -> None:
    """Call ``hook(live)`` before every fluent ``start_run`` (see ``hooks.py``)."""
    _current.hooks.add_run_start(hook)


def remove_run_start_hook(hook: RunStartHook) -> None:
    """Stop calling a hook added with :func:`add_run_start_hook`."""
    _current.hooks.remove_run_start(hook)


def add_run_create_hook(hook: RunCreateHook) -> None:
    """Call ``hook(capture)`` before every fluent ``start_run`` that creates a run."""
    _current.hooks.add_run_create(hook)


def remove_run_create_hook(hook: RunCreateHook) -> None:
    """Stop calling a hook added with :func:`add_run_create_hook`."""
    _current.hooks.remove_run_create(hook)


def _end_runs_at_exit(status: str) -> None:
    _current.end_runs(status)  # the context current at exit, whichever that is


def _after_fork_in_child() -> None:
    global _swap  # noqa: PLW0603  # a lock another thread may have held at the fork
    _swap = threading.Lock()
    _current.after_fork()


# At interpreter exit, the runs still active end FINISHED, FAILED or KILLED.
process_exit.end_runs_at_exit(_end_runs_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
