"""Every system call of a flush fails once, in turn: no row is lost or written twice.

The writer and its file system are the real ones, writing real Parquet files; only the
``os`` functions they call are wrapped so that the n-th call fails (a write fails half
way, with ENOSPC; the others with EIO). The loop runs n = 1, 2, ... until a flush makes
fewer than n calls, so every failure point of a flush is visited, whatever it is.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
import pytest

from canvasback.store import declarations, layout
from canvasback.store.fs import LocalFileSystem
from canvasback.store.write import spill
from canvasback.store.write.arrow_rows import rows_to_table
from canvasback.store.write.writer import Writer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PATH_CALLS = ("mkdir", "open", "replace", "rename")
FD_CALLS = ("write", "fsync", "close")


class Faults:
    """Wraps the os calls a flush makes; fails the n-th one under ``root``."""

    def __init__(self, root: Path, n: int, *, persistent: bool) -> None:
        self.root = str(root)
        self.n = n
        self.persistent = persistent
        self.calls = 0
        self.hit: str | None = None
        self.fds: set[int] = set()
        self.thread = threading.get_ident()

    def _ours(self, name: str, args: tuple[Any, ...]) -> bool:
        if threading.get_ident() != self.thread:
            return False
        if name in FD_CALLS:
            return args[0] in self.fds
        return os.fsdecode(os.fspath(args[0])).startswith(self.root)

    def wrap(self, name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if not self._ours(name, args):
                return real(*args, **kwargs)
            self.calls += 1
            failing = self.calls == self.n or (self.persistent and self.calls > self.n)
            if failing:
                self.hit = self.hit or f"{name} (call {self.calls})"
                if name == "write":  # a full disk: part of the data, then ENOSPC
                    real(args[0], bytes(args[1])[: len(args[1]) // 2])
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                if name == "close":  # the descriptor is gone all the same
                    self.fds.discard(args[0])
                    real(*args, **kwargs)
                raise OSError(errno.EIO, f"injected failure of {name}")
            result = real(*args, **kwargs)
            if name == "open":
                self.fds.add(result)
            elif name == "close":
                self.fds.discard(args[0])
            return result

        return call


@contextlib.contextmanager
def injected(root: Path, n: int, *, persistent: bool = False) -> Iterator[Faults]:
    faults = Faults(root, n, persistent=persistent)
    with pytest.MonkeyPatch.context() as mp:
        for name in PATH_CALLS + FD_CALLS:
            mp.setattr(os, name, faults.wrap(name, getattr(os, name)))
        yield faults


def _expected() -> dict[str, list[tuple[Any, ...]]]:
    metrics = [(f"run-{e}", "loss", s, 1000 + s, s / 10) for e in range(2) for s in range(20)]
    return {
        "metrics": metrics,
        "params": [("run-0", f"p{i}", str(i), 1) for i in range(5)],
        "events": [("run-1", "tag", "t", "v", 5, "w", i) for i in range(3)],
    }


def _log(writer: Writer) -> None:
    for table, rows in _expected().items():
        for row in rows:
            experiment = row[0].rsplit("-", 1)[1] if table == "metrics" else "0"
            writer.append(table, experiment, row)


def _rows_of(root: Path) -> dict[str, Counter[tuple[Any, ...]]]:
    out: dict[str, Counter[tuple[Any, ...]]] = {}
    for table in _expected():
        rows: Counter[tuple[Any, ...]] = Counter()
        for path in (root / table).rglob("*.parquet"):
            if layout.is_data_file(path.name):
                t = pq.read_table(path, columns=declarations.table(table).arrow_schema().names)
                rows.update(zip(*(t[c].to_pylist() for c in t.column_names), strict=True))
        out[table] = rows
    return out


def _assert_exactly_once(root: Path) -> None:
    expected = {t: Counter(rows) for t, rows in _expected().items()}
    assert _rows_of(root) == expected
    leftovers = [p.name for p in root.rglob("*") if p.is_file() and p.name.startswith(".")]
    assert leftovers == []  # no temp file left behind by a failed write


def test_a_failed_flush_call_loses_and_duplicates_nothing_once_retried(tmp_path):
    visited: list[str] = []
    for n in itertools.count(1):
        root = tmp_path / f"store-{n}"
        writer = Writer(LocalFileSystem(root, fsync=True), flush_interval=3600)
        _log(writer)
        with injected(root, n) as faults, contextlib.suppress(OSError):
            writer.flush()
        if faults.hit is None:
            assert n > 10  # a flush of 4 segments makes many calls
            break
        visited.append(faults.hit.split()[0])
        assert writer.pending > 0  # the segment that failed waits for a retry
        writer.flush()  # the fault is gone: the retry writes what is missing, once
        assert writer.pending == 0
        _assert_exactly_once(root)
    assert set(visited) >= {"mkdir", "open", "write", "fsync", "close", "replace"}


def test_a_store_that_keeps_failing_spills_every_row_exactly_once(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    for n in itertools.count(1):
        root = tmp_path / f"store-{n}"
        fs = LocalFileSystem(root, fsync=True)
        writer = Writer(fs, flush_interval=3600)
        _log(writer)
        with injected(root, n, persistent=True) as faults:
            try:
                writer.flush()
            except OSError as exc:
                # The process ends now: what the store refused goes to the spill folder.
                with pytest.warns(spill.SpilledRowsWarning, match=r"\d+ row\(s\)") as record:
                    folder = writer.spill_unwritten(exc)
                assert folder is not None
                assert str(folder) in str(record[0].message)
        if faults.hit is None:
            break
        assert writer.pending == 0
        # The next process that opens the store writes the kept rows.
        report = spill.replay(fs, rows_to_table)
        assert report.remaining == {}
        _assert_exactly_once(root)
        assert not spill.pending(root)


def test_a_full_disk_recovers_on_the_next_flush(tmp_path):
    root = tmp_path / "store"
    writer = Writer(LocalFileSystem(root), flush_interval=3600)
    _log(writer)
    with injected(root, 1, persistent=True) as faults:
        for _ in range(2):
            with pytest.raises(OSError, match=r"No space left|injected"):
                writer.flush()
    assert faults.hit is not None
    more = ("run-0", "loss", 99, 1, 9.9)
    writer.append("metrics", "0", more)
    writer.flush()
    rows = _rows_of(root)
    assert rows["metrics"][more] == 1
    rows["metrics"][more] -= 1
    assert +rows["metrics"] == Counter(_expected()["metrics"])
