"""``load_model``: any model URI to a loaded model, through the current store.

``runs:/<run_id>/<path>``, ``models:/m-<id>`` (what ``log_model`` returned),
``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/latest``,
or a local folder (one that MLflow saved, too).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canvasback.models import sklearn_flavor
from canvasback.models.mlmodel import Model
from canvasback.models.pyfunc_flavor import PyFuncModel, load_pyfunc
from canvasback.registry.client import client
from canvasback.registry.sources import ModelNotFoundError

if TYPE_CHECKING:
    import os


def model_folder(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Path:
    """The local folder of a model URI (copied below ``dst_path`` if given)."""
    uri = str(model_uri)
    folder = client().locate_model(uri).path
    if dst_path is None:
        return folder
    dest = Path(dst_path) / folder.name
    shutil.copytree(folder, dest, dirs_exist_ok=True)
    return dest


def load_model(
    model_uri: str | os.PathLike[str],
    dst_path: str | None = None,
    *,
    trusted: bool | None = None,
    skops_trusted_types: list[str] | None = None,
) -> PyFuncModel:
    """Any model with a pyfunc flavor, as a :class:`PyFuncModel` (``predict`` checks input)."""
    folder = model_folder(model_uri, dst_path)
    return load_pyfunc(folder, trusted=trusted, skops_trusted_types=skops_trusted_types)


def load_sklearn(
    model_uri: str | os.PathLike[str],
    dst_path: str | None = None,
    *,
    trusted: bool | None = None,
    skops_trusted_types: list[str] | None = None,
) -> Any:  # noqa: ANN401  # the estimator
    """The scikit-learn estimator of a model with the ``sklearn`` flavor."""
    folder = model_folder(model_uri, dst_path)
    model = Model.load(folder)
    if sklearn_flavor.FLAVOR not in model.flavors:
        have = ", ".join(model.flavors) or "none"
        msg = f"The model at {str(model_uri)!r} has no sklearn flavor (its flavors: {have})"
        raise ModelNotFoundError(msg)
    return sklearn_flavor.load(
        folder, model, trusted=trusted, skops_trusted_types=skops_trusted_types
    )
