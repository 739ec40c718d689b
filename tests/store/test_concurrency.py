"""Many processes, hard kills and process ends: nothing flushed is ever lost."""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import canvasback
from canvasback.store import Store

pytestmark = pytest.mark.slow

WRITERS = 8
POINTS = 20_000

WRITER_SCRIPT = """
import sys
import time
from pathlib import Path

import canvasback as cb

root, folder, index, points = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
cb.set_store(root)
(folder / f"ready-{index}").touch()
deadline = time.monotonic() + 60
while not (folder / "go").exists():  # start together
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.002)
cb.set_experiment("swarm")
with cb.start_run(run_name=f"writer-{index}") as run:
    for step in range(points):
        cb.log_metric("m", float(step), step=step)
        if step % 2000 == 1999:
            cb.flush()  # many files, written while the others write theirs
print(run.run_id)
"""


def fresh_sql(root):
    """``sql`` of a new Store object: it shares no catalog with this process."""
    catalog = Store(root).read()

    def sql(query, params=None):
        return catalog.relation(query, params).fetchall()

    return sql


def flush_gaps_ms(root, run_id):
    """Gaps between the child's consecutive flushes (the first from its first point)."""
    last = []
    first = None
    for path in sorted(Path(root, "metrics").rglob("seg-*.parquet")):
        rows = pq.read_table(path, columns=["run_id", "timestamp"]).to_pydict()
        mine = [t for r, t in zip(rows["run_id"], rows["timestamp"], strict=True) if r == run_id]
        if mine:
            last.append(max(mine))
            first = min(mine) if first is None else min(first, *mine)
    last = sorted([first, *last]) if last else []
    return [b - a for a, b in itertools.pairwise(last)]


def test_eight_processes_lose_and_duplicate_nothing(store, tmp_path, spawn_python, wait):
    canvasback.create_experiment("swarm")
    children = [spawn_python(WRITER_SCRIPT, store, tmp_path, i, POINTS) for i in range(WRITERS)]
    wait(
        lambda: all((tmp_path / f"ready-{i}").exists() for i in range(WRITERS)),
        timeout=60,
        what="every writer to start",
    )
    (tmp_path / "go").touch()
    run_ids = set()
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        run_ids.add(out.strip())
    assert len(run_ids) == WRITERS

    for sql in (fresh_sql(store), lambda q, p=None: canvasback.sql(q, p).fetchall()):
        assert sql("SELECT count(*), count(DISTINCT (run_id, step)) FROM metrics") == [
            (WRITERS * POINTS, WRITERS * POINTS)
        ]
        per_run = sql(
            "SELECT run_id, count(*), count(DISTINCT step), min(step), max(step) "
            "FROM metrics GROUP BY run_id"
        )
        assert {r[0] for r in per_run} == run_ids
        assert {r[1:] for r in per_run} == {(POINTS, POINTS, 0, POINTS - 1)}
        assert sql("SELECT count(*) FROM metrics WHERE value <> step") == [(0,)]
        assert sql("SELECT DISTINCT value FROM latest_metrics") == [(POINTS - 1.0,)]
        assert sql("SELECT status, count(*) FROM runs GROUP BY status") == [("FINISHED", WRITERS)]
        assert sql("SELECT count(DISTINCT experiment_id) FROM runs") == [(1,)]
        assert sql("SELECT count(*) FROM experiments WHERE name = 'swarm'") == [(1,)]
    experiment = canvasback.get_experiment_by_name("swarm")
    assert len(canvasback.search_runs(experiment_ids=[experiment.experiment_id])) == WRITERS


KILL_SCRIPT = """
import sys
import time
from pathlib import Path

import canvasback as cb

cb.set_store(sys.argv[1])
run = cb.start_run(run_name="victim")
Path(sys.argv[2]).write_text(run.run_id)
step = 0
while True:
    cb.log_metric("tick", float(step), step=step)
    step += 1
    time.sleep(0.0005)
"""


def test_kill_9_loses_at_most_the_last_flush_interval(store, tmp_path, spawn_python, wait):
    id_file = tmp_path / "run_id"
    child = spawn_python(KILL_SCRIPT, store, id_file)
    run_id = wait(lambda: id_file.exists() and id_file.read_text(), what="the child's run")

    def on_disk():
        return canvasback.sql(
            "SELECT count(*), max(step) FROM metrics WHERE run_id = ?", [run_id]
        ).fetchall()[0]

    state = {"seen": (0, None), "since": time.monotonic()}

    def late_in_a_flush_interval():
        # Rows have been flushed, and the next flush is due soon: killing now loses
        # close to a whole interval, the worst case the bound is about.
        now = on_disk()
        if now != state["seen"]:
            state["seen"], state["since"] = now, time.monotonic()
        return now[0] >= 500 and time.monotonic() - state["since"] > 0.8

    wait(late_in_a_flush_interval, timeout=60, what="the child to flush rows")
    seen, seen_top = state["seen"]
    assert child.poll() is None
    killed_at_ms = time.time_ns() // 1_000_000
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    for sql in (fresh_sql(store), lambda q, p=None: canvasback.sql(q, p).fetchall()):
        count, distinct, low, top, last_ms = sql(
            "SELECT count(*), count(DISTINCT step), min(step), max(step), max(timestamp) "
            "FROM metrics WHERE run_id = ?",
            [run_id],
        )[0]
        assert count >= seen  # everything flushed before the kill is there
        assert top >= seen_top
        assert (count, distinct, low) == (top + 1, top + 1, 0)  # no gaps, no duplicates
        # At most the last flush interval is lost: stated in the flush intervals this
        # machine kept (a loaded one flushes later), not in wall milliseconds.
        lost_ms = killed_at_ms - last_ms
        gaps = flush_gaps_ms(store, run_id)
        assert gaps, "the child flushed"
        assert lost_ms <= 2 * max(gaps), f"lost {lost_ms} ms; flushes were {max(gaps)} ms apart"
        # The run never ended: a hard kill leaves it RUNNING, readable as such.
        assert sql("SELECT status, end_time FROM runs WHERE run_id = ?", [run_id]) == [
            ("RUNNING", None)
        ]

    # Whatever the killed writer left behind (a temp file at most) does not bother
    # compaction either, and every row is still there exactly once afterwards.
    canvasback.compact(grace_seconds=0)
    assert fresh_sql(store)(
        "SELECT count(*), count(DISTINCT step) FROM metrics WHERE run_id = ?", [run_id]
    ) == [(count, count)]


END_SCRIPTS = {
    "FINISHED": "pass",
    "FAILED": "raise RuntimeError('boom')",
    # Ctrl-C, even where the test runner was started with SIGINT ignored (in the background).
    "KILLED": "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "os.kill(os.getpid(), signal.SIGINT); time.sleep(30)",
}


def test_run_status_at_process_end(store, spawn_python):
    children = {}
    for status, ending in END_SCRIPTS.items():
        script = f"""
import os
import signal
import sys
import time

import canvasback as cb

cb.set_store(sys.argv[1])
cb.start_run(run_name="{status.lower()}")
for step in range(100):
    cb.log_metric("m", float(step), step=step)
cb.flush()  # a mid-run checkpoint; the end itself is written at exit
cb.log_param("ending", "{status}")
{ending}
"""
        children[status] = spawn_python(script, store)
    for status, child in children.items():
        _out, err = child.communicate(timeout=60)
        if status == "FINISHED":
            assert child.returncode == 0, err
        else:
            assert child.returncode != 0
        if status == "FAILED":
            assert "RuntimeError: boom" in err
        if status == "KILLED":
            assert "KeyboardInterrupt" in err

    for sql in (fresh_sql(store), lambda q, p=None: canvasback.sql(q, p).fetchall()):
        rows = sql(
            "SELECT r.run_name, r.status, r.end_time IS NOT NULL, p.value, "
            "(SELECT count(*) FROM metrics m WHERE m.run_id = r.run_id) "
            "FROM runs r JOIN params p ON p.run_id = r.run_id AND p.key = 'ending' "
            "ORDER BY r.run_name"
        )
        assert rows == [
            ("failed", "FAILED", True, "FAILED", 100),
            ("finished", "FINISHED", True, "FINISHED", 100),
            ("killed", "KILLED", True, "KILLED", 100),
        ]


EXPERIMENT_RACE_SCRIPT = """
import sys
import time
from pathlib import Path

import canvasback as cb

root, folder, index = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
cb.set_store(root)
cb.flush()
(folder / f"ready-{index}").touch()
deadline = time.monotonic() + 60
while not (folder / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.002)
experiment = cb.set_experiment("race")  # every process asks for the new name at once
with cb.start_run(run_name=f"racer-{index}"):
    cb.log_metric("m", 1.0)
print(experiment.experiment_id)
"""


def test_processes_creating_one_experiment_at_once(store, tmp_path, spawn_python, wait):
    racers = 6
    canvasback.client().search_experiments()  # the Default experiment exists already
    children = [spawn_python(EXPERIMENT_RACE_SCRIPT, store, tmp_path, i) for i in range(racers)]
    wait(
        lambda: all((tmp_path / f"ready-{i}").exists() for i in range(racers)),
        timeout=60,
        what="every process to start",
    )
    (tmp_path / "go").touch()
    ids = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        ids.append(out.strip())
    assert len(set(ids)) == 1
    sql = fresh_sql(store)
    assert sql("SELECT experiment_id FROM experiments WHERE name = 'race'") == [(ids[0],)]
    assert sql("SELECT count(*) FROM runs WHERE experiment_id = ?", [ids[0]]) == [(racers,)]


SNIPPET_SCRIPT = """
import sys

import canvasback as mlflow

mlflow.set_store(sys.argv[1])
mlflow.start_run(run_name=sys.argv[2])
mlflow.log_param("param1", 5)
mlflow.log_metric("accuracy", 0.95)
mlflow.end_run()
"""


def test_a_short_script_run_is_saved_at_process_exit(store, run_python):
    """The MLflow snippet as a script, run twice against one store: both runs are kept."""
    for name in ("first", "second"):
        result = run_python(SNIPPET_SCRIPT, store, name)
        assert "Traceback" not in result.stderr, result.stderr
    sql = fresh_sql(store)
    assert sql("SELECT run_name, status FROM runs ORDER BY run_name") == [
        ("first", "FINISHED"),
        ("second", "FINISHED"),
    ]
    assert sql("SELECT count(*) FROM params") == [(2,)]
    frame = canvasback.search_runs()
    assert sorted(frame["run_name"]) == ["first", "second"]
    assert frame["params.param1"].tolist() == ["5", "5"]
    assert frame["metrics.accuracy"].tolist() == [0.95, 0.95]


RESUME_SCRIPT = """
import sys

import canvasback as cb
from canvasback import InvalidInputError

cb.set_store(sys.argv[1])
run = cb.start_run(run_id=sys.argv[2])
print(cb.get_run(run.run_id).info.status)
cb.log_param("lr", "0.1")  # the same value again is fine
try:
    cb.log_param("lr", "0.2")
except InvalidInputError as exc:
    print("refused:", exc)
cb.log_param("epochs", 3)
for step in range(5, 10):
    cb.log_metric("loss", 1.0 / (step + 1), step=step)
cb.set_tag("phase", "resumed")
cb.end_run()
cb.flush()  # not needed by the API; keeps this test apart from the exit race tested below
"""


def test_resume_a_run_in_another_process(store, run_python):
    with canvasback.start_run(run_name="resumable", params={"lr": "0.1"}) as run:
        for step in range(5):
            canvasback.log_metric("loss", 1.0 / (step + 1), step=step)
        canvasback.set_tag("phase", "first")
    canvasback.flush()
    result = run_python(RESUME_SCRIPT, store, run.run_id)
    lines = result.stdout.splitlines()
    assert lines[0] == "RUNNING"
    assert lines[1].startswith("refused:")
    assert "'lr'" in lines[1]
    assert "'0.1'" in lines[1]

    got = canvasback.get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "resumable"
    assert got.data.params == {"lr": "0.1", "epochs": "3"}
    assert got.data.tags["phase"] == "resumed"
    assert canvasback.get_metric_history(run.run_id, "loss")["step"].tolist() == list(range(10))
    assert canvasback.sql(
        "SELECT count(*) FROM params WHERE run_id = ?", [run.run_id]
    ).fetchall() == [(2,)]
    assert len(canvasback.search_runs()) == 1


END_AND_EXIT_SCRIPT = """
import sys
import time

import canvasback as cb

cb.set_store(sys.argv[1])
run = cb.start_run(run_name=sys.argv[2])
cb.log_metric("warm", 1.0)
assert cb.get_run(run.run_id).data.metrics == {"warm": 1.0}  # a read, as a notebook does
for step in range(int(sys.argv[3])):
    cb.log_metric("m", float(step), step=step)
cb.end_run()  # asks the background thread to flush, and returns at once
writer = cb.client().store.writer
deadline = time.monotonic() + 30
while writer.pending and time.monotonic() < deadline:
    time.sleep(0.0005)  # exit once that flush has taken the rows, as a timer flush might
"""


def test_rows_logged_just_before_exit_are_kept(store, spawn_python):
    """end_run() starts a background flush; the process exiting right after must wait for it."""
    canvasback.client().search_experiments()  # the Default experiment exists already
    points, processes = 50_000, 3
    children = [
        spawn_python(END_AND_EXIT_SCRIPT, store, f"exit-{i}", points) for i in range(processes)
    ]
    for child in children:
        _out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    sql = fresh_sql(store)
    assert sql(
        "SELECT r.run_name, r.status, count(m.run_id) FROM runs r "
        "LEFT JOIN metrics m ON m.run_id = r.run_id AND m.key = 'm' GROUP BY ALL ORDER BY 1"
    ) == [(f"exit-{i}", "FINISHED", points) for i in range(processes)]
