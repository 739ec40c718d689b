"""``canvasback:`` URIs: a store (the tracking and registry URI) and its artifacts.

The store's URI is ``canvasback:///path/to/store`` (or ``canvasback:relative/path``),
or ``canvasback:s3://bucket/prefix`` for a store on S3-compatible object storage (the
server and keys from the standard AWS variables, as for ``s3://`` stores). A run's
artifact URI is the store's ``artifacts/<run_id>`` folder under the same scheme, so that
MLflow hands every artifact write to the plugin's repository, which writes through the
run (files indexed in the store, as canvasback's own calls do). MLflow joins paths onto
it and may drop the empty authority (``canvasback:/path``) or a slash of ``s3://``
(``canvasback:s3:/bucket``); each form reads the same.
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


def artifacts_uri(root: StoreAddress, run_id: str | None = None, path: str = "") -> str:
    """The URI of the store's artifacts, of a run's, or of a folder in a run's."""
    rel = PurePosixPath(layout.ARTIFACTS_DIR, *([run_id] if run_id else []), *path.split("/"))
    if isinstance(root, S3Address):
        return f"{store_uri(root)}/{rel.as_posix()}"
    return store_uri(root / rel)


@dataclass(frozen=True)
class ArtifactLocation:
    """Where an artifact URI points: a store, a run of it, a path in the run's artifacts."""

    root: StoreAddress
    run_id: str
    path: str


def artifact_location(uri: str, known_roots: list[StoreAddress]) -> ArtifactLocation:
    """The store, run and path of a run's artifact URI.

    The store is the known root (a store this process opened) that holds the path, or
    else the outermost folder above an ``artifacts`` folder that holds a store's claims.
    """
    body = _local(uri)
    address = _s3_address(body, uri)
    if address is not None:
        return _object_location(uri, address, known_roots)
    path = Path(body)
    if not path.is_absolute():
        msg = f"Invalid artifact URI {uri!r}: an artifact URI names an absolute path"
        raise CanvasbackURIError(msg)
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
    raise _no_artifacts(uri)


def _object_location(
    uri: str, address: S3Address, known_roots: list[StoreAddress]
) -> ArtifactLocation:
    """:func:`artifact_location` of ``canvasback:s3://bucket/key``.

    A store this process has not opened is found as on a disk, by its claims (one
    listing of the server per ``artifacts`` folder in the key, outermost first).
    """
    parts = [p for p in address.prefix.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise _no_artifacts(uri)
    known = (r for r in known_roots if isinstance(r, S3Address) and r.bucket == address.bucket)
    found = (
        S3Address(address.bucket, "/".join(parts[:i]))
        for i, part in enumerate(parts)
        if part == layout.ARTIFACTS_DIR and i + 1 < len(parts)  # a run's folder below it
    )
    for root in itertools.chain(known, (r for r in found if _has_claims(r))):
        base = [p for p in root.prefix.split("/") if p] + [layout.ARTIFACTS_DIR]
        inside = parts[len(base) :]
        if parts[: len(base)] == base and inside:
            return ArtifactLocation(root, inside[0], "/".join(inside[1:]))
    raise _no_artifacts(uri)


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
