"""URIs of runs and stores: ``runs:/<run_id>/<path>``, ``file:`` paths."""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback import _config
from canvasback.exceptions import MlflowException
from canvasback.store import layout
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from pathlib import Path


def parse_runs_uri(uri: str, store_root: Path) -> tuple[str, str]:
    """``(run_id, artifact path)`` of ``runs:/<id>/<path>`` or of a run's artifact URI."""
    if uri.startswith("runs:/"):
        run_id, _, path = uri.removeprefix("runs:/").lstrip("/").partition("/")
        if run_id:
            return run_id, path
    else:
        try:
            local: Path | None = store_path(uri)
        except MlflowException:  # no local path: said below, as any other URI
            local = None
        base = store_root / layout.ARTIFACTS_DIR
        if local is not None and local.is_relative_to(base):
            parts = local.relative_to(base).parts
            if parts:
                return parts[0], "/".join(parts[1:])
    msg = (
        f"Invalid artifact URI {uri!r}: expected runs:/<run_id>/<path>, or a path under "
        f"a run's artifact_uri in the store {str(store_root)!r}"
    )
    raise InvalidInputError(msg)


STORE_SCHEME = _config.STORE_SCHEME


def store_path(uri: str, *, purpose: str = "logging and reading runs") -> Path:
    """The local path of a store URI: a path, a ``file:`` or a ``canvasback:`` URI.

    ``canvasback:///path`` is the URI a launched run's process gets as
    ``MLFLOW_TRACKING_URI``: a scheme of its own, so that MLflow itself never writes its
    own files into the store: it logs through canvasback's plugin for that scheme, or
    refuses the URI where the plugin is not installed.
    The string is parsed by the one parser of store strings (``_config.parse_store``); an
    ``s3://`` store is refused for ``purpose`` until the store runs on object storage.
    """
    address = _config.parse_store(uri, given_as="Tracking URI")
    return _config.local_store(address, purpose, given_as="Tracking URI")


def store_uri(path: Path) -> str:
    """A ``canvasback:`` URI of a store folder (what launched processes are given)."""
    return STORE_SCHEME + path.absolute().as_uri().removeprefix("file")


def file_uri(path: Path) -> str:
    """A ``file:`` URI of a local path."""
    return path.absolute().as_uri()
