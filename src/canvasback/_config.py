"""Where the store is: the one parser of store strings.

An explicit argument, else ``set_store()`` (the process's context passes its choice
here), else ``CANVASBACK_STORE``, else ``MLFLOW_TRACKING_URI`` when it names a store
(a path, a ``file:`` or ``canvasback:`` URI: ``import canvasback as mlflow`` logs where
the script's MLflow setting says), else ``./canvasback-store`` next to the notebook or
script. An ``MLFLOW_TRACKING_URI`` that names a tracking server or a database is an
error, not ignored: the runs would land somewhere the user does not look.

Every way a store is named (``set_store``, ``Client(store=...)``, ``set_tracking_uri``,
``CANVASBACK_STORE``, ``MLFLOW_TRACKING_URI``, the command line's ``--store``) comes through
:func:`parse_store`: a folder path, a ``file:`` URI, the ``canvasback:`` URI a launched
run is given, or ``s3://bucket/prefix`` (S3-compatible object storage); any other scheme
is refused, naming the value and what is allowed. Every part of the store runs on
either; the few things that need a local folder (the MLflow plugin's ``canvasback:``
URIs, a model loaded from a folder URI) ask :func:`local_store`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NoReturn
from urllib.parse import unquote, urlsplit

from canvasback.exceptions import MlflowException

ENV_VAR: Final = "CANVASBACK_STORE"
MLFLOW_ENV_VAR: Final = "MLFLOW_TRACKING_URI"
DEFAULT_FOLDER: Final = "canvasback-store"

# The scheme of the URI a launched run's process gets as MLFLOW_TRACKING_URI: one of its
# own, so that MLflow itself refuses it rather than writing its files into the store.
STORE_SCHEME: Final = "canvasback"

ALLOWED: Final = (
    "a store is a folder (a path, or a file: URI such as file:///data/store) or "
    "S3-compatible object storage (s3://bucket/prefix)"
)

# MLflow's tracking servers and databases: canvasback moves their runs in, never opens them.
_MLFLOW_SCHEMES: Final = frozenset(
    {"http", "https", "databricks", "databricks-uc", "uc", "sqlite", "postgresql", "mysql"}
    | {"mssql", "oracle"}
)
# MLflow reads these bare words as hosted tracking servers, not as folder names.
_SERVER_WORDS: Final = frozenset({"databricks", "databricks-uc", "uc"})
# RFC 3986's scheme; one letter is a Windows drive (C:), not a scheme.
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")
# A bucket name as it can stand in a URL's host: up to 63 letters, digits, dots, hyphens
# and underscores. AWS asks for more (3 or more lower-case characters); the server says so.
_BUCKET: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?")


class StoreAddressError(MlflowException, ValueError):
    """A store string canvasback cannot use: an unknown scheme, or a malformed address."""


class StoreNotYetSupportedError(MlflowException, NotImplementedError):
    """A store on object storage, for an operation that works on local folders only so far."""


@dataclass(frozen=True, slots=True)
class S3Address:
    """A store on S3-compatible object storage: a bucket and a prefix (``""``: the bucket).

    Where the server is and who is asking (endpoint, region, credentials) is not part of
    the address: the S3 file system takes them from explicit options or the standard
    AWS variables (``store/fs/s3_settings.py``).
    """

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        """``s3://bucket/prefix``."""
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def __str__(self) -> str:
        return self.url


StoreAddress = Path | S3Address
"""Where a store is: a local folder, or a bucket and prefix on object storage."""


def parse_store(
    value: str | os.PathLike[str] | S3Address, *, given_as: str = "Store"
) -> StoreAddress:
    """The address a store string names, or :class:`StoreAddressError` saying what is allowed.

    ``value`` is a path (a ``PathLike`` is always one), a ``file:`` or ``canvasback:`` URI,
    or ``s3://bucket/prefix``. ``given_as`` names where the value came from in an error
    (``"CANVASBACK_STORE"``, ``"--store"``).
    """
    if isinstance(value, S3Address):
        return value
    if not isinstance(value, str):
        return Path(value).expanduser().absolute()
    scheme = _SCHEME.match(value)
    if value in _SERVER_WORDS or (scheme and scheme[1].lower() in _MLFLOW_SCHEMES):
        msg = (
            f"{given_as} {value!r} is not a local store. canvasback reads and writes its own "
            "store, a folder of Parquet files (a path or a file: URI); it does not talk to an "
            "MLflow tracking server, database or Databricks. To bring an MLflow store's runs "
            "over: canvasback import-mlflow "
            f"{value} --store <store> (canvasback.import_mlflow)."
        )
        raise StoreAddressError(msg)
    if scheme is None:
        return Path(value).expanduser().absolute()
    name = scheme[1].lower()
    if name in ("file", STORE_SCHEME):
        parts = urlsplit(value)
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            _refuse(value, given_as, f"a {name}: URI names a local path, with no host or query")
        return Path(unquote(parts.path)).expanduser().absolute()
    if name != "s3":
        _refuse(
            value,
            given_as,
            f"the scheme {name!r} is not one canvasback serves (a folder whose name has a "
            "colon is written ./name)",
        )
    return _s3_address(value, given_as)


def _s3_address(value: str, given_as: str) -> S3Address:
    parts = urlsplit(value)
    if "@" in parts.netloc:  # never echo credentials: show the address without them
        _refuse(
            _without_userinfo(value),
            given_as,
            "credentials do not go in the address: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
        )
    if not value.lower().startswith("s3://"):
        _refuse(value, given_as, "an S3 address is written s3://bucket/prefix")
    if parts.query or parts.fragment:
        _refuse(
            value,
            given_as,
            "an S3 address takes no query or fragment: the endpoint and region come from "
            "AWS_ENDPOINT_URL and AWS_REGION",
        )
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        _refuse(
            value,
            given_as,
            f"{bucket!r} is not a bucket name (up to 63 letters, digits, dots, hyphens "
            "and underscores, starting and ending with a letter or digit)",
        )
    prefix = parts.path.strip("/")
    if prefix and any(p in ("", ".", "..") for p in prefix.split("/")):
        _refuse(value, given_as, f"the prefix {prefix!r} has an empty, '.' or '..' component")
    return S3Address(bucket, prefix)


def _without_userinfo(value: str) -> str:
    head, _, rest = value.partition("://")
    netloc, slash, path = rest.partition("/")
    return f"{head}://***@{netloc.rpartition('@')[2]}{slash}{path}"


def _refuse(value: str, given_as: str, why: str) -> NoReturn:
    msg = f"{given_as} {value!r} is not a store address: {why}. Allowed: {ALLOWED}."
    raise StoreAddressError(msg)


def local_store(address: StoreAddress, purpose: str, *, given_as: str = "Store") -> Path:
    """The folder of a local store; a store on object storage is refused for ``purpose``."""
    if isinstance(address, Path):
        return address
    msg = (
        f"{given_as} {address.url!r} is on S3-compatible object storage, which is not yet "
        f"supported for {purpose}. Use a local folder (a path or a file: URI) for now."
    )
    raise StoreNotYetSupportedError(msg)


def resolve_store(root: str | os.PathLike[str] | S3Address | None = None) -> StoreAddress:
    """The store to use for an optional explicit (or chosen) root.

    A store string that names no store is refused (:class:`StoreAddressError`): a
    mistyped ``CANVASBACK_STORE`` never becomes a folder of that name.
    """
    if isinstance(root, S3Address):
        return root
    if root is not None:
        return parse_store(root)
    env = os.environ.get(ENV_VAR)
    if env:
        return parse_store(env, given_as=ENV_VAR)
    mlflow_uri = os.environ.get(MLFLOW_ENV_VAR)
    if mlflow_uri:
        # MLflow's setting names a local store only; a store on object storage is named
        # by CANVASBACK_STORE or set_store.
        return local_store(
            _mlflow_tracking_store(mlflow_uri),
            f"{MLFLOW_ENV_VAR} (name it in {ENV_VAR} instead)",
            given_as=MLFLOW_ENV_VAR,
        )
    return Path.cwd() / DEFAULT_FOLDER


def _mlflow_tracking_store(uri: str) -> StoreAddress:
    """The store ``MLFLOW_TRACKING_URI`` names; a server or database is refused.

    Refused rather than passed over for the default folder: a script that says
    ``import canvasback as mlflow`` under a tracking server's URI expects its runs on that
    server, and would not find them in ``./canvasback-store``.
    """
    try:
        return parse_store(uri, given_as=MLFLOW_ENV_VAR)
    except StoreAddressError as exc:
        msg = (
            f"{exc} To log with canvasback while {MLFLOW_ENV_VAR} is set for MLflow, name "
            f"canvasback's store: {ENV_VAR}=<path> or canvasback.set_store(<path>)."
        )
        raise StoreAddressError(msg) from None


class MlflowStoreFolderError(MlflowException, ValueError):
    """A store path that is (or holds) an MLflow store: canvasback does not write into it."""


_SQLITE_HEADER: Final = b"SQLite format 3\x00"


def mlflow_store_at(root: Path) -> tuple[str, Path] | None:
    """What MLflow store ``root`` is or holds, and its path; None if it is none.

    A few stats, once per store a process opens: a file is MLflow's if it is a SQLite
    database; a folder is if it has the ``.trash`` folder MLflow's file store makes
    first, or, while it holds no canvasback store yet, a ``mlruns`` folder or an
    ``mlflow.db`` file.
    """
    found: tuple[str, Path] | None = None
    try:
        if root.is_file():
            with root.open("rb") as fh:
                sqlite = fh.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
            if sqlite:
                found = "a SQLite database (an MLflow tracking database)", root
        elif (root / ".trash").is_dir():
            found = "an MLflow file store (a mlruns folder)", root
        elif (root / "claims").is_dir():  # a canvasback store already: its own folder
            found = None
        elif (root / "mlruns").is_dir():
            found = "a folder that holds an MLflow file store (mlruns)", root / "mlruns"
        elif (root / "mlflow.db").is_file():
            found = "a folder that holds an MLflow database (mlflow.db)", root / "mlflow.db"
    except OSError:  # unreadable: the store's own checks say what is wrong
        return None
    return found


def refuse_mlflow_store(root: Path) -> None:
    """Raise if ``root`` is or holds an MLflow store, saying how to import it instead."""
    found = mlflow_store_at(root)
    if found is None:
        return
    what, source = found
    msg = (
        f"Store {str(root)!r} is {what}: canvasback does not write its files into MLflow's. "
        f"Import it into a store of its own: canvasback import-mlflow {source} "
        "--store <new path> (in Python: canvasback.import_mlflow(uri, store=...))"
    )
    raise MlflowStoreFolderError(msg)
