"""The model rows (M1-M4) on MLflow: log, register, load by alias, search versions.

MLflow's sklearn ``log_model`` infers requirements in a subprocess (seconds a call), so
it gets fewer repeats; M4 is measured at 1,000 versions only, made through the API.
"""

from __future__ import annotations

import os
import time

import mlflow
import mlflow.sklearn
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import common as c

REPEATS = 5


def models_rows(rec: c.Recorder) -> None:
    # MLflow 3.17 loads even skops models only with this set.
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    client = MlflowClient()
    mlflow.set_experiment("models")
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, name="warm-up", input_example=x[:5])
        samples, info = rec.repeat(
            lambda i: mlflow.sklearn.log_model(model, name=f"m{i}", input_example=x[:5]),
            REPEATS,
        )
    rec.add("M1", "log_model of a small scikit-learn model", "ms", samples, 1, value=c.millis)
    mlflow.register_model(info.model_uri, "iris")
    samples, version = rec.repeat(
        lambda _: mlflow.register_model(info.model_uri, "iris"), REPEATS * 2
    )
    rec.add("M2", "register_model", "ms", samples, 1, value=c.millis)
    client.set_registered_model_alias("iris", "champion", version.version)
    mlflow.pyfunc.load_model("models:/iris@champion")
    samples, loaded = rec.repeat(
        lambda _: mlflow.pyfunc.load_model("models:/iris@champion"), REPEATS * 2
    )
    check = "ok" if (loaded.predict(x) == model.predict(x)).all() else "predictions differ"
    rec.add(
        "M3", "load_model('models:/iris@champion')", "ms", samples, 1, value=c.millis, check=check
    )
    t0 = time.perf_counter()
    for m in range(1_000 // c.MODEL_VERSIONS_PER_MODEL):
        client.create_registered_model(f"bulk-{m}")  # MLflow's client needs it first
        for _ in range(c.MODEL_VERSIONS_PER_MODEL):
            client.create_model_version(f"bulk-{m}", info.model_uri, run_id=run.info.run_id)
    rec.note(f"M4-1k: 1,000 versions made in {time.perf_counter() - t0:.1f} s; 10k skipped")
    client.search_model_versions(c.M4_FILTER)  # warm
    samples, found = rec.repeat(lambda _: client.search_model_versions(c.M4_FILTER), 5)
    ok = "ok" if len(found) == c.MODEL_VERSIONS_PER_MODEL else f"{len(found)} versions"
    rec.add(
        "M4-1k",
        "search_model_versions over 1,000 versions",
        "ms",
        samples,
        1,
        value=c.millis,
        check=ok,
    )
