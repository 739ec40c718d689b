"""Random interleavings of two processes' logging, deletions, compaction and snapshots.

A straightforward Python model of the store says what every run must look like; three
readers are asked after each step: a new one starting from the newest snapshot, a new
one resolving every segment itself, and this process's long-lived one, which follows
each new snapshot as it appears. Every snapshot on disk must hold a consistent cut: each
fact once, each run's wide row as its params, tags and metrics say.

The same runs again with a third process compacting and taking snapshots all the time,
concurrently with the writers' flushes (it pauses only while the readers are asked); and
a writer's runs, flushed while two processes compact and take snapshots in a loop, must
each read back once, whole, in every new reader.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import child_env

import canvasback
from canvasback.query import search
from canvasback.store import Store
from canvasback.store.read import snapshots
from canvasback.store.read.catalog import Catalog
from canvasback.store.read.relations import RUNS_WIDE

pytestmark = pytest.mark.slow  # two writer processes per example

WORKER = textwrap.dedent(
    """
    import json, sys
    import canvasback as cb
    from canvasback.store import open_store

    cb.set_store(sys.argv[1])
    client = cb.MlflowClient()
    experiment = client.get_experiment_by_name("model").experiment_id
    for line in sys.stdin:
        op, args = json.loads(line)
        out = None
        if op == "start":
            out = client.create_run(experiment, run_name=args[0], params={"born": args[0]})
            out = out.info.run_id
        elif op == "param":
            client.log_param(*args)
        elif op == "metric":
            client.log_metric(args[0], args[1], args[2], step=args[3])
        elif op == "tag":
            client.set_tag(*args)
        elif op == "deltag":
            client.delete_tag(*args)
        elif op == "delete":
            client.delete_run(args[0])
        elif op == "restore":
            client.restore_run(args[0])
        elif op == "end":
            client.set_terminated(args[0], args[1])
        elif op == "compact":
            cb.compact(grace_seconds=0)
        elif op == "snapshot":
            open_store(sys.argv[1]).read().write_snapshot("worker")
        cb.flush()
        print(json.dumps(out), flush=True)
    """
)


@dataclass
class ModelRun:
    owner: int
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # latest by step
    tags: dict[str, str] = field(default_factory=dict)
    lifecycle: str = "active"
    status: str = "RUNNING"


class Processes:
    """This process (0) and a worker process (1) on one store, sent operations in turn."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.client = canvasback.MlflowClient(root)
        self.experiment = self.client.create_experiment("model")
        self.worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )

    def do(self, who: int, op: str, *args: Any) -> Any:
        if who == 0:
            return self._here(op, args)
        stdin, stdout = self.worker.stdin, self.worker.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(json.dumps([op, list(args)]) + "\n")
        stdin.flush()
        return json.loads(stdout.readline())

    def _here(self, op: str, args: tuple[Any, ...]) -> Any:
        c = self.client
        actions = {
            # A run's row, a param and its tags: one flush, several files.
            "start": lambda: (
                c.create_run(
                    self.experiment, run_name=args[0], params={"born": args[0]}
                ).info.run_id
            ),
            "param": lambda: c.log_param(*args),
            "metric": lambda: c.log_metric(args[0], args[1], args[2], step=args[3]),
            "tag": lambda: c.set_tag(*args),
            "deltag": lambda: c.delete_tag(*args),
            "delete": lambda: c.delete_run(args[0]),
            "restore": lambda: c.restore_run(args[0]),
            "end": lambda: c.set_terminated(args[0], args[1]),
            "compact": lambda: c.compact(grace_seconds=0),
            "snapshot": lambda: c.store.read().write_snapshot("main"),
        }
        out = actions[op]()
        c.flush()
        return out if op == "start" else None

    def close(self) -> None:
        assert self.worker.stdin is not None
        self.worker.stdin.close()
        self.worker.wait(timeout=60)


WRITES = ["start", "param", "metric", "tag", "deltag", "delete", "restore", "end"]
# One step: (process, operation, a run index, a small number).
STEP = st.tuples(
    st.integers(0, 1),
    st.sampled_from([*WRITES, "compact", "snapshot"]),
    st.integers(0, 5),
    st.integers(0, 3),
)
WRITE_STEP = st.tuples(
    st.integers(0, 1), st.sampled_from(WRITES), st.integers(0, 5), st.integers(0, 3)
)


def observed(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """Every run as the views show it, and as a search (the wide run table) does."""
    out: dict[str, dict[str, Any]] = {}
    for run_id, lifecycle, status in catalog.rows(
        "SELECT run_id, lifecycle_stage, status FROM runs"
    ):
        run = out.setdefault(run_id, {"params": {}, "metrics": {}, "tags": {}, "rows": 0})
        run.update(lifecycle=lifecycle, status=status, rows=run["rows"] + 1)
    facts = {
        "params": "SELECT run_id, key, value FROM params",
        "metrics": "SELECT run_id, key, value FROM latest_metrics",
        "tags": "SELECT run_id, key, value FROM tags WHERE key NOT LIKE 'mlflow.%'",
    }
    for entity, sql in facts.items():
        for run_id, key, value in catalog.rows(sql):
            held = out[run_id][entity]
            held[key] = ("twice", value) if key in held else value
    keys = [k for k in catalog.key_columns() if not k.startswith("tags.mlflow.")]
    columns = "".join(f", {catalog.key_column(k)}" for k in keys)
    for run_id, *values in catalog.rows(f"SELECT run_id{columns} FROM {RUNS_WIDE}"):
        searched: dict[str, dict[str, Any]] = {"params": {}, "metrics": {}, "tags": {}}
        for key, value in zip(keys, values, strict=True):
            if value is not None:
                entity, name = key.split(".", 1)
                searched[entity][name] = value
        out[run_id].setdefault("searched", []).append(searched)
    return out


def expected(runs: dict[str, ModelRun]) -> dict[str, dict[str, Any]]:
    return {
        run_id: {
            "params": r.params,
            "metrics": r.metrics,
            "tags": r.tags,
            "lifecycle": r.lifecycle,
            "status": r.status,
            "rows": 1,
            "searched": [{"params": r.params, "metrics": r.metrics, "tags": r.tags}],
        }
        for run_id, r in runs.items()
    }


def apply(
    procs: Processes, runs: dict[str, ModelRun], ids: list[str], step: tuple, clock: int
) -> None:
    """Do one step in the store and in the model (a step the API would refuse is skipped)."""
    who, op, index, number = step
    if op in ("compact", "snapshot"):
        procs.do(who, op)
    elif op == "start" or not ids:
        name = f"r{len(ids)}"
        run_id = procs.do(who, "start", name)
        ids.append(run_id)
        runs[run_id] = ModelRun(owner=who, params={"born": name})
    elif runs[ids[index % len(ids)]].lifecycle == "deleted" and op != "restore":
        pass  # a deleted run takes no more data
    elif op in ("param", "metric"):
        _log(procs, runs, ids[index % len(ids)], (who, op, number), clock)
    else:
        _change(procs, runs, ids[index % len(ids)], (op, number), clock)


def _log(procs: Processes, runs: dict[str, ModelRun], run_id: str, step: tuple, clock: int) -> None:
    who, op, number = step
    if op == "param":
        procs.do(who, "param", run_id, f"p{clock}", str(number))
        runs[run_id].params[f"p{clock}"] = str(number)
    else:
        procs.do(who, "metric", run_id, f"m{number % 2}", float(number), clock)
        runs[run_id].metrics[f"m{number % 2}"] = float(number)


def _change(
    procs: Processes, runs: dict[str, ModelRun], run_id: str, step: tuple, clock: int
) -> None:
    # Mutable facts of a run come from the process that owns it: two processes' events
    # in one millisecond are ordered by writer id, not by this loop.
    op, number = step
    run = runs[run_id]
    owner, key = run.owner, f"t{number % 2}"
    if op == "tag":
        procs.do(owner, "tag", run_id, key, f"v{clock}")
        run.tags[key] = f"v{clock}"
    elif op == "deltag" and key in run.tags:
        procs.do(owner, "deltag", run_id, key)
        del run.tags[key]
    elif op == "delete":
        procs.do(owner, "delete", run_id)
        run.lifecycle = "deleted"
    elif op == "restore" and run.lifecycle == "deleted":
        procs.do(owner, "restore", run_id)
        run.lifecycle = "active"
    elif op == "end" and run.status == "RUNNING":
        run.status = ["FINISHED", "FAILED", "KILLED", "FINISHED"][number]
        procs.do(owner, "end", run_id, run.status)


def snapshot_problems(root: Any) -> list[str]:
    """What is inconsistent in any snapshot on disk: a fact twice, a wide row that lies."""
    fs = Store(root).fs
    problems: list[str] = []
    con = duckdb.connect()
    for name in snapshots.manifest_names(fs):
        snap = snapshots.newest(fs, [name])
        assert snap is not None, name
        con.register("w", snapshots.open_wide(fs, snap))

        def src(stem: str, snap: snapshots.Snapshot = snap) -> str:
            return f"read_parquet('{fs.local_path(snap.rel(stem))}')"

        def rows(sql: str, *args: object) -> list[tuple[Any, ...]]:
            return con.execute(sql, list(args)).fetchall()

        twice = {
            "wide row": rows("SELECT run_id FROM w GROUP BY ALL HAVING count(*) > 1"),
            "run row": rows(f"SELECT run_id FROM {src('runs')} GROUP BY ALL HAVING count(*) > 1"),
            "param": rows(
                f"SELECT run_id, key FROM {src('params')} GROUP BY ALL HAVING count(*) > 1"
            ),
            "latest metric": rows(
                f"SELECT run_id, key FROM {src('latest')} GROUP BY ALL HAVING count(*) > 1"
            ),
            "fact": rows(
                f"SELECT entity_id, kind, key FROM {src('state_runs')} "
                "GROUP BY ALL HAVING count(*) > 1"
            ),
        }
        problems += [f"{name}: a {what} twice: {found}" for what, found in twice.items() if found]
        if set(rows(f"SELECT run_id FROM {src('runs')}")) != set(rows("SELECT run_id FROM w")):
            problems.append(f"{name}: its run rows are not its wide rows")
        held = {r[0] for r in rows("SELECT run_id FROM w")} | snap.runs_without_row
        owners = rows(
            f"SELECT run_id FROM {src('params')} UNION SELECT run_id FROM {src('latest')} "
            f"UNION SELECT entity_id FROM {src('state_runs')}"
        )
        if {r[0] for r in owners} - held:
            problems.append(f"{name}: rows of runs it neither has nor lists")
        sources = {
            "params": f"SELECT run_id, value FROM {src('params')} WHERE key = ?",
            "metrics": f"SELECT run_id, value FROM {src('latest')} WHERE key = ?",
            "tags": (
                f"SELECT entity_id AS run_id, value FROM {src('state_runs')} "
                "WHERE kind = 'tag' AND key = ? AND value IS NOT NULL"
            ),
        }
        for key, column, _type in snap.wide_columns:
            entity, plain = key.split(".", 1)
            wrong = rows(
                f"SELECT w.run_id FROM w LEFT JOIN ({sources[entity]}) f USING (run_id) "
                f'WHERE w."{column}"::VARCHAR IS DISTINCT FROM f.value::VARCHAR',
                plain,
            )
            if wrong:
                problems.append(f"{name}: the wide rows of {wrong} lie about {key}")
    con.close()
    return problems


def read_fresh(root: Any, *, use_snapshots: bool) -> dict[str, dict[str, Any]]:
    catalog = Catalog(Store(root).fs, use_snapshots=use_snapshots)
    try:
        catalog.refresh()
        return observed(catalog)
    finally:
        catalog.close()


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=4, max_size=14))
def test_every_reader_agrees_with_the_model(tmp_path_factory, steps):
    root = tmp_path_factory.mktemp("model") / "store"
    procs = Processes(root)
    runs: dict[str, ModelRun] = {}
    ids: list[str] = []
    long_lived = Store(root).read()
    try:
        for clock, step in enumerate(steps):
            apply(procs, runs, ids, step, clock)
            want = expected(runs)
            assert read_fresh(root, use_snapshots=False) == want
            assert read_fresh(root, use_snapshots=True) == want
            long_lived.refresh()
            assert observed(long_lived) == want
            assert snapshot_problems(root) == []
    finally:
        procs.close()
        long_lived.close()


MAINTENANCE = textwrap.dedent(
    """
    import json, random, sys, threading, traceback, warnings
    import canvasback as cb
    from canvasback.store import open_store
    from canvasback.store.read import snapshots
    from canvasback.store.read.catalog import Catalog

    root = sys.argv[1]
    cb.set_store(root)
    store = open_store(root)
    reader = Catalog(store.fs)  # long-lived, as a reader past a long tail writes them
    rng = random.Random(int(sys.argv[2]))
    running, turn, errors = threading.Event(), threading.Lock(), []

    def one():
        op = rng.choice(["compact", "compact", "snapshot", "snapshot", "fresh", "prune"])
        if op == "compact":  # replaced files deleted at once
            store.compact(grace_seconds=0, snapshot=False)
        elif op == "snapshot":
            reader.refresh()
            reader.write_snapshot("long")
        elif op == "fresh":  # a new reader, from the newest snapshot and its tail
            fresh = Catalog(store.fs)
            fresh.refresh()
            fresh.write_snapshot("fresh")
            fresh.close()
        else:  # a reader asked meanwhile has this long to finish
            snapshots.prune(store.fs, grace_seconds=5)

    def work():
        while True:
            running.wait()
            with turn:
                if not running.is_set():
                    continue
                try:
                    with warnings.catch_warnings(record=True) as seen:
                        warnings.simplefilter("always")
                        one()
                    errors.extend(str(w.message) for w in seen if "canvasback" in str(w.message))
                except Exception:
                    errors.append(traceback.format_exc())

    threading.Thread(target=work, daemon=True).start()
    for line in sys.stdin:
        if line.strip() == "run":
            running.set()
        else:  # pause: once the operation going on is over
            running.clear()
            with turn:
                pass
        print(json.dumps(errors), flush=True)
        errors.clear()
    """
)


class Maintenance:
    """A process compacting and writing snapshots all the time, paused while asked."""

    def __init__(self, root: Any, seed: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", MAINTENANCE, str(root), str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )

    def tell(self, command: str) -> None:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(command + "\n")
        stdin.flush()
        assert json.loads(stdout.readline()) == []  # no error, no warning meanwhile

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.mark.slow
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(WRITE_STEP, min_size=6, max_size=18), seed=st.integers(0, 2**16))
def test_every_reader_agrees_with_the_model_while_maintenance_runs(tmp_path_factory, steps, seed):
    root = tmp_path_factory.mktemp("model") / "store"
    procs = Processes(root)
    maintenance = Maintenance(root, seed)
    runs: dict[str, ModelRun] = {}
    ids: list[str] = []
    long_lived = Store(root).read()
    try:
        maintenance.tell("run")
        for clock, step in enumerate(steps):
            apply(procs, runs, ids, step, clock)
            if clock % 3 < 2 and clock < len(steps) - 1:
                continue  # a few steps at a time, all while maintenance goes on
            maintenance.tell("pause")
            want = expected(runs)
            assert read_fresh(root, use_snapshots=False) == want
            assert read_fresh(root, use_snapshots=True) == want
            long_lived.refresh()
            assert observed(long_lived) == want
            assert snapshot_problems(root) == []
            maintenance.tell("run")
    finally:
        maintenance.close()
        procs.close()
        long_lived.close()


BUSY_WRITER = """
import sys
import time

import canvasback as cb

cb.set_store(sys.argv[1])
cb.set_experiment("busy")
for i in range(int(sys.argv[2])):
    with cb.start_run(run_name=f"r{i}"):
        cb.log_param("i", i)
        cb.set_tag("t", i)
        cb.log_metric("m", i)
        cb.flush()  # a run's row, params, tags, metrics: files written one after another
        time.sleep(0.02)  # a training loop's pace, not a wait for anything
"""

MAINTAINER = """
import sys
from pathlib import Path

import canvasback as cb
from canvasback.store import open_store

root, stop, how = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
cb.set_store(root)
while not stop.exists():
    if how == "compact":  # compaction, and the snapshot it writes
        cb.compact(grace_seconds=0)
    else:  # a reader writing snapshots, as past a long tail
        open_store(root).read().write_snapshot("reader")
"""


@pytest.mark.slow
def test_a_writer_s_runs_read_back_once_and_whole_after_snapshots_taken_meanwhile(
    tmp_path, spawn_python
):
    root, stop, count = tmp_path / "store", tmp_path / "stop", 60
    writer = spawn_python(BUSY_WRITER, root, count)
    maintainers = [spawn_python(MAINTAINER, root, stop, how) for how in ("compact", "snapshot")]
    _out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    stop.touch()
    for maintainer in maintainers:
        _out, err = maintainer.communicate(timeout=120)
        assert maintainer.returncode == 0, err
    assert snapshot_problems(root) == []
    frames = []
    for use_snapshots in (True, False):
        catalog = Catalog(Store(root).fs, use_snapshots=use_snapshots)
        catalog.refresh()
        assert (catalog.snapshot is not None) is use_snapshots
        (experiment,) = catalog.rows("SELECT experiment_id FROM experiments WHERE name = 'busy'")
        frame = search.search_runs(
            catalog,
            root,
            experiment_ids=[experiment[0]],
            filter_string=None,
            run_view_type="ALL",
            max_results=1000,
            order_by=["attributes.run_name ASC"],
        )
        frames.append(frame.drop(columns=["artifact_uri"]))
        catalog.close()
    with_snapshot, without = frames
    assert len(with_snapshot) == count  # each run once
    assert sorted(with_snapshot["params.i"].astype(int)) == list(range(count))  # with its param
    assert sorted(with_snapshot["tags.t"].astype(int)) == list(range(count))
    assert with_snapshot.equals(without)
