"""A search asked again of an unchanged catalog gives its answer again, never a stale one."""

from __future__ import annotations

import logging
import os
import signal
import time

import duckdb
import pytest

import canvasback as cb
from canvasback.store import liveness
from canvasback.store.read.cursors import STATEMENTS

BEAT = 0.2  # seconds between the child's heartbeats; stale after liveness.STALE_BEATS

CHILD = """
import sys
import threading
from pathlib import Path

import canvasback as cb

cb.set_store(sys.argv[1])
run = cb.start_run(run_name="child")
cb.log_metric("acc", 0.5)
cb.flush()
Path(sys.argv[2]).write_text(run.run_id)
threading.Event().wait()  # alive and quiet until killed
"""


@pytest.fixture
def statements(caplog):
    """The statements the catalog runs for the layers above, as they run."""
    caplog.set_level(logging.DEBUG, logger=STATEMENTS.name)
    return lambda: [r for r in caplog.records if r.name == STATEMENTS.name]


def _log_runs(n: int) -> list[str]:
    ids = []
    for i in range(n):
        with cb.start_run() as run:
            cb.log_param("lr", str(i))
            cb.log_metric("acc", i / 10)
            ids.append(run.info.run_id)
    cb.flush()
    return ids


def test_the_same_search_of_an_unchanged_store_runs_no_query_again(tmp_path, statements):
    cb.set_store(tmp_path / "store")
    _log_runs(3)
    first = cb.search_runs(filter_string="metrics.acc > 0.05", order_by=["metrics.acc DESC"])
    asked = len(statements())
    again = cb.search_runs(filter_string="metrics.acc > 0.05", order_by=["metrics.acc DESC"])
    # Asked again, the moment a status could turn is looked up once; no search runs.
    assert not [r for r in statements()[asked:] if "ORDER BY" in r.getMessage()]
    asked = len(statements())
    third = cb.search_runs(filter_string="metrics.acc > 0.05", order_by=["metrics.acc DESC"])
    assert len(statements()) == asked
    assert again.equals(first)
    assert third.equals(first)
    assert again is not first  # a frame of its own: changing it changes no later answer
    assert again["metrics.acc"].tolist() == [0.2, 0.1]
    # Another search, or the same of another state, is asked of DuckDB.
    cb.search_runs(filter_string="metrics.acc > 0.15")
    assert len(statements()) > asked


def test_a_write_of_another_process_shows_in_the_next_answer(tmp_path, spawn_python):
    root = tmp_path / "store"
    cb.set_store(root)
    _log_runs(2)
    before = cb.search_runs(order_by=["metrics.acc DESC"])
    assert len(before) == 2
    code = "import sys, canvasback as cb\ncb.set_store(sys.argv[1])\n"
    code += "with cb.start_run():\n    cb.log_metric('acc', 9.0)\ncb.flush()\n"
    child = spawn_python(code, root)
    assert child.wait(timeout=60) == 0
    after = cb.search_runs(order_by=["metrics.acc DESC"])
    assert after["metrics.acc"].tolist() == [9.0, 0.1, 0.0]


def test_a_silent_writer_s_run_reads_stale_in_a_repeated_answer(
    tmp_path, monkeypatch, spawn_python, wait
):
    monkeypatch.setenv(liveness.HEARTBEAT_ENV, str(BEAT))
    root = tmp_path / "store"
    id_file = tmp_path / "id"
    child = spawn_python(CHILD, root, id_file)
    wait(lambda: id_file.exists() and id_file.read_text(), what="the child's run")
    cb.set_store(root)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    # The store no longer changes: the answer given now is kept, and asked again.
    assert cb.search_runs()["status"].tolist() == ["RUNNING"]
    assert cb.search_runs()["status"].tolist() == ["RUNNING"]
    # Its last sign of life is at most the child's last event (a heartbeat, most likely).
    files = [str(p) for p in (root / "events").rglob("*.parquet")]
    last = duckdb.execute("SELECT max(timestamp) FROM read_parquet(?)", [files]).fetchall()
    stale_at = last[0][0] / 1000 + liveness.STALE_BEATS * BEAT
    wait(lambda: time.time() > stale_at + 0.05, timeout=60, what="the run's stale moment")
    assert cb.search_runs()["status"].tolist() == ["KILLED"]
