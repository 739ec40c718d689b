"""``evaluate``'s arguments checked, all before anything is predicted or logged.

Each refusal names the argument, the value given and what is allowed. The data is split
here into the model's input (the features) and the true values (the targets), and
described as the dataset the run will record as its input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NoReturn

import numpy as np
import pandas as pd

from canvasback.charts.evaluation import PLOTS
from canvasback.tracking import datasets, validation
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

MODEL_TYPES: Final = ("classifier", "regressor")
EVALUATORS: Final = ("default", "classifier", "regressor")
AVERAGES: Final = ("weighted", "macro", "micro")

PLOTS_OF: Final = {
    "classifier": ("confusion_matrix", "roc", "pr", "calibration", "feature_importance"),
    "regressor": ("residuals", "predicted_vs_actual", "feature_importance"),
}
"""The plots each model type can have (names of ``canvasback.charts.evaluation.PLOTS``)."""

CONFIG_KEYS: Final = {
    "pos_label": "the positive class of a binary classifier (default: the larger label)",
    "label_list": "every class, when the data may lack some",
    "average": f"how multiclass precision, recall and F1 average: one of {AVERAGES}",
    "sample_weights": "one weight per row of the data",
    "metric_prefix": "text put before every metric and artifact name",
    "max_classes_for_multiclass_roc_pr": "most classes that get ROC and PR curves (10)",
    "log_model_explainability": "False leaves the feature importance plot out",
    "calibration_n_bins": "bins of the calibration curve (10)",
}
"""The ``evaluator_config`` keys canvasback reads, under MLflow's names."""


@dataclass(frozen=True)
class Config:
    """``evaluator_config``, checked, with MLflow's defaults."""

    pos_label: Any = None
    label_list: list[Any] | None = None
    average: str = "weighted"
    sample_weights: np.ndarray | None = None
    metric_prefix: str = ""
    max_classes_for_multiclass_roc_pr: int = 10
    log_model_explainability: bool = True
    calibration_n_bins: int = 10


@dataclass(frozen=True)
class EvaluationData:
    """The data split into the model's input and the truth, and its description."""

    features: pd.DataFrame | np.ndarray
    labels: np.ndarray
    feature_names: list[str]
    predictions: np.ndarray | None
    dataset: datasets.Dataset

    @property
    def rows(self) -> int:
        """How many examples there are."""
        return len(self.labels)


def _refuse(what: str, value: object, allowed: str) -> NoReturn:
    """Raise the refusal of ``value`` for ``what``, saying what is allowed."""
    msg = f"Invalid {what} {value!r}: {allowed}"
    raise InvalidInputError(msg)


def model_type(value: object) -> str:
    """The model type: ``classifier`` or ``regressor``."""
    if value not in MODEL_TYPES:
        allowed = f"canvasback evaluates {' and '.join(map(repr, MODEL_TYPES))} models"
        _refuse("model_type", value, allowed)
    return str(value)


def evaluators(value: object, kind: str) -> None:
    """``None``, ``"default"`` or the model type's evaluator, alone or in a list."""
    names = [value] if value is None or isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not names:
        _refuse("evaluators", value, f"None, a name or a list of names of {EVALUATORS}")
    for name in names:
        if name is None or name in ("default", kind):
            continue
        if name in EVALUATORS:
            allowed = f"the {name!r} evaluator cannot evaluate a {kind}; use 'default' or {kind!r}"
        else:
            allowed = f"canvasback's evaluators are {', '.join(map(repr, EVALUATORS))}"
        _refuse("evaluator", name, allowed)


def config(value: Mapping[str, Any] | None, rows: int) -> Config:
    """``evaluator_config`` checked key by key against :data:`CONFIG_KEYS`."""
    given = dict(value or {})
    unknown = sorted(set(given) - set(CONFIG_KEYS))
    if unknown:
        keys = "; ".join(f"{k!r}: {what}" for k, what in CONFIG_KEYS.items())
        _refuse("evaluator_config key", unknown[0], f"the keys canvasback reads are {keys}")
    average = given.get("average", "weighted")
    if average not in AVERAGES:
        _refuse("evaluator_config['average']", average, f"use one of {AVERAGES}")
    prefix = given.get("metric_prefix") or ""
    if not isinstance(prefix, str):
        _refuse("evaluator_config['metric_prefix']", prefix, "a string is required")
    # The names it makes must be metric names and artifact file names.
    validation.validate_key("metric", f"{prefix}accuracy_score")
    validation.artifact_path(f"{prefix}confusion_matrix.png", what="artifact file")
    for key in ("max_classes_for_multiclass_roc_pr", "calibration_n_bins"):
        number = given.get(key, 10)
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            _refuse(f"evaluator_config[{key!r}]", number, "a positive integer is required")
    labels = given.get("label_list")
    if labels is not None and (isinstance(labels, str) or len(list(labels)) < 2):  # noqa: PLR2004
        _refuse("evaluator_config['label_list']", labels, "a list of two classes or more")
    return Config(
        pos_label=given.get("pos_label"),
        label_list=None if labels is None else list(labels),
        average=str(average),
        sample_weights=_weights(given.get("sample_weights"), rows),
        metric_prefix=prefix,
        max_classes_for_multiclass_roc_pr=int(given.get("max_classes_for_multiclass_roc_pr", 10)),
        log_model_explainability=bool(given.get("log_model_explainability", True)),
        calibration_n_bins=int(given.get("calibration_n_bins", 10)),
    )


def _weights(value: object, rows: int) -> np.ndarray | None:
    if value is None:
        return None
    weights = np.asarray(value, dtype="float64") if _numeric_sequence(value) else None
    if weights is None or weights.ndim != 1 or len(weights) != rows:
        shape = getattr(value, "shape", type(value).__name__)
        allowed = f"one number per row of the data ({rows:,} rows)"
        _refuse("evaluator_config['sample_weights'] of shape", shape, allowed)
    return weights


def _numeric_sequence(value: object) -> bool:
    try:
        np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        return False
    return True


def plots(value: Sequence[str] | None, kind: str) -> tuple[tuple[str, ...], bool]:
    """The plots asked for and whether they were named (named plots must be drawn).

    None: every plot the model allows, those it cannot draw left out (as MLflow).
    """
    allowed = PLOTS_OF[kind]
    if value is None:
        return allowed, False
    if isinstance(value, str):
        _refuse("plots", value, f"a list of plot names, such as [{value!r}]")
    for name in value:
        if name not in allowed:
            where = "" if name in PLOTS else "; there is no such plot"
            msg = f"a {kind} has the plots {', '.join(map(repr, allowed))}{where}"
            _refuse("plot", name, msg)
    return tuple(dict.fromkeys(value)), True


def data(
    value: object,
    targets: object,
    *,
    predictions: str | None,
    feature_names: Sequence[str] | None,
) -> EvaluationData:
    """The features, the true values and the dataset's description."""
    if isinstance(value, pd.DataFrame):
        return _frame(value, targets, predictions)
    if isinstance(value, np.ndarray):
        return _array(value, targets, feature_names)
    allowed = "a pandas DataFrame (with targets naming a column) or a numpy array"
    _refuse("data of type", type(value).__name__, allowed)


def _frame(frame: pd.DataFrame, targets: object, predictions: str | None) -> EvaluationData:
    columns = ", ".join(map(repr, frame.columns))
    if not isinstance(targets, str):
        allowed = f"with a DataFrame, the name of the column of true values (one of {columns})"
        _refuse("targets", targets, allowed)
    for what, name in (("targets", targets), ("predictions", predictions)):
        if name is not None and name not in frame.columns:
            _refuse(what, name, f"it is no column of the data; its columns are {columns}")
    if frame.empty:
        _refuse("data", f"<DataFrame of {frame.shape}>", "at least one row is required")
    dropped = [targets] + ([predictions] if predictions is not None else [])
    features = frame.drop(columns=dropped)
    predicted = None if predictions is None else frame[predictions].to_numpy()
    return EvaluationData(
        features=features,
        labels=frame[targets].to_numpy(),
        feature_names=[str(c) for c in features.columns],
        predictions=predicted,
        dataset=datasets.from_pandas(frame, targets=targets),
    )


def _array(
    array: np.ndarray, targets: object, feature_names: Sequence[str] | None
) -> EvaluationData:
    if targets is None or isinstance(targets, str):
        allowed = "with a numpy array, an array of true values, one per row"
        _refuse("targets", targets, allowed)
    labels = np.asarray(targets)
    features = array.reshape(-1, 1) if array.ndim == 1 else array
    if labels.ndim != 1 or len(labels) != len(features) or features.ndim != 2:  # noqa: PLR2004
        allowed = f"one true value per row of the data ({len(features):,} rows)"
        _refuse("targets of shape", labels.shape, allowed)
    if not len(labels):
        _refuse("data of shape", array.shape, "at least one row is required")
    width = features.shape[1]
    names = list(feature_names) if feature_names is not None else []
    if feature_names is not None and len(names) != width:
        _refuse("feature_names", names, f"one name per column of the data ({width})")
    return EvaluationData(
        features=features,
        labels=labels,
        feature_names=[str(n) for n in names] or [f"feature_{i + 1}" for i in range(width)],
        predictions=None,
        dataset=datasets.from_numpy(features, targets=labels),
    )


def check_labels(labels: np.ndarray, kind: str, targets: object) -> None:
    """True values a model of this type can be scored on: present, and numbers for a regressor."""
    name = targets if isinstance(targets, str) else "targets"
    missing = pd.isna(labels)
    if missing.any():
        where = int(np.flatnonzero(missing)[0])
        msg = f"a true value is required in every row; row {where} has none"
        _refuse(f"{name} value", labels[where], msg)
    numeric = np.issubdtype(labels.dtype, np.number) and labels.dtype != np.bool_
    if kind == "regressor" and not numeric:
        example = labels[0]
        msg = "a regressor's true values are numbers; for classes use model_type='classifier'"
        _refuse(f"{name} value", example, msg)
    if kind == "classifier" and np.issubdtype(labels.dtype, np.floating):
        fractional = labels[labels != np.round(labels)]
        if len(fractional):
            msg = (
                "a classifier's true values are classes, not continuous numbers; for these "
                "use model_type='regressor'"
            )
            _refuse(f"{name} value", float(fractional[0]), msg)
