"""The model rows on canvasback: log, register, load by alias, search versions (M1-M4),
and evaluate a model on 100,000 rows with its plots (M5)."""

from __future__ import annotations

import time

import pandas as pd
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression

import canvasback as cb
import canvasback.sklearn
import common as c

REPEATS = 20
EVALUATION_ROWS = 100_000


def _model() -> tuple[LogisticRegression, object]:
    x, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=500).fit(x, y), x


def _bulk(client: cb.MlflowClient, source: str, run_id: str, start: int, stop: int) -> float:
    t0 = time.perf_counter()
    for model in range(start, stop):
        for _ in range(c.MODEL_VERSIONS_PER_MODEL):
            client.create_model_version(f"bulk-{model}", source, run_id=run_id)
    return time.perf_counter() - t0


def models_rows(rec: c.Recorder) -> None:
    model, x = _model()
    client = cb.MlflowClient()
    with cb.start_run(run_name="models", live=False) as run:
        canvasback.sklearn.log_model(model, name="warm-up", input_example=x[:5])
        samples, info = rec.repeat(
            lambda i: canvasback.sklearn.log_model(model, name=f"m{i}", input_example=x[:5]),
            REPEATS,
        )
    rec.add("M1", "log_model of a small scikit-learn model", "ms", samples, 1, value=c.millis)
    cb.register_model(info.model_uri, "iris")
    samples, version = rec.repeat(lambda _: cb.register_model(info.model_uri, "iris"), REPEATS)
    rec.add("M2", "register_model", "ms", samples, 1, value=c.millis)
    client.set_registered_model_alias("iris", "champion", version.version)
    cb.load_model("models:/iris@champion")  # warm: the first load imports skops
    samples, loaded = rec.repeat(lambda _: cb.load_model("models:/iris@champion"), REPEATS)
    check = "ok" if (loaded.predict(x) == model.predict(x)).all() else "predictions differ"
    rec.add(
        "M3", "load_model('models:/iris@champion')", "ms", samples, 1, value=c.millis, check=check
    )
    built = 0
    for total in (1_000, 10_000):
        models = total // c.MODEL_VERSIONS_PER_MODEL
        elapsed = _bulk(client, info.model_uri, run.info.run_id, built, models)
        rec.note(f"M4-{total // 1000}k: {total - built * 100:,} versions made in {elapsed:.1f} s")
        built = models
        label = f"search_model_versions over {total:,} versions"
        _search(rec, client, f"M4-{total // 1000}k", label)
    # One file per registration until compaction merges them (as for W4).
    cb.compact(grace_seconds=0)
    _search(rec, client, "M4-10k-compacted", "the same after compact()")


def _search(rec: c.Recorder, client: cb.MlflowClient, row_id: str, label: str) -> None:
    client.search_model_versions(c.M4_FILTER)  # warm
    samples, found = rec.repeat(lambda _: client.search_model_versions(c.M4_FILTER), 5)
    ok = "ok" if len(found) == c.MODEL_VERSIONS_PER_MODEL else f"{len(found)} versions"
    rec.add(row_id, label, "ms", samples, 1, value=c.millis, check=ok)


def _evaluation_data() -> tuple[object, pd.DataFrame, object, pd.DataFrame]:
    columns = [f"f{i}" for i in range(10)]
    x, y = make_classification(n_samples=EVALUATION_ROWS, n_features=10, random_state=0)
    binary = pd.DataFrame(x, columns=columns).assign(label=y)
    classifier = LogisticRegression().fit(binary[columns], y)
    x, y = make_regression(n_samples=EVALUATION_ROWS, n_features=10, noise=5, random_state=0)
    numbers = pd.DataFrame(x, columns=columns).assign(label=y)
    regressor = LinearRegression().fit(numbers[columns], y)
    return classifier, binary, regressor, numbers


def evaluation_rows(rec: c.Recorder) -> None:
    """M5: evaluate on 100,000 rows, every plot drawn and logged (PNG, SVG, JSON)."""
    classifier, binary, regressor, numbers = _evaluation_data()
    # The first evaluation of a process imports Altair and starts vl-convert's engine.
    t0 = time.perf_counter()
    cb.evaluate(classifier, binary.head(1_000), targets="label", model_type="classifier")
    rec.note(
        f"M5: the first evaluate of the process (1,000 rows) took {time.perf_counter() - t0:.2f} s"
    )
    repeats = 3 if rec.quick else 5
    for row_id, model, data, kind in (
        ("M5", classifier, binary, "classifier"),
        ("M5-regressor", regressor, numbers, "regressor"),
    ):
        samples, result = rec.repeat(
            lambda _, m=model, d=data, k=kind: cb.evaluate(m, d, targets="label", model_type=k),
            repeats,
        )
        plots = len(result.charts)
        check = "ok" if result.metrics["example_count"] == EVALUATION_ROWS else "rows differ"
        label = f"evaluate a {kind} on {EVALUATION_ROWS:,} rows, {plots} plots"
        rec.add(row_id, label, "s", samples, 1, value=lambda s: s, check=check)
