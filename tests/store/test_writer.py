"""The writer: immutable Parquet segments, one file per table per flush, reads of its own writes."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
import pytest
from tests.store.segment_files import SEGMENT, data_files, fill

import canvasback
from canvasback import Client, Metric
from canvasback.store import declarations, schema
from canvasback.store.fs.local import LocalFileSystem
from canvasback.store.write.writer import Writer

if TYPE_CHECKING:
    from pathlib import Path


def test_files_are_immutable_parquet_segments(store):
    fill(runs=3, steps=5)
    files = data_files(store)
    assert files
    for rel in files:
        match = SEGMENT.match(rel)
        assert match, rel
        assert match["kind"] == "seg"
        table = pq.read_table(store / rel)
        assert table.schema.equals(declarations.table(match["table"]).arrow_schema()), rel
        assert table.num_rows > 0
        meta = pq.ParquetFile(store / rel).metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"
    tables = {SEGMENT.match(r)["table"] for r in files}
    # fill() logs no dataset and registers no model: the store's own tables but inputs
    assert tables == {t.name for t in schema.CORE} - {"inputs"}
    # no temp files are left behind
    assert not list(store.rglob(".*.tmp"))

    before = {rel: ((store / rel).stat().st_ino, _sha(store / rel)) for rel in files}
    fill(runs=2, steps=5, experiment="more")
    canvasback.compact(grace_seconds=3600)  # compaction adds files; it rewrites none
    after = data_files(store)
    assert set(before) <= set(after)
    for rel, (inode, digest) in before.items():
        assert (store / rel).stat().st_ino == inode, rel
        assert _sha(store / rel) == digest, rel


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_one_flush_writes_one_file_per_table_touched(store):
    client = canvasback.client()
    writer = client.store.writer
    writer.flush_interval = 3600  # no timer flush in the middle of this test
    experiment_id = client.create_experiment("batch")
    # Starting a run has its row written at once (another process may resume it).
    runs = [client.create_run(experiment_id, run_name=f"r{i}") for i in range(50)]
    canvasback.flush()
    before = set(data_files(store))
    for i, run in enumerate(runs):
        run.log_param("i", i)
        run.set_tag("t", str(i))
        for step in range(10):
            run.log_metric("m", float(step), step=step)
    assert set(data_files(store)) == before  # nothing written before the flush
    canvasback.flush()
    new = sorted(set(data_files(store)) - before)
    by_table = Counter(SEGMENT.match(rel)["table"] for rel in new)
    assert by_table == {"metrics": 1, "params": 1, "events": 1}
    metric_file = next(rel for rel in new if rel.startswith("metrics/"))
    assert metric_file.startswith(f"metrics/exp={experiment_id}/")
    assert pq.read_table(store / metric_file).num_rows == 500
    for run in runs:
        client.set_terminated(run.run_id)
    assert canvasback.sql("SELECT count(*) FROM runs WHERE status = 'FINISHED'").fetchall() == [
        (50,)
    ]


@pytest.mark.usefixtures("store")
def test_reads_own_writes_without_an_explicit_flush():
    with canvasback.start_run() as run:
        canvasback.log_metric("m", 1.0)
        canvasback.log_param("p", "v")
        assert canvasback.get_run(run.run_id).data.metrics == {"m": 1.0}
        assert canvasback.get_run(run.run_id).data.params == {"p": "v"}
        canvasback.set_tag("t", "1")
        assert canvasback.sql("SELECT value FROM tags WHERE key = 't'").fetchall() == [("1",)]
        canvasback.log_metric("m", 2.0, step=1)
        assert canvasback.search_runs()["metrics.m"].tolist() == [2.0]


@pytest.mark.usefixtures("store")
def test_a_read_during_a_flush_in_progress_sees_the_rows(wait):
    """A read right after logging sees the rows even if another thread is flushing them."""
    client = canvasback.client()
    writer = client.store.writer
    run = client.create_run(run_name="big")
    canvasback.flush()
    n = 200_000
    client.log_batch(run.run_id, metrics=[Metric("m", float(i), i, i) for i in range(n)])
    # The batch fills the buffer, which wakes the background thread: it may be taking
    # the rows already. Either way a flush is in progress while the reads below run.
    flusher = threading.Thread(target=canvasback.flush)  # as the timer flush would
    flusher.start()
    try:
        wait(lambda: writer.pending == 0, timeout=30, what="the flush to take the rows")
        assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(n,)]
    finally:
        flusher.join()
    assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(n,)]


def test_client_store_layout(tmp_path):
    root = tmp_path / "explicit"
    client = Client(store=root)
    experiment_id = client.create_experiment("e")
    run = client.create_run(experiment_id)
    run.log_metric("m", 1.0)
    client.set_terminated(run.run_id)
    client.flush()
    files = data_files(root)
    assert {rel.split("/")[0] for rel in files} == {"experiments", "runs", "metrics", "events"}
    assert all(f"exp={experiment_id}/" in rel or "exp=0/" in rel for rel in files)
    metrics = [rel for rel in files if rel.startswith("metrics/")]
    assert metrics == [next(r for r in metrics if f"exp={experiment_id}/" in r)]


class _HeldWake(threading.Event):
    """The flusher's wake: once woken by a request, it holds there until let go."""

    def __init__(self) -> None:
        super().__init__()
        self.woke = threading.Event()
        self.go_on = threading.Event()
        self.waits = 0
        self.waiting_again = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        if self.waits > 1:
            self.waiting_again.set()
        woken = super().wait(timeout)
        if woken and not self.woke.is_set():
            self.woke.set()
            assert self.go_on.wait(30)
        return woken


def test_a_flush_begun_after_the_flusher_woke_is_not_taken_for_its_tick(tmp_path):
    """The flusher woke for a request; a caller's flush did it first; rows logged after
    that stay buffered (one file per flush), not cut into a file of the flusher's."""
    writer = Writer(LocalFileSystem(tmp_path / "store"), flush_interval=3600)
    wake = writer._wake = _HeldWake()
    writer.append("experiments", "1", ("1", "a", "artifacts", 1))
    writer.request_flush()
    assert wake.woke.wait(30)  # the flusher is awake, before it looks at anything
    assert writer.flush() == 1  # the caller's flush writes what the request was for
    written = set(data_files(tmp_path / "store"))
    writer.append("experiments", "1", ("1", "b", "artifacts", 2))
    wake.go_on.set()
    assert wake.waiting_again.wait(30)  # the flusher went round, and waits again
    assert set(data_files(tmp_path / "store")) == written
    assert writer.pending == 1
    writer.close()
    assert len(set(data_files(tmp_path / "store")) - written) == 1
