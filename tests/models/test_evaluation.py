"""evaluate on real scikit-learn models and a real store: MLflow's metrics, computed as
scikit-learn computes them, logged on a run with the data as its input; the plots as
valid PNG, SVG and Vega-Lite JSON artifacts; a registered version evaluated by its
models:/ URI carries the result."""

from __future__ import annotations

import base64
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn import metrics as sk
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression

import canvasback as cb
import canvasback.sklearn
from canvasback.models import evaluation

pytestmark = pytest.mark.usefixtures("store")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}svg"


@pytest.fixture(scope="module")
def binary():
    x, y = make_classification(n_samples=600, n_features=5, random_state=0, flip_y=0.1)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)]).assign(label=y)
    model = LogisticRegression().fit(frame.drop(columns="label"), frame["label"])
    return frame, model


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True, as_frame=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = RandomForestClassifier(n_estimators=10, max_depth=2, random_state=0).fit(x, names)
    return x.assign(species=names), model


def artifact_bytes(run_id: str, name: str) -> bytes:
    return Path(cb.artifacts.download_artifacts(run_id=run_id, artifact_path=name)).read_bytes()


def test_a_binary_classifier_gets_mlflows_metrics_as_scikit_learn_computes_them(binary):
    frame, model = binary
    x, y = frame.drop(columns="label"), frame["label"]
    result = cb.evaluate(model, frame, targets="label", model_type="classifier", plots=[])

    pred, proba = model.predict(x), model.predict_proba(x)[:, 1]
    tn, fp, fn, tp = sk.confusion_matrix(y, pred).ravel()
    expected = {
        "example_count": len(y),
        "accuracy_score": sk.accuracy_score(y, pred),
        "precision_score": sk.precision_score(y, pred),
        "recall_score": sk.recall_score(y, pred),
        "f1_score": sk.f1_score(y, pred),
        "log_loss": sk.log_loss(y, model.predict_proba(x)),
        "roc_auc": sk.roc_auc_score(y, proba),
        "precision_recall_auc": sk.average_precision_score(y, proba),
        "true_negatives": tn,
        "false_positives": fp,
        "false_negatives": fn,
        "true_positives": tp,
        "score": model.score(x, y),
    }
    assert result.metrics == pytest.approx(expected, rel=1e-12)
    # On a new run, ended: the metrics as logged, the data as the run's input.
    run = cb.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics == pytest.approx(expected, rel=1e-12)
    assert cb.active_run() is None
    inputs = cb.sql("SELECT digest, context FROM datasets WHERE run_id = ?", [result.run_id])
    digest = cb.data.from_pandas(frame, targets="label").digest
    assert inputs.fetchall() == [(digest, "")]  # no context, as MLflow without a prefix


def test_a_multiclass_classifier_averages_and_tables_per_class(iris):
    frame, model = iris
    x, y = frame.drop(columns="species"), frame["species"]
    result = cb.evaluate(model, frame, targets="species", model_type="classifier", plots=[])

    pred, proba = model.predict(x), model.predict_proba(x)
    for name, fn in (("precision_score", sk.precision_score), ("recall_score", sk.recall_score)):
        assert result.metrics[name] == pytest.approx(fn(y, pred, average="weighted"))
    assert result.metrics["f1_score"] == pytest.approx(sk.f1_score(y, pred, average="weighted"))
    assert result.metrics["roc_auc"] == pytest.approx(
        sk.roc_auc_score(y, proba, multi_class="ovr", average="weighted")
    )
    assert result.metrics["log_loss"] == pytest.approx(sk.log_loss(y, proba))
    assert "true_positives" not in result.metrics  # per class, in the table
    table = pd.read_csv(io.BytesIO(artifact_bytes(result.run_id, "per_class_metrics.csv")))
    assert list(table["positive_class"]) == list(model.classes_)
    precision, recall, f1, _ = sk.precision_recall_fscore_support(y, pred, labels=model.classes_)
    np.testing.assert_allclose(table["precision_score"], precision)
    np.testing.assert_allclose(table["recall_score"], recall)
    np.testing.assert_allclose(table["f1_score"], f1)
    for i, cls in enumerate(model.classes_):
        truth = (y == cls).to_numpy()
        row = table.iloc[i]
        assert row["roc_auc"] == pytest.approx(sk.roc_auc_score(truth, proba[:, i]))
        assert row["precision_recall_auc"] == pytest.approx(
            sk.average_precision_score(truth, proba[:, i])
        )
        assert row["true_positives"] == ((pred == cls) & truth).sum()
        assert row["accuracy_score"] == pytest.approx(((pred == cls) == truth).mean())
    assert result.artifacts["per_class_metrics"].content.equals(table)


def test_a_regressor_gets_mlflows_metrics():
    x, y = make_regression(n_samples=400, n_features=4, noise=10, random_state=0)
    y = y + 500  # away from zero: a percentage error that means something
    model = LinearRegression().fit(x, y)
    result = cb.evaluate(model, x, targets=y, model_type="regressor", plots=[])
    pred = model.predict(x)
    expected = {
        "example_count": len(y),
        "mean_absolute_error": sk.mean_absolute_error(y, pred),
        "mean_squared_error": sk.mean_squared_error(y, pred),
        "root_mean_squared_error": sk.root_mean_squared_error(y, pred),
        "sum_on_target": y.sum(),
        "mean_on_target": y.mean(),
        "r2_score": sk.r2_score(y, pred),
        "max_error": sk.max_error(y, pred),
        "mean_absolute_percentage_error": sk.mean_absolute_percentage_error(y, pred),
        "score": model.score(x, y),
    }
    assert result.metrics == pytest.approx(expected, rel=1e-12)
    assert cb.get_run(result.run_id).data.metrics == pytest.approx(expected, rel=1e-12)


def test_sample_weights_and_pos_label_reach_every_metric(binary):
    frame, model = binary
    x, y = frame.drop(columns="label"), frame["label"]
    weights = np.linspace(0.5, 2.0, len(frame))
    config = {"sample_weights": weights, "pos_label": 0}
    result = cb.evaluate(
        model, frame, targets="label", model_type="classifier", evaluator_config=config, plots=[]
    )
    pred, proba = model.predict(x), model.predict_proba(x)
    assert result.metrics["precision_score"] == pytest.approx(
        sk.precision_score(y, pred, pos_label=0, sample_weight=weights)
    )
    assert result.metrics["recall_score"] == pytest.approx(
        sk.recall_score(y, pred, pos_label=0, sample_weight=weights)
    )
    assert result.metrics["roc_auc"] == pytest.approx(
        sk.roc_auc_score(y == 0, proba[:, 0], sample_weight=weights)
    )
    assert result.metrics["score"] == pytest.approx(model.score(x, y, sample_weight=weights))
    # Class 0 positive: its correct predictions are the true positives.
    assert result.metrics["true_positives"] == ((pred == 0) & (y == 0)).sum()


def test_the_plots_are_valid_png_svg_and_json_artifacts_of_the_run(iris):
    frame, model = iris
    result = cb.evaluate(model, frame, targets="species", model_type="classifier")
    names = {
        "confusion_matrix",
        "roc_curve_plot",
        "precision_recall_curve_plot",
        "calibration_curve_plot",
        "feature_importance_plot",
    }
    assert set(result.charts) == names
    listed = {f.path for f in cb.artifacts.list_artifacts(run_id=result.run_id)}
    for name in names:
        assert {f"{name}.png", f"{name}.svg", f"{name}.json"} <= listed
        png = artifact_bytes(result.run_id, f"{name}.png")
        assert png.startswith(PNG_MAGIC)
        with Image.open(io.BytesIO(png)) as image:
            image.verify()
            assert min(image.size) > 100
        svg = ET.fromstring(artifact_bytes(result.run_id, f"{name}.svg"))  # noqa: S314 - ours
        assert svg.tag == SVG
        spec = json.loads(artifact_bytes(result.run_id, f"{name}.json"))
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        assert result.artifacts[name].uri == f"runs:/{result.run_id}/{name}.png"
        assert result.artifacts[name].png == png
    roc = json.loads(artifact_bytes(result.run_id, "roc_curve_plot.json"))["datasets"]["roc"]
    proba = model.predict_proba(frame.drop(columns="species"))
    legend = {
        f"label={c}, AUC={sk.roc_auc_score(frame['species'] == c, proba[:, i]):.3f}"
        for i, c in enumerate(model.classes_)
    }
    assert {row["curve"] for row in roc} == legend
    confusion = json.loads(artifact_bytes(result.run_id, "confusion_matrix.json"))
    cells = pd.DataFrame(confusion["datasets"]["confusion_matrix"])
    counts = sk.confusion_matrix(frame["species"], model.predict(frame.drop(columns="species")))
    assert cells["count"].tolist() == counts.reshape(-1).tolist()
    importance = json.loads(artifact_bytes(result.run_id, "feature_importance_plot.json"))
    drawn = {r["feature"]: r["importance"] for r in importance["datasets"]["feature_importance"]}
    assert drawn == pytest.approx(
        dict(zip(model.feature_names_in_, model.feature_importances_, strict=True))
    )
    html = result._repr_html_()
    images = re.findall(r'<img alt="(\w+)"[^>]* src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert {name for name, _ in images} == names
    for name, data in images:
        assert base64.b64decode(data).decode() == result.artifacts[name].svg
    assert "<svg" not in html
    assert "<td>accuracy_score</td>" in html


def test_evaluate_logs_on_the_active_run_and_leaves_it_open(binary):
    frame, model = binary
    with cb.start_run(live=False) as run:
        cb.log_param("model", "logreg")
        config = {"metric_prefix": "test_"}
        result = cb.evaluate(
            model,
            frame,
            targets="label",
            model_type="classifier",
            evaluator_config=config,
            plots=["roc"],
        )
        assert cb.active_run() is run
    assert result.run_id == run.info.run_id
    data = cb.get_run(run.info.run_id).data
    assert data.params == {"model": "logreg"}
    assert data.metrics["test_accuracy_score"] == result.metrics["test_accuracy_score"]
    assert not any(k.startswith("accuracy") for k in data.metrics)
    assert set(result.artifacts) == {"test_roc_curve_plot"}
    listed = {f.path for f in cb.artifacts.list_artifacts(run_id=run.info.run_id)}
    assert {"test_roc_curve_plot.png", "test_roc_curve_plot.json"} <= listed
    context = cb.sql("SELECT context FROM datasets WHERE run_id = ?", [run.info.run_id])
    assert context.fetchall() == [("test_",)]  # the prefix, as MLflow tags the input


def test_a_registered_version_by_alias_records_the_result(iris):
    frame, model = iris
    x = frame.drop(columns="species")
    with cb.start_run(live=False):
        info = canvasback.sklearn.log_model(model, name="model", registered_model_name="iris")
    client = cb.client()
    client.set_registered_model_alias("iris", "champion", info.registered_model_version)
    other = cb.register_model(info.model_uri, "iris")  # version 2: not the champion

    result = cb.evaluate(
        "models:/iris@champion", frame, targets="species", model_type="classifier", plots=[]
    )
    assert result.metrics["accuracy_score"] == pytest.approx(
        sk.accuracy_score(frame["species"], model.predict(x))
    )
    assert "score" in result.metrics  # the sklearn flavor's estimator, as MLflow scores it
    tags = client.get_model_version("iris", info.registered_model_version).tags
    assert tags[evaluation.RUN_TAG] == result.run_id
    summary = tags[evaluation.SUMMARY_TAG]
    assert f"accuracy_score={result.metrics['accuracy_score']:.4g}" in summary
    assert f"roc_auc={result.metrics['roc_auc']:.4g}" in summary
    assert summary.endswith("on 150 rows")
    assert evaluation.SUMMARY_TAG not in client.get_model_version("iris", other.version).tags
    found = cb.search_model_versions(f"tags.`{evaluation.RUN_TAG}` = '{result.run_id}'")
    assert [int(v.version) for v in found] == [info.registered_model_version]
    # MLflow 3 links the metrics to the logged model the version holds.
    logged = cb.get_logged_model(info.model_id)
    assert logged.metrics["accuracy_score"] == result.metrics["accuracy_score"]


def test_functions_loaded_models_and_run_uris_are_models_too(binary):
    frame, model = binary
    x = frame.drop(columns="label")
    with cb.start_run(live=False) as run:
        canvasback.sklearn.log_model(model, name="model")
    by_uri = cb.evaluate(
        f"runs:/{run.info.run_id}/model", frame, targets="label", model_type="classifier", plots=[]
    )
    loaded = cb.load_model(f"runs:/{run.info.run_id}/model")
    by_loaded = cb.evaluate(loaded, frame, targets="label", model_type="classifier", plots=[])
    assert by_uri.metrics == by_loaded.metrics
    assert by_uri.metrics["roc_auc"] == pytest.approx(
        sk.roc_auc_score(frame["label"], model.predict_proba(x)[:, 1])
    )

    def threshold(features):
        return (features["f0"] > 0).astype(int)

    result = cb.evaluate(threshold, frame, targets="label", model_type="classifier")
    assert result.metrics["accuracy_score"] == pytest.approx(
        sk.accuracy_score(frame["label"], threshold(x))
    )
    # No probabilities: no curves, no log loss; the confusion matrix all the same.
    assert set(result.charts) == {"confusion_matrix"}
    assert "roc_auc" not in result.metrics
    assert "log_loss" not in result.metrics

    predicted = frame.assign(pred=model.predict(x))
    static = cb.evaluate(
        data=predicted, targets="label", predictions="pred", model_type="classifier", plots=[]
    )
    assert static.metrics["f1_score"] == pytest.approx(by_uri.metrics["f1_score"])


def test_a_regressor_draws_residuals_predictions_and_coefficients():
    x, y = make_regression(n_samples=3_000, n_features=3, noise=5, random_state=1)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=y)
    model = LinearRegression().fit(frame[["a", "b", "c"]], y)
    result = cb.evaluate(model, frame, targets="y", model_type="regressor")
    assert set(result.charts) == {
        "residuals_plot",
        "predicted_vs_actual_plot",
        "feature_importance_plot",
    }
    residuals = result.artifacts["residuals_plot"].spec["datasets"]["residuals"]
    assert len(residuals) == 1_000  # a sample of the 3,000 rows
    pred = model.predict(frame[["a", "b", "c"]])
    by_prediction = dict(zip(pred.round(9), (y - pred).round(9), strict=True))
    assert all(
        by_prediction[round(r["predicted"], 9)] == round(r["residual"], 9) for r in residuals
    )
    bars = result.artifacts["feature_importance_plot"].spec["datasets"]["feature_importance"]
    assert {r["feature"]: r["importance"] for r in bars} == pytest.approx(
        dict(zip(["a", "b", "c"], np.abs(model.coef_), strict=True))
    )


def test_logging_and_loading_a_model_import_no_chart_code(run_python, tmp_path):
    result = run_python(
        """
        import sys
        from sklearn.linear_model import LinearRegression
        import canvasback as cb
        import canvasback.models
        cb.set_store(sys.argv[1])
        with cb.start_run():
            info = cb.sklearn.log_model(LinearRegression().fit([[0], [1]], [0, 1]), name="m")
        cb.load_model(info.model_uri)
        print("LOADED", [m for m in ("altair", "vl_convert") if m in sys.modules])
        print("LAZY", callable(canvasback.models.evaluate))
        """,
        tmp_path / "store",
    )
    assert "LOADED []" in result.stdout
    assert "LAZY True" in result.stdout
