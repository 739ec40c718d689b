"""The run handles of a store by run id: held while their runs go on, let go when they end.

A client logs by run id through the one live handle of each run (its write-once params,
its step counter, its heartbeat). A handle is held from the moment the client makes or
resumes it until its run ends; an ended handle is then known only weakly, so a sweep of
a million runs keeps the handles of the runs still going, not one per run it made.
While the caller keeps an ended handle it is still the one found: it knows its run has
ended here (``get_run``), and if the caller resumes it (``Run.resume``) it is the live
handle again.

Every client of one store in a process shares its handles (:func:`handles_of`): a run
started through the fluent API and logged to through ``Client(store=...)`` is one
handle, not a second one resumed from the store (which would read the store to find it).
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from canvasback.store import Store
    from canvasback.tracking.run import Run


class RunHandles:
    """Live run handles by run id, and ended ones while something else keeps them."""

    def __init__(self) -> None:
        self._live: dict[str, Run] = {}
        self._ended: weakref.WeakValueDictionary[str, Run] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """The number of handles held (of runs going on)."""
        return len(self._live)

    def get(self, run_id: str) -> Run | None:
        """The handle of a run, live or ended, if this client has one."""
        run = self._live.get(run_id)
        if run is not None:
            return run
        run = self._ended.get(run_id)
        if run is not None and not run.ended:  # resumed through the handle itself
            self.keep(run)
        return run

    def keep(self, run: Run) -> None:
        """Hold ``run``'s handle until its run ends (it replaces an earlier handle)."""
        with self._lock:
            known = self._live.get(run.run_id) is run or self._ended.get(run.run_id) is run
            self._live[run.run_id] = run
            self._ended.pop(run.run_id, None)
        if not known:  # a handle resumed through itself still calls back when it ends
            run.on_end(self._let_go)

    def _let_go(self, run: Run, _status: str) -> None:
        with self._lock:
            if self._live.get(run.run_id) is run:
                del self._live[run.run_id]
                self._ended[run.run_id] = run


_BY_STORE: weakref.WeakKeyDictionary[Store, RunHandles] = weakref.WeakKeyDictionary()
_BY_STORE_LOCK = threading.Lock()


def handles_of(store: Store) -> RunHandles:
    """The process's run handles of ``store``, shared by all its clients."""
    with _BY_STORE_LOCK:
        handles = _BY_STORE.get(store)
        if handles is None:
            handles = _BY_STORE[store] = RunHandles()
        return handles
