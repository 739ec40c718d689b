"""MLflow's own API on a canvasback store on object storage: ``canvasback:s3://bucket/prefix``.

A SeaweedFS server stands in for S3 (``tests/conftest.py``). The child process gets the
standard AWS variables, as a user's shell has them, and MLflow finds the plugin by its
entry points (``test_scripts.py`` says how); what MLflow logged is then read with
canvasback's own API from the same bucket.
"""

from __future__ import annotations

import json
import logging

import pytest
from mlflow.entities import RunTag
from mlflow.exceptions import MlflowException

import canvasback
from canvasback._config import S3Address
from canvasback.mlflow_plugin import proxied, uris
from canvasback.mlflow_plugin.artifact_repo import ArtifactRepository
from canvasback.mlflow_plugin.registry_store import RegistryStore
from canvasback.mlflow_plugin.tracking_store import TrackingStore

pytestmark = pytest.mark.slow  # real MLflow in child processes, seconds each


@pytest.fixture
def url(s3_env, s3_bucket, tmp_path, monkeypatch, mlflow_entry_points, mlflow_env):
    """The store MLflow logs into, on the server (the child's MLFLOW_TRACKING_URI names it)."""
    del s3_env
    url = f"s3://{s3_bucket}/team"
    env = mlflow_env(mlflow_entry_points, f"canvasback:{url}")
    for name in ("PYTHONPATH", "MLFLOW_TRACKING_URI", "MLFLOW_DISABLE_TELEMETRY"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # a URI read as a relative folder would land here
    return url


def result(run_python, code: str, *args: object) -> dict:
    """What a script printed last, as JSON."""
    out = run_python(code, *args, timeout=300).stdout.strip().splitlines()
    return json.loads(out[-1])


def test_mlflow_logs_registers_and_loads_a_model_in_a_store_on_object_storage(
    url, run_python, tmp_path
):
    found = result(
        run_python,
        """
        import json, mlflow
        from mlflow import MlflowClient
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        X, y = load_iris(return_X_y=True, as_frame=True)
        model = LogisticRegression(max_iter=300).fit(X, y)
        mlflow.set_experiment("iris")
        with mlflow.start_run(run_name="logistic") as run:
            mlflow.log_params({"max_iter": 300, "solver": "lbfgs"})
            for step in range(3):
                mlflow.log_metric("loss", 1 / (step + 1), step=step)
            mlflow.log_dict({"classes": 3}, "config/classes.json")
            info = mlflow.sklearn.log_model(
                model, name="model", input_example=X.iloc[:3], serialization_format="skops"
            )
        version = mlflow.register_model(info.model_uri, "iris-clf")
        client = MlflowClient()
        client.set_registered_model_alias("iris-clf", "champion", version.version)
        loaded = mlflow.pyfunc.load_model("models:/iris-clf@champion")
        predicted = loaded.predict(X.iloc[:20]).tolist()
        runs = mlflow.search_runs(
            experiment_names=["iris"], filter_string="params.solver = 'lbfgs'"
        )
        fetched = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="config/classes.json"
        )
        print(json.dumps({
            "run": run.info.run_id,
            "artifact_uri": run.info.artifact_uri,
            "repository": type(get_artifact_repository(run.info.artifact_uri)).__module__,
            "same": predicted == model.predict(X.iloc[:20]).tolist(),
            "predicted": predicted,
            "version": version.version,
            "history": [m.value for m in client.get_metric_history(run.info.run_id, "loss")],
            "searched": list(runs["run_id"]),
            "fetched": json.load(open(fetched)),
        }))
        """,
    )
    run_id = found["run"]
    assert found["artifact_uri"] == f"canvasback:{url}/artifacts/{run_id}"
    assert found["repository"] == "canvasback.mlflow_plugin.artifact_repo"
    assert found["same"]
    assert found["version"] == "1"
    assert found["history"] == [1.0, 0.5, 1 / 3]
    assert found["searched"] == [run_id]
    assert found["fetched"] == {"classes": 3}
    assert list((tmp_path / "cwd").iterdir()) == []  # nothing written to a local folder

    cb = canvasback.Client(url)
    run = cb.get_run(run_id)
    assert run.data.params == {"max_iter": "300", "solver": "lbfgs"}
    assert run.data.metrics == {"loss": 1 / 3}
    assert run.info.artifact_uri == f"{url}/artifacts/{run_id}"
    paths = {f.path for f in cb.list_artifacts(run_id, "model")}
    assert {"model/MLmodel", "model/model.skops"} <= paths
    assert cb.get_model_version_by_alias("iris-clf", "champion").run_id == run_id

    # Another process, with no tracking URI: the artifact URI alone finds the store.
    again = result(
        run_python,
        """
        import json, os, sys
        os.environ.pop("MLFLOW_TRACKING_URI")
        import mlflow
        path = mlflow.artifacts.download_artifacts(artifact_uri=sys.argv[1])
        print(json.dumps(json.load(open(path))))
        """,
        f"canvasback:{url}/artifacts/{run_id}/config/classes.json",
    )
    assert again == {"classes": 3}


def test_a_server_proxying_into_a_store_on_object_storage_writes_through_its_runs(
    s3_env, s3_bucket, monkeypatch, tmp_path, caplog
):
    # This process as `mlflow server --artifacts-destination canvasback:s3://<bucket>/team`.
    del s3_env
    store = S3Address(s3_bucket, "team")
    monkeypatch.setenv(proxied.SERVE_ARTIFACTS_ENV_VAR, "true")
    monkeypatch.setenv(proxied.ARTIFACT_ROOT_ENV_VAR, "mlflow-artifacts:/")
    monkeypatch.setenv(proxied.ARTIFACTS_DESTINATION_ENV_VAR, uris.store_uri(store))
    tracking = TrackingStore(uris.store_uri(store), "mlflow-artifacts:/")
    registry = RegistryStore(uris.store_uri(store))
    run = tracking.create_run("0", "me", 0, [RunTag("mlflow.runName", "r")], None)
    run_id = run.info.run_id
    assert run.info.artifact_uri == f"mlflow-artifacts:/artifacts/{run_id}"

    # The server's repository of its destination: the store's own URI, every run's files.
    destination = ArtifactRepository(uris.store_uri(store))
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    destination.log_artifact(str(tmp_path / "MLmodel"), f"artifacts/{run_id}/clf")
    cb = canvasback.Client(store)
    assert cb.sql("SELECT path FROM artifacts WHERE run_id = ?", [run_id]).fetchall() == [
        ("clf/MLmodel",)
    ]
    assert [(f.path, f.is_dir) for f in destination.list_artifacts(f"artifacts/{run_id}")] == [
        (f"artifacts/{run_id}/clf", True)
    ]
    with pytest.raises(MlflowException, match="artifacts are at artifacts/<run_id>/<path>"):
        destination.log_artifact(str(tmp_path / "MLmodel"), "claims")
    version = registry.create_model_version(
        "clf", f"mlflow-artifacts:/artifacts/{run_id}/clf", run_id=run_id
    )
    assert version.source == f"runs:/{run_id}/clf"

    # A prefix with no store is no destination; proxying elsewhere warns of no folder.
    with pytest.raises(MlflowException, match="names no run's artifacts"):
        ArtifactRepository(f"canvasback:s3://{s3_bucket}/elsewhere")
    monkeypatch.setenv(proxied.ARTIFACTS_DESTINATION_ENV_VAR, "./mlartifacts")
    with caplog.at_level(logging.WARNING):
        elsewhere = TrackingStore(uris.store_uri(store), "mlflow-artifacts:/")
    assert (
        elsewhere.get_run(run_id).info.artifact_uri == f"canvasback:{store.url}/artifacts/{run_id}"
    )
    assert caplog.records == []
