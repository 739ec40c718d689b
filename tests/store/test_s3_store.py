"""The whole store on S3-compatible object storage: every way to name it, the fluent API.

A SeaweedFS server (``conftest.py``) stands in for S3; the store strings are the ones a
user writes (``s3://bucket/prefix``), and the endpoint and keys come from the standard
AWS variables, as on a user's machine.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

import canvasback as cb
from canvasback._config import S3Address
from canvasback.projects import environment
from canvasback.store import open_store
from canvasback.store.fs.write_probe import ConditionalWriteError
from canvasback.store.write import spill
from canvasback.store.write.arrow_rows import rows_to_table
from canvasback.tracking.client import Client


@pytest.fixture
def url(s3_env, s3_bucket):
    """A store on the test server, as a user names it."""
    del s3_env
    return f"s3://{s3_bucket}/team"


@pytest.mark.parametrize("way", ["set_store", "set_tracking_uri", "CANVASBACK_STORE"])
def test_every_way_to_name_it_opens_the_store_on_object_storage(url, way, monkeypatch):
    if way == "CANVASBACK_STORE":
        monkeypatch.setenv("CANVASBACK_STORE", url)
    else:
        getattr(cb, way)(url)
    with cb.start_run() as run:
        cb.log_param("lr", 0.1)
        cb.log_metric("loss", 0.5, step=1)
    assert cb.get_store() == S3Address(url.removeprefix("s3://").split("/")[0], "team")
    assert cb.get_tracking_uri() == url
    got = Client(url).get_run(run.info.run_id)
    assert got.data.params == {"lr": "0.1"}
    assert got.data.metrics == {"loss": 0.5}
    assert got.info.artifact_uri == f"{url}/artifacts/{run.info.run_id}"
    store = open_store(cb.get_store())
    assert store.fs.url == url
    assert store.fs.names("runs") == ["exp=0"]  # the same layout as a folder's


def test_the_probe_verdict_is_checked_when_the_store_opens(url, seaweedfs, s3_proxy, monkeypatch):
    proxy = s3_proxy(strip=True, resign=(seaweedfs.access_key, seaweedfs.secret_key))
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)  # a way in that drops If-None-Match
    with pytest.raises(ConditionalWriteError, match=r"refused for use by several writers"):
        cb.set_store(url)
    assert not any(method == "PUT" and "/runs/" in path for method, path, _ in proxy.requests)
    monkeypatch.setenv("CANVASBACK_S3_SINGLE_WRITER", "1")  # one writer may use it
    cb.set_store(url)
    with cb.start_run() as run:
        cb.log_metric("loss", 0.25)
    assert Client(url).get_run(run.info.run_id).data.metrics == {"loss": 0.25}


def test_the_whole_fluent_flow_runs_on_object_storage(url, tmp_path):
    import numpy as np  # noqa: PLC0415  # the model's libraries, for this test only
    from sklearn.datasets import load_iris  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    import canvasback.sklearn  # noqa: PLC0415

    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    cb.set_store(url)
    cb.set_experiment("iris")
    notes = tmp_path / "notes.txt"
    notes.write_text("first try")
    with cb.start_run(run_name="logistic") as run:
        cb.log_param("max_iter", 500)
        cb.log_params({"solver": "lbfgs", "penalty": "l2"})
        for step in range(50):
            cb.log_metric("loss", 1 / (step + 1), step=step)
        cb.log_metrics({"acc": 0.9, "f1": 0.8}, step=49)
        cb.set_tag("team", "vision")
        cb.log_artifact(notes, "docs")
        cb.log_dict({"classes": 3}, "meta/classes.json")
        info = canvasback.sklearn.log_model(model, name="model", input_example=x[:5])
    with cb.start_run(run_name="baseline") as other:
        cb.log_metric("acc", 0.5)
    run_id = run.info.run_id

    found = cb.search_runs(filter_string="metrics.acc > 0.7 and tags.team = 'vision'")
    assert found["run_id"].tolist() == [run_id]
    assert found["params.solver"].tolist() == ["lbfgs"]
    assert found["artifact_uri"].tolist() == [f"{url}/artifacts/{run_id}"]
    ordered = cb.search_runs(order_by=["metrics.acc DESC"])
    assert ordered["run_id"].tolist() == [run_id, other.info.run_id]
    client = cb.client()
    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == list(range(50))
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert got.data.tags["team"] == "vision"
    assert cb.sql("SELECT count(*) FROM metrics WHERE key = 'loss'").fetchall() == [(50,)]
    assert cb.sql("SELECT run_name FROM runs ORDER BY run_name").fetchall() == [
        ("baseline",),
        ("logistic",),
    ]

    listed = {f.path for f in client.list_artifacts(run_id)}
    assert {"docs", "meta", "model"} <= listed
    docs = cb.artifacts.download_artifacts(run_id=run_id, artifact_path="docs")
    assert (Path(docs) / "notes.txt").read_text() == "first try"
    copied = cb.artifacts.download_artifacts(
        artifact_uri=f"{url}/artifacts/{run_id}/meta/classes.json", dst_path=str(tmp_path / "d")
    )
    assert json.loads(Path(copied).read_text()) == {"classes": 3}

    version = cb.register_model(info.model_uri, "iris")
    again = cb.register_model(f"runs:/{run_id}/model", "iris")
    assert (version.version, again.version) == ("1", "2")
    client.set_registered_model_alias("iris", "champion", "1")
    expected = model.predict(x)
    for uri in (info.model_uri, f"runs:/{run_id}/model", "models:/iris/2", "models:/iris@champion"):
        np.testing.assert_array_equal(cb.load_model(uri).predict(x), expected)
    assert client.get_model_version_by_alias("iris", "champion").version == "1"
    assert not (tmp_path / "s3:").exists()


def test_captured_files_are_stored_once_on_object_storage(url, tmp_path):
    cb.set_store(url)
    ids = []
    for _ in range(3):
        with cb.start_run(capture=["packages"]) as run:
            pass
        ids.append(run.info.run_id)
    cb.flush()  # the index rows are written by the background flush
    packages, digest = environment.requirements()
    store = open_store(cb.get_store())
    assert store.fs.names("blobs/sha256") == [digest]
    assert store.fs.names("artifacts") == ["exp=0"]  # the index alone: no run has a copy
    client = cb.client()
    for run_id in ids:
        assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "environment")] == [
            ("environment/requirements.txt", len(packages))
        ]
        one = client.download_artifacts(run_id, "environment/requirements.txt")
        assert Path(one).read_bytes() == packages
        whole = Path(client.download_artifacts(run_id, "", str(tmp_path / run_id)))
        assert (whole / "environment" / "requirements.txt").read_bytes() == packages


def _work_in_fork(conn) -> None:
    cb.log_metric("in_fork", 1.0)  # to the run it inherited: kept when it ends
    try:
        cb.search_runs()
        conn.send("no error")
    except Exception as exc:  # noqa: BLE001  # sent to the test, which says what it wanted
        conn.send(f"{type(exc).__name__}: {exc}")


def test_a_forked_worker_is_told_to_spawn_rather_than_left_hanging(url):
    cb.set_store(url)
    run = cb.start_run()
    cb.log_metric("loss", 1.0)
    cb.search_runs()  # the client has run in this process
    ctx = multiprocessing.get_context("fork")
    mine, theirs = ctx.Pipe()
    worker = ctx.Process(target=_work_in_fork, args=(theirs,))
    worker.start()
    assert mine.poll(120), "the forked worker neither answered nor failed"
    message = mine.recv()
    worker.join(60)
    assert message.startswith("ForkedStoreError")
    assert "'spawn'" in message
    assert url in message
    # What it logged was kept in the spill folder, and is written from here.
    assert spill.pending(url)
    report = spill.replay(run.store.fs, rows_to_table)
    assert report.written_rows == 1
    assert [m.value for m in cb.client().get_metric_history(run.info.run_id, "in_fork")] == [1.0]
    cb.end_run()
