"""When a process ends: every writer's last flush, and what happens if it fails.

* At interpreter exit (``atexit``) each writer flushes. Rows the store refuses are kept
  in a spill folder (see ``spill.py``) with a
  :class:`~canvasback.store.write.spill.SpilledRowsWarning` naming how many and where,
  and the process exits with status :data:`EXIT_SPILLED` (or :data:`EXIT_LOST` if even
  the spill failed) instead of 0.
* A child started by :mod:`multiprocessing` leaves through ``os._exit``, so ``atexit``
  never runs there. Each such child gets a ``multiprocessing.util.Finalize`` that
  flushes when its target returns, and a pool worker flushes before it sends each
  task's result back, so a ``Pool`` closed (or terminated, as ``with Pool()`` does)
  right after its last result has every row on disk.
* After ``fork`` a child forgets its parent's buffered rows and writer id.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from canvasback.store.fs import FileSystem

log = logging.getLogger(__name__)

# BSD sysexits: "temporary failure, the user is invited to retry" (run canvasback recover),
# and "an error occurred while doing I/O" (rows lost).
EXIT_SPILLED: Final = 75
EXIT_LOST: Final = 74


class Writer(Protocol):
    """What this module needs of ``writer.Writer`` (which imports this module)."""

    fs: FileSystem
    spilled_rows: int

    def flush(self) -> int:
        """Write every buffered row."""

    def close(self) -> None:
        """Flush and stop."""

    def spill_unwritten(self, exc: BaseException) -> Path | None:
        """Keep what a failed last flush could not write."""

    def _reset_state(self) -> None: ...


WRITERS: weakref.WeakSet[Writer] = weakref.WeakSet()
_armed_pid: int | None = None
_arm_lock = threading.Lock()


class _Token:
    """A weak-referenceable key for multiprocessing's after-fork registry."""


_TOKEN: Final = _Token()


def register(writer: Writer) -> None:
    """Track a new writer; in a multiprocessing child, arrange its final flush."""
    WRITERS.add(writer)
    process = sys.modules.get("multiprocessing.process")
    if process is not None and process.parent_process() is not None:
        arm_process()


def close_all() -> int:
    """Flush and close every writer; returns 0, or the exit status that failures call for."""
    status = 0
    for writer in list(WRITERS):
        try:
            writer.close()
        except Exception as exc:  # noqa: BLE001  # keep the rows elsewhere, say so
            kept = writer.spill_unwritten(exc)
            status = max(status, EXIT_SPILLED if kept else EXIT_LOST)
        if writer.spilled_rows:  # kept earlier too: while the store folder was gone
            status = max(status, EXIT_SPILLED)
    return status


def _flush_all_at_exit() -> None:
    status = close_all()
    if status and _armed_pid != os.getpid():
        _exit_with(status)


def _exit_with(status: int) -> None:
    """End the process with ``status``: the only way once the main module has finished.

    An exception raised by an ``atexit`` callback (``SystemExit`` included) is printed
    and ignored, so the status can only be set through ``os._exit``. That skips the
    callbacks registered before canvasback was imported: the two standard ones a
    script relies on (logging's and multiprocessing's) are run here first.
    """
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        with contextlib.suppress(Exception):
            mp_util._exit_function()  # noqa: SLF001  # joins children, runs finalizers
    with contextlib.suppress(Exception):
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    os._exit(status)


# -- multiprocessing children ----------------------------------------------------------
def arm_process(_token: object = None) -> None:
    """In a multiprocessing child: flush when its target returns, and after every pool task.

    Called from multiprocessing's after-fork hooks (before the child's target runs) and
    when a writer is created in a spawned child; runs once per process.
    """
    global _armed_pid  # noqa: PLW0603  # once per process
    with _arm_lock:
        if _armed_pid == os.getpid():
            return
        _armed_pid = os.getpid()
    from multiprocessing import process, util  # noqa: PLC0415  # loaded: we are its child

    # Priority 100: before multiprocessing's own queue finalizers (10 and below).
    util.Finalize(None, _flush_at_process_end, exitpriority=100)
    current = process.current_process()
    pool = sys.modules.get("multiprocessing.pool")
    target = getattr(current, "_target", None)
    args: tuple[Any, ...] = tuple(getattr(current, "_args", ()))
    if pool is not None and target is getattr(pool, "worker", None) and len(args) > 1:
        _flush_before_results(args[1])


def _flush_at_process_end() -> None:
    status = close_all()
    if status:
        log.error("canvasback: process %s ended with rows not in the store", os.getpid())


def _flush_before_results(outqueue: object) -> None:
    """Make a pool worker flush every writer before it sends a task's result back."""
    connection = getattr(outqueue, "_writer", None)
    if connection is None or not hasattr(connection, "send_bytes"):
        return
    outqueue._writer = _FlushingConnection(connection)  # type: ignore[attr-defined]  # noqa: SLF001


class _FlushingConnection:
    """A pipe end whose ``send_bytes`` first writes out every buffered row."""

    def __init__(self, connection: Any) -> None:  # noqa: ANN401  # a multiprocessing Connection
        self._connection = connection

    def send_bytes(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        for writer in list(WRITERS):
            try:
                writer.flush()
            except Exception:
                log.exception("canvasback: flushing to %s after a pool task failed", writer.fs)
        self._connection.send_bytes(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        return getattr(self._connection, name)


def _after_fork_in_child() -> None:
    # A forked child must not write the parent's buffered rows a second time, nor
    # reuse its writer id.
    for writer in list(WRITERS):
        writer._reset_state()  # noqa: SLF001  # module-level hook of the writer
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        # Runs in the child's bootstrap, after it clears the inherited finalizers.
        util.register_after_fork(_TOKEN, arm_process)


atexit.register(_flush_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
