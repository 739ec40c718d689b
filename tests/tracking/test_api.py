"""The MLflow-style tracking API, end to end on a real store (Parquet files, DuckDB)."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pandas as pd
import pytest

import canvasback
import canvasback as mlflow
from canvasback import Client, Metric, Param, RunTag


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- the MLflow snippet -------------------------------------------------------------------
@pytest.mark.usefixtures("store")
def test_mlflow_snippet_runs_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payload = os.urandom(4096) + b"model"
    (tmp_path / "model.pkl").write_bytes(payload)

    mlflow.start_run()
    mlflow.log_param("param1", 5)
    mlflow.log_metric("accuracy", 0.95)
    mlflow.log_artifact("model.pkl")
    mlflow.end_run()

    runs = mlflow.search_runs()
    assert len(runs) == 1
    row = runs.iloc[0]
    assert row["status"] == "FINISHED"
    assert row["params.param1"] == "5"
    assert row["metrics.accuracy"] == 0.95
    run_id = row["run_id"]
    client = mlflow.client()
    assert [f.path for f in client.list_artifacts(run_id)] == ["model.pkl"]
    local = client.download_artifacts(run_id, "model.pkl", str(tmp_path / "dl"))
    assert Path(local).read_bytes() == payload
    assert mlflow.active_run() is None


# -- start_run and its options ------------------------------------------------------------
@pytest.mark.usefixtures("store")
def test_context_manager_finishes_the_run():
    with canvasback.start_run(run_name="ok") as run:
        canvasback.log_metric("m", 1.0)
        assert canvasback.active_run() is run
    assert canvasback.active_run() is None
    info = canvasback.get_run(run.run_id).info
    assert info.status == "FINISHED"
    assert info.end_time is not None
    assert info.end_time >= info.start_time


@pytest.mark.usefixtures("store")
def test_exception_inside_context_fails_the_run():
    started = []

    def train():
        with canvasback.start_run() as run:
            started.append(run)
            canvasback.log_metric("m", 1.0)
            _ = 1 / 0

    with pytest.raises(ZeroDivisionError):
        train()
    (run,) = started
    assert canvasback.get_run(run.run_id).info.status == "FAILED"
    assert canvasback.get_run(run.run_id).data.metrics == {"m": 1.0}
    assert canvasback.active_run() is None


@pytest.mark.usefixtures("store")
def test_keyboard_interrupt_inside_context_kills_the_run():
    with pytest.raises(KeyboardInterrupt), canvasback.start_run() as run:
        raise KeyboardInterrupt
    assert canvasback.get_run(run.run_id).info.status == "KILLED"


@pytest.mark.usefixtures("store")
def test_run_name_params_tags_and_experiment_on_the_fly():
    assert canvasback.get_experiment_by_name("fresh-exp") is None
    with canvasback.start_run(
        run_name="named",
        experiment="fresh-exp",
        params={"lr": 0.01, "layers": 3},
        tags={"team": "vision"},
    ) as run:
        pass
    experiment = canvasback.get_experiment_by_name("fresh-exp")
    assert experiment is not None
    assert run.experiment_id == experiment.experiment_id
    got = canvasback.get_run(run.run_id)
    assert got.info.run_name == "named"
    assert got.info.experiment_id == experiment.experiment_id
    assert got.data.params == {"lr": "0.01", "layers": "3"}
    assert got.data.tags["team"] == "vision"
    frame = canvasback.search_runs(experiment_names=["fresh-exp"])
    assert list(frame["run_id"]) == [run.run_id]
    assert frame["tags.team"].tolist() == ["vision"]


@pytest.mark.usefixtures("store")
def test_unnamed_runs_get_a_readable_name():
    with canvasback.start_run() as run:
        pass
    name = canvasback.get_run(run.run_id).info.run_name
    assert name
    assert name.count("-") == 2


@pytest.mark.usefixtures("store")
def test_nested_runs():
    with canvasback.start_run(run_name="parent") as parent:
        with canvasback.start_run(run_name="child", nested=True) as child:
            assert canvasback.active_run() is child
            canvasback.log_metric("inner", 1.0)
        assert canvasback.active_run() is parent
        with pytest.raises(canvasback.ActiveRunError, match=parent.run_id):
            canvasback.start_run()
        assert canvasback.active_run() is parent
    child_info = canvasback.get_run(child.run_id)
    assert child_info.info.parent_run_id == parent.run_id
    assert child_info.data.tags["mlflow.parentRunId"] == parent.run_id
    assert child_info.data.metrics == {"inner": 1.0}
    assert canvasback.get_run(parent.run_id).info.parent_run_id is None
    assert canvasback.get_run(parent.run_id).data.metrics == {}
    rows = canvasback.sql("SELECT run_name, parent_run_id FROM runs ORDER BY run_name").fetchall()
    assert rows == [("child", parent.run_id), ("parent", None)]


@pytest.mark.usefixtures("store")
def test_resume_by_run_id():
    with canvasback.start_run(params={"a": 1}) as run:
        canvasback.log_metric("m", 1.0, step=0)
    assert canvasback.get_run(run.run_id).info.status == "FINISHED"

    resumed = canvasback.start_run(run_id=run.run_id)
    assert resumed.run_id == run.run_id
    assert canvasback.get_run(run.run_id).info.status == "RUNNING"
    canvasback.log_param("a", 1)  # the same value again is fine
    canvasback.log_param("b", 2)
    canvasback.log_metric("m", 2.0, step=1)
    canvasback.end_run()

    got = canvasback.get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.params == {"a": "1", "b": "2"}
    assert got.data.metrics == {"m": 2.0}
    assert canvasback.get_metric_history(run.run_id, "m")["value"].tolist() == [1.0, 2.0]
    assert len(canvasback.search_runs()) == 1


@pytest.mark.usefixtures("store")
def test_end_run_with_status():
    run = canvasback.start_run()
    canvasback.end_run("KILLED")
    assert canvasback.active_run() is None
    assert canvasback.get_run(run.run_id).info.status == "KILLED"
    canvasback.end_run()  # nothing active: a no-op
    assert canvasback.get_run(run.run_id).info.status == "KILLED"


@pytest.mark.usefixtures("store")
def test_active_run_and_last_active_run():
    assert canvasback.active_run() is None
    run = canvasback.start_run()
    assert canvasback.active_run() is run
    assert canvasback.active_run().info.status == "RUNNING"
    canvasback.end_run()
    assert canvasback.active_run() is None
    assert canvasback.last_active_run() is run
    assert run.ended


@pytest.mark.usefixtures("store")
def test_set_experiment():
    experiment = canvasback.set_experiment("exp-a")
    assert experiment.name == "exp-a"
    assert canvasback.set_experiment("exp-a").experiment_id == experiment.experiment_id
    with canvasback.start_run() as run:
        pass
    assert run.experiment_id == experiment.experiment_id
    other = canvasback.set_experiment("exp-b")
    assert other.experiment_id != experiment.experiment_id
    with canvasback.start_run() as run_b:
        pass
    assert list(canvasback.search_runs()["run_id"]) == [run_b.run_id]
    assert list(canvasback.search_runs(experiment_names=["exp-a"])["run_id"]) == [run.run_id]
    assert canvasback.set_experiment(experiment_id=experiment.experiment_id).name == "exp-a"
    names = {e.name for e in canvasback.search_experiments()}
    assert {"Default", "exp-a", "exp-b"} <= names


# -- logging ------------------------------------------------------------------------------
@pytest.mark.usefixtures("store")
def test_log_params():
    with canvasback.start_run() as run:
        assert canvasback.log_param("p", 0.5) == 0.5
        canvasback.log_params({"q": "text", "r": None, "s": [1, 2]})
    assert canvasback.get_run(run.run_id).data.params == {
        "p": "0.5",
        "q": "text",
        "r": "None",
        "s": "[1, 2]",
    }
    assert canvasback.sql(
        "SELECT key, value FROM params WHERE run_id = ? ORDER BY key", [run.run_id]
    ).fetchall() == [("p", "0.5"), ("q", "text"), ("r", "None"), ("s", "[1, 2]")]


@pytest.mark.usefixtures("store")
def test_log_metric_with_step_and_timestamp():
    with canvasback.start_run() as run:
        canvasback.log_metric("loss", 3.0, step=2, timestamp=1_000)
        canvasback.log_metric("loss", 1.0, step=0, timestamp=3_000)
        canvasback.log_metric("loss", 2.0, step=1, timestamp=2_000)
        canvasback.log_metric("acc", 7)  # ints are fine; step 0, timestamp now
    history = canvasback.get_metric_history(run.run_id, "loss")
    assert isinstance(history, pd.DataFrame)
    assert list(history.columns) == ["step", "timestamp", "value"]
    assert history["step"].tolist() == [0, 1, 2]
    assert history["timestamp"].tolist() == [3_000, 2_000, 1_000]
    assert history["value"].tolist() == [1.0, 2.0, 3.0]
    acc = canvasback.get_metric_history(run.run_id, "acc")
    assert acc["step"].tolist() == [0]
    assert acc["value"].tolist() == [7.0]
    assert abs(acc["timestamp"].iloc[0] - _now_ms()) < 60_000
    data = canvasback.get_run(run.run_id).data
    assert data.metrics == {"loss": 3.0, "acc": 7.0}  # latest = highest step


@pytest.mark.usefixtures("store")
def test_history_orders_by_step_then_timestamp():
    with canvasback.start_run() as run:
        canvasback.log_metric("m", 2.0, step=1, timestamp=200)
        canvasback.log_metric("m", 1.0, step=1, timestamp=100)
        canvasback.log_metric("m", 0.0, step=0, timestamp=300)
    history = canvasback.get_metric_history(run.run_id, "m")
    assert list(zip(history["step"], history["timestamp"], history["value"], strict=True)) == [
        (0, 300, 0.0),
        (1, 100, 1.0),
        (1, 200, 2.0),
    ]
    assert canvasback.get_metric_history(run.run_id, "absent").empty


@pytest.mark.usefixtures("store")
def test_log_metrics_at_a_step():
    with canvasback.start_run() as run:
        canvasback.log_metrics({"a": 1.0, "b": 2.0}, step=5)
        canvasback.log_metrics({"a": 3.0})
    rows = canvasback.sql(
        "SELECT key, step, value FROM metrics WHERE run_id = ? ORDER BY key, step", [run.run_id]
    ).fetchall()
    assert rows == [("a", 0, 3.0), ("a", 5, 1.0), ("b", 5, 2.0)]


@pytest.mark.usefixtures("store")
def test_log_dict_auto_increments_steps():
    with canvasback.start_run() as run:
        canvasback.log({"loss": 1.0})
        canvasback.log({"loss": 0.5, "acc": 0.1})
        canvasback.log({"loss": 0.4}, step=10)
        canvasback.log({"loss": 0.3})
    history = canvasback.get_metric_history(run.run_id, "loss")
    assert history["step"].tolist() == [0, 1, 10, 11]
    assert history["value"].tolist() == [1.0, 0.5, 0.4, 0.3]
    assert canvasback.get_metric_history(run.run_id, "acc")["step"].tolist() == [1]


@pytest.mark.usefixtures("store")
def test_tags_set_overwrite_and_delete():
    with canvasback.start_run() as run:
        canvasback.set_tag("team", "vision")
        canvasback.set_tags({"owner": "ana", "stage": 1})
        canvasback.set_tag("team", "nlp")  # tags are mutable: the last write wins
        canvasback.delete_tag("owner")
    tags = canvasback.get_run(run.run_id).data.tags
    assert tags["team"] == "nlp"
    assert tags["stage"] == "1"
    assert "owner" not in tags
    rows = canvasback.sql(
        "SELECT key, value FROM tags WHERE run_id = ? AND key NOT LIKE 'mlflow.%' ORDER BY key",
        [run.run_id],
    ).fetchall()
    assert rows == [("stage", "1"), ("team", "nlp")]
    frame = canvasback.search_runs()
    assert "tags.owner" not in frame.columns
    assert frame["tags.team"].tolist() == ["nlp"]


@pytest.mark.usefixtures("store")
def test_delete_and_restore_run():
    with canvasback.start_run(run_name="keep") as keep:
        pass
    with canvasback.start_run(run_name="gone") as gone:
        canvasback.log_metric("m", 1.0)
    canvasback.delete_run(gone.run_id)
    assert list(canvasback.search_runs()["run_id"]) == [keep.run_id]
    everything = canvasback.search_runs(run_view_type="ALL")
    assert set(everything["run_id"]) == {keep.run_id, gone.run_id}
    deleted = canvasback.search_runs(run_view_type="DELETED_ONLY")
    assert list(deleted["run_id"]) == [gone.run_id]
    assert deleted["lifecycle_stage"].tolist() == ["deleted"]
    assert canvasback.get_run(gone.run_id).info.lifecycle_stage == "deleted"
    canvasback.restore_run(gone.run_id)
    assert set(canvasback.search_runs()["run_id"]) == {keep.run_id, gone.run_id}
    assert canvasback.get_run(gone.run_id).info.lifecycle_stage == "active"


@pytest.mark.usefixtures("store")
def test_fluent_logging_without_an_active_run_starts_one():
    assert canvasback.active_run() is None
    canvasback.log_metric("m", 1.0)
    run = canvasback.active_run()
    assert run is not None
    canvasback.log_param("p", "x")
    assert canvasback.active_run() is run
    canvasback.end_run()
    got = canvasback.get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.metrics == {"m": 1.0}
    assert got.data.params == {"p": "x"}


def test_get_run_info_and_data(store):
    with canvasback.start_run(run_name="r", tags={"t": "v"}) as run:
        canvasback.log_param("p", 1)
        canvasback.log_metric("m", 0.5, step=1)
        canvasback.log_metric("m", 0.25, step=2)
    got = canvasback.get_run(run.run_id)
    info = got.info
    assert info.run_id == run.run_id
    assert info.run_uuid == run.run_id
    assert info.run_name == "r"
    assert info.experiment_id == "0"
    assert info.status == "FINISHED"
    assert info.lifecycle_stage == "active"
    assert abs(info.start_time - _now_ms()) < 60_000
    assert info.artifact_uri.startswith(str(store))
    assert got.data.metrics == {"m": 0.25}
    assert got.data.params == {"p": "1"}
    assert got.data.tags["t"] == "v"
    assert got.data.tags["mlflow.runName"] == "r"


@pytest.mark.usefixtures("store")
def test_search_runs_mlflow_columns():
    with canvasback.start_run(run_name="a", params={"lr": "0.1"}, tags={"team": "x"}):
        canvasback.log_metric("acc", 0.5)
    frame = canvasback.search_runs()
    for column in ("run_id", "status", "start_time", "metrics.acc", "params.lr", "tags.team"):
        assert column in frame.columns
    assert pd.api.types.is_datetime64_any_dtype(frame["start_time"])
    assert pd.api.types.is_datetime64_any_dtype(frame["end_time"])
    assert frame["params.lr"].tolist() == ["0.1"]
    assert frame["tags.team"].tolist() == ["x"]
    assert frame["metrics.acc"].tolist() == [0.5]
    listed = canvasback.search_runs(output_format="list")
    assert [r.info.run_name for r in listed] == ["a"]
    assert listed[0].data.metrics == {"acc": 0.5}


@pytest.mark.usefixtures("store")
def test_search_runs_order_by_and_max_results():
    ids = {}
    for i, acc in enumerate([0.3, 0.9, 0.6]):
        with canvasback.start_run(run_name=f"r{i}") as run:
            canvasback.log_metric("acc", acc)
        ids[acc] = run.run_id
    frame = canvasback.search_runs(order_by=["metrics.acc DESC"])
    assert list(frame["run_id"]) == [ids[0.9], ids[0.6], ids[0.3]]
    frame = canvasback.search_runs(order_by=["metrics.acc ASC"], max_results=2)
    assert list(frame["run_id"]) == [ids[0.3], ids[0.6]]
    assert canvasback.search_runs(max_results=0).empty


@pytest.mark.usefixtures("store")
def test_sql_views():
    experiment_id = canvasback.create_experiment("sqlexp")
    with canvasback.start_run(experiment_id=experiment_id, run_name="q") as run:
        canvasback.log_param("lr", "0.1")
        canvasback.set_tag("team", "a")
        canvasback.log_metric("loss", 2.0, step=0)
        canvasback.log_metric("loss", 1.0, step=1)
        canvasback.log_text("hello", "notes/readme.txt")
    rid = run.run_id
    assert canvasback.sql(
        "SELECT run_id, run_name, experiment_id, status FROM runs"
    ).fetchall() == [(rid, "q", experiment_id, "FINISHED")]
    assert canvasback.sql("SELECT run_id, key, value FROM params").fetchall() == [
        (rid, "lr", "0.1")
    ]
    assert canvasback.sql("SELECT key, step, value FROM metrics ORDER BY step").fetchall() == [
        ("loss", 0, 2.0),
        ("loss", 1, 1.0),
    ]
    assert canvasback.sql("SELECT key, step, value FROM latest_metrics").fetchall() == [
        ("loss", 1, 1.0)
    ]
    assert ("team", "a") in canvasback.sql(
        "SELECT key, value FROM tags WHERE run_id = ?", [rid]
    ).fetchall()
    names = {r[0] for r in canvasback.sql("SELECT name FROM experiments").fetchall()}
    assert names == {"Default", "sqlexp"}
    assert canvasback.sql("SELECT run_id, path, size FROM artifacts").fetchall() == [
        (rid, "notes/readme.txt", 5)
    ]
    joined = canvasback.sql(
        "SELECT r.run_name, m.value FROM runs r JOIN latest_metrics m USING (run_id) "
        "WHERE m.key = ?",
        ["loss"],
    ).fetchall()
    assert joined == [("q", 1.0)]


@pytest.mark.usefixtures("store")
def test_reads_see_own_writes_without_flush():
    run = canvasback.start_run()
    for step in range(100):
        canvasback.log_metric("m", float(step), step=step)
    assert len(canvasback.get_metric_history(run.run_id, "m")) == 100
    assert canvasback.search_runs()["metrics.m"].tolist() == [99.0]
    canvasback.log_metric("m", 100.0, step=100)
    assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(101,)]


@pytest.mark.usefixtures("store")
def test_nan_and_infinities_round_trip():
    with canvasback.start_run() as run:
        canvasback.log_metric("nan", float("nan"))
        canvasback.log_metric("pinf", float("inf"))
        canvasback.log_metric("ninf", float("-inf"))
    metrics = canvasback.get_run(run.run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["pinf"] == math.inf
    assert metrics["ninf"] == -math.inf
    history = canvasback.get_metric_history(run.run_id, "nan")
    assert math.isnan(history["value"].iloc[0])


# -- Client --------------------------------------------------------------------------------
def test_client_api(tmp_path):
    client = Client(store=tmp_path / "client-store")
    experiment_id = client.create_experiment("cexp")
    experiment = client.get_experiment_by_name("cexp")
    assert experiment is not None
    assert experiment.experiment_id == experiment_id
    assert experiment.name == "cexp"
    assert client.get_experiment_by_name("nope") is None
    with pytest.raises(canvasback.InvalidInputError, match="cexp"):
        client.create_experiment("cexp")

    run = client.create_run(experiment_id, run_name="client-run", tags={"t": "1"})
    assert client.get_run(run.run_id).info.status == "RUNNING"
    t0 = _now_ms()
    client.log_batch(
        run.run_id,
        metrics=[Metric("loss", 1.0 - i / 10, t0 + i, i) for i in range(5)],
        params=[Param("lr", "0.01"), Param("opt", "adam")],
        tags=[RunTag("team", "vision")],
    )
    client.log_metric(run.run_id, "acc", 0.7, step=3)
    client.log_param(run.run_id, "seed", 42)
    client.set_tag(run.run_id, "note", "x")
    src = tmp_path / "weights.bin"
    src.write_bytes(b"\x00\x01weights")
    run.log_artifact(src, "model")
    client.set_terminated(run.run_id)

    got = client.get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "client-run"
    assert got.data.params == {"lr": "0.01", "opt": "adam", "seed": "42"}
    assert got.data.metrics == {"loss": 0.6, "acc": 0.7}
    assert got.data.tags["team"] == "vision"
    assert got.data.tags["note"] == "x"
    assert got.data.tags["t"] == "1"

    history = client.get_metric_history(run.run_id, "loss")
    assert all(isinstance(m, Metric) for m in history)
    assert [(m.step, m.timestamp, m.value) for m in history] == [
        (i, t0 + i, 1.0 - i / 10) for i in range(5)
    ]
    assert history[0].key == "loss"

    found = client.search_runs([experiment_id], "metrics.acc > 0.5")
    assert [r.info.run_id for r in found] == [run.run_id]
    assert found[0].data.params["lr"] == "0.01"
    assert client.search_runs(experiment_id, "metrics.acc > 0.9") == []

    listing = client.list_artifacts(run.run_id)
    assert [(f.path, f.is_dir) for f in listing] == [("model", True)]
    inner = client.list_artifacts(run.run_id, "model")
    assert [(f.path, f.is_dir, f.file_size) for f in inner] == [("model/weights.bin", False, 9)]
    local = client.download_artifacts(run.run_id, "model/weights.bin", str(tmp_path / "out"))
    assert Path(local).read_bytes() == b"\x00\x01weights"


def test_client_set_terminated_with_status(tmp_path):
    client = Client(store=tmp_path / "s")
    run = client.create_run()
    client.set_terminated(run.run_id, "FAILED")
    assert client.get_run(run.run_id).info.status == "FAILED"
    assert client.get_run(run.run_id).info.end_time is not None


def test_two_clients_on_two_stores_stay_separate(tmp_path):
    one = Client(store=tmp_path / "one")
    two = Client(store=tmp_path / "two")
    run_one = one.create_run(run_name="first")
    run_one.log_metric("m", 1.0)
    run_two = two.create_run(run_name="second")
    run_two.log_metric("m", 2.0)
    run_two.log_param("only", "two")
    one.set_terminated(run_one.run_id)
    two.set_terminated(run_two.run_id)

    assert [r.info.run_id for r in one.search_runs()] == [run_one.run_id]
    assert [r.info.run_id for r in two.search_runs()] == [run_two.run_id]
    assert one.get_run(run_one.run_id).data.metrics == {"m": 1.0}
    assert two.get_run(run_two.run_id).data.metrics == {"m": 2.0}
    with pytest.raises(canvasback.RunNotFoundError, match=run_two.run_id):
        one.get_run(run_two.run_id)
    with pytest.raises(canvasback.RunNotFoundError, match=run_one.run_id):
        two.get_run(run_one.run_id)
    assert one.sql("SELECT count(*) FROM params").fetchall() == [(0,)]
    assert two.sql("SELECT count(*) FROM params").fetchall() == [(1,)]
    one_exp = one.create_experiment("same-name")
    two_exp = two.create_experiment("same-name")  # names are per store
    assert one_exp == two_exp == "1"
    assert (tmp_path / "one" / "metrics").is_dir()
    assert (tmp_path / "two" / "metrics").is_dir()


def test_client_and_fluent_share_a_store(store):
    with canvasback.start_run() as run:
        canvasback.log_metric("m", 3.0)
    client = Client(store=store)
    assert client.get_run(run.run_id).data.metrics == {"m": 3.0}
    assert client.store is canvasback.client().store


def test_a_run_given_its_id_keeps_it_its_times_and_user_and_gets_no_other_tags(store):
    client = Client(store=store)
    run_id = "0123456789abcdef0123456789abcdef"
    run = client.create_run(
        None, start_time=1_600_000_000_000, tags={"team": "a"}, run_id=run_id, user_id="ada"
    )
    run.end("FAILED", end_time=1_600_000_005_000)
    got = client.get_run(run_id)
    assert got.info.run_id == run_id
    assert (got.info.start_time, got.info.end_time) == (1_600_000_000_000, 1_600_000_005_000)
    assert (got.info.user_id, got.info.status) == ("ada", "FAILED")
    # A copy of a run recorded elsewhere: its tags are the ones given (and its name's).
    assert set(got.data.tags) == {"team", "mlflow.runName"}
    assert "mlflow.user" in client.get_run(client.create_run(None).info.run_id).data.tags


def test_a_given_run_id_is_checked_and_given_once(store):
    client = Client(store=store)
    for bad in ("", "-leading-dash", "has/slash", "x" * 300, 42):
        with pytest.raises(canvasback.InvalidInputError, match="Invalid run id"):
            client.create_run(None, run_id=bad)
    client.create_run(None, run_id="abc", start_time=1)
    with pytest.raises(canvasback.InvalidInputError, match="'abc' is taken"):
        client.create_run(None, run_id="abc", start_time=1)
    with pytest.raises(canvasback.InvalidInputError, match="'abc' is taken"):
        client.create_run(None, run_id="abc", start_time=2)
    assert client.sql("SELECT count(*) FROM runs").fetchall() == [(1,)]


def test_an_experiment_given_its_id_keeps_it_and_a_taken_id_is_refused(store):
    client = Client(store=store)
    assert client.create_experiment("copied", experiment_id="734582934789234") == "734582934789234"
    assert client.get_experiment("734582934789234").name == "copied"
    for bad in ("734582934789234", "0", "x1", "1" * 20):
        with pytest.raises(canvasback.InvalidInputError, match="Invalid experiment id"):
            client.create_experiment(f"other-{bad}", experiment_id=bad)
    assert client.get_experiment_by_name("other-0") is None
