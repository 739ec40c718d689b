"""Errors of obstore as the ``OSError`` kinds the store handles, and S3's 409 told from 412.

The store treats a missing file (``FileNotFoundError``), no access (``PermissionError``)
and anything else that failed (``OSError``: the writer keeps its rows in the spill
folder) as the local backend raises them: with an errno, a message, and the object's
URL as the file name. obstore's own message is kept, without its Rust debug dump.
"""

from __future__ import annotations

import contextlib
import errno
import re
from typing import TYPE_CHECKING, Final, NoReturn

from obstore.exceptions import (
    BaseError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

# obstore reports a 409 Conflict of a conditional PUT as AlreadyExistsError, as it does
# a 412: only the status in its message tells "in flight, retry" from "taken".
_CONFLICT: Final = re.compile(r"status code: 409|ConditionalRequestConflict")
# A listing of a missing bucket comes as a generic error carrying S3's 404.
_MISSING: Final = re.compile(r"status code: 404|<Code>NoSuch(Bucket|Key)</Code>")
_ERRNO: Final = {FileNotFoundError: errno.ENOENT, PermissionError: errno.EACCES}


class ConditionalWriteConflictError(OSError):
    """A conditional write still answered 409 Conflict after retrying for a while."""


def is_conflict(exc: BaseException) -> bool:
    """Whether a failed conditional PUT was a 409 Conflict (retry), not a 412 (taken)."""
    return _CONFLICT.search(str(exc)) is not None


@contextlib.contextmanager
def translated(url: str, *, keep: tuple[type[BaseError], ...] = ()) -> Iterator[None]:
    """Raise obstore's errors (but ``keep``) as OSErrors about ``url``."""
    try:
        yield
    except keep:
        raise
    except (FileNotFoundError, NotFoundError) as exc:
        _raise(FileNotFoundError, url, exc)
    except (PermissionDeniedError, UnauthenticatedError) as exc:
        _raise(PermissionError, url, exc)
    except BaseError as exc:  # the network, the server: obstore retried it first
        _raise(FileNotFoundError if _MISSING.search(str(exc)) else OSError, url, exc)


def _raise(kind: type[OSError], url: str, exc: Exception) -> NoReturn:
    detail = str(exc).split("\n\nDebug source:", 1)[0]  # obstore appends its Rust debug dump
    raise kind(_ERRNO.get(kind, errno.EIO), detail, url) from exc
