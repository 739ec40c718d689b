"""``canvasback:`` URIs: a store (the tracking and registry URI) and its artifacts.

The store's URI is ``canvasback:///path/to/store`` (or ``canvasback:relative/path``),
or ``canvasback:s3://bucket/prefix`` for a store on S3-compatible object storage (the
server and keys from the standard AWS variables, as for ``s3://`` stores). A run's
artifact URI is the store's ``artifacts/<run_id>`` folder under the same scheme, so that
MLflow hands every artifact write to the plugin's repository, which writes through the
run (files indexed in the store, as canvasback's own calls do). MLflow joins paths onto
it and may drop the empty authority (``canvasback:/path``) or a slash of ``s3://``
(``canvasback:s3:/bucket``); each form reads the same. The store's own URI names its
artifacts too, by their paths in the store (``artifacts/<run_id>/...``): ``mlflow
server``'s ``--artifacts-destination``. Behind a server that proxies them, the same paths
are handed out under its ``mlflow-artifacts:`` root instead (:class:`StoreArtifacts`,
:mod:`.proxied`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import unquote, urlparse

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from canvasback._config import S3Address, StoreAddress, StoreAddressError, parse_store
from canvasback.store import layout
from canvasback.tracking import uris as tracking_uris
from canvasback.tracking import validation

SCHEME: Final = tracking_uris.STORE_SCHEME
_S3: Final = re.compile(r"s3:/+", re.IGNORECASE)


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
            f"Invalid URI {uri!r}: a {SCHEME}: URI names a local folder or an s3:// store, "
            f"with no host, query or fragment ({SCHEME}:///path/to/store, "
            f"{SCHEME}:relative/path or {SCHEME}:s3://bucket/prefix)"
        )
        raise CanvasbackURIError(msg)
    if not parsed.path:
        msg = f"Invalid URI {uri!r}: it names no folder ({SCHEME}:///path/to/store)"
        raise CanvasbackURIError(msg)
    return unquote(parsed.path)


def _s3_address(body: str, uri: str) -> S3Address | None:
    """The bucket and key path of ``s3://...`` (None for a folder's path)."""
    found = _S3.match(body)
    if found is None:
        return None
    try:
        address = parse_store("s3://" + body[found.end() :], given_as="URI")
    except StoreAddressError as exc:
        msg = f"Invalid URI {uri!r}: {exc}"
        raise CanvasbackURIError(msg) from None
    assert isinstance(address, S3Address)  # noqa: S101  # an s3:// string parses to one
    return address


def store_root(uri: str) -> StoreAddress:
    """The store of a tracking or registry URI: a folder, or a bucket and prefix.

    A relative folder is taken from the cwd; ``canvasback:s3://bucket/prefix`` names a
    store on object storage.
    """
    body = _local(uri)
    return _s3_address(body, uri) or Path(body).expanduser().absolute()


def store_uri(root: StoreAddress) -> str:
    """The tracking URI of a store folder or of a store on object storage."""
    if isinstance(root, S3Address):
        return f"{SCHEME}:{root.url}"
    return tracking_uris.store_uri(root)


def _in_store(run_id: str | None, path: str) -> PurePosixPath:
    """The path in a store of its artifacts, a run's, or a folder in a run's."""
    return PurePosixPath(layout.ARTIFACTS_DIR, *([run_id] if run_id else []), *path.split("/"))


def _uri_in(root: StoreAddress, inside: PurePosixPath) -> str:
    """The URI of a path in a store."""
    if isinstance(root, S3Address):
        return f"{store_uri(root)}/{inside.as_posix()}"
    return store_uri(root / inside)


def artifacts_uri(root: StoreAddress, run_id: str | None = None, path: str = "") -> str:
    """The URI of the store's artifacts, of a run's, or of a folder in a run's."""
    return _uri_in(root, _in_store(run_id, path))


@dataclass(frozen=True)
class StoreArtifacts:
    """The URIs MLflow is given for a store's artifacts: its own, or a server's proxy.

    ``proxy`` is the ``mlflow-artifacts:`` root of an ``mlflow server`` that serves the
    store's artifacts to its clients (:mod:`.proxied`), under which each file keeps its
    path in the store; None in a process that reaches the store (its folder, or its
    bucket and prefix) itself.
    """

    root: StoreAddress
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
        return _uri_in(self.root, PurePosixPath(inside))


@dataclass(frozen=True)
class ArtifactLocation:
    """Where an artifact URI points: a store, a run of it, a path in the run's artifacts.

    ``run_id`` is None for the store itself, whose paths start ``artifacts/<run_id>``.
    """

    root: StoreAddress
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


def artifact_location(uri: str, known_roots: list[StoreAddress]) -> ArtifactLocation:
    """The store, run and path of a run's artifact URI, or the store of a store's URI.

    The store is the known root (a store this process opened) that holds the path, or
    else the outermost folder above an ``artifacts`` folder that holds a store's claims.
    A URI below no store's artifacts may name a store itself (a known root, or a folder
    that holds a store's claims); a run's folder is looked for first, so a run's files
    never make it a store.
    """
    body = _local(uri)
    address = _s3_address(body, uri)
    if address is not None:
        return _object_location(uri, address, known_roots)
    path = Path(body)
    if path.is_absolute():
        candidates = [
            r
            for r in known_roots
            if isinstance(r, Path) and path.is_relative_to(r / layout.ARTIFACTS_DIR)
        ]
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
    if store in known_roots or (isinstance(store, Path) and (store / layout.CLAIMS_DIR).is_dir()):
        return ArtifactLocation(store, None, "")
    if not path.is_absolute():
        msg = f"Invalid artifact URI {uri!r}: an artifact URI names an absolute path"
        raise CanvasbackURIError(msg)
    raise _no_artifacts(uri)


def run_source(uri: str, root: StoreAddress) -> str:
    """A model source ``canvasback:s3://...`` of a run of ``root`` as ``runs:/<run_id>/<path>``.

    canvasback's own calls read a ``canvasback:`` URI as a local folder; a source on
    object storage is a run's folder of the store or refused. Any other URI as given.
    """
    if urlparse(uri).scheme != SCHEME or _s3_address(_local(uri), uri) is None:
        return uri
    location = artifact_location(uri, [root])
    if location.root != root or location.run_id is None:
        msg = (
            f"Invalid model source {uri!r}: a model of the store {store_uri(root)!r} is in "
            f"a run's artifacts ({artifacts_uri(root, '<run_id>', '<path>')})"
        )
        raise CanvasbackURIError(msg)
    return f"runs:/{location.run_id}/{location.path}"


def _object_location(
    uri: str, address: S3Address, known_roots: list[StoreAddress]
) -> ArtifactLocation:
    """:func:`artifact_location` of ``canvasback:s3://bucket/key``.

    A store this process has not opened is found as on a disk, by its claims (one
    listing of the server per ``artifacts`` folder in the key, outermost first); a key
    below no store's artifacts may name a store itself, known or with claims.
    """
    parts = [p for p in address.prefix.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise _no_artifacts(uri)
    known = [r for r in known_roots if isinstance(r, S3Address) and r.bucket == address.bucket]
    found = (
        S3Address(address.bucket, "/".join(parts[:i]))
        for i, part in enumerate(parts)
        if part == layout.ARTIFACTS_DIR and i + 1 < len(parts)  # a run's folder below it
    )
    for root in itertools.chain(known, (r for r in found if _has_claims(r))):
        base = _artifacts_of(root)
        inside = parts[len(base) :]
        if parts[: len(base)] == base and inside:
            return ArtifactLocation(root, inside[0], "/".join(inside[1:]))
    store = S3Address(address.bucket, "/".join(parts))
    if store in known:
        return ArtifactLocation(store, None, "")
    # A known store's artifacts folder is no store: asked of no server.
    in_known = any(parts[: len(_artifacts_of(r))] == _artifacts_of(r) for r in known)
    if not in_known and _has_claims(store):
        return ArtifactLocation(store, None, "")
    raise _no_artifacts(uri)


def _artifacts_of(root: S3Address) -> list[str]:
    """The key's parts of a store's artifacts folder."""
    return [p for p in root.prefix.split("/") if p] + [layout.ARTIFACTS_DIR]


def _has_claims(root: S3Address) -> bool:
    from canvasback.store.fs.s3 import S3FileSystem  # noqa: PLC0415  # the s3 extra

    return S3FileSystem(root, probe=False).exists(layout.CLAIMS_DIR)


def _no_artifacts(uri: str) -> CanvasbackURIError:
    msg = (
        f"Invalid artifact URI {uri!r}: it names no run's artifacts in a canvasback store "
        f"({SCHEME}:///path/to/store/{layout.ARTIFACTS_DIR}/<run_id>/... or "
        f"{SCHEME}:s3://bucket/prefix/{layout.ARTIFACTS_DIR}/<run_id>/...)"
    )
    return CanvasbackURIError(msg)
