"""URIs of runs and stores: ``runs:/<run_id>/<path>``, ``file:`` paths, ``s3://`` URLs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback import _config
from canvasback.exceptions import MlflowException
from canvasback.store import layout
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from pathlib import Path


def parse_runs_uri(uri: str, store: _config.StoreAddress) -> tuple[str, str]:
    """``(run_id, artifact path)`` of ``runs:/<id>/<path>`` or of a run's artifact URI."""
    if uri.startswith("runs:/"):
        run_id, _, path = uri.removeprefix("runs:/").lstrip("/").partition("/")
        if run_id:
            return run_id, path
    else:
        parts = _below_artifacts(uri, store)
        if parts:
            return parts[0], "/".join(parts[1:])
    msg = (
        f"Invalid artifact URI {uri!r}: expected runs:/<run_id>/<path>, or a path under "
        f"a run's artifact_uri in the store {str(store)!r}"
    )
    raise InvalidInputError(msg)


def under_artifacts(uri: str, store: _config.StoreAddress) -> bool:
    """Whether ``uri`` names a run's artifacts in ``store`` (its path or its URL)."""
    return bool(_below_artifacts(uri, store))


def _below_artifacts(uri: str, store: _config.StoreAddress) -> list[str]:
    """The parts of ``uri`` below the store's artifacts folder (none if not below it)."""
    if isinstance(store, _config.S3Address):
        base = f"{store.url}/{layout.ARTIFACTS_DIR}/"
        if not uri.startswith(base):
            return []
        parts = uri.removeprefix(base).strip("/").split("/")
        return [] if any(p in ("", ".", "..") for p in parts) else parts
    try:
        local: Path | None = store_path(uri)
    except MlflowException:  # no local path: not below a local store's artifacts
        local = None
    folder = store / layout.ARTIFACTS_DIR
    if local is None or not local.is_relative_to(folder):
        return []
    return list(local.relative_to(folder).parts)


STORE_SCHEME = _config.STORE_SCHEME


def store_path(uri: str, *, purpose: str = "logging and reading runs") -> Path:
    """The local path of a URI: a path, a ``file:`` or a ``canvasback:`` URI.

    ``canvasback:///path`` is the URI a launched run's process gets as
    ``MLFLOW_TRACKING_URI``: a scheme of its own, so that MLflow itself never writes its
    own files into the store: it logs through canvasback's plugin for that scheme, or
    refuses the URI where the plugin is not installed.
    The string is parsed by the one parser of store strings (``_config.parse_store``); an
    ``s3://`` URL is refused for ``purpose``, which needs a local folder.
    """
    address = _config.parse_store(uri, given_as="Tracking URI")
    return _config.local_store(address, purpose, given_as="Tracking URI")


def store_uri(path: Path) -> str:
    """A ``canvasback:`` URI of a store folder (what launched processes are given)."""
    return STORE_SCHEME + path.absolute().as_uri().removeprefix("file")


def file_uri(path: Path) -> str:
    """A ``file:`` URI of a local path."""
    return path.absolute().as_uri()
