"""evaluate refuses bad input before anything is logged: the error names the argument,
the value and what is allowed, and the store (or the active run) is left as it was."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

import canvasback as cb

pytestmark = pytest.mark.usefixtures("store")


@pytest.fixture(scope="module")
def frame():
    x, y = make_classification(n_samples=200, n_features=4, random_state=0)
    return pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(label=y)


@pytest.fixture(scope="module")
def model(frame):
    return LogisticRegression().fit(frame[["a", "b", "c", "d"]], frame["label"])


def nothing_logged(run=None):
    """No run was made; an active run given has no metric, artifact or input."""
    if run is None:
        return cb.search_runs(search_all_experiments=True).empty
    cb.flush()
    data = cb.get_run(run.info.run_id).data
    listed = cb.artifacts.list_artifacts(run_id=run.info.run_id)
    inputs = cb.sql("SELECT count(*) FROM datasets WHERE run_id = ?", [run.info.run_id])
    return not data.metrics and not listed and inputs.fetchall() == [(0,)]


CASES = {
    "model_type": (
        {"model_type": "clasifier"},
        "Invalid model_type 'clasifier': canvasback evaluates 'classifier' and 'regressor'",
    ),
    "targets column": (
        {"targets": "labels"},
        "Invalid targets 'labels': it is no column of the data; its columns are 'a', 'b'",
    ),
    "evaluator": (
        {"evaluators": ["shap"]},
        "Invalid evaluator 'shap': canvasback's evaluators are 'default', 'classifier'",
    ),
    "evaluator of another type": (
        {"evaluators": "regressor"},
        "the 'regressor' evaluator cannot evaluate a classifier",
    ),
    "config key": (
        {"evaluator_config": {"explainability_algorithm": "kernel"}},
        "Invalid evaluator_config key 'explainability_algorithm': the keys canvasback reads",
    ),
    "average": (
        {"evaluator_config": {"average": "samples"}},
        "Invalid evaluator_config['average'] 'samples': use one of",
    ),
    "plot of the other type": (
        {"plots": ["residuals"]},
        "Invalid plot 'residuals': a classifier has the plots 'confusion_matrix', 'roc'",
    ),
    "sample weights": (
        {"evaluator_config": {"sample_weights": [1.0, 2.0]}},
        "one number per row of the data (200 rows)",
    ),
    "pos_label": (
        {"evaluator_config": {"pos_label": 7}},
        "Invalid evaluator_config['pos_label'] 7: it is none of the classes [0, 1]",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_arguments_are_refused_naming_what_is_allowed(frame, model, case):
    changes, message = CASES[case]
    kwargs = {"targets": "label", "model_type": "classifier", **changes}
    with pytest.raises(cb.InvalidInputError) as raised:
        cb.evaluate(model, frame, **kwargs)
    assert message in str(raised.value)
    assert nothing_logged()


def test_roc_from_a_model_without_probabilities_is_refused_before_logging(frame):
    svm = LinearSVC().fit(frame[["a", "b", "c", "d"]], frame["label"])
    with cb.start_run(live=False) as run:
        with pytest.raises(cb.InvalidInputError) as raised:
            cb.evaluate(svm, frame, targets="label", model_type="classifier", plots=["roc"])
        assert nothing_logged(run)
    assert str(raised.value) == (
        "Invalid plot 'roc': it needs class probabilities, but LinearSVC has no "
        "predict_proba; the plots this model can draw are 'confusion_matrix', "
        "'feature_importance'"
    )
    # Unasked, the curves are left out, as MLflow leaves them.
    result = cb.evaluate(svm, frame, targets="label", model_type="classifier")
    assert set(result.charts) == {"confusion_matrix", "feature_importance_plot"}


def test_data_that_does_not_fit_the_model_type_is_refused(frame, model):
    regression = frame.assign(label=np.linspace(0.1, 9.9, len(frame)))
    with pytest.raises(cb.InvalidInputError, match="a classifier's true values are classes"):
        cb.evaluate(model, regression, targets="label", model_type="classifier")
    words = frame.assign(label=np.where(frame["label"] == 1, "yes", "no"))
    with pytest.raises(cb.InvalidInputError, match="a regressor's true values are numbers"):
        cb.evaluate(model, words, targets="label", model_type="regressor")
    missing = frame.assign(label=frame["label"].where(frame.index != 3))
    with pytest.raises(cb.InvalidInputError, match="row 3 has none"):
        cb.evaluate(model, missing, targets="label", model_type="classifier")
    with pytest.raises(cb.InvalidInputError, match="Invalid data of type 'list'"):
        cb.evaluate(model, frame.to_numpy().tolist(), targets="label", model_type="classifier")
    with pytest.raises(cb.InvalidInputError, match=r"one true value per row of the data \(200"):
        cb.evaluate(model, frame.to_numpy(), targets=[0, 1], model_type="classifier")
    with pytest.raises(
        cb.InvalidInputError, match="Invalid model of type int: give a fitted estimator"
    ):
        cb.evaluate(3, frame, targets="label", model_type="classifier")
    assert nothing_logged()


def test_a_model_uri_that_names_nothing_is_refused_before_logging(frame):
    with pytest.raises(cb.RegistryNotFoundError):
        cb.evaluate("models:/absent@champion", frame, targets="label", model_type="classifier")
    assert nothing_logged()


def test_a_model_that_predicts_more_than_one_value_per_row_is_refused(frame):
    def two_columns(features):
        return np.column_stack([features["a"] > 0, features["b"] > 0]).astype(int)

    with pytest.raises(cb.InvalidInputError) as raised:
        cb.evaluate(two_columns, frame, targets="label", model_type="classifier")
    assert str(raised.value) == (
        "Invalid predictions of shape (200, 2) from the function two_columns: one "
        "prediction per row of the data (200) is required"
    )
    assert nothing_logged()
