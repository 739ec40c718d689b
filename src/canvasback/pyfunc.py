"""Generic and custom models under MLflow's names (``mlflow.pyfunc``).

``load_model(uri)`` loads any model with a pyfunc flavor; its ``predict`` checks the
input against the model's signature and names the column that is wrong or missing.
``log_model(name=, python_model=MyModel())`` logs a custom model (an object with
``predict(context, model_input, params=None)``), cloudpickled as MLflow does, with its
``artifacts`` and ``code_paths``; loading one needs ``trusted=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from canvasback.models import pyfunc_flavor
from canvasback.models.loading import load_model
from canvasback.models.logging import log_model as _log
from canvasback.models.logging import save_to_new_folder
from canvasback.models.pyfunc_flavor import PyFuncModel, PythonModel, PythonModelContext

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping, Sequence

    from canvasback.models.mlmodel import Model, ModelInfo
    from canvasback.models.signature import ModelSignature

__all__ = [
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "log_model",
    "save_model",
]


def save_model(
    path: str | os.PathLike[str],
    python_model: Any = None,  # noqa: ANN401
    artifacts: Mapping[str, str] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,  # noqa: ANN401
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
) -> Model:
    """Save a custom model in MLflow's format into a new folder ``path``."""
    return save_to_new_folder(
        path,
        lambda folder: pyfunc_flavor.save(
            python_model,
            folder,
            artifacts=artifacts,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            code_paths=[Path(p) for p in code_paths or []],
        ),
    )


def log_model(
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    python_model: Any = None,  # noqa: ANN401
    artifacts: Mapping[str, str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,  # noqa: ANN401
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
) -> ModelInfo:
    """Log a custom model into the active run; returns its ``models:/m-<id>`` URI.

    ``artifacts`` maps names to local paths, ``file:`` URIs, or ``runs:/`` and
    ``models:/`` URIs of the current store, copied into the model folder (the model's
    ``load_context`` finds them in ``context.artifacts``); ``code_paths`` are files and
    folders copied into its ``code/``, put on ``sys.path`` when it loads.
    """
    return _log(
        lambda folder: pyfunc_flavor.save(
            python_model,
            folder,
            artifacts=artifacts,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            code_paths=[Path(p) for p in code_paths or []],
        ),
        name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        tags=tags,
    )
