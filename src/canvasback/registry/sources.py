"""Where a model lives: ``runs:/``, ``models:/m-<id>`` and folder URIs to a local folder.

Registry URIs (``models:/<name>/<version>``, ``@alias``, ``/latest``) resolve to a
version's source through the registry first, then here. A location is a folder with an
``MLmodel`` file; anything else is an error naming what exists. Every file its
``MLmodel`` names must exist (``log_model`` copies ``MLmodel`` last, so a copy cut
short is no model) and, symlinks resolved, lie inside the folder: a model cannot read
or register a file elsewhere on the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Final

from canvasback import query
from canvasback.exceptions import RESOURCE_DOES_NOT_EXIST, MlflowException
from canvasback.store import layout
from canvasback.tracking import logged_models, uris, validation

if TYPE_CHECKING:
    from pathlib import Path

    from canvasback.store import Store

MLMODEL: Final = "MLmodel"
MODELS_PREFIX: Final = "models:/"


class ModelNotFoundError(MlflowException, LookupError):
    """A model URI that names no model folder (no ``MLmodel`` file there)."""

    error_code = RESOURCE_DOES_NOT_EXIST


class IncompleteModelError(ModelNotFoundError):
    """A model folder whose ``MLmodel`` names a file that is not there."""


class ModelFileOutsideError(MlflowException, PermissionError):
    """A model file that resolves (through a symlink, ``..`` or an absolute path) elsewhere."""


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
            msg = f"No logged model {model_id!r} in store {store.url!r} (from {uri!r})"
            raise ModelNotFoundError(msg)
        return _run_model(store, *found, uri=uri)
    if uri.startswith("runs:/") or uris.under_artifacts(uri, store.address):
        run_id, path = uris.parse_runs_uri(uri, store.address)
        return _run_model(store, run_id, validation.artifact_path(path), uri=uri)
    folder = uris.store_path(uri, purpose="loading a model")
    if not (folder / MLMODEL).is_file():
        what = "is not a folder" if not folder.is_dir() else "has no MLmodel file"
        msg = f"No model at {uri!r}: {str(folder)!r} {what}"
        raise ModelNotFoundError(msg)
    check_folder(folder)
    return ModelLocation(folder, folder.as_uri())


def model_file(folder: Path, name: object) -> Path:
    """The file ``name`` of a model folder, refused unless it resolves inside the folder."""
    if not isinstance(name, str) or not name:
        msg = f"Invalid model file {name!r} in the MLmodel of {str(folder)!r}: a file name"
        raise ModelNotFoundError(msg)
    root = folder.resolve()
    path = (root / name).resolve()
    if path == root or not path.is_relative_to(root):
        msg = (
            f"Refusing the model at {str(folder)!r}: its file {name!r} points to "
            f"{str(path)!r}, outside the model folder; a model's files must be inside it"
        )
        raise ModelFileOutsideError(msg)
    return path


def check_folder(folder: Path) -> None:
    """Refuse a model folder whose files are missing or lie outside it."""
    import yaml  # type: ignore[import-untyped]  # noqa: PLC0415  # ~10 ms, for model folders only

    text = model_file(folder, MLMODEL).read_text()
    described = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    for what, name in _named_files(_mapping(described)):
        if not model_file(folder, name).exists():
            msg = (
                f"The model folder {str(folder)!r} is incomplete: its MLmodel names {what} "
                f"{name!r}, which is missing (a copy cut short?); log the model again"
            )
            raise IncompleteModelError(msg)


def _named_files(described: dict[str, Any]) -> list[tuple[str, object]]:
    """(what, name) of the files an ``MLmodel`` names that canvasback's loaders read."""
    flavors = _mapping(described.get("flavors"))
    sklearn, pyfunc = _mapping(flavors.get("sklearn")), _mapping(flavors.get("python_function"))
    example = _mapping(described.get("saved_input_example_info"))
    named = [
        ("the sklearn model file", sklearn.get("pickled_model")),
        ("the python_function model file", pyfunc.get("model_path")),
        ("the python_function data", pyfunc.get("data")),
        ("the custom model file", pyfunc.get("python_model")),
        ("the input example", example.get("artifact_path")),
        ("the serving input example", example.get("serving_input_path")),
    ]
    for key, artifact in _mapping(pyfunc.get("artifacts")).items():
        named.append((f"the artifact {key!r}", _mapping(artifact).get("path")))
    return [(what, name) for what, name in named if name is not None]


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _run_model(store: Store, run_id: str, path: str, *, uri: str) -> ModelLocation:
    """A run's model folder, local: in a local store itself, else a view of its copies."""
    base = store.fs.inside(f"{layout.ARTIFACTS_DIR}/{run_id}")
    rel = store.fs.inside(f"{base}/{path}") if path else base
    if store.fs.is_regular_file(f"{rel}/{MLMODEL}"):
        folder = store.fs.local_copy(rel)
        check_folder(folder)
        return ModelLocation(folder, f"runs:/{run_id}/{path}", run_id, path)
    if not query.existing_run_ids(store.read(), [run_id]):
        msg = f"No run {run_id!r} in store {store.url!r} (from model URI {uri!r})"
        raise ModelNotFoundError(msg)
    models = sorted(
        (PurePosixPath(p).parent.relative_to(base).as_posix())
        for p in store.fs.walk_files(base)
        if PurePosixPath(p).name == MLMODEL
    )
    held = (
        f"its models are at {', '.join(repr(m) for m in models)}"
        if models
        else "it has no logged model"
    )
    msg = f"Run {run_id!r} has no model at {path!r} (no MLmodel file there); {held}"
    raise ModelNotFoundError(msg)
