"""Checks of everything a user logs: each error names the key, the value and what is allowed.

The rules are MLflow's, so that code moving between the two behaves the same.
"""

from __future__ import annotations

import decimal
import functools
import math
import numbers
import posixpath
import re
from typing import TYPE_CHECKING, Final

# Every check here raises it, so it is also validation's (the query layer raises it too).
from canvasback.exceptions import InvalidInputError as InvalidInputError  # noqa: PLC0414
from canvasback.store.schema import INT64_MAX, INT64_MIN

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_KEY_LENGTH: Final = 250
MAX_PARAM_VALUE_LENGTH: Final = 6000
MAX_TAG_VALUE_LENGTH: Final = 8000
MAX_RUN_NAME_LENGTH: Final = 250
MAX_EXPERIMENT_NAME_LENGTH: Final = 500
MAX_FILE_NAME_BYTES: Final = 255  # one artifact file or folder name, as file systems allow

RUN_STATUSES: Final = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
TERMINAL_STATUSES: Final = ("FINISHED", "FAILED", "KILLED")

_KEY_RE: Final = re.compile(r"[\w\-./ :]+")
_KEY_RULE: Final = (
    "names may contain only alphanumerics, underscores (_), dashes (-), periods (.), "
    "spaces ( ), colons (:) and slashes (/), at most 250 characters, and must not be a "
    "path that resolves to another name (no leading '/', no '..' or '.' segments)"
)


# Names that passed: a process logs the same few names again and again (every run's
# params and tags, the ~30 tags of its code and environment), and the check of one,
# a regular expression and a path normalisation, costs several microseconds.
_NAMES_PASSED: Final[set[str]] = set()
_NAMES_KEPT: Final = 100_000


def validate_key(kind: str, key: object) -> str:
    """Check a metric, param or tag name; returns it."""
    if type(key) is str and key in _NAMES_PASSED:
        return key
    if not isinstance(key, str):
        msg = f"Invalid {kind} name {key!r} (type {type(key).__name__}): names are strings"
        raise InvalidInputError(msg)
    if (
        not key
        or len(key) > MAX_KEY_LENGTH
        or not _KEY_RE.fullmatch(key)  # fullmatch: "$" would let a trailing newline in
        or key.startswith("/")
        or posixpath.normpath(key) != key
        or any(part in (".", "..") for part in key.split("/"))
    ):
        msg = f"Invalid {kind} name {key!r}: {_KEY_RULE}"
        raise InvalidInputError(msg)
    if type(key) is str and len(_NAMES_PASSED) < _NAMES_KEPT:  # not a str subclass
        _NAMES_PASSED.add(key)
    return key


def metric_value(key: str, value: object) -> float:
    """A metric value as float; NaN and +-inf are accepted and kept as such."""
    if type(value) is float or type(value) is int:
        try:
            return float(value)
        except OverflowError:  # an int beyond the float range
            raise _metric_error(key, value, "it is beyond the range of a 64-bit float; ") from None
    kind = getattr(getattr(value, "dtype", None), "kind", "")
    if kind in ("m", "M"):  # numpy timedelta64/datetime64 are ints to isinstance, not numbers
        raise _metric_error(key, value, "durations and dates are not numbers; ")
    try:
        if isinstance(value, numbers.Real | decimal.Decimal) and not isinstance(value, str):
            return float(value)
    except OverflowError:
        raise _metric_error(key, value, "it is beyond the range of a 64-bit float; ") from None
    except (TypeError, ValueError) as exc:  # a signalling NaN, a number type float() refuses
        why = f"it does not convert to a float ({exc}); "
        raise _metric_error(key, value, why) from None
    # numpy scalars and 0-d arrays: accept what converts to a real number losslessly
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) in ((), None):
        try:
            converted = item()
        except (TypeError, ValueError):
            converted = None
        if isinstance(converted, numbers.Real):
            return float(converted)
    raise _metric_error(key, value, "")


def _metric_error(key: str, value: object, why: str) -> InvalidInputError:
    msg = (
        f"Invalid value {value!r} (type {type(value).__name__}) for metric {key!r}: {why}"
        "metric values must be real numbers (int, float or Decimal; NaN and +-inf are "
        "allowed)"
    )
    return InvalidInputError(msg)


def metric_step(key: str, step: object) -> int:
    """A metric step as int."""
    whole = not isinstance(step, float) or step.is_integer()
    if not isinstance(step, numbers.Integral | float) or isinstance(step, bool) or not whole:
        msg = f"Invalid step {step!r} for metric {key!r}: steps must be integers"
        raise InvalidInputError(msg)
    number = int(step)
    if not INT64_MIN <= number <= INT64_MAX:
        msg = (
            f"Invalid step {step!r} for metric {key!r}: steps must be integers "
            f"from {INT64_MIN} to {INT64_MAX}"
        )
        raise InvalidInputError(msg)
    return number


def timestamp_ms(key: str, timestamp: object) -> int:
    """A timestamp in milliseconds since the epoch."""
    finite = not isinstance(timestamp, float) or math.isfinite(timestamp)
    number: int | None = None
    if isinstance(timestamp, numbers.Integral | float) and not isinstance(timestamp, bool):
        number = int(timestamp) if finite else None
    if number is None or not INT64_MIN <= number <= INT64_MAX:
        msg = (
            f"Invalid timestamp {timestamp!r} for {key!r}: timestamps are integers, "
            f"milliseconds since the Unix epoch, from {INT64_MIN} to {INT64_MAX}"
        )
        raise InvalidInputError(msg)
    return number


def param_value(key: str, value: object) -> str:
    """A param value as the string MLflow would store."""
    return _bounded_text("param", key, value, MAX_PARAM_VALUE_LENGTH)


def tag_value(key: str, value: object) -> str:
    """A tag value as a string."""
    return _bounded_text("tag", key, value, MAX_TAG_VALUE_LENGTH)


def _bounded_text(kind: str, key: str, value: object, limit: int) -> str:
    text = str(value)
    if len(text) > limit:
        msg = (
            f"Invalid value for {kind} {key!r}: {len(text)} characters "
            f"(starting {text[:40]!r}); at most {limit} are allowed"
        )
        raise InvalidInputError(msg)
    return unicode_text(f"value {text[:40]!r} for {kind} {key!r}", text)


def unicode_text(what: str, text: str) -> str:
    """Refuse text with a lone surrogate: it has no UTF-8 form, so no store can hold it.

    ``what`` names the value in the error, e.g. "value 'x' for param 'p'".
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        msg = (
            f"Invalid {what}: it holds the lone surrogate {bad!r} at position {exc.start}, "
            "which is not Unicode text and cannot be stored; text must be valid Unicode "
            "(encodable as UTF-8)"
        )
        raise InvalidInputError(msg) from None
    return text


def run_status(status: object) -> str:
    """A run status name."""
    text = str(getattr(status, "name", status)).upper()
    if text not in RUN_STATUSES:
        msg = f"Invalid run status {status!r}: allowed are {', '.join(RUN_STATUSES)}"
        raise InvalidInputError(msg)
    return text


_RUN_ID_RE: Final = re.compile(r"[a-zA-Z0-9][\w\-]{0,255}", re.ASCII)


def given_run_id(run_id: object) -> str:
    """A run id given by the caller (a run copied from another store): MLflow's form."""
    if not isinstance(run_id, str) or not _RUN_ID_RE.fullmatch(run_id):
        msg = (
            f"Invalid run id {run_id!r}: a run id is a letter or digit followed by up to 255 "
            "letters, digits, underscores (_) or dashes (-)"
        )
        raise InvalidInputError(msg)
    return run_id


def experiment_name(name: object) -> str:
    """An experiment name: a non-empty string."""
    if not isinstance(name, str) or not name.strip():
        msg = f"Invalid experiment name {name!r}: a non-empty string is required"
        raise InvalidInputError(msg)
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        msg = (
            f"Invalid experiment name {name[:40]!r}...: {len(name)} characters, "
            f"at most {MAX_EXPERIMENT_NAME_LENGTH} are allowed"
        )
        raise InvalidInputError(msg)
    return unicode_text(f"experiment name {name[:40]!r}", name)


def run_name(name: object) -> str:
    """A run name."""
    text = str(name)
    if len(text) > MAX_RUN_NAME_LENGTH:
        msg = (
            f"Invalid run name {text[:40]!r}...: {len(text)} characters, "
            f"at most {MAX_RUN_NAME_LENGTH} are allowed"
        )
        raise InvalidInputError(msg)
    return unicode_text(f"run name {text[:40]!r}", text)


def artifact_path(path: object, *, what: str = "artifact path") -> str:
    """A relative POSIX path inside a run's artifacts: no absolute paths, no '..'."""
    if path is None or path == "":
        return ""
    if type(path) is str:  # the same few paths come again: every run's captured files
        return _artifact_path(path, what)
    if not isinstance(path, str):
        msg = f"Invalid {what} {path!r}: a relative path string is required"
        raise InvalidInputError(msg)
    return _artifact_path.__wrapped__(path, what)


@functools.lru_cache(maxsize=4096)
def _artifact_path(path: str, what: str) -> str:
    norm = posixpath.normpath(path.replace("\\", "/"))
    if (
        path.startswith(("/", "\\"))
        or re.match(r"^[A-Za-z]:", path)
        or norm == ".."
        or norm.startswith("../")
        or "\x00" in path
    ):
        msg = (
            f"Invalid {what} {path!r}: it must be a relative path that stays inside the "
            "run's artifact folder (no absolute paths, no '..' leading outside)"
        )
        raise InvalidInputError(msg)
    unicode_text(f"{what} {path!r}", path)
    too_long = [p for p in norm.split("/") if len(p.encode("utf-8")) > MAX_FILE_NAME_BYTES]
    if too_long:
        msg = (
            f"Invalid {what} {path!r}: the name {too_long[0][:40]!r}... is "
            f"{len(too_long[0].encode('utf-8'))} bytes long (UTF-8); each file or folder "
            f"name may be at most {MAX_FILE_NAME_BYTES} bytes"
        )
        raise InvalidInputError(msg)
    return "" if norm == "." else norm


def int64_column(values: list[object]) -> bool:
    """Whether every value is an int within int64; checked at C speed (map, min, max)."""
    return (
        set(map(type, values)) == {int} and INT64_MIN <= min(values) <= max(values) <= INT64_MAX  # type: ignore[type-var,operator]
    )


def checked_tags(tags: Mapping[str, object] | None) -> dict[str, str]:
    """Tags with their keys and values checked (all before any is kept)."""
    return {validate_key("tag", k): tag_value(k, x) for k, x in (tags or {}).items()}


def checked_params(params: Mapping[str, object] | None) -> dict[str, str]:
    """Params with their keys and values checked, values as MLflow stores them."""
    return {validate_key("param", k): param_value(k, x) for k, x in (params or {}).items()}
