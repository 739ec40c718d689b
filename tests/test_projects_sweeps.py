"""Sweeps: 4 points on 2 workers, one failing, on the process pool and on a Dask cluster.

The target is an MLproject entry point (a script starts faster than a kernel); the
workers are real processes that log into the same store as this one.
"""

from __future__ import annotations

import pytest

import canvasback as cb
from canvasback.projects import ParamError, ProjectError

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
def test_a_sweep_on_the_process_pool(project, capsys):
    result = cb.sweep(project, grid=GRID, max_workers=2, metric="loss", experiment="sweep")
    _check(result)
    bar = capsys.readouterr().err
    assert "4/4" in bar  # the progress bar went to the end
    assert "failed=1" in bar


@pytest.mark.slow
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
