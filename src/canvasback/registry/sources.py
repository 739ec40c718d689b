"""Where a model lives: ``runs:/``, ``models:/m-<id>`` and folder URIs to a local folder.

Registry URIs (``models:/<name>/<version>``, ``@alias``, ``/latest``) resolve to a
version's source through the registry first, then here. A location is a folder with an
``MLmodel`` file; anything else is an error naming what exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from canvasback.exceptions import RESOURCE_DOES_NOT_EXIST, MlflowException
from canvasback.store import layout
from canvasback.tracking import logged_models, queries, uris, validation

if TYPE_CHECKING:
    from pathlib import Path

    from canvasback.store import Store

MLMODEL: Final = "MLmodel"
MODELS_PREFIX: Final = "models:/"


class ModelNotFoundError(MlflowException, LookupError):
    """A model URI that names no model folder (no ``MLmodel`` file there)."""

    error_code = RESOURCE_DOES_NOT_EXIST


@dataclass(frozen=True)
class ModelLocation:
    """A model folder on local disk, and the run it was logged in (if any)."""

    path: Path
    source: str
    """The portable URI of the folder: ``runs:/<run_id>/<path>`` for a run's model."""
    run_id: str | None = None
    artifact_path: str | None = None


def models_uri_body(uri: str) -> str:
    """What follows ``models:/`` in a model URI (trailing slashes left out)."""
    body = uri.removeprefix(MODELS_PREFIX)
    if body.startswith("/") or not body.strip("/"):
        msg = (
            f"Invalid model URI {uri!r}: a models URI has one slash after 'models:' and "
            "names a model: models:/<name>/<version>, models:/<name>/<stage>, "
            "models:/<name>/latest, models:/<name>@<alias> or models:/m-<id>"
        )
        raise validation.InvalidInputError(msg)
    return body.rstrip("/")


def locate(store: Store, uri: str) -> ModelLocation:
    """The folder of ``runs:/<run_id>/<path>``, ``models:/m-<id>`` or a local folder URI."""
    if uri.startswith(MODELS_PREFIX):
        model_id = models_uri_body(uri)
        found = logged_models.resolve(store, model_id)
        if found is None:
            msg = f"No logged model {model_id!r} in store {str(store.root)!r} (from {uri!r})"
            raise ModelNotFoundError(msg)
        return _run_model(store, *found, uri=uri)
    if uri.startswith("runs:/") or _under_artifacts(store, uri):
        run_id, path = uris.parse_runs_uri(uri, store.root)
        return _run_model(store, run_id, validation.artifact_path(path), uri=uri)
    folder = uris.store_path(uri)
    if not (folder / MLMODEL).is_file():
        what = "is not a folder" if not folder.is_dir() else "has no MLmodel file"
        msg = f"No model at {uri!r}: {str(folder)!r} {what}"
        raise ModelNotFoundError(msg)
    return ModelLocation(folder, folder.as_uri())


def _under_artifacts(store: Store, uri: str) -> bool:
    try:
        local = uris.store_path(uri)
    except validation.InvalidInputError:
        return False
    return local.is_relative_to(store.root / layout.ARTIFACTS_DIR)


def _run_model(store: Store, run_id: str, path: str, *, uri: str) -> ModelLocation:
    base = store.fs.path(f"{layout.ARTIFACTS_DIR}/{run_id}")
    folder = store.fs.path(f"{layout.ARTIFACTS_DIR}/{run_id}/{path}") if path else base
    if (folder / MLMODEL).is_file():
        return ModelLocation(folder, f"runs:/{run_id}/{path}", run_id, path)
    if not queries.existing_run_ids(store.read(), [run_id]):
        msg = f"No run {run_id!r} in store {str(store.root)!r} (from model URI {uri!r})"
        raise ModelNotFoundError(msg)
    models = sorted(
        p.parent.relative_to(base).as_posix() for p in base.rglob(MLMODEL) if p.is_file()
    )
    held = (
        f"its models are at {', '.join(repr(m) for m in models)}"
        if models
        else "it has no logged model"
    )
    msg = f"Run {run_id!r} has no model at {path!r} (no MLmodel file there); {held}"
    raise ModelNotFoundError(msg)
