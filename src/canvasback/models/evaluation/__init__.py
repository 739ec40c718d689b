"""Model evaluation, as MLflow's ``mlflow.models.evaluate``, with charts of canvasback's own.

``evaluate(model, data, targets=, model_type=)`` scores a classifier or a regressor with
scikit-learn under MLflow's metric names, draws its plots as Altair charts (logged as
PNG, SVG and their Vega-Lite spec), and records it all on a run; a registered version
evaluated by its ``models:/`` URI gets the result among its tags. ``overlay(runs,
plot="roc")`` draws several runs' curves in one chart. It needs scikit-learn, Altair and
vl-convert (the ``evaluate`` extra).
"""

from __future__ import annotations

from canvasback.models.evaluation.arguments import CONFIG_KEYS, EVALUATORS, MODEL_TYPES, PLOTS_OF
from canvasback.models.evaluation.evaluator import evaluate
from canvasback.models.evaluation.overlay import curves, overlay, overlay_rows
from canvasback.models.evaluation.recording import RUN_TAG, SUMMARY_TAG
from canvasback.models.evaluation.result import (
    ChartEvaluationArtifact,
    CsvEvaluationArtifact,
    EvaluationArtifact,
    EvaluationResult,
)

__all__ = [
    "CONFIG_KEYS",
    "EVALUATORS",
    "MODEL_TYPES",
    "PLOTS_OF",
    "RUN_TAG",
    "SUMMARY_TAG",
    "ChartEvaluationArtifact",
    "CsvEvaluationArtifact",
    "EvaluationArtifact",
    "EvaluationResult",
    "curves",
    "evaluate",
    "list_evaluators",
    "overlay",
    "overlay_rows",
]


def list_evaluators() -> list[str]:
    """The evaluators' names (MLflow's ``list_evaluators``)."""
    return list(EVALUATORS)
