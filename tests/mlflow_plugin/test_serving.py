"""``mlflow models serve`` serves a model of a canvasback store by its alias.

MLflow logs and registers two versions of a model into a canvasback store (a child
script, as a user's), the alias ``champion`` on the first; ``mlflow models serve -m
models:/<name>@champion --env-manager local`` is started on a free port of 127.0.0.1
with ``MLFLOW_TRACKING_URI=canvasback:///<store>``, and rows posted to ``/invocations``
come back predicted as the champion predicts them, not as the latest version does.
"""

from __future__ import annotations

import json
import sys
import urllib.request

import pytest
from sklearn.datasets import load_iris

import canvasback
from canvasback.mlflow_plugin import uris

pytestmark = pytest.mark.slow  # MLflow in child processes, its scoring server among them

LOG_TWO_VERSIONS = """
import json, mlflow
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

X, y = load_iris(return_X_y=True, as_frame=True)
rows = X.iloc[::10]
champion = LogisticRegression(max_iter=300).fit(X, y)
challenger = DummyClassifier(strategy="constant", constant=1).fit(X, y)
for model in (champion, challenger):
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=X.iloc[:3], pip_requirements=["scikit-learn"]
        )
    mlflow.register_model(info.model_uri, "iris")
MlflowClient().set_registered_model_alias("iris", "champion", "1")
print(json.dumps({
    "champion": champion.predict(rows).tolist(),
    "challenger": challenger.predict(rows).tolist(),
}))
"""


def test_models_serve_answers_invocations_with_the_champions_predictions(
    tmp_path, run_python, mlflow_entry_points, mlflow_env, server_helpers, monkeypatch
):
    store = tmp_path / "store"
    env = mlflow_env(mlflow_entry_points, uris.store_uri(store))
    for name in ("PYTHONPATH", "MLFLOW_TRACKING_URI", "MLFLOW_DISABLE_TELEMETRY"):
        monkeypatch.setenv(name, env[name])
    logged = json.loads(run_python(LOG_TWO_VERSIONS, timeout=300).stdout.strip().splitlines()[-1])
    assert logged["champion"] != logged["challenger"]  # the test tells them apart

    free_port, running_server = server_helpers
    port = free_port()
    args = [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/iris@champion"]
    args += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    url = f"http://127.0.0.1:{port}"
    features = load_iris(return_X_y=True, as_frame=True)[0]
    rows = features.iloc[::10]
    body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    with running_server(args, f"{url}/ping", env=env, cwd=tmp_path):
        request = urllib.request.Request(  # noqa: S310 - a loopback URL we built
            f"{url}/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            served = json.loads(answer.read())["predictions"]
    assert served == logged["champion"]
    canvasback.set_store(store)
    mine = canvasback.load_model("models:/iris@champion", trusted=True)  # MLflow pickled it
    assert mine.predict(rows).tolist() == served
