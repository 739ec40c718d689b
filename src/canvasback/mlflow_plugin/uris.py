"""``canvasback:`` URIs: a store (the tracking and registry URI) and its artifacts.

The store's URI is ``canvasback:///path/to/store`` (or ``canvasback:relative/path``).
A run's artifact URI is the store's ``artifacts/<run_id>`` folder under the same scheme,
so that MLflow hands every artifact write to the plugin's repository, which writes
through the run (files indexed in the store, as canvasback's own calls do). MLflow
joins paths onto it and may drop the empty authority (``canvasback:/path``); both forms
read the same. The store's own URI names its artifacts too, by their paths in the store
(``artifacts/<run_id>/...``): ``mlflow server``'s ``--artifacts-destination``. Behind a
server that proxies them, the same paths are handed out under its ``mlflow-artifacts:``
root instead (:class:`StoreArtifacts`, :mod:`.proxied`).
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
from canvasback.tracking import validation

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


def _in_store(run_id: str | None, path: str) -> PurePosixPath:
    """The path in a store of its artifacts, a run's, or a folder in a run's."""
    return PurePosixPath(layout.ARTIFACTS_DIR, *([run_id] if run_id else []), *path.split("/"))


def artifacts_uri(root: Path, run_id: str | None = None, path: str = "") -> str:
    """The URI of the store's artifacts, of a run's, or of a folder in a run's."""
    return store_uri(root / _in_store(run_id, path))


@dataclass(frozen=True)
class StoreArtifacts:
    """The URIs MLflow is given for a store's artifacts: its folder's, or a server's proxy.

    ``proxy`` is the ``mlflow-artifacts:`` root of an ``mlflow server`` that serves the
    store's artifacts to its clients (:mod:`.proxied`), under which each file keeps its
    path in the store; None in a process that reaches the store's folder itself.
    """

    root: Path
    proxy: str | None = None

    def uri(self, run_id: str | None = None, path: str = "") -> str:
        """The URI of the store's artifacts, of a run's, or of a folder in a run's."""
        if self.proxy is None:
            return artifacts_uri(self.root, run_id, path)
        return f"{self.proxy.rstrip('/')}/{_in_store(run_id, path)}"

    def in_store(self, uri: str) -> str:
        """A URI handed out through the proxy as the store's own; any other as given."""
        if self.proxy is None:
            return uri
        given, proxy = urlparse(uri), urlparse(self.proxy)
        if (given.scheme, given.netloc) != (proxy.scheme, proxy.netloc):
            return uri
        inside = validation.artifact_path(given.path.lstrip("/"), what="artifact URI path")
        return store_uri(self.root / inside)


@dataclass(frozen=True)
class ArtifactLocation:
    """Where an artifact URI points: a store, a run of it, a path in the run's artifacts.

    ``run_id`` is None for the store itself, whose paths start ``artifacts/<run_id>``.
    """

    root: Path
    run_id: str | None
    path: str

    def in_run(self, path: str | None) -> tuple[str, str]:
        """The run, and the path in its artifacts, of a path below this location (checked)."""
        joined = "/".join(p for p in (self.path, validation.artifact_path(path)) if p)
        if self.run_id is not None:
            return self.run_id, joined
        top, _, rest = joined.partition("/")
        run_id, _, inside = rest.partition("/")
        if top != layout.ARTIFACTS_DIR or not run_id:
            msg = (
                f"Invalid artifact path {path!r} in store {str(self.root)!r}: the store's "
                f"artifacts are at {layout.ARTIFACTS_DIR}/<run_id>/<path>"
            )
            raise CanvasbackURIError(msg)
        return validation.given_run_id(run_id), inside

    def relative(self, run_id: str, path: str) -> str:
        """The path below this location of a run's file below it (the inverse of ``in_run``)."""
        if self.run_id is None:
            return str(_in_store(run_id, path))
        return path[len(self.path) + 1 :] if self.path else path


def artifact_location(uri: str, known_roots: list[Path]) -> ArtifactLocation:
    """The store, run and path of a run's artifact URI, or the store of a store's URI.

    The store is the known root (a store this process opened) that holds the path, or
    else the outermost folder above an ``artifacts`` folder that holds a store's claims.
    A URI below no store's artifacts may name a store itself (a known root, or a folder
    that holds a store's claims); a run's folder is looked for first, so a run's files
    never make it a store.
    """
    path = Path(_local(uri))
    if path.is_absolute():
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
    store = store_root(uri)
    if store in known_roots or (store / layout.CLAIMS_DIR).is_dir():
        return ArtifactLocation(store, None, "")
    if not path.is_absolute():
        msg = f"Invalid artifact URI {uri!r}: an artifact URI names an absolute path"
        raise CanvasbackURIError(msg)
    msg = (
        f"Invalid artifact URI {uri!r}: it names no run's artifacts in a canvasback store "
        f"({SCHEME}:///path/to/store/{layout.ARTIFACTS_DIR}/<run_id>/...)"
    )
    raise CanvasbackURIError(msg)
