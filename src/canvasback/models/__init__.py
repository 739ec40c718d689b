"""Models in MLflow's on-disk format: flavors, signatures, ``log_model`` / ``load_model``.

The public faces are ``canvasback.sklearn`` and ``canvasback.pyfunc`` (MLflow's module
paths) and ``canvasback.models`` itself for signatures (``infer_signature``) and
evaluation (``evaluate``, ``EvaluationResult``, ``list_evaluators``: loaded on first use,
with scikit-learn and Altair, so that logging a model loads neither).
"""

from __future__ import annotations

from typing import Any

from canvasback.models.loading import load_model, load_sklearn, model_folder
from canvasback.models.mlmodel import Model, ModelInfo
from canvasback.models.pyfunc_flavor import PyFuncModel, PythonModel, PythonModelContext
from canvasback.models.signature import (
    ColSpec,
    ModelSignature,
    Schema,
    SignatureMismatchError,
    TensorSpec,
    infer_signature,
)
from canvasback.models.trust import PickleLoadWarning, UntrustedModelError
from canvasback.registry.sources import IncompleteModelError, ModelFileOutsideError

# Evaluation loads on first use (canvasback.models.evaluation).
_EVALUATION = ("EvaluationArtifact", "EvaluationResult", "evaluate", "list_evaluators")

__all__ = [
    "ColSpec",
    "EvaluationArtifact",
    "EvaluationResult",
    "IncompleteModelError",
    "Model",
    "ModelFileOutsideError",
    "ModelInfo",
    "ModelSignature",
    "PickleLoadWarning",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "Schema",
    "SignatureMismatchError",
    "TensorSpec",
    "UntrustedModelError",
    "evaluate",
    "infer_signature",
    "list_evaluators",
    "load_model",
    "load_sklearn",
    "model_folder",
]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - an evaluation function or class
    if name in _EVALUATION:
        from canvasback.models import evaluation  # noqa: PLC0415  # lazy by design

        return getattr(evaluation, name)
    msg = f"module 'canvasback.models' has no attribute {name!r}"
    raise AttributeError(msg)
