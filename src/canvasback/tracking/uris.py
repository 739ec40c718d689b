"""URIs of runs and stores: ``runs:/<run_id>/<path>``, ``file:`` paths."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from canvasback.store import layout
from canvasback.tracking.validation import InvalidInputError


def parse_runs_uri(uri: str, store_root: Path) -> tuple[str, str]:
    """``(run_id, artifact path)`` of ``runs:/<id>/<path>`` or of a run's artifact URI."""
    if uri.startswith("runs:/"):
        run_id, _, path = uri.removeprefix("runs:/").lstrip("/").partition("/")
        if run_id:
            return run_id, path
    else:
        local = store_path(uri)
        base = store_root / layout.ARTIFACTS_DIR
        if local.is_relative_to(base):
            parts = local.relative_to(base).parts
            if parts:
                return parts[0], "/".join(parts[1:])
    msg = (
        f"Invalid artifact URI {uri!r}: expected runs:/<run_id>/<path>, or a path under "
        f"a run's artifact_uri in the store {str(store_root)!r}"
    )
    raise InvalidInputError(msg)


STORE_SCHEME = "canvasback"

# MLflow reads these bare words as hosted tracking servers, not as folder names.
_SERVER_WORDS = frozenset({"databricks", "databricks-uc", "uc"})


def store_path(uri: str) -> Path:
    """The local path of a store URI: a path, a ``file:`` or a ``canvasback:`` URI.

    ``canvasback:///path`` is the URI a launched run's process gets as
    ``MLFLOW_TRACKING_URI``: a scheme of its own, so that MLflow itself never writes its
    own files into the store: it logs through canvasback's plugin for that scheme, or
    refuses the URI where the plugin is not installed.
    """
    parsed = urlparse(uri)
    local = parsed.scheme in ("", "file", STORE_SCHEME) or (
        len(parsed.scheme) == 1 and uri[1:2] == ":"
    )
    if local and uri not in _SERVER_WORDS:
        path = unquote(parsed.path) if parsed.scheme in ("file", STORE_SCHEME) else uri
        return Path(path).expanduser().absolute()
    msg = (
        f"Tracking URI {uri!r} is not a local store. canvasback reads and writes its own "
        "store, a folder of Parquet files (a path or a file: URI); it does not talk to an "
        "MLflow tracking server or Databricks. To bring an MLflow store's runs over: "
        f"canvasback import-mlflow {uri} --store <store> (canvasback.import_mlflow)."
    )
    raise InvalidInputError(msg)


def store_uri(path: Path) -> str:
    """A ``canvasback:`` URI of a store folder (what launched processes are given)."""
    return STORE_SCHEME + path.absolute().as_uri().removeprefix("file")


def file_uri(path: Path) -> str:
    """A ``file:`` URI of a local path."""
    return path.absolute().as_uri()
