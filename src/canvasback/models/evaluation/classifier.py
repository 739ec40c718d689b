"""A classifier's metrics, per-class table and plot rows, under MLflow's names.

scikit-learn computes every figure, with the arguments MLflow's default evaluator
passes, so the metrics are MLflow's: ``accuracy_score``, ``precision_score``,
``recall_score``, ``f1_score``, ``log_loss``, ``roc_auc`` and ``precision_recall_auc``
(average precision), the four counts of a binary confusion matrix, ``example_count``
and, for a scikit-learn estimator, ``score``. A multiclass model's precision, recall, F1
and ROC AUC are averaged (``average``, weighted by default) and its per-class figures go
to the ``per_class_metrics`` table.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from canvasback.models.evaluation.arguments import Config

MAX_CURVE_POINTS: Final = 400
"""Points kept of each drawn curve: a 100,000-row ROC curve has thousands of steps, which
no chart shows apart but which would weigh on every saved spec and image."""


@dataclass
class Scores:
    """What a classifier's evaluation found: metrics, tables and each plot's rows."""

    metrics: dict[str, float] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    plots: dict[str, pd.DataFrame] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)


def _sk() -> Any:  # noqa: ANN401 - scikit-learn's metrics module
    from sklearn import metrics  # noqa: PLC0415 - scikit-learn loads with an evaluation

    return metrics


def classes(
    labels: np.ndarray, predicted: np.ndarray, known: list[Any] | None, cfg: Config
) -> np.ndarray:
    """The classes, sorted, the positive one last for a binary model (as MLflow orders them).

    ``known`` (the estimator's ``classes_``) or ``label_list`` give them; else the
    labels and predictions that occur.
    """
    given = cfg.label_list if cfg.label_list is not None else known
    found = np.unique(np.concatenate([labels, predicted])) if given is None else np.asarray(given)
    found = np.sort(found)
    if len(found) < 2:  # noqa: PLR2004
        msg = (
            f"Invalid data for a classifier: it holds one class only ({found.tolist()!r}); "
            "give evaluator_config={'label_list': [...]} with every class"
        )
        raise InvalidInputError(msg)
    if cfg.pos_label is not None and len(found) == 2:  # noqa: PLR2004
        if cfg.pos_label not in found.tolist():
            msg = (
                f"Invalid evaluator_config['pos_label'] {cfg.pos_label!r}: it is none of the "
                f"classes {found.tolist()!r}"
            )
            raise InvalidInputError(msg)
        found = np.append(found[found != cfg.pos_label], cfg.pos_label)
    return found


def check_probabilities(proba: np.ndarray, column_classes: list[Any]) -> None:
    """One column of probabilities per class of the estimator."""
    if proba.ndim != 2 or proba.shape[1] != len(column_classes):  # noqa: PLR2004
        msg = (
            f"Invalid predict_proba output of shape {proba.shape}: one column per class "
            f"({len(column_classes)}: {column_classes!r}) is required"
        )
        raise InvalidInputError(msg)


def score(
    y: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    order: np.ndarray,
    column_classes: list[Any] | None,
    cfg: Config,
) -> Scores:
    """Metrics under MLflow's names; per-class table; rows of the confusion matrix and curves.

    ``order`` is :func:`classes`' order; ``proba``'s columns follow ``column_classes``.
    """
    sk = _sk()
    w = cfg.sample_weights
    binary = len(order) == 2  # noqa: PLR2004
    out = Scores(classes=[str(c) for c in order])
    metrics = out.metrics
    metrics["example_count"] = float(len(y))
    cols = column_classes if column_classes is not None else sorted(order.tolist())
    with warnings.catch_warnings():
        # A class never predicted has no precision: 0, as MLflow reports it, said once here.
        warnings.simplefilter("ignore", category=sk_warning())
        counts = sk.confusion_matrix(y, y_pred, labels=order)
        if binary:
            tn, fp, fn, tp = counts.ravel()
            metrics.update(
                true_negatives=float(tn),
                false_positives=float(fp),
                false_negatives=float(fn),
                true_positives=float(tp),
            )
            common = {"average": "binary", "pos_label": order[1], "sample_weight": w}
        else:
            common = {"average": cfg.average, "sample_weight": w}
        metrics["accuracy_score"] = float(sk.accuracy_score(y, y_pred, sample_weight=w))
        # What precision_score, recall_score and f1_score each return, in one pass.
        precision, recall, f1, _ = sk.precision_recall_fscore_support(y, y_pred, **common)
        metrics["recall_score"] = float(recall)
        metrics["precision_score"] = float(precision)
        metrics["f1_score"] = float(f1)
        if proba is not None:
            metrics["log_loss"] = float(sk.log_loss(y, proba, labels=cols, sample_weight=w))
        per_class = None if binary else _per_class(sk, counts, y, y_pred, order, w)
    if proba is not None:
        _curves(sk, out, y, proba, order, cols, cfg, per_class=per_class)
    if per_class is not None:
        out.tables["per_class_metrics"] = per_class
    if w is not None:
        counts = sk.confusion_matrix(y, y_pred, labels=order, sample_weight=w)
    out.plots["confusion_matrix"] = _confusion_cells(counts, order)
    return out


def sk_warning() -> type[Warning]:
    """scikit-learn's warning for a metric that is undefined (and reported as 0)."""
    from sklearn.exceptions import UndefinedMetricWarning  # noqa: PLC0415

    warning: type[Warning] = UndefinedMetricWarning
    return warning


def _per_class(
    sk: Any,  # noqa: ANN401
    counts: np.ndarray,
    y: np.ndarray,
    y_pred: np.ndarray,
    order: np.ndarray,
    w: np.ndarray | None,
) -> pd.DataFrame:
    """One row per class, its one-vs-rest figures (MLflow's ``per_class_metrics`` columns).

    ``counts`` is the confusion matrix in ``order``, unweighted (as MLflow counts).
    """
    weighted = (
        counts if w is None else sk.confusion_matrix(y, y_pred, labels=order, sample_weight=w)
    )
    precision, recall, f1, _ = sk.precision_recall_fscore_support(
        y, y_pred, labels=order, average=None, sample_weight=w, zero_division=0
    )
    tp = np.diag(counts)
    fp, fn = counts.sum(axis=0) - tp, counts.sum(axis=1) - tp
    right = np.diag(weighted)
    total = weighted.sum()
    # Correct in one-vs-rest terms: the class's true positives and true negatives.
    w_tn = total - weighted.sum(axis=0) - weighted.sum(axis=1) + right
    return pd.DataFrame(
        {
            "positive_class": order,
            "true_negatives": counts.sum() - tp - fp - fn,
            "false_positives": fp,
            "false_negatives": fn,
            "true_positives": tp,
            "example_count": np.full(len(order), len(y)),
            "accuracy_score": (right + w_tn) / total,
            "recall_score": recall,
            "precision_score": precision,
            "f1_score": f1,
        }
    )


def _curves(
    sk: Any,  # noqa: ANN401
    out: Scores,
    y: np.ndarray,
    proba: np.ndarray,
    order: np.ndarray,
    cols: list[Any],
    cfg: Config,
    *,
    per_class: pd.DataFrame | None,
) -> None:
    """ROC and PR AUCs, and the rows of the ROC, PR and calibration plots.

    ``per_class`` (a multiclass model's table) gets each class's two AUCs.
    """
    from sklearn.calibration import calibration_curve  # noqa: PLC0415

    w = cfg.sample_weights
    binary = per_class is None
    column = {c: i for i, c in enumerate(cols)}
    curve_classes = [order[1]] if binary else list(order)
    draw_curves = binary or len(order) <= cfg.max_classes_for_multiclass_roc_pr
    roc, pr, calibration = [], [], []
    aucs, aps = [], []
    for cls in curve_classes:
        truth = y == cls
        score = proba[:, column[cls]]
        label = "" if binary else f"label={cls}"
        label_part = [label] if label else []
        if truth.all() or not truth.any():
            aucs.append(np.nan)
            aps.append(np.nan)
            continue  # a class absent from the data (or alone in it) has no curve
        fpr, tpr, _ = sk.roc_curve(truth, score, sample_weight=w)
        precision, recall, _ = sk.precision_recall_curve(truth, score, sample_weight=w)
        # scikit-learn's own definitions, from the curves drawn: roc_auc_score is the area
        # under this ROC curve, average_precision_score this sum over the PR curve's steps.
        auc = float(sk.auc(fpr, tpr))
        ap = float(-np.sum(np.diff(recall) * precision[:-1]))
        aucs.append(auc)
        aps.append(ap)
        if draw_curves:
            roc.append(_curve_rows(cls, ", ".join([*label_part, f"AUC={auc:.3f}"]), fpr, tpr))
            pr.append(_curve_rows(cls, ", ".join([*label_part, f"AP={ap:.3f}"]), recall, precision))
        frac, mean = calibration_curve(truth, score, n_bins=cfg.calibration_n_bins)
        calibration.append(_curve_rows(cls, label or "model", mean, frac))
    if per_class is None and not np.isnan(aucs[0]):
        out.metrics["roc_auc"] = aucs[0]
        out.metrics["precision_recall_auc"] = aps[0]
    elif per_class is not None:
        # One-vs-rest, averaged as MLflow does; only where every class occurs.
        if cfg.average in ("weighted", "macro") and set(cols) <= set(np.unique(y).tolist()):
            out.metrics["roc_auc"] = float(
                sk.roc_auc_score(
                    y, proba, labels=cols, average=cfg.average, multi_class="ovr", sample_weight=w
                )
            )
        if draw_curves:
            per_class["roc_auc"] = aucs
            per_class["precision_recall_auc"] = aps
    for name, parts in (("roc", roc), ("pr", pr), ("calibration", calibration)):
        if parts:
            out.plots[name] = pd.concat(parts, ignore_index=True)


def _curve_rows(cls: object, curve: str, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    keep = _thin(len(x))
    return pd.DataFrame({"class": str(cls), "curve": curve, "x": x[keep], "y": y[keep]})


def _thin(n: int) -> np.ndarray:
    """Indices of at most MAX_CURVE_POINTS points, evenly spread, first and last kept."""
    if n <= MAX_CURVE_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_CURVE_POINTS).round().astype(int))


def _confusion_cells(counts: np.ndarray, order: np.ndarray) -> pd.DataFrame:
    """Each (true, predicted) cell's count and share of its true class (MLflow normalizes so)."""
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    names = [str(c) for c in order]
    return pd.DataFrame(
        {
            "actual": np.repeat(names, len(names)),
            "predicted": np.tile(names, len(names)),
            "count": counts.reshape(-1),
            "share": shares.reshape(-1),
        }
    )
