"""What the registry accepts as model names, versions, aliases and stages.

Each check raises an error that names the value and says what is allowed, before
anything is written; the rules are MLflow's.
"""

from __future__ import annotations

import re
from typing import Final

from canvasback.registry.entities import STAGES
from canvasback.tracking.validation import InvalidInputError

_ALIAS: Final = re.compile(r"^[\w\-]+$")
_VERSION_ALIAS: Final = re.compile(r"^[vV]\d+$")
MAX_ALIAS_LENGTH: Final = 255
MAX_NAME_LENGTH: Final = 256


def model_name(name: object, what: str = "registered model name") -> str:
    """A registered model's name: non-empty, without '/' or ':' (they delimit URIs)."""
    if not isinstance(name, str) or not name.strip():
        msg = f"Invalid {what} {name!r}: a non-empty string is required"
        raise InvalidInputError(msg)
    if "/" in name or ":" in name:
        msg = f"Invalid {what} {name!r}: names cannot contain '/' or ':'"
        raise InvalidInputError(msg)
    if len(name) > MAX_NAME_LENGTH:
        msg = f"Invalid {what} {name[:40]!r}...: at most {MAX_NAME_LENGTH} characters"
        raise InvalidInputError(msg)
    return name


def version_number(version: object) -> int:
    """A version number given as an int or a string of digits."""
    if isinstance(version, bool) or not isinstance(version, int | str):
        msg = f"Invalid model version {version!r}: a positive integer (or its string) is required"
        raise InvalidInputError(msg)
    text = str(version).strip()
    if not text.isdigit() or int(text) < 1:
        msg = f"Invalid model version {version!r}: a positive integer (or its string) is required"
        raise InvalidInputError(msg)
    return int(text)


def alias_name(alias: object) -> str:
    """An alias: letters, digits, '_' and '-'; not 'latest' nor 'v<number>' (reserved)."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        msg = (
            f"Invalid alias {alias!r}: a non-empty name of letters, digits, underscores (_) "
            "and dashes (-) is required"
        )
        raise InvalidInputError(msg)
    if len(alias) > MAX_ALIAS_LENGTH:
        msg = f"Invalid alias {alias[:40]!r}...: at most {MAX_ALIAS_LENGTH} characters"
        raise InvalidInputError(msg)
    if alias.lower() == "latest":
        msg = "Invalid alias 'latest': it is reserved (models:/Name/latest is the newest version)"
        raise InvalidInputError(msg)
    if _VERSION_ALIAS.match(alias):
        msg = f"Invalid alias {alias!r}: 'v<number>' names are reserved for version numbers"
        raise InvalidInputError(msg)
    return alias


def stage(value: object) -> str:
    """A stage, case-insensitive: None, Staging, Production or Archived."""
    by_lower = {s.lower(): s for s in STAGES}
    found = by_lower.get(str(value).lower()) if isinstance(value, str) else None
    if found is None:
        msg = f"Invalid stage {value!r}: the stages are {', '.join(STAGES)}"
        raise InvalidInputError(msg)
    return found
