"""The model ``evaluate`` was given, as what it needs: predict, class probabilities, more.

A model may be a fitted estimator (anything with ``predict``), a function of the
features, a loaded :class:`~canvasback.models.PyFuncModel`, or a model URI
(``runs:/...``, ``models:/m-<id>``, ``models:/<name>/<version>``, ``models:/<name>@<alias>``),
loaded through the current store. A registered version's URI is resolved to its number
once, so that the version scored is the version the result is recorded on, even if an
alias moves meanwhile. Class probabilities come from ``predict_proba`` of the estimator
(of a scikit-learn model's estimator, for a loaded model), as MLflow takes them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from canvasback.models import loading, sklearn_flavor
from canvasback.models.pyfunc_flavor import PyFuncModel
from canvasback.registry.client import client
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from canvasback.registry.entities import ModelVersion


@dataclass(frozen=True)
class Predictor:
    """What evaluation asks of a model."""

    predict: Callable[[Any], Any] | None
    """Predictions for the features; None when the data holds them (``predictions=``)."""
    predict_proba: Callable[[Any], Any] | None
    """Class probabilities (a column per class of ``estimator.classes_``), if any."""
    estimator: Any
    """The scikit-learn estimator behind the model, if it is one (``score``, importances)."""
    description: str
    """The model in words, for error messages."""
    version: ModelVersion | None = None
    """The registered version a ``models:/`` URI named."""
    model_id: str | None = None
    """The logged model (``models:/m-<id>``) evaluated, if known."""


def predictor(model: object, *, has_predictions: bool) -> Predictor:
    """The model as a :class:`Predictor` (a URI is loaded here; nothing is logged)."""
    if model is None:
        if not has_predictions:
            msg = (
                "Invalid model None: give a model (an estimator, a function, a loaded model "
                "or a model URI), or name the data's column of predictions with predictions="
            )
            raise InvalidInputError(msg)
        return Predictor(None, None, None, "the data's predictions")
    if has_predictions:
        msg = (
            "Invalid predictions with a model: predictions= names the data's column of "
            "predictions made beforehand, for evaluate(model=None, ...)"
        )
        raise InvalidInputError(msg)
    if isinstance(model, str | os.PathLike):
        return _from_uri(str(model))
    if isinstance(model, PyFuncModel):
        return _from_pyfunc(model, repr(model), model.metadata.model_id)
    if callable(getattr(model, "predict", None)):
        return Predictor(
            model.predict,  # type: ignore[attr-defined]
            _proba(model),
            model if _is_sklearn(model) else None,
            type(model).__name__,
        )
    if callable(model):
        name = getattr(model, "__name__", type(model).__name__)
        return Predictor(model, None, None, f"the function {name}")
    msg = (
        f"Invalid model of type {type(model).__name__}: give a fitted estimator (with "
        "predict), a function of the features, a loaded model (canvasback.load_model) or a "
        "model URI such as 'models:/churn@champion'"
    )
    raise InvalidInputError(msg)


def _from_uri(uri: str) -> Predictor:
    version = client().version_of_uri(uri)
    # A moving alias is read once: the version loaded is the version recorded.
    loaded_uri = uri if version is None else f"models:/{version.name}/{version.version}"
    loaded = loading.load_model(loaded_uri)
    model_id = loaded.metadata.model_id
    found = _from_pyfunc(loaded, repr(uri), model_id)
    return Predictor(
        found.predict, found.predict_proba, found.estimator, found.description, version, model_id
    )


def _from_pyfunc(model: PyFuncModel, description: str, model_id: str | None) -> Predictor:
    estimator = None
    if sklearn_flavor.FLAVOR in model.metadata.flavors:
        estimator = model.unwrap_python_model()
    proba = _proba(estimator) if estimator is not None else None
    return Predictor(model.predict, proba, estimator, description, model_id=model_id)


def _proba(model: object) -> Callable[[Any], Any] | None:
    # scikit-learn hides predict_proba where it has none (SVC(probability=False)).
    method = getattr(model, "predict_proba", None)
    return method if callable(method) else None


def _is_sklearn(model: object) -> bool:
    return type(model).__module__.split(".")[0] == "sklearn" or hasattr(model, "_estimator_type")


def classes_of(found: Predictor) -> list[Any] | None:
    """The estimator's classes, the order of its probability columns, if it says."""
    classes = getattr(found.estimator, "classes_", None)
    return None if classes is None else list(np.asarray(classes))


def importances(found: Predictor, feature_names: list[str]) -> tuple[np.ndarray, str] | None:
    """The model's own feature importances (or absolute coefficients) and what they are.

    A pipeline's are its last step's, when they are one per input feature.
    """
    estimator = found.estimator
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps:
        estimator = steps[-1][1]
    values: np.ndarray | None = None
    what = ""
    if getattr(estimator, "feature_importances_", None) is not None:
        values, what = np.asarray(estimator.feature_importances_, dtype="float64"), "importance"
    elif getattr(estimator, "coef_", None) is not None:
        coef = np.atleast_2d(np.asarray(estimator.coef_, dtype="float64"))
        # A coefficient's size, averaged over classes: comparable only on scaled features.
        values, what = np.abs(coef).mean(axis=0), "|coefficient|"
    if values is None or values.ndim != 1 or len(values) != len(feature_names):
        return None
    return values, what
