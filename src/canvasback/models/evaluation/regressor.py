"""A regressor's metrics and plot rows, under the names of MLflow's default evaluator.

``example_count``, ``mean_absolute_error``, ``mean_squared_error``,
``root_mean_squared_error``, ``sum_on_target``, ``mean_on_target``, ``r2_score``,
``max_error``, ``mean_absolute_percentage_error`` (scikit-learn computes each), and
``score`` for a scikit-learn estimator. The residuals and predicted-vs-true plots draw
a sample of the rows: a scatter of 100,000 points shows no more than one of 1,000.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from canvasback.models.evaluation.arguments import Config

MAX_SCATTER_POINTS: Final = 1_000
_SAMPLE_SEED: Final = 0  # the same rows drawn each time: plots of two models compare


def score(y: np.ndarray, y_pred: np.ndarray, cfg: Config) -> dict[str, float]:
    """The metrics of MLflow's default regressor evaluator."""
    from sklearn import metrics as sk  # noqa: PLC0415 - scikit-learn loads with an evaluation

    w = cfg.sample_weights
    total = float((y * w).sum() if w is not None else y.sum())
    return {
        "example_count": float(len(y)),
        "mean_absolute_error": float(sk.mean_absolute_error(y, y_pred, sample_weight=w)),
        "mean_squared_error": float(sk.mean_squared_error(y, y_pred, sample_weight=w)),
        "root_mean_squared_error": float(sk.root_mean_squared_error(y, y_pred, sample_weight=w)),
        "sum_on_target": total,
        "mean_on_target": total / len(y),
        "r2_score": float(sk.r2_score(y, y_pred, sample_weight=w)),
        "max_error": float(sk.max_error(y, y_pred)),
        "mean_absolute_percentage_error": float(
            sk.mean_absolute_percentage_error(y, y_pred, sample_weight=w)
        ),
    }


def sample(rows: int) -> np.ndarray:
    """The rows the scatter plots draw: all of them, or an evenly random sample."""
    if rows <= MAX_SCATTER_POINTS:
        return np.arange(rows)
    rng = np.random.default_rng(_SAMPLE_SEED)
    return np.sort(rng.choice(rows, MAX_SCATTER_POINTS, replace=False))


def plot_rows(y: np.ndarray, y_pred: np.ndarray) -> dict[str, pd.DataFrame]:
    """The rows of the residuals and predicted-vs-true plots (a sample of big data)."""
    keep = sample(len(y))
    actual = np.asarray(y, dtype="float64")[keep]
    predicted = np.asarray(y_pred, dtype="float64")[keep]
    return {
        "residuals": pd.DataFrame({"predicted": predicted, "residual": actual - predicted}),
        "predicted_vs_actual": pd.DataFrame({"actual": actual, "predicted": predicted}),
    }
