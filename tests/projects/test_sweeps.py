"""Sweeps: 4 points on 2 workers, one failing, on threads and on a Dask cluster; functions
on process pools, and points whose worker dies.

The target is an MLproject entry point (a script starts faster than a kernel), or a
function of a module written for the test; the workers are real processes that log
into the same store as this one.
"""

from __future__ import annotations

import importlib
import multiprocessing
import textwrap
from concurrent.futures import ProcessPoolExecutor

import pytest

import canvasback as cb
from canvasback.projects import ParamError, ProjectError
from canvasback.projects.sweep_pools import LOST_TAG, MAX_ATTEMPTS

pytestmark = pytest.mark.slow  # points run in child processes: commands, worker pools

MLPROJECT = """\
name: sweepable
entry_points:
  main:
    parameters:
      lr: {type: float, default: 0.1}
    command: "python train.py {lr}"
"""
TRAIN = """\
import sys
import canvasback as mlflow

lr = float(sys.argv[1])
if lr < 0:
    raise SystemExit(f"lr {lr} is negative")
for step in range(3):
    mlflow.log_metric("loss", abs(lr - 0.01) + 1 / (step + 1), step=step)
"""
GRID = {"lr": [0.1, 0.01, -1.0, 0.5]}


@pytest.fixture(autouse=True)
def _capture_on(monkeypatch):
    """Capture as it is by default (the suite's conftest switches it off elsewhere)."""
    monkeypatch.delenv("CANVASBACK_CAPTURE", raising=False)


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "sweepable"
    root.mkdir()
    (root / "MLproject").write_text(MLPROJECT)
    (root / "train.py").write_text(TRAIN)
    return root


def _check(result):
    assert result.finished == 3
    assert result.failed == 1
    best = result.best
    assert best is not None
    assert best.params == {"lr": 0.01}
    assert best.metric == pytest.approx(1 / 3)
    failed = [p for p in result.points if p.status != "FINISHED"]
    assert [p.params for p in failed] == [{"lr": -1.0}]
    assert "lr -1.0 is negative" in failed[0].error
    parent = cb.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["canvasback.sweep.finished"] == "3"
    assert parent.data.tags["canvasback.sweep.failed"] == "1"
    assert parent.data.tags["canvasback.sweep.best_run_id"] == best.run_id
    assert parent.data.metrics["best_loss"] == pytest.approx(1 / 3)
    children = cb.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.run_id}'"
    )
    assert sorted(children["status"]) == ["FAILED", "FINISHED", "FINISHED", "FINISHED"]
    assert sorted(children["params.lr"]) == sorted(["0.1", "0.01", "-1.0", "0.5"])
    assert set(children["run_id"]) == set(result.run_ids)
    # Every point's own logging landed in the one store, in its own run.
    finished = children[children["status"] == "FINISHED"]
    assert finished["metrics.loss"].notna().all()
    assert "3 finished, 1 failed" in repr(result)
    assert "best loss" in result.summary()


@pytest.mark.usefixtures("store")
def test_a_sweep_of_an_entry_point_on_threads(project, capsys):
    result = cb.sweep(project, grid=GRID, max_workers=2, metric="loss", experiment="sweep")
    _check(result)
    bar = capsys.readouterr().err
    assert "4/4" in bar  # the progress bar went to the end
    assert "failed=1" in bar


@pytest.mark.usefixtures("store")
def test_a_sweep_on_a_dask_local_cluster(project):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = cb.sweep(
            project,
            points=[{"lr": v} for v in GRID["lr"]],
            executor=client.get_executor(),
            metric="loss",
            progress=False,
        )
        workers = {w["id"] for w in client.scheduler_info()["workers"].values()}
    assert len(workers) == 2
    _check(result)


@pytest.mark.usefixtures("store")
def test_every_point_is_checked_before_any_runs(project):
    with pytest.raises(ParamError, match=r"Invalid value 'x' for parameter 'lr'"):
        cb.sweep(project, grid={"lr": [0.1, "x"]})
    with pytest.raises(ProjectError, match="No entry point 'nope'"):
        cb.sweep(project, grid={"lr": [0.1]}, entry_point="nope")
    with pytest.raises(ParamError, match=r"grid= .* or points="):
        cb.sweep(project)
    with pytest.raises(ParamError, match="no points"):
        cb.sweep(project, points=[])
    with pytest.raises(ParamError, match="mode"):
        cb.sweep(project, grid={"lr": [0.1]}, mode="best")
    with pytest.raises(ParamError, match="max_workers 0"):
        cb.sweep(project, grid={"lr": [0.1]}, max_workers=0)
    with pytest.raises(ParamError, match="Invalid executor"):
        cb.sweep(project, grid={"lr": [0.1]}, executor="dask")
    assert len(cb.search_runs(search_all_experiments=True)) == 0


def _children(parent_run_id):
    parent = cb.get_run(parent_run_id)
    return cb.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
    )


def test_a_script_sweeping_an_entry_point_needs_no_main_guard(project, run_python, store):
    # Commands are processes of their own: the sweep runs them from threads, and the
    # script is not run again in worker processes (as spawn does with __main__).
    result = run_python(
        """
        import sys
        import canvasback as cb
        cb.set_store(sys.argv[1])
        result = cb.sweep(sys.argv[2], grid={"lr": [0.1, 0.01]}, max_workers=2, progress=False)
        print("SWEEP", result.finished, result.failed)
        """,
        store,
        project,
        timeout=240,
    )
    assert "SWEEP 2 0" in result.stdout, result.stdout + result.stderr
    runs = cb.search_runs(search_all_experiments=True)
    assert sorted(runs["tags.mlflow.runName"].str.startswith("sweep sweepable #")) == [
        False,
        True,
        True,
    ]  # one sweep run and its two points: nothing started twice


def test_a_function_of_the_calling_script_is_swept_in_worker_processes(run_python, store):
    # The function lives in __main__: cloudpickle sends it by value, as from a notebook.
    result = run_python(
        """
        import os
        import sys
        import canvasback as cb

        def train(lr):
            cb.log_metric("loss", abs(lr - 0.01))
            cb.log_param("pid", os.getpid())
            if lr < 0:
                raise ValueError(f"lr {lr} is negative")

        if __name__ == "__main__":
            cb.set_store(sys.argv[1])
            result = cb.sweep(train, grid={"lr": [0.1, 0.01, -1.0]}, max_workers=2,
                              metric="loss", progress=False)
            print("SWEEP", result.finished, result.failed, result.best.params, os.getpid())
            print("ERROR", [p.error for p in result.points if p.error])
        """,
        store,
        timeout=240,
    )
    assert "SWEEP 2 1 {'lr': 0.01}" in result.stdout, result.stdout + result.stderr
    assert "ValueError: lr -1.0 is negative" in result.stdout
    caller = result.stdout.split("SWEEP")[1].split()[-1]
    runs = cb.search_runs(search_all_experiments=True)
    points = runs[runs["tags.canvasback.sweep.point"].notna()]
    assert len(points) == 3
    assert caller not in set(points["params.pid"])  # each ran in a worker process
    failed = points[points["status"] == "FAILED"]
    assert failed["tags.canvasback.sweep.error"].iloc[0] == "ValueError: lr -1.0 is negative"


TARGETS = """\
import os
import signal
import threading
from pathlib import Path

import canvasback as cb

MARKS = Path(os.environ["SWEEP_MARKS"])


def _die():
    cb.flush()  # the point's run is in the store, as one that ran a while would be
    os.kill(os.getpid(), signal.SIGKILL)


def train(lr, how="ok"):
    cb.log_metric("loss", abs(lr - 0.01))
    if how == "kill":  # every time it runs
        _die()
    if how == "finish, then die":  # its run ended FINISHED before its worker died
        cb.end_run()
        cb.flush()
        _die()
    if how == "kill once it runs":
        if not _wait_for(MARKS / "started"):
            raise RuntimeError("the other point never started")
        _die()
    if how == "runs beside the killer":
        if not (MARKS / "started").exists():
            cb.flush()  # its run is in the store before the killer goes
            (MARKS / "started").touch()
            threading.Event().wait(120)  # the pool ends this worker first
            raise RuntimeError("the pool did not end this worker")


def _wait_for(path):
    event = threading.Event()
    for _ in range(2400):
        if path.exists():
            return True
        event.wait(0.05)
    return False
"""


@pytest.fixture
def targets(tmp_path, monkeypatch):
    """A module of sweep functions, importable here and in spawned workers."""
    folder = tmp_path / "targets"
    folder.mkdir()
    (folder / "sweep_targets.py").write_text(TARGETS)
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("SWEEP_MARKS", str(marks))
    monkeypatch.syspath_prepend(str(folder))
    return importlib.import_module("sweep_targets")


@pytest.mark.usefixtures("store")
def test_a_function_point_that_kills_its_worker_fails_alone(targets):
    points = [
        {"lr": 0.1},
        {"lr": 0.2, "how": "kill"},
        {"lr": 0.3, "how": "finish, then die"},
        {"lr": 0.01},
        {"lr": 0.5},
    ]
    result = cb.sweep(targets.train, points=points, max_workers=1, metric="loss", progress=False)
    by_index = {p.index: p for p in result.points}
    assert [by_index[i].status for i in range(5)] == [
        "FINISHED",
        "FAILED",
        "FINISHED",  # from its run in the store, though its worker died after
        "FINISHED",  # these two never ran before the pool broke: they ran in a fresh one
        "FINISHED",
    ]
    killer = by_index[1]
    assert f"point #1 (lr=0.2, how=kill) was lost {MAX_ATTEMPTS} times" in killer.error
    assert "BrokenProcessPool" in killer.error
    assert result.best is not None
    assert result.best.params == {"lr": 0.01}
    assert by_index[2].metric == pytest.approx(0.29)
    children = _children(result.parent_run_id)
    killed = children[children["params.how"] == "kill"]
    # Each attempt of the killer is a run of its own, ended KILLED with the reason.
    assert sorted(killed["status"]) == ["KILLED"] * MAX_ATTEMPTS
    assert killed[f"tags.{LOST_TAG}"].str.contains("its worker process died").all()
    others = children[children["params.how"] != "kill"]
    assert sorted(others["status"]) == ["FINISHED"] * 4  # nothing ran twice
    assert cb.get_run(result.parent_run_id).data.tags["canvasback.sweep.finished"] == "4"


@pytest.mark.usefixtures("store")
def test_a_point_lost_beside_a_killer_runs_again_alone(targets):
    points = [{"lr": 0.2, "how": "kill once it runs"}, {"lr": 0.3, "how": "runs beside the killer"}]
    result = cb.sweep(targets.train, points=points, max_workers=2, progress=False)
    killer, beside = sorted(result.points, key=lambda p: p.index)
    assert killer.status == "FAILED"
    assert "point #0 (lr=0.2, how=kill once it runs) was lost" in killer.error
    assert beside.status == "FINISHED"
    assert beside.error is None
    children = _children(result.parent_run_id)
    mine = children[children["params.how"] == "runs beside the killer"]
    # Lost once with the killer's worker pool, then run alone: one KILLED, one FINISHED.
    assert sorted(mine["status"]) == ["FINISHED", "KILLED"]
    assert beside.run_id == mine[mine["status"] == "FINISHED"]["run_id"].iloc[0]


DYING = """\
import os
import signal
import canvasback as mlflow

mlflow.log_metric("loss", 0.5)
mlflow.end_run()
mlflow.flush()
os.kill(os.getppid(), signal.SIGKILL)  # the worker that ran this command
"""


@pytest.mark.usefixtures("store")
def test_a_point_on_a_broken_executor_is_told_from_its_run(tmp_path):
    root = tmp_path / "dying"
    root.mkdir()
    (root / "MLproject").write_text(
        textwrap.dedent("""\
        name: dying
        entry_points:
          main:
            parameters:
              lr: {type: float, default: 0.1}
            command: "exec python dying.py {lr}"
        """)
    )
    (root / "dying.py").write_text(DYING)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = cb.sweep(
            root, grid={"lr": [0.1, 0.2]}, executor=pool, metric="loss", progress=False
        )
    first, second = sorted(result.points, key=lambda p: p.index)
    # Its run ended FINISHED before its command killed the worker: that is its result.
    assert first.status == "FINISHED"
    assert first.metric == 0.5
    assert cb.get_run(first.run_id).info.status == "FINISHED"
    # The pool is the caller's: a point it lost cannot run again, and says why.
    assert second.status == "FAILED"
    assert "point #1 (lr=0.2) was lost: BrokenProcessPool" in second.error
