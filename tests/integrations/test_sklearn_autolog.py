"""scikit-learn autologging on a real store: real estimators on small data, each fit's run
read back, its model loaded and compared, MLflow's names for what is logged."""

from __future__ import annotations

import inspect
import io
import json
import logging
import math
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, load_iris
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import canvasback as cb
import canvasback.sklearn
from canvasback.integrations import AutologgingWarning, sklearn_autolog
from canvasback.integrations.patching import ORIGINAL

# Any AutologgingWarning a test does not expect fails it.
pytestmark = [
    pytest.mark.usefixtures("store"),
    pytest.mark.filterwarnings("error::canvasback.integrations.AutologgingWarning"),
]


@pytest.fixture(autouse=True)
def _unpatched_after():
    yield
    cb.sklearn.autolog(disable=True)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def runs() -> pd.DataFrame:
    cb.flush()
    return cb.search_runs(order_by=["attributes.start_time ASC"])


def logged(run_id: str):
    cb.flush()
    return cb.get_run(run_id)


def artifacts(run_id: str) -> set[str]:
    return {f.path for f in cb.client().list_artifacts(run_id)}


def artifact_text(run_id: str, path: str) -> str:
    return Path(cb.client().download_artifacts(run_id, path)).read_text()


def model_files(run_id: str, name: str) -> set[str]:
    return {f.path.rsplit("/", 1)[-1] for f in cb.client().list_artifacts(run_id, name)}


def test_a_fit_with_no_active_run_logs_one_finished_run_with_mlflow_s_names(iris):
    x, y = iris
    cb.sklearn.autolog()
    estimator = LogisticRegression(C=0.5, max_iter=500)
    assert estimator.fit(x, y) is estimator  # the fit's own result
    assert cb.active_run() is None  # the run it started is ended
    (run_id,) = runs()["run_id"]
    run = logged(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {k: str(v) for k, v in estimator.get_params(deep=True).items()}
    assert run.data.params["C"] == "0.5"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert run.data.tags["mlflow.autologging"] == "sklearn"
    predicted = estimator.predict(x)
    proba = estimator.predict_proba(x)
    weighted = {"average": "weighted"}
    assert run.data.metrics == pytest.approx(
        {
            "training_score": estimator.score(x, y),
            "training_accuracy_score": skm.accuracy_score(y, predicted),
            "training_precision_score": skm.precision_score(y, predicted, **weighted),
            "training_recall_score": skm.recall_score(y, predicted, **weighted),
            "training_f1_score": skm.f1_score(y, predicted, **weighted),
            "training_log_loss": skm.log_loss(y, proba),
            "training_roc_auc": skm.roc_auc_score(y, proba, average="weighted", multi_class="ovo"),
        }
    )
    assert artifacts(run_id) >= {"model", "estimator.html"}
    assert "LogisticRegression" in artifact_text(run_id, "estimator.html")
    # The model: canvasback's format (skops), its signature, no input example by default.
    assert model_files(run_id, "model") >= {"MLmodel", "model.skops"}
    assert "input_example.json" not in model_files(run_id, "model")
    loaded = cb.sklearn.load_model(f"runs:/{run_id}/model")
    assert (loaded.predict(x) == predicted).all()
    pyfunc = cb.load_model(f"runs:/{run_id}/model")
    assert pyfunc.metadata.signature is not None
    assert (pyfunc.predict(x) == predicted).all()


def test_a_regressor_logs_mlflow_s_regression_metrics():
    x, y = load_diabetes(return_X_y=True)
    cb.sklearn.autolog()
    estimator = Ridge(alpha=0.3).fit(x, y)
    (run_id,) = runs()["run_id"]
    found = logged(run_id).data.metrics
    predicted = estimator.predict(x)
    mse = skm.mean_squared_error(y, predicted)
    assert found == pytest.approx(
        {
            "training_score": estimator.score(x, y),
            "training_mean_squared_error": mse,
            "training_root_mean_squared_error": math.sqrt(mse),
            "training_mean_absolute_error": skm.mean_absolute_error(y, predicted),
            "training_r2_score": skm.r2_score(y, predicted),
        }
    )
    loaded = cb.sklearn.load_model(f"runs:/{run_id}/model")
    assert (loaded.predict(x) == predicted).all()


def test_a_frame_s_first_rows_become_the_input_example_when_asked():
    x, y = load_iris(return_X_y=True, as_frame=True)
    cb.sklearn.autolog(log_input_examples=True)
    LogisticRegression(max_iter=500).fit(x, y)
    (run_id,) = runs()["run_id"]
    example = json.loads(artifact_text(run_id, "model/input_example.json"))
    assert example["columns"] == list(x.columns)
    assert example["data"] == x.head(5).to_numpy().tolist()
    signature = cb.load_model(f"runs:/{run_id}/model").metadata.signature
    assert [c.name for c in signature.inputs.inputs] == list(x.columns)


def test_no_signature_and_no_model_when_switched_off(iris):
    x, y = iris
    cb.sklearn.autolog(log_model_signatures=False)
    LogisticRegression(max_iter=500).fit(x, y)
    unsigned = cb.last_active_run().run_id
    cb.sklearn.autolog(log_models=False)
    LogisticRegression(max_iter=500).fit(x, y)
    modelless = cb.last_active_run().run_id
    assert len(runs()) == 2
    assert cb.load_model(f"runs:/{unsigned}/model").metadata.signature is None
    assert "model" not in artifacts(modelless)
    assert logged(modelless).data.metrics["training_score"] > 0.9


def test_a_pipeline_is_one_run_with_its_steps_params_and_one_model(iris):
    x, y = iris
    cb.sklearn.autolog()
    pipeline = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=2.0))])
    pipeline.fit(x, y)
    frame = runs()
    assert list(frame["tags.estimator_name"]) == ["Pipeline"]  # no run of its steps' fits
    params = logged(frame["run_id"][0]).data.params
    assert params["clf__C"] == "2.0"
    assert params["scale__with_mean"] == "True"
    assert params["steps"] == str(pipeline.steps)
    loaded = cb.sklearn.load_model(f"runs:/{frame['run_id'][0]}/model")
    assert isinstance(loaded, Pipeline)
    assert (loaded.predict(x) == pipeline.predict(x)).all()


def test_fit_transform_and_fit_predict_log_one_run_each(iris):
    x, _ = iris
    cb.sklearn.autolog()
    labels = KMeans(n_clusters=3, n_init=2, random_state=0).fit_predict(x)
    reduced = PCA(n_components=2).fit_transform(x)
    assert labels.shape == (150,)
    assert reduced.shape == (150, 2)
    frame = runs().set_index("tags.estimator_name")
    assert sorted(frame.index) == ["KMeans", "PCA"]
    kmeans, pca = frame["run_id"]["KMeans"], frame["run_id"]["PCA"]
    assert logged(kmeans).data.params["n_clusters"] == "3"
    assert logged(kmeans).data.metrics == {}  # no labels, no training metrics
    assert "model" in artifacts(kmeans)
    assert "model" not in artifacts(pca)  # no predict: no model


def test_data_preparation_alone_logs_nothing(iris):
    x, _ = iris
    cb.sklearn.autolog()
    StandardScaler().fit(x)
    assert runs().empty


def test_a_grid_search_is_a_parent_with_a_child_run_per_best_candidate(iris):
    x, y = iris
    cb.sklearn.autolog()
    grid = {"C": [0.01, 0.1, 1.0, 10.0], "fit_intercept": [True, False]}
    search = GridSearchCV(LogisticRegression(max_iter=500), grid, cv=3).fit(x, y)
    frame = runs()
    parents = frame[frame["tags.mlflow.parentRunId"].isna()]
    (parent,) = parents["run_id"]
    children = frame[frame["tags.mlflow.parentRunId"] == parent]
    assert len(frame) == 1 + 5  # max_tuning_runs=5 by default; none for the refit or folds
    run = logged(parent)
    assert run.data.tags["estimator_name"] == "GridSearchCV"
    assert run.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert run.data.params["best_C"] == str(search.best_params_["C"])
    assert "estimator__C" not in run.data.params  # the seed's untuned params are no result
    assert artifacts(parent) >= {"model", "best_estimator", "cv_results.csv"}
    table = pd.read_csv(io.StringIO(artifact_text(parent, "cv_results.csv")))
    assert len(table) == 8
    assert list(table["mean_test_score"]) == pytest.approx(search.cv_results_["mean_test_score"])
    best = cb.sklearn.load_model(f"runs:/{parent}/best_estimator")
    assert (best.predict(x) == search.best_estimator_.predict(x)).all()
    # The five best candidates, with the seed's params under theirs and their results.
    results = search.cv_results_
    candidate = {(str(p["C"]), str(p["fit_intercept"])): i for i, p in enumerate(results["params"])}
    best_five = sorted(range(8), key=lambda i: (results["rank_test_score"][i], i))[:5]
    logged_candidates = set()
    for child_id in children["run_id"]:
        child = logged(child_id)
        assert child.info.status == "FINISHED"
        assert child.info.start_time == run.info.start_time
        assert child.data.tags["estimator_name"] == "LogisticRegression"
        assert child.data.tags["mlflow.autologging"] == "sklearn"
        assert child.data.params["max_iter"] == "500"
        i = candidate[child.data.params["C"], child.data.params["fit_intercept"]]
        logged_candidates.add(i)
        assert child.data.metrics == pytest.approx(
            {
                key: results[key][i]
                for key in (
                    "mean_fit_time",
                    "std_fit_time",
                    "mean_score_time",
                    "std_score_time",
                    "mean_test_score",
                    "std_test_score",
                    "rank_test_score",
                )
            }
        )
    assert logged_candidates == set(best_five)


@pytest.mark.parametrize(("max_tuning_runs", "children"), [(None, 6), (0, 0), (2, 2)])
def test_max_tuning_runs_bounds_the_child_runs(iris, max_tuning_runs, children):
    x, y = iris
    cb.sklearn.autolog(max_tuning_runs=max_tuning_runs, log_models=False)
    distributions = {"C": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]}
    RandomizedSearchCV(LogisticRegression(max_iter=500), distributions, n_iter=6, cv=3).fit(x, y)
    frame = runs()
    assert len(frame) == 1 + children
    parent_ids = frame.get("tags.mlflow.parentRunId", pd.Series([None] * len(frame)))
    assert parent_ids.notna().sum() == children


def test_a_search_fitting_its_candidates_in_threads_is_still_one_parent(iris):
    x, y = iris
    cb.sklearn.autolog(log_models=False)
    with joblib.parallel_backend("threading", n_jobs=2):
        GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0]}, cv=3).fit(x, y)
    frame = runs()
    assert len(frame) == 1 + 2
    assert frame["tags.mlflow.parentRunId"].isna().sum() == 1


def test_cross_val_score_logs_no_run_for_its_folds(iris):
    x, y = iris
    cb.sklearn.autolog()
    scores = cross_val_score(LogisticRegression(max_iter=500), x, y, cv=3)
    assert len(scores) == 3
    assert runs().empty
    LogisticRegression(max_iter=500).fit(x, y)  # and autologging goes on after it
    assert len(runs()) == 1


def test_a_fit_inside_a_run_logs_into_it_and_leaves_it_open(iris):
    x, y = iris
    cb.sklearn.autolog()
    with cb.start_run(run_name="mine") as run:
        cb.log_param("note", "by hand")
        LogisticRegression(max_iter=500).fit(x, y)
        assert cb.active_run() is run
    frame = runs()
    assert list(frame["run_id"]) == [run.run_id]
    data = logged(run.run_id).data
    assert data.params["note"] == "by hand"
    assert data.params["max_iter"] == "500"
    assert "training_score" in data.metrics
    assert "mlflow.autologging" not in data.tags  # the user's run, not autologging's


def test_exclusive_leaves_the_user_s_run_alone(iris):
    x, y = iris
    cb.sklearn.autolog(exclusive=True)
    with cb.start_run() as run:
        LogisticRegression(max_iter=500).fit(x, y)
    assert list(runs()["run_id"]) == [run.run_id]
    assert logged(run.run_id).data.params == {}
    LogisticRegression(max_iter=500).fit(x, y)  # no run active: logged
    assert len(runs()) == 2


def _patched_attributes() -> dict[tuple[type, str], object]:
    classes = sklearn_autolog._estimators()
    state: dict[tuple[type, str], object] = {
        (cls, name): vars(cls).get(name) for cls in classes for name in sklearn_autolog.FIT_METHODS
    }
    for cls in classes:
        for name in sklearn_autolog.FIT_METHODS:
            raw = inspect.getattr_static(cls, name, None)
            if hasattr(raw, "check"):  # available_if: its function
                state[(cls, f"{name}.fn")] = raw.fn
    return state


def test_disable_puts_every_original_back(iris):
    x, y = iris
    before = _patched_attributes()
    cb.sklearn.autolog()
    assert hasattr(LogisticRegression.fit, ORIGINAL)
    assert hasattr(inspect.getattr_static(Pipeline, "fit_transform").fn, ORIGINAL)
    assert hasattr(KMeans.fit_predict, ORIGINAL)  # inherited from ClusterMixin, patched on KMeans
    assert "fit_predict" in vars(KMeans)
    cb.sklearn.autolog(disable=True)
    assert _patched_attributes() == before
    assert "fit_predict" not in vars(KMeans)  # inherited again
    LogisticRegression(max_iter=500).fit(x, y)
    assert runs().empty
    cb.sklearn.autolog()  # and on again
    LogisticRegression(max_iter=500).fit(x, y)
    assert len(runs()) == 1


def test_a_failing_fit_raises_and_its_run_ends_failed(iris):
    x, y = iris
    cb.sklearn.autolog()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LogisticRegression().fit(x, y[:10])
    (run_id,) = runs()["run_id"]
    assert logged(run_id).info.status == "FAILED"
    assert logged(run_id).data.params["C"] == "1.0"  # what was logged before stays
    assert cb.active_run() is None


def test_an_error_before_training_is_a_warning_and_the_fit_still_runs(iris):
    x, y = iris
    cb.sklearn.autolog()
    with cb.start_run() as run:
        cb.log_param("C", "5")  # the fit's own C=1.0 cannot be logged: params are write-once
        estimator = LogisticRegression(max_iter=500)
        with pytest.warns(AutologgingWarning, match=r"LogisticRegression\.fit.*Param 'C'") as w:
            assert estimator.fit(x, y) is estimator
        assert cb.active_run() is run  # the user's run goes on
    assert w[0].filename == __file__  # the warning points at the fit
    assert (estimator.predict(x) == y).mean() > 0.9  # fitted
    assert logged(run.run_id).data.params == {"C": "5"}  # nothing logged is lost


def test_an_error_after_training_is_a_warning_keeping_what_was_logged(iris):
    x, y = iris
    cb.sklearn.autolog()
    # skops refuses to save a lambda unnamed: the model cannot be logged.
    pipeline = make_pipeline(FunctionTransformer(lambda a: a * 2), LogisticRegression(max_iter=500))
    with pytest.warns(
        AutologgingWarning, match=r"(?s)Pipeline\.fit: UntrustedModelError.*ended FAILED"
    ):
        assert pipeline.fit(x, y) is pipeline
    assert (pipeline.predict(x) == y).mean() > 0.9
    (run_id,) = runs()["run_id"]
    run = logged(run_id)
    assert run.info.status == "FAILED"
    assert "logisticregression__C" in run.data.params
    assert "training_accuracy_score" in run.data.metrics  # logged before the model
    assert "model" not in artifacts(run_id)


def test_silent_hides_the_warning_and_the_log(iris, caplog):
    x, y = iris
    cb.sklearn.autolog(silent=True)
    caplog.set_level(logging.INFO, logger="canvasback.integrations")
    with warnings.catch_warnings(record=True) as caught, cb.start_run():
        warnings.simplefilter("always")
        cb.log_param("C", "5")
        LogisticRegression(max_iter=500).fit(x, y)  # a warning, if it were not silent
        DummyClassifier().fit(x, y)  # an ill-defined precision: a log message
    assert [w for w in caught if w.category is AutologgingWarning] == []
    assert [r for r in caplog.records if r.name == "canvasback.integrations"] == []


def test_a_warning_while_logging_goes_to_the_log_not_to_the_cell(iris, caplog):
    x, y = iris
    cb.sklearn.autolog()
    caplog.set_level(logging.WARNING, logger="canvasback.integrations")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DummyClassifier().fit(x, y)  # predicts one class: precision is ill-defined
    assert [w for w in caught if w.category is skm._classification.UndefinedMetricWarning] == []
    assert any("UndefinedMetricWarning" in r.getMessage() for r in caplog.records)
    (run_id,) = runs()["run_id"]
    assert logged(run_id).data.metrics["training_precision_score"] == pytest.approx(1 / 9)


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("max_tuning_runs", -1, "0 or more"),
        ("max_tuning_runs", 2.5, "0 or more"),
        ("log_models", "yes", "True or False"),
        ("silent", None, "True or False"),
    ],
)
def test_a_bad_option_is_refused_naming_it_and_turns_nothing_on(iris, option, value, allowed):
    x, y = iris
    with pytest.raises(cb.InvalidInputError, match=rf"{option}={value!r}.*{allowed}"):
        cb.sklearn.autolog(**{option: value})
    LogisticRegression(max_iter=500).fit(x, y)
    assert runs().empty


def test_cb_autolog_turns_sklearn_on_and_reset_turns_it_off(iris, tmp_path):
    x, y = iris
    cb.autolog(log_input_examples=True)
    LogisticRegression(max_iter=500).fit(x, y)
    (run_id,) = runs()["run_id"]
    assert "input_example.json" in model_files(run_id, "model")
    cb.reset()  # as a new process: autologging off
    cb.set_store(tmp_path / "after-reset")
    LogisticRegression(max_iter=500).fit(x, y)
    assert runs().empty
    cb.autolog()
    cb.autolog(disable=True)
    LogisticRegression(max_iter=500).fit(x, y)
    assert runs().empty
    assert "fit" not in vars(LogisticRegression) or not hasattr(LogisticRegression.fit, ORIGINAL)


def test_an_autologged_fit_in_a_notebook_shows_in_its_live_view(iris, monkeypatch):
    import IPython.display  # noqa: PLC0415

    from canvasback import _notebook  # noqa: PLC0415
    from canvasback.widgets import live_cell  # noqa: PLC0415
    from canvasback.widgets._base import table_from_ipc_bytes  # noqa: PLC0415
    from canvasback.widgets.live_run import live_view_of  # noqa: PLC0415

    class Handle:
        def update(self, *_args, **_kwargs):
            pass

    x, y = iris
    monkeypatch.setattr(_notebook, "in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda *_a, **_k: Handle())
    monkeypatch.setattr(live_cell, "_cell_key", lambda: "cell-1")
    cb.sklearn.autolog(log_models=False)
    LogisticRegression(max_iter=500).fit(x, y)
    first = cb.last_active_run()
    view = live_view_of(first)
    assert view is not None
    assert view.join(timeout=30)
    assert view.status == "FINISHED"
    shown = {row["key"]: row["value"] for row in table_from_ipc_bytes(view.latest).to_pylist()}
    assert shown == pytest.approx(logged(first.run_id).data.metrics)
    assert "training_accuracy_score" in shown
    # A second fit in the same cell: one view, a row per fit.
    Ridge().fit(x, y)
    second = cb.last_active_run()
    assert live_view_of(second).join(timeout=30)
    cell = live_cell.cell_view()
    assert [row["run_id"] for row in cell.rows] == [first.run_id, second.run_id]
    assert [row["status"] for row in cell.rows] == ["FINISHED", "FINISHED"]
    assert all(row["value"] is not None for row in cell.rows)
    assert np.isfinite([row["value"] for row in cell.rows]).all()


def test_mlflow_s_autolog_code_runs_with_no_mlflow_at_all(run_python, tmp_path, iris):
    # MLflow's own spelling, in a process where importing MLflow fails; autolog() before
    # scikit-learn is imported, which it waits for rather than importing it.
    result = run_python(
        """
        import json, sys
        sys.modules["mlflow"] = None  # every import of MLflow fails from here on
        try:
            import mlflow
        except ImportError:
            pass
        else:
            raise SystemExit("MLflow was importable")

        import canvasback as mlflow

        print("LOADED_BY_IMPORT", "canvasback.integrations" in sys.modules)
        mlflow.set_tracking_uri(sys.argv[1])
        mlflow.autolog()
        print("SKLEARN_BEFORE_IMPORT", "sklearn" in sys.modules)

        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GridSearchCV

        X, y = load_iris(return_X_y=True)
        GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0]}, cv=3).fit(X, y)
        mlflow.sklearn.autolog(max_tuning_runs=1)
        model = LogisticRegression(max_iter=500, C=0.3).fit(X, y)
        run_id = mlflow.last_active_run().info.run_id
        mlflow.flush()
        frame = mlflow.search_runs(order_by=["attributes.start_time ASC"])
        print("RUNS", json.dumps(list(frame["tags.estimator_name"])))
        print("LAST", run_id)
        print("MLFLOW_MODULES", [m for m in sys.modules if m.split(".")[0] == "mlflow"])
        """,
        tmp_path / "store",
    )
    out = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert out["LOADED_BY_IMPORT"] == "False"  # autologging loads on first use
    assert out["SKLEARN_BEFORE_IMPORT"] == "False"
    # The search, its two candidates, and the last fit.
    assert sorted(json.loads(out["RUNS"])) == ["GridSearchCV"] + ["LogisticRegression"] * 3
    assert out["MLFLOW_MODULES"] == "['mlflow']"  # the blocked entry alone
    # The model it logged loads here and predicts as a model fitted alike.
    cb.set_store(tmp_path / "store")
    x, y = iris
    loaded = cb.sklearn.load_model(f"runs:/{out['LAST']}/model")
    expected = LogisticRegression(max_iter=500, C=0.3).fit(x, y).predict(x)
    assert (loaded.predict(x) == expected).all()
