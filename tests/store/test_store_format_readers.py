"""A store read by another engine, following docs/store-format.md alone.

Each reader of ``format_readers/`` runs in a child Python (``-I``: no PYTHONPATH, no
user site) that imports only the standard library and Polars, or DuckDB; afterwards
its ``sys.modules`` holds no canvasback. What it reads of a store canvasback wrote must
be what ``canvasback.search_runs`` answers: the same runs, attributes, params, latest
metrics and tags, and ``search_experiments``' experiments.

The store is made to be hard to read: several experiments (one renamed, one deleted),
a param logged twice (the later value in a later file: the first stays), metrics with
steps out of order and equal steps (decided by time, then value, NaN above every
number), tags overwritten and deleted, runs deleted, restored and purged, a snapshot
taken in the middle with the same runs' rows on both sides of it, compacted files
made after it over its files and the tail's, a run whose process was killed (KILLED by
the heartbeat rule) and one whose process is alive (RUNNING).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import canvasback as cb
from canvasback.tracking.run import Run
from canvasback.tracking.write_once import ParamConflictError

pytestmark = pytest.mark.slow  # the readers and the store's writers are child processes

READERS = Path(__file__).parent / "format_readers"
LIBRARIES = {"polars": "read_with_polars.py", "duckdb": "read_with_duckdb.py"}

READ = """
import json, runpy, sys
reader, store, use_snapshot = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
result = runpy.run_path(reader)["read_store"](store, use_snapshot=use_snapshot)
json.dump({"result": result, "modules": sorted(sys.modules)}, sys.stdout)
"""

KILLED = """
import os, sys
os.environ["CANVASBACK_HEARTBEAT_SECONDS"] = "0.05"
import canvasback as cb
cb.set_store(sys.argv[1])
run = cb.start_run(run_name="killed")
cb.log_metric("loss", 0.25, step=1)
cb.flush()
print(run.info.run_id, flush=True)
os._exit(0)  # no end_run, no exit hook: the run stays RUNNING and its writer falls silent
"""

ALIVE = """
import sys, time
from pathlib import Path
import canvasback as cb
cb.set_store(sys.argv[1])
run = cb.start_run(run_name="alive")
cb.log_metric("loss", 0.75, step=1)
cb.flush()
Path(sys.argv[2]).write_text(run.info.run_id)
while not Path(sys.argv[3]).exists():  # a training loop, as far as the store can tell
    time.sleep(0.05)
cb.end_run()
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CANVASBACK_STORE"}
    return env | {"CANVASBACK_CAPTURE": "none", "PYTHONUNBUFFERED": "1"}


def _until(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)
    return value


def _next_millisecond() -> None:
    """Return once the clock shows a later millisecond than at the call."""
    now = time.time_ns() // 1_000_000
    _until(lambda: time.time_ns() // 1_000_000 > now, "the next millisecond")


# How the compaction after the snapshot leaves the store: its files over the snapshot's
# read whole (it purged the deleted runs, and its inputs are deleted at once), or read
# as the rest of their rows (nothing purged, the inputs still there).
LAYOUTS = {"purged": True, "kept": False}


@pytest.fixture(scope="module", params=list(LAYOUTS))
def written(request, tmp_path_factory):
    """A store canvasback wrote, whether it purged, and the ids of its runs by name."""
    purge = LAYOUTS[request.param]
    folder = tmp_path_factory.mktemp("format")
    root = folder / "store"
    ready, stop = folder / "alive-ready", folder / "alive-stop"
    alive = subprocess.Popen(
        [sys.executable, "-c", ALIVE, str(root), str(ready), str(stop)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ids = _write(root, purge=purge)
        ids["alive"] = _until(lambda: ready.exists() and ready.read_text(), "the alive run")
        yield root, purge, ids
    finally:
        stop.touch()
        try:
            alive.communicate(timeout=60)
        finally:
            alive.kill()


def _write(root: Path, *, purge: bool) -> dict[str, str]:
    client = cb.Client(root)
    experiments = {name: client.create_experiment(name) for name in ("alpha", "beta", "gamma")}
    client.set_experiment_tag(experiments["alpha"], "owner", "ana")
    runs = _before_the_snapshot(client, experiments)
    client.flush()
    assert client.compact().snapshot is not None
    _in_the_tail(client, experiments, runs)
    client.flush()
    # Compacted files over the snapshot's files and the tail's.
    report = client.compact(purge_deleted=purge, snapshot=False, grace_seconds=0 if purge else None)
    purged = sorted([runs["b"].run_id, runs["d"].run_id]) if purge else []
    assert sorted(report.purged_runs) == purged
    _after_the_compaction(client, experiments, runs)
    ids = {name: run.run_id for name, run in runs.items() if name != "rival"}
    ids["killed"] = subprocess.run(
        [sys.executable, "-c", KILLED, str(root)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.strip()
    _until(lambda: client.get_run(ids["killed"]).info.status == "KILLED", "the run to be KILLED")
    return ids


def _other_process_handle(client, run_id: str) -> Run:
    """A second handle of a run, as another process resumes it (this one's share one)."""
    found = client.get_run(run_id)
    return Run(client.store, found.info, found.data.params, resumed=True)


def _before_the_snapshot(client, experiments: dict[str, str]) -> dict:
    a = client.create_run(experiments["alpha"], run_name="a")
    rival = _other_process_handle(client, a.run_id)  # before lr is logged
    a.log_params({"lr": "0.9", "batch": "32"})
    for key, value, step, timestamp in (
        ("loss", 1.0, 5, 1_000),
        ("loss", 2.0, 2, 2_000),  # a lower step, later: not the latest
        ("acc", 0.3, 1, 100),
        ("acc_low", 0.7, 1, 100),
        ("nan", 1.0, 1, 100),
        ("late", 4.0, 10, 1),
    ):
        a.log_metric(key, value, step=step, timestamp=timestamp)
    a.set_tags({"team": "red", "stage": "draft"})
    b = client.create_run(experiments["alpha"], run_name="b")
    b.log_param("lr", "0.5")
    b.end()
    c = client.create_run(experiments["beta"], run_name="c")
    c.log_metric("loss", 0.4, step=0)
    c.end()
    client.delete_run(c.run_id)
    d = client.create_run(experiments["beta"], run_name="d")
    d.end()
    client.delete_run(d.run_id)
    return {"a": a, "rival": rival, "b": b, "c": c, "d": d}


def _in_the_tail(client, experiments: dict[str, str], runs: dict) -> None:
    """Rows of the snapshot's runs, and of a new one, after the snapshot."""
    a = runs["a"]
    _next_millisecond()
    runs["rival"].log_param("lr", "0.2")  # logged later: the first value stays
    with pytest.raises(ParamConflictError):
        runs["rival"].end()
    for key, value, step, timestamp in (
        ("loss", 9.0, 5, 900),  # the same step, earlier
        ("loss", 0.5, 5, 1_000),  # the same step and time, a lower value
        ("loss", 3.0, 3, 3_000),  # a lower step, later
        ("acc", 0.7, 1, 100),  # the same step and time, a higher value: the latest
        ("acc_low", 0.3, 1, 100),
        ("nan", math.nan, 1, 100),  # NaN is above every number
        ("late", 5.0, 4, 9_000),
    ):
        a.log_metric(key, value, step=step, timestamp=timestamp)
    a.set_tag("team", "blue")
    a.delete_tag("stage")
    a.set_tags({"note": "x"})
    a.set_tags({"note": "y"})
    client.update_run(a.run_id, name="a-renamed")  # a rename is a tag over the row's name
    client.delete_run(runs["b"].run_id)
    client.restore_run(runs["c"].run_id)
    e = client.create_run(experiments["gamma"], run_name="e", parent_run_id=a.run_id)
    e.log_history({"loss": [0.9, 0.8, 0.7]})
    e.end()
    client.set_experiment_tag(experiments["alpha"], "owner", "bo")
    runs["e"] = e


def _after_the_compaction(client, experiments: dict[str, str], runs: dict) -> None:
    h = client.create_run(experiments["gamma"], run_name="h")
    h.end()
    client.delete_run(h.run_id)
    client.rename_experiment(experiments["gamma"], "gamma-renamed")
    client.delete_experiment(experiments["beta"])
    runs["a"].log_metric("acc", 0.1, step=0, timestamp=5_000)  # a lower step: not the latest
    client.update_run(runs["a"].run_id, name="a-final")  # renamed again, after the snapshot
    runs["a"].end()
    client.flush()
    runs["h"] = h


def _read_with(library: str, root: Path, *, use_snapshot: bool) -> dict:
    done = subprocess.run(
        [
            *(sys.executable, "-I", "-c", READ),
            *(str(READERS / LIBRARIES[library]), str(root), "1" if use_snapshot else "0"),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    modules = set(out["modules"])
    assert library in modules
    others = {"canvasback", "pyarrow", "pandas", *LIBRARIES} - {library}
    assert not {m.partition(".")[0] for m in modules} & others
    return out["result"]


def _comparable(value: object) -> object:
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


def _as_canvasback_reads() -> tuple[dict, dict]:
    runs = {
        run.info.run_id: {
            "experiment_id": run.info.experiment_id,
            "run_name": run.info.run_name,
            "status": run.info.status,
            "lifecycle_stage": run.info.lifecycle_stage,
            "start_time": run.info.start_time,
            "end_time": run.info.end_time,
            "parent_run_id": run.info.parent_run_id,
            "user_id": run.info.user_id,
            "params": run.data.params,
            "metrics": {k: _comparable(v) for k, v in run.data.metrics.items()},
            "tags": run.data.tags,
        }
        for run in cb.search_runs(
            search_all_experiments=True, run_view_type="ALL", output_format="list"
        )
    }
    experiments = {
        e.experiment_id: {"name": e.name, "lifecycle_stage": e.lifecycle_stage, "tags": e.tags}
        for e in cb.search_experiments(view_type="ALL")
    }
    return runs, experiments


@pytest.mark.parametrize("use_snapshot", [True, False], ids=["snapshot-and-tail", "segments"])
@pytest.mark.parametrize("library", list(LIBRARIES))
def test_a_reader_with_one_library_reads_what_canvasback_reads(written, library, use_snapshot):
    root, purge, ids = written
    cb.set_store(root)
    runs, experiments = _as_canvasback_reads()

    read = _read_with(library, root, use_snapshot=use_snapshot)

    for run in read["runs"].values():
        run["metrics"] = {k: _comparable(v) for k, v in run["metrics"].items()}
    assert read["runs"] == runs
    assert read["experiments"] == experiments
    # What the rules decide, said outright (canvasback's answer is not the only witness).
    a = read["runs"][ids["a"]]
    assert a["params"] == {"lr": "0.9", "batch": "32"}
    assert a["metrics"] == {"loss": 1.0, "acc": 0.7, "acc_low": 0.7, "nan": "NaN", "late": 4.0}
    assert {k: v for k, v in a["tags"].items() if not k.startswith("mlflow.")} == {
        "team": "blue",
        "note": "y",
    }
    names = ("c", "e", "h") if purge else ("b", "c", "d", "e", "h")
    stages = {name: read["runs"][ids[name]]["lifecycle_stage"] for name in names}
    deleted = {"h"} if purge else {"b", "d", "h"}
    assert stages == {name: "deleted" if name in deleted else "active" for name in names}
    assert (ids["b"] in read["runs"], ids["d"] in read["runs"]) == (not purge, not purge)
    assert read["runs"][ids["e"]]["parent_run_id"] == ids["a"]
    assert read["runs"][ids["a"]]["run_name"] == "a-final"
    assert read["runs"][ids["killed"]]["status"] == "KILLED"
    assert read["runs"][ids["alive"]]["status"] == "RUNNING"
    named = {e["name"]: (e["lifecycle_stage"], e["tags"]) for e in read["experiments"].values()}
    assert named["gamma-renamed"] == ("active", {})
    assert named["beta"] == ("deleted", {})
    assert named["alpha"] == ("active", {"owner": "bo"})
