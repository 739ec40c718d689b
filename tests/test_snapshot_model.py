"""Random interleavings of two processes' logging, deletions, compaction and snapshots.

A straightforward Python model of the store says what every run must look like; three
readers are asked after each step: a new one starting from the newest snapshot, a new
one resolving every segment itself, and this process's long-lived one, which follows
each new snapshot as it appears.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import child_env

import canvasback
from canvasback.store import Store
from canvasback.store.reader import Catalog

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
            out = client.create_run(experiment, run_name=args[0]).info.run_id
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
            "start": lambda: c.create_run(self.experiment, run_name=args[0]).info.run_id,
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


# One step: (process, operation, a run index, a small number).
STEP = st.tuples(
    st.integers(0, 1),
    st.sampled_from(
        [
            "start",
            "param",
            "metric",
            "tag",
            "deltag",
            "delete",
            "restore",
            "end",
            "compact",
            "snapshot",
        ]
    ),
    st.integers(0, 5),
    st.integers(0, 3),
)


def observed(catalog: Catalog) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for run_id, lifecycle, status in catalog.rows(
        "SELECT run_id, lifecycle_stage, status FROM runs"
    ):
        out[run_id] = {
            "params": {},
            "metrics": {},
            "tags": {},
            "lifecycle": lifecycle,
            "status": status,
        }
    for run_id, key, value in catalog.rows("SELECT run_id, key, value FROM params"):
        out[run_id]["params"][key] = value
    for run_id, key, value in catalog.rows("SELECT run_id, key, value FROM latest_metrics"):
        out[run_id]["metrics"][key] = value
    for run_id, key, value in catalog.rows("SELECT run_id, key, value FROM tags"):
        if not key.startswith("mlflow."):
            out[run_id]["tags"][key] = value
    return out


def expected(runs: dict[str, ModelRun]) -> dict[str, dict[str, Any]]:
    return {
        run_id: {
            "params": r.params,
            "metrics": r.metrics,
            "tags": r.tags,
            "lifecycle": r.lifecycle,
            "status": r.status,
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
        run_id = procs.do(who, "start", f"r{len(ids)}")
        ids.append(run_id)
        runs[run_id] = ModelRun(owner=who)
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
    finally:
        procs.close()
        long_lived.close()
