"""A run whose process died reads as KILLED; a live but quiet one stays RUNNING."""

from __future__ import annotations

import os
import signal
import time

import duckdb
import pyarrow as pa
import pytest

import canvasback as cb
from canvasback.store import Store, liveness
from canvasback.store.read.relations import RUNS_WIDE

pytestmark = pytest.mark.slow

BEAT = 0.2  # seconds; a run is stale after liveness.STALE_BEATS of them

CHILD = """
import sys
import threading
from pathlib import Path

import canvasback as cb

cb.set_store(sys.argv[1])
run = cb.start_run(run_name=sys.argv[2])
cb.log_metric("m", 1.0)
cb.flush()
Path(sys.argv[3]).write_text(run.run_id)
threading.Event().wait()  # alive and quiet until killed
"""


@pytest.fixture
def fast_beats(monkeypatch):
    monkeypatch.setenv(liveness.HEARTBEAT_ENV, str(BEAT))


def _status(root, run_id):
    rows = Store(root).read().relation("SELECT status FROM runs WHERE run_id = ?", [run_id])
    return rows.fetchall()[0][0]


def _heartbeats(root):
    query = "SELECT count(*) FROM read_parquet(?) WHERE kind = 'heartbeat'"
    files = [str(p) for p in (root / "events").rglob("*.parquet")]
    return duckdb.execute(query, [files]).fetchall()[0][0] if files else 0


@pytest.mark.usefixtures("fast_beats")
def test_a_killed_process_s_run_reads_killed_and_a_quiet_one_running(tmp_path, spawn_python, wait):
    root = tmp_path / "store"
    ids = {}
    children = {}
    for name in ("quiet", "victim"):
        id_file = tmp_path / name
        children[name] = spawn_python(CHILD, root, name, id_file)
        ids[name] = wait(lambda f=id_file: f.exists() and f.read_text(), what=f"{name} run")
    os.kill(children["victim"].pid, signal.SIGKILL)
    children["victim"].wait(timeout=30)
    wait(lambda: _status(root, ids["victim"]) == "KILLED", timeout=60, what="KILLED")
    # The quiet one logs nothing, yet its heartbeats keep it RUNNING past the stale limit.
    beats = _heartbeats(root)
    wait(lambda: _heartbeats(root) >= beats + 2 * liveness.STALE_BEATS, timeout=60, what="beats")
    assert _status(root, ids["quiet"]) == "RUNNING"
    cb.set_store(root)
    frame = cb.search_runs(filter_string="attributes.status = 'KILLED'")
    assert frame["run_id"].tolist() == [ids["victim"]]
    assert cb.get_run(ids["victim"]).info.status == "KILLED"
    assert cb.search_runs(order_by=["attributes.status"])["status"].tolist() == [
        "KILLED",
        "RUNNING",
    ]
    # A page read straight from a snapshot's file, with no query, follows the rule too.
    cb.compact(grace_seconds=0)
    reader = cb.Client(root)
    assert reader.store.read().snapshot is not None
    killed = reader.search_runs_frame(
        frame["experiment_id"].tolist(), filter_string="attributes.run_name = 'victim'"
    )
    assert killed["status"].tolist() == ["KILLED"]
    children["quiet"].kill()
    children["quiet"].wait(timeout=30)


def test_the_stale_rule_reads_the_same_in_sql_and_in_arrow():
    now = int(time.time() * 1000)
    stale = now - liveness.stale_after_ms() - 60_000
    minute = 60_000  # a writer beating once a minute is stale only after six
    rows = [  # status, last seen, the interval its writer recorded
        ("RUNNING", now, None),
        ("RUNNING", stale, None),
        ("RUNNING", None, None),
        ("FINISHED", stale, None),
        ("FAILED", now, None),
        (None, stale, None),
        ("RUNNING", now - 2 * minute, minute),
        ("RUNNING", now - 7 * minute, minute),
        ("RUNNING", now - 2_000, 100),
    ]
    status, last_seen, interval = zip(*rows, strict=True)
    table = pa.table(
        {
            "status": list(status),
            "last_seen": pa.array(last_seen, pa.int64()),
            "heartbeat_ms": pa.array(interval, pa.int64()),
        }
    )
    arrow = liveness.status_arrow(
        table.column("status"), table.column("last_seen"), table.column("heartbeat_ms")
    )
    con = duckdb.connect()
    con.register("b", table)
    sql = [r[0] for r in con.execute(f"SELECT {liveness.status_sql('b')} FROM b").fetchall()]
    assert arrow.to_pylist() == sql
    assert sql == [
        "RUNNING",
        "KILLED",
        "RUNNING",
        "FINISHED",
        "FAILED",
        None,
        "RUNNING",
        "KILLED",
        "KILLED",
    ]


@pytest.mark.usefixtures("fast_beats")
def test_a_killed_run_resumed_reads_running_again(tmp_path, spawn_python, wait):
    root = tmp_path / "store"
    id_file = tmp_path / "id"
    child = spawn_python(CHILD, root, "again", id_file)
    run_id = wait(lambda: id_file.exists() and id_file.read_text(), what="the run")
    child.kill()
    child.wait(timeout=30)
    wait(lambda: _status(root, run_id) == "KILLED", timeout=60, what="KILLED")
    cb.set_store(root)
    with cb.start_run(run_id=run_id):
        assert cb.get_run(run_id).info.status == "RUNNING"
    assert cb.get_run(run_id).info.status == "FINISHED"


def _age_and_status(root, run_id):
    """(ms since the run's last sign of life, its status) as a new reader sees them."""
    catalog = Store(root).read()
    ((age, status),) = catalog.rows(
        f"SELECT epoch_ms(now()) - r.last_seen, {liveness.status_sql('r')} "
        f"FROM {RUNS_WIDE} r WHERE r.run_id = ?",
        [run_id],
    )
    return age, status


def test_a_run_is_judged_by_the_interval_its_writer_recorded(
    tmp_path, spawn_python, monkeypatch, wait
):
    root = tmp_path / "store"
    ids = {}
    children = {}
    # One writer beats every 10 s (the default), one every 0.1 s; this reader is set to 1 s.
    for name, seconds in (("quiet", "10"), ("fast", "0.1")):
        monkeypatch.setenv(liveness.HEARTBEAT_ENV, seconds)
        id_file = tmp_path / name
        children[name] = spawn_python(CHILD, root, name, id_file)
        ids[name] = wait(lambda f=id_file: f.exists() and f.read_text(), what=f"{name} run")
    monkeypatch.setenv(liveness.HEARTBEAT_ENV, "1")
    own_limit = liveness.STALE_BEATS * 1000  # what this reader's setting would allow
    os.kill(children["fast"].pid, signal.SIGKILL)
    children["fast"].wait(timeout=30)

    def killed():
        age, status = _age_and_status(root, ids["fast"])
        return status == "KILLED" and (age,)

    # Silent for six of its own beats: KILLED long before this reader's setting says.
    (age,) = wait(killed, timeout=60, what="the fast writer's run KILLED")
    assert age < own_limit

    def past_own_limit():
        age, status = _age_and_status(root, ids["quiet"])
        return age > own_limit + 500 and (status,)

    # Silent for longer than this reader's limit, yet within its writer's: RUNNING.
    assert wait(past_own_limit, timeout=60, what="the quiet run past 6 s") == ("RUNNING",)
    children["quiet"].kill()
    children["quiet"].wait(timeout=30)
