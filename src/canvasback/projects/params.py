"""Typed parameters of notebooks and entry points, checked before anything runs.

Types are MLflow's (``string``, ``float``, ``path``, ``uri``) and canvasback's own
(``int``, ``bool``, and ``literal`` for a notebook default that is a list, dict or
None). A value given as text (``-P lr=0.1`` on the command line) is read as its type;
a value of the wrong type is an error that names the parameter, the value and the type.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlparse

from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

TYPES: Final = ("string", "str", "float", "int", "bool", "path", "uri", "literal")
_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


class ParamError(InvalidInputError):
    """A parameter that the notebook or entry point does not take, or of the wrong type."""


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter: its type and default (None: the value is required)."""

    name: str
    type: str = "string"
    default: Any = None
    has_default: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            msg = (
                f"Invalid type {self.type!r} of parameter {self.name!r}: the types are "
                f"{', '.join(TYPES)}"
            )
            raise ParamError(msg)


def type_of_default(value: object) -> str:
    """The parameter type a notebook's default value declares."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "literal"


def coerce(spec: ParamSpec, value: object, *, where: str) -> object:
    """``value`` as ``spec``'s type; an error names the parameter, value and type."""
    kind = spec.type
    try:
        return _CONVERTERS.get(kind, _literal)(value)
    except (TypeError, ValueError, SyntaxError) as exc:
        msg = (
            f"Invalid value {value!r} for parameter {spec.name!r} of {where}: it must be of "
            f"type {kind} ({exc})"
        )
        raise ParamError(msg) from None


def _string(value: object) -> str:
    if isinstance(value, str | int | float | bool | os.PathLike):
        return os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    msg = f"a {type(value).__name__} is not text"
    raise TypeError(msg)


def _float(value: object) -> float:
    if isinstance(value, bool):
        msg = "a bool is not a number"
        raise TypeError(msg)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    msg = f"a {type(value).__name__} is not a number"
    raise TypeError(msg)


def _int(value: object) -> int:
    if isinstance(value, bool):
        msg = "a bool is not an integer"
        raise TypeError(msg)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    msg = "not an integer"
    raise TypeError(msg)


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    msg = "use true or false"
    raise ValueError(msg)


def _path(value: object) -> str:
    """MLflow's rule: a local path must exist; it is passed on as an absolute path."""
    text = _string(value)
    parsed = urlparse(text)
    if parsed.scheme == "file":
        text = parsed.path
    elif parsed.scheme and len(parsed.scheme) > 1:
        msg = "only local paths and file: URIs are read"
        raise ValueError(msg)
    path = Path(text).expanduser()
    if not path.exists():
        msg = f"no such file or folder {str(path.absolute())!r}"
        if not path.is_absolute():  # MLflow's rule, which surprises: say where it looked
            msg += " (a relative path is read from the current folder, as in MLflow)"
        raise ValueError(msg)
    return str(path.absolute())


def _uri(value: object) -> str:
    text = _string(value)
    if not urlparse(text).scheme:
        msg = "a URI has a scheme, such as file:, s3: or https:"
        raise ValueError(msg)
    return text


def _literal(value: object) -> object:
    if isinstance(value, str):
        return ast.literal_eval(value)
    text = repr(value)
    ast.literal_eval(text)  # only values a parameters cell can hold
    return value


_CONVERTERS: Final[dict[str, Callable[[object], object]]] = {
    "string": _string,
    "str": _string,
    "float": _float,
    "int": _int,
    "bool": _bool,
    "path": _path,
    "uri": _uri,
}


def resolve(
    specs: Mapping[str, ParamSpec],
    given: Mapping[str, object] | None,
    *,
    where: str,
    strict: bool = True,
) -> tuple[dict[str, object], dict[str, object]]:
    """(declared params with their values, extra params) for a launch.

    ``strict``: a parameter not declared is an error (notebooks, ``canvasback.toml``);
    otherwise it is passed on as it is (MLflow's rule for ``MLproject`` files).
    """
    given = dict(given or {})
    for key in given:
        if not isinstance(key, str) or (not key.isidentifier() and strict):
            msg = f"Invalid parameter name {key!r} for {where}: names are identifiers"
            raise ParamError(msg)
    extra = {k: v for k, v in given.items() if k not in specs}
    if extra and strict:
        declared = ", ".join(sorted(specs)) or "none"
        msg = (
            f"Unknown parameter {next(iter(extra))!r} for {where}: the parameters it "
            f"declares are {declared}"
        )
        raise ParamError(msg)
    values: dict[str, object] = {}
    missing = []
    for name, spec in specs.items():
        if name in given:
            values[name] = coerce(spec, given[name], where=where)
        elif spec.has_default and spec.default is not None:
            values[name] = coerce(spec, spec.default, where=where)
        elif spec.has_default:
            values[name] = None
        else:
            missing.append(name)
    if missing:
        msg = (
            f"No value given for parameter(s) {', '.join(missing)} of {where}, "
            "which have no default"
        )
        raise ParamError(msg)
    return values, {k: _string(v) for k, v in extra.items()}


def param_text(value: object) -> str:
    """A parameter as the run's param (text), readable back by :func:`coerce`."""
    return value if isinstance(value, str) else str(value)


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``key=value`` strings (the command line's ``-P``) as a dict."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            msg = f"Invalid parameter {pair!r}: write it as key=value"
            raise ParamError(msg)
        out[key.strip()] = value
    return out
