"""Models in MLflow's on-disk format: flavors, signatures, ``log_model`` / ``load_model``.

The public faces are ``canvasback.sklearn`` and ``canvasback.pyfunc`` (MLflow's module
paths) and ``canvasback.models`` itself for signatures (``infer_signature``).
"""

from __future__ import annotations

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

__all__ = [
    "ColSpec",
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
    "infer_signature",
    "load_model",
    "load_sklearn",
    "model_folder",
]
