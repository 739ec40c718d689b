"""``canvasback:`` URIs: a store (the tracking and registry URI) and its artifacts.

The store's URI is ``canvasback:///path/to/store`` (or ``canvasback:relative/path``).
A run's artifact URI is the store's ``artifacts/<run_id>`` folder under the same scheme,
so that MLflow hands every artifact write to the plugin's repository, which writes
through the run (files indexed in the store, as canvasback's own calls do). MLflow
joins paths onto it and may drop the empty authority (``canvasback:/path``); both forms
read the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import unquote, urlparse

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from canvasback.store import layout
from canvasback.tracking import uris as tracking_uris

SCHEME: Final = tracking_uris.STORE_SCHEME


class CanvasbackURIError(MlflowException):
    """A ``canvasback:`` URI that names no store, or no run's artifacts of one."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)


def _local(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme != SCHEME:
        msg = f"Invalid URI {uri!r}: a {SCHEME}: URI is expected ({SCHEME}:///path/to/store)"
        raise CanvasbackURIError(msg)
    if parsed.netloc or parsed.query or parsed.fragment:
        msg = (
            f"Invalid URI {uri!r}: a {SCHEME}: URI names a local folder, with no host, "
            f"query or fragment ({SCHEME}:///path/to/store or {SCHEME}:relative/path)"
        )
        raise CanvasbackURIError(msg)
    if not parsed.path:
        msg = f"Invalid URI {uri!r}: it names no folder ({SCHEME}:///path/to/store)"
        raise CanvasbackURIError(msg)
    return unquote(parsed.path)


def store_root(uri: str) -> Path:
    """The store folder of a tracking or registry URI (a relative one from the cwd)."""
    return Path(_local(uri)).expanduser().absolute()


def store_uri(root: Path) -> str:
    """The tracking URI of a store folder."""
    return tracking_uris.store_uri(root)


def artifacts_uri(root: Path, run_id: str | None = None, path: str = "") -> str:
    """The URI of the store's artifacts, of a run's, or of a folder in a run's."""
    rel = PurePosixPath(layout.ARTIFACTS_DIR, *([run_id] if run_id else []), *path.split("/"))
    return store_uri(root / rel)


@dataclass(frozen=True)
class ArtifactLocation:
    """Where an artifact URI points: a store, a run of it, a path in the run's artifacts."""

    root: Path
    run_id: str
    path: str


def artifact_location(uri: str, known_roots: list[Path]) -> ArtifactLocation:
    """The store, run and path of a run's artifact URI.

    The store is the known root (a store this process opened) that holds the path, or
    else the outermost folder above an ``artifacts`` folder that holds a store's claims.
    """
    path = Path(_local(uri))
    if not path.is_absolute():
        msg = f"Invalid artifact URI {uri!r}: an artifact URI names an absolute path"
        raise CanvasbackURIError(msg)
    candidates = [r for r in known_roots if path.is_relative_to(r / layout.ARTIFACTS_DIR)]
    parts = path.parts
    candidates += [
        Path(*parts[:i])
        for i, part in enumerate(parts)
        if part == layout.ARTIFACTS_DIR
        and i > 0
        and (Path(*parts[:i]) / layout.CLAIMS_DIR).is_dir()
    ]
    for root in candidates:
        inside = path.relative_to(root / layout.ARTIFACTS_DIR).parts
        if inside and ".." not in inside:
            return ArtifactLocation(root, inside[0], "/".join(inside[1:]))
    msg = (
        f"Invalid artifact URI {uri!r}: it names no run's artifacts in a canvasback store "
        f"({SCHEME}:///path/to/store/{layout.ARTIFACTS_DIR}/<run_id>/...)"
    )
    raise CanvasbackURIError(msg)
