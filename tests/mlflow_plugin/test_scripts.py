"""Unchanged MLflow scripts log into a canvasback store, through MLflow's entry points.

Each script runs in a child process (MLflow keeps its tracking URI, active runs and
store registries in globals) with ``MLFLOW_TRACKING_URI=canvasback:///<store>``. MLflow
finds the plugin the way it finds any plugin, by the entry points of the distributions
on ``sys.path``: the child's path holds a ``.dist-info`` folder whose
``entry_points.txt`` is written from ``pyproject.toml``'s table, as an install writes it
(``make setup`` installs canvasback with them). What the scripts logged is then read
with canvasback's own API in this process, and what canvasback logged is read by MLflow.
"""

from __future__ import annotations

import json

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import canvasback
from canvasback.mlflow_plugin import uris

pytestmark = pytest.mark.slow  # real MLflow in child processes, seconds each


@pytest.fixture
def store(tmp_path, monkeypatch, mlflow_entry_points, mlflow_env):
    """A store MLflow logs into: its folder (the child's MLFLOW_TRACKING_URI names it)."""
    path = tmp_path / "store"
    env = mlflow_env(mlflow_entry_points, uris.store_uri(path))
    for name in ("PYTHONPATH", "MLFLOW_TRACKING_URI", "MLFLOW_DISABLE_TELEMETRY"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    return path


def result(run_python, code: str, *args: object) -> dict:
    """What a script printed last, as JSON."""
    out = run_python(code, *args, timeout=300).stdout.strip().splitlines()
    return json.loads(out[-1])


def test_mlflow_finds_the_three_parts_and_canvasback_imports_no_mlflow(store, run_python):
    found = result(
        run_python,
        """
        import json, mlflow
        from mlflow import MlflowClient
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
        client = MlflowClient()
        run = client.create_run("0")
        repo = get_artifact_repository(run.info.artifact_uri)
        print(json.dumps({
            "tracking": type(client._tracking_client.store).__module__,
            "registry": type(client._get_registry_client().store).__module__,
            "artifacts": type(repo).__module__,
            "artifact_uri": run.info.artifact_uri,
        }))
        """,
    )
    assert found == {
        "tracking": "canvasback.mlflow_plugin.tracking_store",
        "registry": "canvasback.mlflow_plugin.registry_store",
        "artifacts": "canvasback.mlflow_plugin.artifact_repo",
        "artifact_uri": found["artifact_uri"],
    }
    assert found["artifact_uri"].startswith(uris.store_uri(store) + "/artifacts/")
    loaded = result(
        run_python,
        """
        import json, sys
        import canvasback
        canvasback.Client(sys.argv[1]).create_run().end()
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "mlflow"
                                or m.startswith("canvasback.mlflow_plugin"))))
        """,
        store,
    )
    assert loaded == []


def test_the_fluent_api_and_mlflow_client_log_runs_canvasback_reads(store, run_python):
    found = result(
        run_python,
        """
        import json, mlflow
        from mlflow import MlflowClient
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.exceptions import MlflowException

        mlflow.set_experiment("fluent")
        with mlflow.start_run(run_name="parent") as parent:
            mlflow.log_params({"lr": 0.01, "layers": 3})
            for step in range(5):
                mlflow.log_metric("loss", 1 / (step + 1), step=step)
            mlflow.log_metrics({"acc": 0.75, "f1": 0.5}, step=4)
            mlflow.set_tags({"team": "vision", "stage": "dev"})
            mlflow.log_dict({"a": 1}, "config/params.json")
            with mlflow.start_run(run_name="child", nested=True) as child:
                mlflow.log_metric("inner", 2.0)

        client = MlflowClient()
        experiment_id = client.create_experiment("by-client", tags={"owner": "me"})
        errors = {}
        try:
            client.create_experiment("by-client")
        except MlflowException as e:
            errors["duplicate"] = e.error_code
        run = client.create_run(experiment_id, run_name="manual", tags={"kind": "batch"})
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("m", float(i), 1000 + i, i) for i in range(3)],
            params=[Param("p", "1")],
            tags=[RunTag("t", "x")],
        )
        try:
            client.log_param(run.info.run_id, "p", "2")
        except MlflowException as e:
            errors["param"] = e.error_code
        try:
            client.get_run("0" * 32)
        except MlflowException as e:
            errors["missing"] = e.error_code
        try:
            client.get_trace("tr-" + "0" * 32)
        except MlflowException as e:
            errors["traces"] = e.message
        traces = list(client.search_traces(locations=[experiment_id]))
        client.set_terminated(run.info.run_id, "KILLED")
        client.rename_experiment(experiment_id, "renamed")
        client.set_experiment_tag(experiment_id, "k", "v")
        history = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "m")]
        names = sorted(e.name for e in client.search_experiments())
        print(json.dumps({
            "parent": parent.info.run_id, "child": child.info.run_id, "manual": run.info.run_id,
            "errors": errors, "history": history, "experiments": names, "traces": traces,
        }))
        """,
    )
    cb = canvasback.Client(store)
    parent = cb.get_run(found["parent"])
    assert (parent.info.run_name, parent.info.status) == ("parent", "FINISHED")
    assert parent.info.experiment_id == cb.get_experiment_by_name("fluent").experiment_id
    assert parent.data.params == {"lr": "0.01", "layers": "3"}
    assert [m.value for m in cb.get_metric_history(found["parent"], "loss")] == [
        1 / (s + 1) for s in range(5)
    ]
    assert parent.data.metrics == {"loss": 0.2, "acc": 0.75, "f1": 0.5}
    assert {"team": "vision", "stage": "dev"}.items() <= parent.data.tags.items()
    assert parent.data.tags["mlflow.user"]
    assert parent.data.tags["mlflow.source.type"] == "LOCAL"
    indexed = cb.sql("SELECT path FROM artifacts WHERE run_id = ?", [found["parent"]]).fetchall()
    assert indexed == [("config/params.json",)]
    child = cb.get_run(found["child"])
    assert child.info.parent_run_id == found["parent"]
    assert child.data.metrics == {"inner": 2.0}

    manual = cb.get_run(found["manual"])
    assert (manual.info.status, manual.data.params) == ("KILLED", {"p": "1"})
    assert {"kind": "batch", "t": "x"}.items() <= manual.data.tags.items()
    assert found["history"] == [[0, 0.0], [1, 1.0], [2, 2.0]]
    renamed = cb.get_experiment(manual.info.experiment_id)
    assert (renamed.name, renamed.tags) == ("renamed", {"owner": "me", "k": "v"})
    assert found["experiments"] == ["Default", "fluent", "renamed"]
    assert found["errors"]["duplicate"] == "RESOURCE_ALREADY_EXISTS"
    assert found["errors"]["param"] == "INVALID_PARAMETER_VALUE"
    assert found["errors"]["missing"] == "RESOURCE_DOES_NOT_EXIST"
    assert found["errors"]["traces"].startswith("get_trace_info is not supported")
    assert found["traces"] == []  # no traces kept: a search of them finds none


def test_a_model_logged_registered_aliased_and_loaded_by_mlflow_is_the_registrys(store, run_python):
    found = result(
        run_python,
        """
        import json, mlflow
        from mlflow import MlflowClient
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        X, y = load_iris(return_X_y=True, as_frame=True)
        model = LogisticRegression(max_iter=300).fit(X, y)
        mlflow.set_experiment("iris")
        with mlflow.start_run() as run:
            info = mlflow.sklearn.log_model(
                model, name="model", input_example=X.iloc[:3], serialization_format="skops"
            )
        version = mlflow.register_model(info.model_uri, "iris-clf")
        client = MlflowClient()
        client.set_registered_model_alias("iris-clf", "champion", version.version)
        loaded = mlflow.pyfunc.load_model("models:/iris-clf@champion")
        predicted = loaded.predict(X.iloc[:20]).tolist()
        logged = client.get_logged_model(info.model_id)
        print(json.dumps({
            "run": run.info.run_id, "model_id": info.model_id, "version": version.version,
            "same": predicted == model.predict(X.iloc[:20]).tolist(),
            "predicted": predicted, "status": str(logged.status),
            "versions_tag": logged.tags.get("mlflow.modelVersions"),
            "by_alias": client.get_model_version_by_alias("iris-clf", "champion").version,
            "outputs": [o.model_id for o in client.get_run(run.info.run_id).outputs.model_outputs],
        }))
        """,
    )
    assert found["same"]
    assert found["status"] == "READY"
    assert found["by_alias"] == found["version"] == "1"
    assert found["outputs"] == [found["model_id"]]
    assert json.loads(found["versions_tag"]) == [{"name": "iris-clf", "version": "1"}]

    cb = canvasback.Client(store)
    version = cb.get_model_version_by_alias("iris-clf", "champion")
    assert (version.version, version.run_id) == ("1", found["run"])
    assert version.source == f"runs:/{found['run']}/model"
    assert [m.to_version for m in cb.get_alias_history("iris-clf", "champion")] == ["1"]
    folders = cb.sql("SELECT path FROM artifacts WHERE path LIKE '%MLmodel'").fetchall()
    assert folders == [("model/MLmodel",)]
    features = load_iris(return_X_y=True, as_frame=True)[0].iloc[:20]
    canvasback.set_store(store)
    for uri in ("models:/iris-clf@champion", f"models:/{found['model_id']}"):
        loaded = canvasback.load_model(uri)  # canvasback's loader, skops audited
        assert loaded.predict(features).tolist() == found["predicted"]


def test_sklearn_autolog_logs_a_fit_into_the_store(store, run_python):
    found = result(
        run_python,
        """
        import json, mlflow
        from sklearn.datasets import load_iris
        from sklearn.tree import DecisionTreeClassifier

        X, y = load_iris(return_X_y=True, as_frame=True)
        mlflow.set_experiment("auto")
        mlflow.sklearn.autolog()
        with mlflow.start_run() as run:
            DecisionTreeClassifier(max_depth=3).fit(X, y)
        print(json.dumps({"run": run.info.run_id}))
        """,
    )
    cb = canvasback.Client(store)
    run = cb.get_run(found["run"])
    assert run.data.params["max_depth"] == "3"
    assert run.data.params["criterion"] == "gini"
    assert 0.9 < run.data.metrics["training_accuracy_score"] <= 1.0
    assert run.data.tags["estimator_name"] == "DecisionTreeClassifier"
    paths = {
        p
        for (p,) in cb.sql("SELECT path FROM artifacts WHERE run_id = ?", [found["run"]]).fetchall()
    }
    assert {"model/MLmodel", "estimator.html", "training_confusion_matrix.png"} <= paths
    datasets = cb.sql("SELECT context FROM datasets WHERE run_id = ?", [found["run"]]).fetchall()
    assert datasets == [("train",)]


def test_lightgbm_autolog_logs_params_each_iterations_metrics_and_the_model(store, run_python):
    found = result(
        run_python,
        """
        import json, mlflow
        import lightgbm as lgb
        from sklearn.datasets import load_iris

        X, y = load_iris(return_X_y=True, as_frame=True)
        mlflow.set_experiment("boosted")
        mlflow.lightgbm.autolog()
        train = lgb.Dataset(X.iloc[::2], y.iloc[::2])
        valid = lgb.Dataset(X.iloc[1::2], y.iloc[1::2], reference=train)
        params = {"objective": "multiclass", "num_class": 3, "learning_rate": 0.2,
                  "num_leaves": 7, "verbose": -1}
        history = {}
        with mlflow.start_run() as run:
            booster = lgb.train(params, train, num_boost_round=8, valid_sets=[valid],
                                valid_names=["valid"],
                                callbacks=[lgb.record_evaluation(history)])
        print(json.dumps({
            "run": run.info.run_id, "model_id": mlflow.last_logged_model().model_id,
            "losses": history["valid"]["multi_logloss"],
            "predicted": booster.predict(X.iloc[:5]).tolist(),
        }))
        """,
    )
    cb = canvasback.Client(store)
    run = cb.get_run(found["run"])
    assert run.info.experiment_id == cb.get_experiment_by_name("boosted").experiment_id
    assert {"learning_rate": "0.2", "num_leaves": "7", "num_boost_round": "8"}.items() <= (
        run.data.params.items()
    )
    history = cb.get_metric_history(found["run"], "valid-multi_logloss")
    assert [m.step for m in history] == list(range(8))  # one point per boosting round
    assert [m.value for m in history] == found["losses"]
    paths = {
        p
        for (p,) in cb.sql("SELECT path FROM artifacts WHERE run_id = ?", [found["run"]]).fetchall()
    }
    assert {"model/MLmodel", "model/model.lgb", "feature_importance_gain.json"} <= paths
    folder = cb.locate_model(f"models:/{found['model_id']}").path
    assert "lightgbm" in (folder / "MLmodel").read_text()
    # MLflow loads it back from the store (its lightgbm flavor; canvasback loads sklearn's).
    loaded = result(
        run_python,
        """
        import json, sys, mlflow
        from sklearn.datasets import load_iris
        X = load_iris(return_X_y=True, as_frame=True)[0]
        booster = mlflow.lightgbm.load_model(f"models:/{sys.argv[1]}")
        print(json.dumps(booster.predict(X.iloc[:5]).tolist()))
        """,
        found["model_id"],
    )
    assert loaded == found["predicted"]


FILTERS = [
    "metrics.score > 4",
    "params.group = 'a' and metrics.score <= 7",
    "tags.origin = 'mlflow'",
    "tags.kind != 'odd'",
    "attributes.status = 'FINISHED'",
    "params.group IN ('b', 'c') and tags.origin = 'canvasback'",
]


def test_runs_of_either_api_are_one_table_mlflows_search_is_canvasbacks(store, run_python):
    cb = canvasback.Client(store)
    experiment_id = cb.create_experiment("shared")
    for i in range(12):  # canvasback's own runs, before MLflow's
        with cb.create_run(experiment_id, run_name=f"cb-{i}", tags={"origin": "canvasback"}) as run:
            run.log_params({"group": "abc"[i % 3]})
            run.log_metric("score", float(i))
            run.set_tag("kind", "odd" if i % 2 else "even")
    cb.flush()
    found = result(
        run_python,
        f"""
        import json, mlflow
        from mlflow import MlflowClient
        filters = {FILTERS!r}
        mlflow.set_experiment("shared")
        for i in range(12, 23):
            with mlflow.start_run(run_name=f"ml-{{i}}"):
                mlflow.log_param("group", "abc"[i % 3])
                mlflow.log_metric("score", float(i))
                mlflow.set_tags({{"origin": "mlflow", "kind": "odd" if i % 2 else "even"}})
        frames = {{
            f: list(mlflow.search_runs(filter_string=f, order_by=["metrics.score DESC"])["run_id"])
            for f in filters
        }}
        client, seen, token, sizes = MlflowClient(), [], None, []
        experiment_id = mlflow.get_experiment_by_name("shared").experiment_id
        while True:
            page = client.search_runs([experiment_id], max_results=5, page_token=token,
                                      order_by=["attributes.start_time ASC"])
            seen += [r.info.run_id for r in page]
            sizes.append(len(page))
            token = page.token
            if not token:
                break
        runs = client.search_runs([experiment_id])
        names = {{r.info.run_name: r.data.params["group"] for r in runs}}
        print(json.dumps({{"frames": frames, "seen": seen, "sizes": sizes, "names": names}}))
        """,
    )
    every = list(
        cb.search_runs_frame([experiment_id], order_by=["attributes.start_time ASC"])["run_id"]
    )
    assert len(every) == 23
    assert found["seen"] == every  # every run of both APIs exactly once, in one order
    assert found["sizes"] == [5, 5, 5, 5, 3]
    assert found["names"] == {
        **{f"cb-{i}": "abc"[i % 3] for i in range(12)},
        **{f"ml-{i}": "abc"[i % 3] for i in range(12, 23)},
    }
    canvasback.set_store(store)
    for filter_string, ids in found["frames"].items():
        mine = canvasback.search_runs(
            experiment_ids=[experiment_id],
            filter_string=filter_string,
            order_by=["metrics.score DESC"],
        )
        assert ids == list(mine["run_id"]), filter_string
        assert ids, filter_string  # each filter matches something
    origins = cb.search_runs_frame([experiment_id], filter_string="tags.origin = 'mlflow'")
    assert sorted(origins["tags.mlflow.runName"]) == sorted(f"ml-{i}" for i in range(12, 23))


def test_mlflows_server_answers_its_pages_calls_from_what_canvasback_logged(store, run_python):
    """The API calls of the UI's experiment, run and model pages, on MLflow's own server
    handlers (Flask's test client: no server process, no browser)."""
    features, labels = load_iris(return_X_y=True, as_frame=True)
    canvasback.set_store(store)
    canvasback.set_experiment("served")
    with canvasback.start_run(run_name="trained", live=False) as run:
        canvasback.log_params({"C": 0.5})
        for step in range(3):
            canvasback.log_metric("loss", 1.0 / (step + 1), step=step)
        model = LogisticRegression(max_iter=300).fit(features, labels)
        info = canvasback.sklearn.log_model(model, name="model", registered_model_name="served")
    canvasback.MlflowClient().set_registered_model_alias("served", "prod", 1)
    canvasback.flush()
    experiment_id = run.info.experiment_id
    found = result(
        run_python,
        """
        import json, os, sys
        os.environ["_MLFLOW_SERVER_FILE_STORE"] = os.environ["MLFLOW_TRACKING_URI"]
        os.environ["_MLFLOW_SERVER_SERVE_ARTIFACTS"] = "false"
        from mlflow.server import app
        client, experiment_id, run_id = app.test_client(), sys.argv[1], sys.argv[2]
        def call(url, body=None):
            answer = client.open(url, method="POST" if body else "GET", json=body)
            assert answer.status_code == 200, (url, answer.get_data(as_text=True))
            return answer.get_json() if answer.is_json else answer.get_data(as_text=True)
        api = "/ajax-api/2.0/mlflow"
        out = {
            "experiments": call(f"{api}/experiments/search", {"max_results": 10}),
            "runs": call(f"{api}/runs/search", {"experiment_ids": [experiment_id]}),
            "run": call(f"{api}/runs/get?run_id={run_id}"),
            "history": call(f"{api}/metrics/get-history?run_id={run_id}&metric_key=loss"),
            "artifacts": call(f"{api}/artifacts/list?run_id={run_id}&path=model"),
            "mlmodel": call(f"/get-artifact?path=model/MLmodel&run_uuid={run_id}"),
            "models": call(f"{api}/logged-models/search", {"experiment_ids": [experiment_id]}),
            "registered": call(f"{api}/registered-models/get?name=served"),
            "versions": call(f"{api}/model-versions/search?filter=name%3D%27served%27"),
        }
        print(json.dumps(out))
        """,
        experiment_id,
        run.info.run_id,
    )
    assert [e["name"] for e in found["experiments"]["experiments"]] == ["served", "Default"]
    (listed,) = found["runs"]["runs"]
    assert listed["info"]["run_id"] == run.info.run_id
    assert listed["info"]["run_name"] == "trained"
    assert {p["key"]: p["value"] for p in listed["data"]["params"]} == {"C": "0.5"}
    latest = {m["key"]: (m["value"], m["step"]) for m in found["run"]["run"]["data"]["metrics"]}
    assert latest == {"loss": (1 / 3, 2)}
    assert [m["step"] for m in found["history"]["metrics"]] == [0, 1, 2]
    assert {f["path"] for f in found["artifacts"]["files"]} >= {"model/MLmodel"}
    assert "sklearn" in found["mlmodel"]
    (logged,) = found["models"]["models"]
    assert logged["info"]["model_id"] == info.model_id
    assert logged["info"]["source_run_id"] == run.info.run_id
    registered = found["registered"]["registered_model"]
    assert registered["aliases"] == [{"alias": "prod", "version": "1"}]
    (version,) = found["versions"]["model_versions"]
    assert (version["version"], version["source"]) == ("1", f"runs:/{run.info.run_id}/model")
