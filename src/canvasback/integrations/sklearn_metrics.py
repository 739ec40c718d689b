"""Training metrics of a fitted estimator, named and computed as MLflow's autolog does.

Classifiers: ``training_precision_score``, ``training_recall_score``,
``training_f1_score`` (weighted averages), ``training_accuracy_score``, and with
``predict_proba`` ``training_log_loss`` and ``training_roc_auc`` (one-vs-one, weighted).
Regressors: ``training_mean_squared_error``, ``training_root_mean_squared_error``,
``training_mean_absolute_error``, ``training_r2_score``. Any estimator with ``score``:
``training_score``. All need the training labels. A metric that cannot be computed is
left out, with a message in the log saying why.
"""

from __future__ import annotations

import inspect
import math
from typing import TYPE_CHECKING, Any, Final

from canvasback.integrations.session import LOG

if TYPE_CHECKING:
    from collections.abc import Callable

PREFIX: Final = "training_"
SAMPLE_WEIGHT: Final = "sample_weight"


def training_metrics(estimator: Any, x: Any, y: Any, sample_weight: Any) -> dict[str, float]:  # noqa: ANN401  # scikit-learn's data
    """The training metrics of a fitted ``estimator`` on the data it was fitted with."""
    from sklearn.base import is_classifier, is_regressor  # noqa: PLC0415  # the caller has it

    if y is None:
        LOG.warning(
            "Training metrics of %s will not be recorded because training labels were "
            "not given: pass them to fit() to record them",
            type(estimator).__name__,
        )
        return {}
    metrics: dict[str, float] = {}
    try:
        if is_classifier(estimator):
            metrics = _classifier_metrics(estimator, x, y, sample_weight)
        elif is_regressor(estimator):
            metrics = _regressor_metrics(estimator, x, y, sample_weight)
    except Exception as exc:  # noqa: BLE001 - the other metrics still count
        LOG.warning("Failed to autolog metrics for %s: %s", type(estimator).__name__, exc)
    if hasattr(estimator, "score"):
        try:
            weighted = SAMPLE_WEIGHT in inspect.signature(estimator.score).parameters
            args = (x, y, sample_weight) if weighted else (x, y)
            metrics[PREFIX + "score"] = float(estimator.score(*args))
        except Exception as exc:  # noqa: BLE001 - the score is one metric among others
            LOG.warning(
                "%s.score failed: the metric 'training_score' will not be recorded: %s",
                type(estimator).__name__,
                exc,
            )
    return metrics


def _classifier_metrics(estimator: Any, x: Any, y: Any, sample_weight: Any) -> dict[str, float]:  # noqa: ANN401
    from sklearn import metrics  # noqa: PLC0415

    y_pred = estimator.predict(x)
    weighted = {"average": "weighted", "sample_weight": sample_weight}
    found = _computed(
        {
            "precision_score": lambda: metrics.precision_score(y, y_pred, **weighted),
            "recall_score": lambda: metrics.recall_score(y, y_pred, **weighted),
            "f1_score": lambda: metrics.f1_score(y, y_pred, **weighted),
            "accuracy_score": lambda: metrics.accuracy_score(
                y, y_pred, normalize=True, sample_weight=sample_weight
            ),
        }
    )
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(x)
        # Binary: the score of the greater label, as roc_auc_score expects.
        score = proba[:, 1] if proba.shape[1] == 2 else proba  # noqa: PLR2004
        found |= _computed(
            {
                "log_loss": lambda: metrics.log_loss(y, proba, sample_weight=sample_weight),
                "roc_auc": lambda: metrics.roc_auc_score(
                    y, score, average="weighted", sample_weight=sample_weight, multi_class="ovo"
                ),
            }
        )
    return found


def _regressor_metrics(estimator: Any, x: Any, y: Any, sample_weight: Any) -> dict[str, float]:  # noqa: ANN401
    from sklearn import metrics  # noqa: PLC0415

    y_pred = estimator.predict(x)
    averaged = {"sample_weight": sample_weight, "multioutput": "uniform_average"}
    found = _computed(
        {
            "mean_squared_error": lambda: metrics.mean_squared_error(y, y_pred, **averaged),
            "mean_absolute_error": lambda: metrics.mean_absolute_error(y, y_pred, **averaged),
            "r2_score": lambda: metrics.r2_score(y, y_pred, **averaged),
        }
    )
    mse = found.get(PREFIX + "mean_squared_error")
    if mse is not None:
        found[PREFIX + "root_mean_squared_error"] = math.sqrt(mse)
    return found


def _computed(metrics: dict[str, Callable[[], Any]]) -> dict[str, float]:
    """Each metric that can be computed, by its logged name."""
    found = {}
    for name, compute in metrics.items():
        try:
            found[PREFIX + name] = float(compute())
        except Exception as exc:  # noqa: BLE001 - one metric failing leaves the others
            LOG.warning("The metric %r will not be recorded: %s", PREFIX + name, exc)
    return found
