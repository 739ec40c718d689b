"""Buffered appends: one writer per process and store.

Logging appends a tuple to an in-memory buffer, under a lock of this process held for
that append alone (no I/O, no conversion happens under it). A background thread writes
the buffers out as one Parquet segment per table and partition touched, on size, on a
timer, when asked (end of a run), before any read in this process and at interpreter
exit. Nothing is locked in the store: segment names are unique per writer, so the
writers of many processes never wait for one another.

Logging never waits for the store (a disk, a server): only the thread and an explicit
flush write. A segment the store does not take (a full disk, a server that does not
answer) waits in memory under its name, tried again with a doubling pause; what is left
at exit goes to the spill folder (``spill.py``), and the warning says where.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from canvasback.store import layout, liveness, schema
from canvasback.store.write import lifecycle, spill
from canvasback.store.write.arrow_rows import (
    CONVERSION_ERRORS,
    gc_paused,
    rows_to_table,
    split_writable,
    warm_up_pyarrow,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import pyarrow as pa

    from canvasback.store.fs import FileSystem

log = logging.getLogger(__name__)

DEFAULT_FLUSH_INTERVAL: Final = 1.0
DEFAULT_MAX_ROWS: Final = 250_000
MAX_RETRY_PAUSE: Final = 30.0
"""The longest pause, in seconds, between the background thread's tries of a store that
refuses its writes (the pause doubles from the flush interval)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment file to write: its store-relative path (fixed: a retry reuses it)."""

    rel: str
    data: pa.Table


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
        fs: FileSystem,
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
        self.heartbeat_interval = liveness.heartbeat_interval()
        self._reset_state()
        if spill.pending(self.fs.url):
            spill.replay_on_open(self.fs, rows_to_table)
        lifecycle.register(self)

    def _reset_state(self) -> None:
        self.writer_id = new_writer_id()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._flushes = 0  # flushes begun: the background thread's request may be done
        self._buffers: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        # Column-wise batches (log_batch): one list per schema column, extended in place.
        self._columns: dict[tuple[str, str], list[list[Any]]] = {}
        self._pending = 0
        self._file_seq = itertools.count()
        self._event_seq = itertools.count()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._alive = 0  # runs of this process going on: while > 0, heartbeats go out
        self._last_heartbeat = 0.0
        self._retry: list[Segment] = []  # segments the store refused, retried by name
        self._failures = 0  # background flushes failed in a row: the pause doubles
        self._retry_at = 0.0  # monotonic time before which the thread does not try again
        self._notices: list[str] = []  # rows set aside, to warn about when a flush ends
        self.last_error: BaseException | None = None
        self.rejected_rows = 0  # rows set aside because Parquet cannot hold a value
        self.spilled_rows = 0  # rows kept in the spill folder (the process exits 75)
        self.gone_rows = 0  # of those, rows flushed while the store was gone
        self.gone_folder: Path | None = None  # where those are
        self.lost_rows = 0  # rows neither written nor kept

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
        self.append("events", experiment_id, (entity_id, kind, key, value, *self.stamp()))

    def stamp(self) -> tuple[int, str, int]:
        """(timestamp ms, writer, seq) for a row of a table resolved like the events."""
        return time.time_ns() // 1_000_000, self.writer_id, next(self._event_seq)

    @property
    def pending(self) -> int:
        """Rows buffered and not yet written (including segments waiting for a retry)."""
        return self._pending + sum(int(s.data.num_rows) for s in self._retry)

    # -- flushing ----------------------------------------------------------------------
    def request_flush(self) -> None:
        """Ask the background thread to flush soon, without waiting."""
        if self._thread is None:
            self._start_thread()
        self._wake.set()

    def flush(self) -> int:
        """Write every buffered row now; returns the number of segments written.

        Safe from any thread; concurrent callers serialise, so when this returns every
        row appended before the call is on disk. Rows no Parquet column can hold are
        set aside (see :meth:`_prepare`); every other row is written. If the store
        refuses a write (``OSError``: full, read-only), the segment keeps its
        name and is retried by the next flush, and the error is raised. If the store
        folder is gone (deleted, moved or unmounted), it is not made again: the rows go
        to the spill folder now, with a warning the first time, and the process's exit
        status says so (:meth:`close`).
        """
        with self._flush_lock:
            return self._flush_held()

    def _flush_held(self) -> int:
        """:meth:`flush`, with the flush lock held by the caller."""
        self._flushes += 1
        with self._lock:
            buffers, self._buffers = self._buffers, {}
            columns, self._columns = self._columns, {}
            self._pending = 0
            # This flush does what a pending request_flush asked for; a request made
            # after the buffers were taken sets the event again.
            self._wake.clear()
        batches, self._retry = self._retry, []
        with gc_paused():
            for key in {**buffers, **columns}:
                segment = self._prepare(*key, buffers.get(key, []), columns.get(key, []))
                if segment is not None:
                    batches.append(segment)
            failed, error = self._write(batches)
        if failed and self.fs.root_gone():
            failed = self._keep_while_gone(failed)
        notices, self._notices = self._notices, []
        if failed:
            self._retry = failed
            self.last_error = error
        for msg in notices:
            warnings.warn(msg, spill.SpilledRowsWarning, stacklevel=3)
        if failed and error is not None:
            raise error
        if self._failures:  # any flush that writes ends an outage's pauses
            log.warning("canvasback: the store %s takes writes again", self.fs.url)
            self._failures, self._retry_at = 0, 0.0
        return len(batches)

    def _write(self, batches: list[Segment]) -> tuple[list[Segment], BaseException | None]:
        """Write segments; returns those that failed, and the last error.

        Once the server does not answer (a ``ConnectionError``), the rest are not tried:
        they would fail the same way, each after the client's retries.
        """
        failed: list[Segment] = []
        error: BaseException | None = None
        for segment in batches:
            if isinstance(error, ConnectionError):
                failed.append(segment)
                continue
            try:
                self.fs.write_parquet(segment.rel, segment.data)
            except Exception as exc:  # noqa: BLE001  # keep the rows, report after
                failed.append(segment)
                error = exc
        return failed, error

    def _gone(self) -> str:
        """The store is gone, as a user would say it."""
        if self.fs.remote:
            return f"the store {self.fs.url!r} is gone (its bucket was deleted)"
        return f"the store folder {self.fs.url!r} is gone (deleted, moved or unmounted)"

    def _keep_while_gone(self, failed: list[Segment]) -> list[Segment]:
        """The store is gone: keep its rows in the spill folder, never in a new store.

        Returns the segments still unkept (retried, or spilled at exit), if keeping failed.
        """
        try:
            folder = spill.keep_segments(
                self.fs.url, [(s.rel, s.data) for s in failed], store_gone=True
            )
        except Exception:
            log.exception("canvasback: keeping rows for the vanished store %s failed", self.fs)
            return failed
        rows = sum(int(s.data.num_rows) for s in failed)
        first, self.gone_folder = not self.gone_rows, folder
        self.gone_rows += rows
        self.spilled_rows += rows
        if first:
            self._notices.append(
                f"canvasback: {self._gone()} and is not made again. {rows} row(s) of this "
                f"flush, and of every later one while it is gone, are kept in "
                f"{str(folder)!r}. Once the store is back: canvasback recover {self.fs.url!r}"
            )
        return []

    def _prepare(
        self,
        table: str,
        experiment_id: str,
        rows: list[tuple[Any, ...]],
        columns: list[list[Any]],
    ) -> Segment | None:
        """The segment to write for one buffer; rows Parquet cannot hold are set aside.

        A value that passed validation but has no Parquet form (a lone surrogate, an
        integer beyond int64) must not hold back the rows logged with it: those rows
        are found by bisection, kept losslessly in the spill folder with a loud
        warning, and the rest are written.
        """
        name = layout.segment_name(time.time_ns(), self.writer_id, next(self._file_seq))
        rel = f"{layout.partition_dir(table, experiment_id)}/{name}"
        try:
            return Segment(rel, rows_to_table(table, rows, columns))
        except CONVERSION_ERRORS as exc:
            everything = rows + list(zip(*columns, strict=True)) if columns else rows
            good, bad = split_writable(table, everything)
            self._set_aside(table, experiment_id, bad, exc)
            return Segment(rel, rows_to_table(table, good)) if good else None

    def _set_aside(
        self, table: str, experiment_id: str, rows: list[tuple[Any, ...]], exc: BaseException
    ) -> None:
        name = layout.segment_name(time.time_ns(), self.writer_id, next(self._file_seq))
        rel = f"{layout.partition_dir(table, experiment_id)}/{name}"
        where: str
        try:
            where = str(spill.keep_rejected(self.fs.url, rel, rows))
        except Exception as spill_exc:  # noqa: BLE001  # say what is lost, loudly
            where = f"nowhere: keeping them failed too ({spill_exc}); they are lost"
            self.lost_rows += len(rows)
        else:
            self.rejected_rows += len(rows)
        msg = (
            f"canvasback: {len(rows)} row(s) of table {table!r} (experiment "
            f"{experiment_id!r}) hold a value that cannot be stored "
            f"({type(exc).__name__}: {exc}; first row {rows[0]!r}); every other row was "
            f"written. The rows were kept in {where}."
        )
        self._notices.append(msg)  # warned once the flush has written everything else

    def spill_unwritten(self, exc: BaseException) -> Path | None:
        """After a last flush failed: keep every unwritten row in the spill folder.

        Returns the spill folder, or None if the rows could not be kept (then they are
        lost, and the error says how many). Warns either way.
        """
        with self._flush_lock:
            with self._lock:
                buffers, self._buffers = self._buffers, {}
                columns, self._columns = self._columns, {}
                self._pending = 0
            segments, self._retry = self._retry, []
            for key in {**buffers, **columns}:
                segment = self._prepare(*key, buffers.get(key, []), columns.get(key, []))
                if segment is not None:
                    segments.append(segment)
            notices, self._notices = self._notices, []
        for notice in notices:
            warnings.warn(notice, spill.SpilledRowsWarning, stacklevel=2)
        rows = sum(s.data.num_rows for s in segments)
        if not rows:
            return None
        tables = ", ".join(sorted({s.rel.split("/", 1)[0] for s in segments}))
        try:
            folder = spill.keep_segments(self.fs.url, [(s.rel, s.data) for s in segments])
        except Exception as spill_exc:  # noqa: BLE001
            self.lost_rows += rows
            msg = (
                f"canvasback: {rows} row(s) of table(s) {tables} could not be written to "
                f"the store {self.fs.url!r} ({type(exc).__name__}: {exc}), nor kept "
                f"in a spill folder ({spill_exc}): they are lost."
            )
            warnings.warn(msg, spill.SpilledRowsWarning, stacklevel=2)
            return None
        self.spilled_rows += rows
        msg = (
            f"canvasback: {rows} row(s) of table(s) {tables} could not be written to the "
            f"store {self.fs.url!r} ({type(exc).__name__}: {exc}). They are kept in "
            f"{str(folder)!r} and will be written by the next process that opens this "
            f"store, or by: canvasback recover {self.fs.url!r}"
        )
        warnings.warn(msg, spill.SpilledRowsWarning, stacklevel=2)
        return folder

    # -- background thread ---------------------------------------------------------------
    def hold_alive(self) -> None:
        """A run of this process is going on: send heartbeats until it is released."""
        with self._lock:
            self._alive += 1
            first = self._alive == 1
        self._last_heartbeat = time.monotonic()  # the run's RUNNING event is a sign of life
        # Readers judge a run by its writer's interval, the default until one is recorded:
        # another interval is recorded at once, not only with the first heartbeat.
        if first and self.heartbeat_interval != liveness.DEFAULT_HEARTBEAT_INTERVAL:
            self._record_heartbeat_interval()

    def _record_heartbeat_interval(self) -> None:
        self._beat(schema.EVENT_HEARTBEAT_INTERVAL, repr(self.heartbeat_interval))

    def _beat(self, kind: str, value: str) -> None:
        """A sign of life: an event of this writer's, in the heartbeats' partition."""
        self.event(layout.HEARTBEAT_PARTITION, self.writer_id, kind, "", value)

    def release_alive(self) -> None:
        """A run held by :meth:`hold_alive` has ended."""
        with self._lock:
            self._alive = max(self._alive - 1, 0)

    def _heartbeat_due(self) -> bool:
        if not self._alive:
            return False
        now = time.monotonic()
        if now - self._last_heartbeat < self.heartbeat_interval:
            return False
        self._last_heartbeat = now
        self._beat(schema.EVENT_HEARTBEAT, str(time.time_ns() // 1_000_000))
        self._record_heartbeat_interval()
        return True

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
        warm_up_pyarrow()
        while not self._closed:
            before = self._flushes  # counted before the wait (see _flush_unless_done)
            self._wake.wait(min(self.flush_interval, self.heartbeat_interval))
            self._heartbeat_due()
            if (self._pending or self._retry) and time.monotonic() >= self._retry_at:
                self._background_flush(before)
                continue
            with self._lock:  # nothing to write, or a pause: the next wait waits
                if not self._pending or time.monotonic() < self._retry_at:
                    self._wake.clear()

    def _background_flush(self, before: int) -> None:
        """One tick's flush; after a failure, the next try waits, twice as long each time."""
        try:
            self._flush_unless_done(before)
        except Exception as exc:  # noqa: BLE001  # rows wait in memory; said once per outage
            self._failures += 1
            pause = min(self.flush_interval * 2**self._failures, MAX_RETRY_PAUSE)
            self._retry_at = time.monotonic() + pause
            if self._failures == 1:
                log.warning(
                    "canvasback: writing to the store %s failed (%s); its rows wait in "
                    "memory and are tried again, every %.0f s at most (or kept in the "
                    "spill folder if the process ends first)",
                    self.fs.url,
                    exc,
                    MAX_RETRY_PAUSE,
                )

    def _flush_unless_done(self, before: int) -> None:
        """Flush for the request or the tick that woke the thread, unless done since.

        A request is undone while the wake is set (a flush clears it as it takes the
        buffers); a tick, until a flush begins after the wait did (not one begun after
        the thread woke): another would cut the rows appended since into a second file.
        """
        with self._flush_lock:
            if self._wake.is_set() or self._flushes == before:
                self._flush_held()

    def close(self) -> None:
        """Flush and stop the background thread; say where rows kept elsewhere are."""
        self._closed = True
        self.flush()  # also waits for a flush the background thread has begun
        self._wake.set()  # after the flush, which clears it: the thread sees it is closed
        if self.gone_rows:
            warnings.warn(
                f"canvasback: {self.gone_rows} row(s) of this process were not written: "
                f"{self._gone()}. They are kept in {str(self.gone_folder)!r}. Once the store "
                f"is back: canvasback recover {self.fs.url!r}",
                spill.SpilledRowsWarning,
                stacklevel=2,
            )
