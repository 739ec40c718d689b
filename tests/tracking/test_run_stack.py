"""Active runs are per thread, as in MLflow: threads that start runs log into their own."""

from __future__ import annotations

import threading

import pytest

import canvasback as mlflow


def _in_thread(target, *args):
    errors = []

    def run():
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.mark.usefixtures("store")
def test_threads_starting_nested_runs_log_into_their_own():
    barrier = threading.Barrier(10)

    def work(i):
        with mlflow.start_run(run_name=f"w{i}", nested=True):
            barrier.wait(timeout=30)  # every child is active at once
            mlflow.log_metric("i", i)

    with mlflow.start_run(run_name="parent") as parent:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert mlflow.active_run() is parent
    frame = mlflow.search_runs(filter_string="tags.mlflow.runName LIKE 'w%'")
    assert len(frame) == 10
    for _, row in frame.iterrows():
        i = int(row["tags.mlflow.runName"][1:])
        history = mlflow.get_metric_history(row["run_id"], "i")["value"].tolist()
        assert history == [float(i)]
        assert row["tags.mlflow.parentRunId"] == parent.run_id
        assert row["status"] == "FINISHED"


@pytest.mark.usefixtures("store")
def test_a_new_thread_sees_no_active_run_and_a_log_call_there_starts_its_own():
    seen = {}

    def work():
        seen["active"] = mlflow.active_run()
        mlflow.log_metric("x", 1.0)
        seen["own"] = mlflow.active_run()
        mlflow.end_run()

    with mlflow.start_run(run_name="main") as main:
        _in_thread(work)
        assert mlflow.active_run() is main
    assert seen["active"] is None
    own = seen["own"]
    assert own is not None
    assert own.run_id != main.run_id
    assert mlflow.get_run(own.run_id).data.metrics == {"x": 1.0}
    assert mlflow.get_run(main.run_id).data.metrics == {}
    assert mlflow.get_run(own.run_id).data.tags.get("mlflow.parentRunId") is None


@pytest.mark.usefixtures("store")
def test_last_active_run_is_per_thread():
    with mlflow.start_run(run_name="main") as main:
        pass

    def work():
        assert mlflow.last_active_run() is None
        with mlflow.start_run(run_name="worker"):
            pass
        assert mlflow.last_active_run().info.run_name == "worker"

    _in_thread(work)
    assert mlflow.last_active_run() is main


@pytest.mark.usefixtures("store")
def test_parent_run_id_names_the_parent():
    with mlflow.start_run(run_name="outer") as outer:
        pass
    with mlflow.start_run(run_name="child", parent_run_id=outer.run_id) as child:
        pass
    assert mlflow.get_run(child.run_id).info.parent_run_id == outer.run_id
    with pytest.raises(mlflow.RunNotFoundError, match="nope"):
        mlflow.start_run(parent_run_id="nope")
    assert mlflow.active_run() is None


def test_runs_of_every_thread_end_at_exit(run_python, tmp_path):
    result = run_python(
        """
        import sys, threading
        import canvasback as cb
        cb.set_store(sys.argv[1])
        main = cb.start_run(run_name="main")
        started = threading.Event()
        def work():
            cb.start_run(run_name="worker")
            started.set()
        threading.Thread(target=work).start()
        started.wait(30)
        """,
        tmp_path / "s",
    )
    assert result.returncode == 0, result.stderr
    mlflow.set_store(tmp_path / "s")
    frame = mlflow.search_runs()
    assert sorted(zip(frame["run_name"], frame["status"], strict=True)) == [
        ("main", "FINISHED"),
        ("worker", "FINISHED"),
    ]
