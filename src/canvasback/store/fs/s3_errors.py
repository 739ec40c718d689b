"""Errors of obstore as the ``OSError`` kinds the store handles, and S3's 409 told from 412.

The store treats a missing file (``FileNotFoundError``), no access (``PermissionError``)
and anything else that failed (``OSError``: the writer keeps its rows in the spill
folder) as the local backend raises them: with an errno, a message, and the object's
URL as the file name. obstore's own message is kept, without its Rust debug dump. A
server that cannot be reached (no connection, a timeout, a connection dropped; obstore
retried it first) is a :class:`StoreUnreachableError`, a ``ConnectionError``: the writer
then stops trying the rest of a flush, which would only fail the same way.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
import time
from typing import TYPE_CHECKING, Final, Generic, NoReturn, TypeVar

from obstore.exceptions import (
    AlreadyExistsError,
    BaseError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)

from canvasback.exceptions import MlflowException
from canvasback.store.fs.protocol import StoreMissingError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# obstore reports a 409 Conflict of a conditional PUT as AlreadyExistsError, as it does
# a 412: only the status in its message tells "in flight, retry" from "taken".
_CONFLICT: Final = re.compile(r"status code: 409|ConditionalRequestConflict")
# A listing of a missing bucket comes as a generic error carrying S3's 404.
_MISSING: Final = re.compile(r"status code: 404|<Code>NoSuch(Bucket|Key)</Code>")
_NO_BUCKET: Final = re.compile(r"<Code>NoSuchBucket</Code>")
# Why S3 refused, from the error body obstore passes on: its code and message, or status.
_REASON: Final = re.compile(r"<Code>([^<]+)</Code>(?:<Message>([^<]*)</Message>)?")
_STATUS: Final = re.compile(r"status code: (\d{3}[^:<]*)")
# reqwest's kinds of transport failure, as obstore's debug dump names them.
_UNREACHABLE: Final = re.compile(
    r"kind: (Connect|Timeout)\b|error sending request|connection closed before|"
    r"[Cc]onnection (refused|reset)|[Bb]roken pipe"
)
_ERRNO: Final = {
    FileNotFoundError: errno.ENOENT,
    StoreMissingError: errno.ENOENT,
    PermissionError: errno.EACCES,
}


T = TypeVar("T")


class ForkedStoreError(MlflowException, ConnectionError):
    """A store on object storage used in a process forked after its client started.

    For the writer, the server is out of reach from this process: it keeps the rows.
    """


class ProcessBound(Generic[T]):
    """A client usable in the process that made it only.

    obstore's runtime does not survive ``fork``: in a forked child every request would
    wait for ever. The child gets :class:`ForkedStoreError` instead (the writer then
    keeps its rows in the spill folder, and the error says how to start workers).
    """

    def __init__(self, client: T, url: str) -> None:
        self._client = client
        self._pid = os.getpid()
        self._url = url

    def get(self) -> T:
        """The client, in the process that made it."""
        if os.getpid() != self._pid:
            msg = (
                f"Store {self._url!r} is on object storage, whose client cannot be used in "
                "a process forked from one that used it (it would hang). Start workers "
                "with multiprocessing's 'spawn' or 'forkserver' method "
                "(multiprocessing.get_context('spawn')), or open the store in each worker."
            )
            raise ForkedStoreError(msg)
        return self._client


class StoreUnreachableError(ConnectionError):
    """The server did not answer (no connection, a timeout), after obstore's retries."""


class StoreRefusedError(PermissionError):
    """The server refused a store's requests: its credentials, or what they may do."""


def refused(url: str, bucket: str, endpoint: str, exc: OSError) -> OSError:
    """The error of a store the server refused when it was opened, naming it and the cause."""
    text = str(exc)
    found, status = _REASON.search(text), _STATUS.search(text)
    if found is not None:
        reason = f"{found[1]}: {found[2]}" if found[2] else found[1]
    else:
        reason = status[1].strip() if status is not None else text
    if isinstance(exc, StoreMissingError):
        msg = (
            f"Store {url!r}: its bucket {bucket!r} does not exist on {endpoint} ({reason}). "
            "canvasback never creates a bucket: create it first, or check the store's "
            "name and the endpoint (AWS_ENDPOINT_URL)"
        )
        return StoreMissingError(msg)
    msg = (
        f"Store {url!r} is refused by {endpoint} ({reason}): check its credentials "
        "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the options given) "
        f"and that they may read and write bucket {bucket!r}"
    )
    return StoreRefusedError(msg)


class ConditionalWriteConflictError(OSError):
    """A conditional write still answered 409 Conflict after retrying for a while."""


def is_conflict(exc: BaseException) -> bool:
    """Whether a failed conditional PUT was a 409 Conflict (retry), not a 412 (taken)."""
    return _CONFLICT.search(str(exc)) is not None


def created_unless_taken(put: Callable[[], None], url: str, retry_seconds: float) -> bool:
    """Run a conditional create: True if it created, False on 412 (the name is taken).

    409 Conflict is retried with jittered, doubling waits, for ``retry_seconds`` in all;
    past that it raises :class:`ConditionalWriteConflictError` (EBUSY).
    """
    deadline = time.monotonic() + retry_seconds
    wait = 0.005
    while True:
        try:
            with translated(url, keep=(AlreadyExistsError,)):
                put()
        except AlreadyExistsError as exc:
            if not is_conflict(exc):
                return False  # 412 Precondition Failed: the name is taken
            if time.monotonic() + wait > deadline:
                msg = f"conditional write still conflicts (409) after {retry_seconds:.0f} s"
                raise ConditionalWriteConflictError(errno.EBUSY, msg, url) from exc
            time.sleep(wait * random.uniform(0.5, 1.5))  # noqa: S311  # jitter, not secrets
            wait = min(wait * 2, 0.5)
            continue
        return True


@contextlib.contextmanager
def translated(url: str, *, keep: tuple[type[BaseError], ...] = ()) -> Iterator[None]:
    """Raise obstore's errors (but ``keep``) as OSErrors about ``url``."""
    try:
        yield
    except keep:
        raise
    except (FileNotFoundError, NotFoundError) as exc:
        _raise(StoreMissingError if _NO_BUCKET.search(str(exc)) else FileNotFoundError, url, exc)
    except (PermissionDeniedError, UnauthenticatedError) as exc:
        _raise(PermissionError, url, exc)
    except BaseError as exc:  # the network, the server: obstore retried it first
        text = str(exc)
        if _NO_BUCKET.search(text):
            _raise(StoreMissingError, url, exc)
        if _MISSING.search(text):
            _raise(FileNotFoundError, url, exc)
        _raise(StoreUnreachableError if _UNREACHABLE.search(text) else OSError, url, exc)


def _raise(kind: type[OSError], url: str, exc: Exception) -> NoReturn:
    detail = str(exc).split("\n\nDebug source:", 1)[0]  # obstore appends its Rust debug dump
    code = errno.ECONNREFUSED if kind is StoreUnreachableError else _ERRNO.get(kind, errno.EIO)
    raise kind(code, detail, url) from exc
