"""Buffered, lock-free appends: one writer per process and store.

Logging appends a tuple to an in-memory buffer. A background thread writes the buffers
out as one Parquet segment per table and partition touched, on size, on a timer, when
asked (end of a run), before any read in this process and at interpreter exit. No
writer ever takes a lock on the store: segment names are unique per writer.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import itertools
import logging
import os
import secrets
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Final

from canvasback.store import layout

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import pyarrow as pa

    from canvasback.store.fs import LocalFileSystem

log = logging.getLogger(__name__)

DEFAULT_FLUSH_INTERVAL: Final = 1.0
DEFAULT_MAX_ROWS: Final = 250_000

_WRITERS: weakref.WeakSet[Writer] = weakref.WeakSet()


def new_writer_id() -> str:
    """A process-unique writer id; random, so two hosts never share one."""
    return secrets.token_hex(6)


class Writer:
    """Buffers rows per (table, experiment) and writes them as immutable segments.

    Parameters
    ----------
    fs
        Where segments go.
    flush_interval
        Seconds between background flushes; a crash loses at most this much.
    max_rows
        Buffered rows that trigger an early flush.

    """

    def __init__(
        self,
        fs: LocalFileSystem,
        *,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> None:
        # The first Arrow conversion imports pandas, which imports this; at interpreter
        # exit (a short script's final flush) that import would fail, so do it now.
        import concurrent.futures.thread  # noqa: F401, PLC0415

        self.fs = fs
        self.flush_interval = flush_interval
        self.max_rows = max_rows
        self._reset_state()
        _WRITERS.add(self)

    def _reset_state(self) -> None:
        self.writer_id = new_writer_id()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffers: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        # Column-wise batches (log_batch): one list per schema column, extended in place.
        self._columns: dict[tuple[str, str], list[list[Any]]] = {}
        self._pending = 0
        self._file_seq = itertools.count()
        self._event_seq = itertools.count()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.last_error: BaseException | None = None

    # -- appends (hot path) ------------------------------------------------------------
    def append(self, table: str, experiment_id: str, row: tuple[Any, ...]) -> None:
        """Buffer one row; returns at once."""
        self.append_to((table, experiment_id), row)

    def append_to(self, key: tuple[str, str], row: tuple[Any, ...]) -> None:
        """Buffer one row under a prebuilt (table, experiment) key: the hot path."""
        with self._lock:
            try:
                self._buffers[key].append(row)
            except KeyError:
                self._buffers[key] = [row]
            self._pending += 1
            if self._pending >= self.max_rows:
                self._wake.set()
        if self._thread is None:
            self._start_thread()

    def extend(self, table: str, experiment_id: str, rows: list[tuple[Any, ...]]) -> None:
        """Buffer many rows of one table at once."""
        if not rows:
            return
        key = (table, experiment_id)
        with self._lock:
            buf = self._buffers.get(key)
            if buf is None:
                self._buffers[key] = buf = []
            buf.extend(rows)
            self._pending += len(rows)
            full = self._pending >= self.max_rows
        self._buffered(full=full)

    def extend_columns(
        self, table: str, experiment_id: str, columns: Sequence[Sequence[Any]]
    ) -> None:
        """Buffer a batch given column-wise, in the table's schema order."""
        n = len(columns[0])
        if not n:
            return
        key = (table, experiment_id)
        with self._lock:
            buf = self._columns.get(key)
            if buf is None:
                self._columns[key] = buf = [[] for _ in columns]
            for target, column in zip(buf, columns, strict=True):
                target.extend(column)
            self._pending += n
            full = self._pending >= self.max_rows
        self._buffered(full=full)

    def _buffered(self, *, full: bool) -> None:
        """After a batch: make sure the flusher runs, and wake it if the buffer is full."""
        if self._thread is None:
            self._start_thread()
        if full:
            self._wake.set()

    def event(
        self, experiment_id: str, entity_id: str, kind: str, key: str, value: str | None
    ) -> None:
        """Buffer a mutable-fact event, ordered by (timestamp, writer, seq)."""
        row = (
            entity_id,
            kind,
            key,
            value,
            time.time_ns() // 1_000_000,
            self.writer_id,
            next(self._event_seq),
        )
        self.append("events", experiment_id, row)

    @property
    def pending(self) -> int:
        """Rows buffered and not yet written."""
        return self._pending

    # -- flushing ----------------------------------------------------------------------
    def request_flush(self) -> None:
        """Ask the background thread to flush soon, without waiting."""
        if self._thread is None:
            self._start_thread()
        self._wake.set()

    def flush(self) -> int:
        """Write every buffered row now; returns the number of segments written.

        Safe from any thread; concurrent callers serialise, so when this returns every
        row appended before the call is on disk.
        """
        with self._flush_lock:
            with self._lock:
                buffers, self._buffers = self._buffers, {}
                columns, self._columns = self._columns, {}
                self._pending = 0
            written = 0
            failed: dict[tuple[str, str], tuple[list[tuple[Any, ...]], list[list[Any]]]] = {}
            error: BaseException | None = None
            with _gc_paused():
                for key in {**buffers, **columns}:
                    rows, cols = buffers.get(key, []), columns.get(key, [])
                    try:
                        self._write(*key, rows, cols)
                        written += 1
                    except Exception as exc:  # noqa: BLE001  # keep the rows, report after
                        failed[key] = (rows, cols)
                        error = exc
            if failed:
                self._requeue(failed)
                self.last_error = error
                assert error is not None  # noqa: S101  # set together with failed
                raise error
            return written

    def _requeue(
        self, failed: dict[tuple[str, str], tuple[list[tuple[Any, ...]], list[list[Any]]]]
    ) -> None:
        with self._lock:
            for key, (rows, cols) in failed.items():
                self._buffers.setdefault(key, [])[:0] = rows
                self._pending += len(rows)
                if cols:
                    buf = self._columns.setdefault(key, [[] for _ in cols])
                    for target, column in zip(buf, cols, strict=True):
                        target[:0] = column
                    self._pending += len(cols[0])

    def _write(
        self,
        table: str,
        experiment_id: str,
        rows: list[tuple[Any, ...]],
        columns: list[list[Any]],
    ) -> None:
        arrow_table = rows_to_table(table, rows, columns)
        name = layout.segment_name(time.time_ns(), self.writer_id, next(self._file_seq))
        self.fs.write_parquet(f"{layout.partition_dir(table, experiment_id)}/{name}", arrow_table)

    # -- background thread ---------------------------------------------------------------
    def start(self) -> None:
        """Start the flusher thread now (it also starts on the first append)."""
        if self._thread is None:
            self._start_thread()

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(
                target=self._run, name="canvasback-flusher", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        _warm_up_pyarrow()
        while not self._closed:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if self._pending:
                try:
                    self.flush()
                except Exception:  # rows are requeued; try again next tick
                    log.exception("canvasback: flushing to %s failed; will retry", self.fs)

    def close(self) -> None:
        """Flush and stop the background thread."""
        self._closed = True
        self._wake.set()
        self.flush()  # also waits for a flush the background thread has begun


def rows_to_table(
    table: str, rows: list[tuple[Any, ...]], columns: Sequence[Sequence[Any]] = ()
) -> pa.Table:
    """Column-wise Arrow table of buffered row tuples, sorted for pruning."""
    import pyarrow as pa  # noqa: PLC0415  # pyarrow loads on first flush, not at import

    schema = layout.schema(table)
    parts: list[Sequence[Sequence[Any]]] = [list(zip(*rows, strict=True))] if rows else []
    if columns:
        parts.append(columns)
    tables = [
        pa.Table.from_arrays(
            [pa.array(col, type=field.type) for col, field in zip(part, schema, strict=True)],
            schema=schema,
        )
        for part in parts
    ]
    arrow_table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    # Arrow's sort is stable: rows logged in step order stay so within a key.
    keys = layout.FLUSH_SORT_KEYS.get(table, layout.SORT_KEYS[table])
    return arrow_table.sort_by([(k, "ascending") for k in keys])


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    # A flush hands Python's collector hundreds of thousands of fresh objects (row
    # tuples turned into columns); a full collection in the middle of it costs more
    # than the write. None of them form cycles, so collection waits until it is done.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _warm_up_pyarrow() -> None:
    # The first Arrow conversion in a process pays for imports and kernel set-up; do it
    # in the flusher thread, early, rather than inside the first flush a user waits on.
    import pyarrow.parquet  # noqa: F401, PLC0415

    rows_to_table("metrics", [("", "", 0, 0, 0.0)])


def _flush_all_at_exit() -> None:
    for writer in list(_WRITERS):
        try:
            writer.close()
        except Exception:
            log.exception("canvasback: final flush to %s failed", writer.fs)


def _reset_after_fork() -> None:
    # A forked child must not write the parent's buffered rows a second time, nor
    # reuse its writer id.
    for writer in list(_WRITERS):
        writer._reset_state()  # noqa: SLF001  # module-level hook of this class


atexit.register(_flush_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
