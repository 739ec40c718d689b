"""A store behind ``mlflow server``: its artifacts reached through the server's proxy.

A client on another machine logs to ``mlflow server`` over HTTP and cannot reach the
store's folder. MLflow's answer is proxied artifacts: a server that serves artifacts (its
default, ``--serve-artifacts``) gives its tracking store an ``mlflow-artifacts:`` root
(``--default-artifact-root``, ``mlflow-artifacts:/`` by default) to hand out; clients
upload and download through the server (``/api/2.0/mlflow-artifacts/artifacts/<path>``),
which reads and writes ``<path>`` through the artifact repository of its
``--artifacts-destination``.

So when the destination is the store's own URI
(``--artifacts-destination canvasback:///<store>``), runs' artifact URIs are handed out
as ``mlflow-artifacts:/artifacts/<run_id>``: the path of the run's folder in the store,
which the server hands to the plugin's repository of the store (written through the
run, indexed). Otherwise MLflow's destination is not the store (by default a folder
``./mlartifacts`` beside the server): the store's folder is handed out, as in a process
of its own, which the server reads (its UI) and the clients of its machine write; the
server's log says once how to serve other machines, and a client that cannot reach the
folder is told the same (:func:`unreachable`). A store on object storage
(``canvasback:s3://bucket/prefix``) is proxied alike when it is the destination; when it
is not, its URIs name the bucket, which clients elsewhere reach with their own keys.

The server gives its workers its settings in environment variables: they are read here,
in the process that serves.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlparse

from canvasback.mlflow_plugin import uris
from canvasback.store import layout

if TYPE_CHECKING:
    from canvasback._config import StoreAddress

PROXY_SCHEME: Final = "mlflow-artifacts"
# The server's settings as its workers get them (mlflow.server.constants, spelled here:
# importing that package would start MLflow's server app in every process).
ARTIFACT_ROOT_ENV_VAR: Final = "_MLFLOW_SERVER_ARTIFACT_ROOT"
ARTIFACTS_DESTINATION_ENV_VAR: Final = "_MLFLOW_SERVER_ARTIFACT_DESTINATION"
SERVE_ARTIFACTS_ENV_VAR: Final = "_MLFLOW_SERVER_SERVE_ARTIFACTS"
_HTTP: Final = frozenset({"http", "https"})

_log = logging.getLogger(__name__)


def server_artifact_root() -> str | None:
    """The artifact root of the ``mlflow server`` this process serves for, if any."""
    return os.environ.get(ARTIFACT_ROOT_ENV_VAR)


def store_artifacts(root: StoreAddress, artifact_root: str | None) -> uris.StoreArtifacts:
    """How a store's artifact URIs are handed out here, given MLflow's artifact root.

    Proxied when ``artifact_root`` is an ``mlflow-artifacts:`` root and this process
    serves artifacts into the store; its folder's URIs in every other case.
    """
    given = urlparse(artifact_root or "")
    if given.scheme != PROXY_SCHEME or os.environ.get(SERVE_ARTIFACTS_ENV_VAR) != "true":
        return uris.StoreArtifacts(root)
    destination = os.environ.get(ARTIFACTS_DESTINATION_ENV_VAR)
    if not _is_store(destination, root):
        if isinstance(root, Path):  # a bucket is reached from elsewhere as from here
            _not_proxied(root, destination)
        return uris.StoreArtifacts(root)
    if given.path.strip("/") or given.query or given.fragment:
        msg = (
            f"Invalid default artifact root {artifact_root!r}: a canvasback store's runs keep "
            f"their artifacts at their own paths in the store, so the root it is served under "
            f"is {PROXY_SCHEME}:/ (the default: leave out --default-artifact-root)"
        )
        raise uris.CanvasbackURIError(msg)
    return uris.StoreArtifacts(
        root, f"{PROXY_SCHEME}://{given.netloc}/" if given.netloc else f"{PROXY_SCHEME}:/"
    )


def _is_store(destination: str | None, root: StoreAddress) -> bool:
    if not destination or urlparse(destination).scheme != uris.SCHEME:
        return False
    try:
        return uris.store_root(destination) == root
    except uris.CanvasbackURIError:
        return False


def command(root: StoreAddress) -> str:
    """The command that serves a store's artifacts to other machines."""
    store = uris.store_uri(root)
    return f"mlflow server --backend-store-uri {store} --artifacts-destination {store}"


@functools.cache
def _not_proxied(root: Path, destination: str | None) -> None:
    """Say once per store and process that the server serves its artifacts to no other machine."""
    _log.warning(
        "mlflow server proxies artifacts to %r, not into the canvasback store %r: runs' "
        "artifact URIs name the store's folder, which only this machine reaches (clients "
        "elsewhere cannot log artifacts or models). To serve other machines, start it as: %s",
        destination,
        str(root),
        command(root),
    )


def unreachable(uri: str, tracking_uri: str | None) -> uris.CanvasbackURIError | None:
    """The error for a store's folder that a tracking server handed out and is not here.

    None when MLflow's tracking URI names no server (the artifact URI is then wrong).
    """
    # MLflow's tracking module imports the plugin: it is loaded by now, not at import.
    from mlflow.tracking import get_tracking_uri  # noqa: PLC0415

    server = tracking_uri or get_tracking_uri()
    if urlparse(server).scheme not in _HTTP:
        return None
    try:
        store = uris.store_root(uri)
    except uris.CanvasbackURIError:
        return None
    if not isinstance(store, Path):  # object storage is not one machine's
        return None
    parts = store.parts
    # The store is the folder above its artifacts (<store>/artifacts/<run_id>/...).
    at = parts.index(layout.ARTIFACTS_DIR) if layout.ARTIFACTS_DIR in parts else len(parts)
    msg = (
        f"Cannot reach the artifacts at {uri!r}: the tracking server {server} handed out a "
        "folder of its own machine, which is not on this one. To take artifacts and models "
        "from other machines, the server proxies the store's artifacts; start it as: "
        f"{command(Path(*parts[:at]))}"
    )
    return uris.CanvasbackURIError(msg)
