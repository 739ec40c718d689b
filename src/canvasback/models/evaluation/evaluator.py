"""``evaluate``: score a model on data, chart it, and record it, as ``mlflow.models.evaluate``.

Everything that can be refused is refused before anything is logged: the arguments,
the model (a URI is loaded first), the plots asked for against what the model can
draw. Then the model predicts, scikit-learn scores, the charts render, and only then is
anything written, so a failure midway leaves the store as it was.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from canvasback.models.evaluation import arguments, classifier, recording, regressor
from canvasback.models.evaluation import plots as charting
from canvasback.models.evaluation.predictor import Predictor, classes_of, importances, predictor
from canvasback.models.evaluation.result import (
    ChartEvaluationArtifact,
    CsvEvaluationArtifact,
    EvaluationArtifact,
    EvaluationResult,
)
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd

    from canvasback.models.evaluation.arguments import Config, EvaluationData

_LOG = logging.getLogger(__name__)


def evaluate(
    model: Any = None,  # noqa: ANN401 - an estimator, a function, a loaded model or a URI
    data: Any = None,  # noqa: ANN401 - a DataFrame or a numpy array
    *,
    model_type: str | None = None,
    targets: Any = None,  # noqa: ANN401 - a column name, or an array for numpy data
    predictions: str | None = None,
    feature_names: Sequence[str] | None = None,
    evaluators: str | Sequence[str] | None = None,
    evaluator_config: Mapping[str, Any] | None = None,
    plots: Sequence[str] | None = None,
) -> EvaluationResult:
    """Evaluate a model on data: MLflow's metrics, charts as artifacts, all on a run.

    Parameters
    ----------
    model
        A fitted estimator (anything with ``predict``; ``predict_proba`` gives the
        curves), a function of the features, a loaded model (``canvasback.load_model``),
        or a model URI: ``runs:/<run_id>/<path>``, ``models:/m-<id>``,
        ``models:/<name>/<version>``, ``models:/<name>@<alias>``. A registered version's
        URI also records the result on that version. None with ``predictions``.
    data
        A pandas DataFrame holding the features and the ``targets`` column, or a numpy
        array of features (then ``targets`` is the array of true values).
    model_type
        ``"classifier"`` or ``"regressor"``.
    targets
        The column of true values (or, for numpy data, the values).
    predictions
        With ``model=None``: the data's column of predictions made beforehand.
    feature_names
        Names of a numpy array's columns.
    evaluators
        None or ``"default"`` (or the model type's own name), as MLflow's.
    evaluator_config
        MLflow's options: ``pos_label``, ``label_list``, ``average``, ``sample_weights``,
        ``metric_prefix``, ``max_classes_for_multiclass_roc_pr``,
        ``log_model_explainability``, ``calibration_n_bins``.
    plots
        The plots to draw (see ``arguments.PLOTS_OF``); None draws every one the model
        can, ``[]`` none. A plot named here that the model cannot draw is an error.

    Returns
    -------
    EvaluationResult
        ``metrics``, ``artifacts`` and ``run_id``; in a notebook it shows the charts.

    """
    kind = arguments.model_type(model_type)
    arguments.evaluators(evaluators, kind)
    wanted, named = arguments.plots(plots, kind)
    found_data = arguments.data(data, targets, predictions=predictions, feature_names=feature_names)
    cfg = arguments.config(evaluator_config, found_data.rows)
    arguments.check_labels(found_data.labels, kind, targets)
    found = predictor(model, has_predictions=predictions is not None)
    wanted = _drawable(wanted, named, found, kind, found_data, cfg)

    metrics, tables, rows, classes = _score(found, found_data, cfg, kind)
    subtitle = _subtitle(found, found_data.rows)
    built = {}
    for plot in wanted:
        if plot in rows:
            built[plot] = charting.build(
                plot,
                rows[plot],
                classes=classes,
                subtitle=subtitle,
                value_title=str(rows[plot].attrs.get("value_title", "importance")),
            )
    rendered = charting.render(built)

    prefix = cfg.metric_prefix
    logged = {f"{prefix}{k}": v for k, v in metrics.items()}
    files: dict[str, bytes] = {}
    names = {plot: f"{prefix}{charting.ARTIFACT_NAMES[plot]}" for plot in rendered}
    for plot, chart in rendered.items():
        files.update(chart.files(names[plot]))
    for name, table in tables.items():
        buffer = io.StringIO()
        table.to_csv(buffer, index=False)
        files[f"{prefix}{name}.csv"] = buffer.getvalue().encode()

    run_id = recording.log_on_run(
        logged, files, found_data.dataset, context=prefix, model_id=found.model_id
    )
    text = recording.summary(logged, kind, prefix, found_data.rows)
    recording.record_on_version(found, text, run_id)

    artifacts: dict[str, EvaluationArtifact] = {}
    for plot, chart in rendered.items():
        name = names[plot]
        uris = {ext: f"runs:/{run_id}/{name}.{ext}" for ext in ("png", "svg", "json")}
        artifacts[name] = ChartEvaluationArtifact(uris, chart)
    for name, table in tables.items():
        artifacts[f"{prefix}{name}"] = CsvEvaluationArtifact(
            f"runs:/{run_id}/{prefix}{name}.csv", table
        )
    return EvaluationResult(logged, artifacts, run_id)


def _drawable(
    wanted: tuple[str, ...],
    named: bool,
    found: Predictor,
    kind: str,
    data: EvaluationData,
    cfg: Config,
) -> tuple[str, ...]:
    """The plots to draw: those the model can; one it cannot, if named, is an error."""
    cannot: dict[str, str] = {}
    if kind == "classifier" and found.predict_proba is None:
        why = f"class probabilities, but {found.description} has no predict_proba"
        cannot.update(roc=why, pr=why, calibration=why)
    if not cfg.log_model_explainability:
        cannot["feature_importance"] = "log_model_explainability is False"
    elif found.estimator is None or importances(found, data.feature_names) is None:
        cannot["feature_importance"] = (
            f"feature_importances_ or coef_ (one per feature), which {found.description} "
            "does not have"
        )
    refused = [plot for plot in wanted if plot in cannot]
    if named and refused:
        plot = refused[0]
        can = [p for p in arguments.PLOTS_OF[kind] if p not in cannot]
        msg = (
            f"Invalid plot {plot!r}: it needs {cannot[plot]}; the plots this model can draw "
            f"are {', '.join(map(repr, can))}"
        )
        raise InvalidInputError(msg)
    return tuple(plot for plot in wanted if plot not in cannot)


def _score(
    found: Predictor, data: EvaluationData, cfg: Config, kind: str
) -> tuple[dict[str, float], dict[str, pd.DataFrame], dict[str, pd.DataFrame], list[str]]:
    """Metrics, tables, each plot's rows and the classes (none for a regressor)."""
    y = data.labels
    if found.predict is None:
        y_pred = np.asarray(data.predictions)
    else:
        y_pred = _one_per_row(found.predict(data.features), len(y), found.description)
    if kind == "classifier":
        proba = None
        known = classes_of(found)
        if found.predict_proba is not None:
            proba = np.asarray(found.predict_proba(data.features))
            classifier.check_probabilities(proba, known or sorted(np.unique(y).tolist()))
        order = classifier.classes(y, y_pred, known, cfg)
        scores = classifier.score(y, y_pred, proba, order, known, cfg)
        metrics, tables, rows, classes = scores.metrics, scores.tables, scores.plots, scores.classes
    else:
        metrics = regressor.score(np.asarray(y, dtype="float64"), y_pred.astype("float64"), cfg)
        tables, rows, classes = {}, regressor.plot_rows(y, y_pred), []
    _sklearn_score(found, data, cfg, metrics)
    found_importances = importances(found, data.feature_names) if found.estimator else None
    if found_importances is not None:
        values, what = found_importances
        frame = charting.importance_rows(values.tolist(), data.feature_names)
        frame.attrs["value_title"] = what
        rows["feature_importance"] = frame
    return metrics, tables, rows, classes


def _one_per_row(output: object, rows: int, description: str) -> np.ndarray:
    """The model's predictions as one value per row (a column of one, flattened)."""
    values = np.asarray(output)
    if values.ndim == 2 and values.shape[1] == 1:  # noqa: PLR2004
        values = values[:, 0]
    if values.shape != (rows,):
        msg = (
            f"Invalid predictions of shape {values.shape} from {description}: one prediction "
            f"per row of the data ({rows:,}) is required"
        )
        raise InvalidInputError(msg)
    return values


def _sklearn_score(
    found: Predictor, data: EvaluationData, cfg: Config, metrics: dict[str, float]
) -> None:
    """``score``: the estimator's own ``score`` method, as MLflow logs it."""
    method = getattr(found.estimator, "score", None)
    if not callable(method):
        return
    try:
        metrics["score"] = float(
            method(data.features, data.labels, sample_weight=cfg.sample_weights)
        )
    except Exception:  # noqa: BLE001 - MLflow goes on without it, and so does this
        _LOG.warning("canvasback: the estimator's score failed; no 'score' metric", exc_info=True)


def _subtitle(found: Predictor, rows: int) -> str:
    return f"{found.description} · {rows:,} rows"
