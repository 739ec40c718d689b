"""scikit-learn models under MLflow's names (``mlflow.sklearn``): skops by default.

``log_model(model, name="model", input_example=X[:5], registered_model_name="churn")``
logs the model into the active run in MLflow's format; ``load_model(uri)`` loads it
back, without unpickling unless the model was saved with a pickle format and the caller
passes ``trusted=True``. ``autolog()`` logs every fit as a run, with its params,
training metrics and model (``canvasback.integrations.sklearn_autolog``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from canvasback.integrations.sklearn_autolog import autolog
from canvasback.models import sklearn_flavor
from canvasback.models.loading import load_sklearn
from canvasback.models.logging import log_model as _log
from canvasback.models.logging import save_to_new_folder

if TYPE_CHECKING:
    import os

    from canvasback.models.mlmodel import Model, ModelInfo
    from canvasback.models.signature import ModelSignature

SERIALIZATION_FORMAT_SKOPS: Final = "skops"
SERIALIZATION_FORMAT_PICKLE: Final = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE: Final = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS: Final = sklearn_flavor.FORMATS

load_model = load_sklearn

__all__ = [
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "SUPPORTED_SERIALIZATION_FORMATS",
    "autolog",
    "load_model",
    "log_model",
    "save_model",
]


def save_model(
    sk_model: Any,  # noqa: ANN401
    path: str | os.PathLike[str],
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,  # noqa: ANN401
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
) -> Model:
    """Save a scikit-learn model in MLflow's format into a new folder ``path``."""
    return save_to_new_folder(
        path,
        lambda folder: sklearn_flavor.save(
            sk_model,
            folder,
            serialization_format=serialization_format,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            skops_trusted_types=skops_trusted_types,
            pyfunc_predict_fn=pyfunc_predict_fn,
        ),
    )


def log_model(
    sk_model: Any,  # noqa: ANN401
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,  # noqa: ANN401
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    tags: dict[str, Any] | None = None,
) -> ModelInfo:
    """Log a scikit-learn model into the active run; returns its ``models:/m-<id>`` URI."""
    return _log(
        lambda folder: sklearn_flavor.save(
            sk_model,
            folder,
            serialization_format=serialization_format,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            skops_trusted_types=skops_trusted_types,
            pyfunc_predict_fn=pyfunc_predict_fn,
        ),
        name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        tags=tags,
    )
