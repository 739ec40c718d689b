"""What the registry accepts as model names, versions, aliases, gates, stages and tags.

Each check raises an error that names the value and says what is allowed, before
anything is written; the rules are MLflow's.
"""

from __future__ import annotations

import re
from typing import Final

from canvasback.registry.entities import STAGES
from canvasback.store.schema import INT64_MAX
from canvasback.tracking import validation
from canvasback.tracking.validation import InvalidInputError, unicode_text

# Whole-string matches (fullmatch): "$" would also match before a trailing newline.
_ALIAS: Final = re.compile(r"[\w\-]+")
_VERSION_ALIAS: Final = re.compile(r"[vV]\d+")
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
    return unicode_text(f"{what} {name[:40]!r}", name)


def version_number(version: object) -> int:
    """A version number given as an int or a string of digits."""
    text = str(version).strip() if isinstance(version, int | str) else ""
    if isinstance(version, bool) or not _digits(text) or not 1 <= int(text) <= INT64_MAX:
        msg = (
            f"Invalid model version {version!r}: a positive integer (or its string of "
            f"digits 0-9) up to {INT64_MAX} is required"
        )
        raise InvalidInputError(msg)
    return int(text)


def _digits(text: str) -> bool:
    # str.isdigit alone also takes other scripts' digits and superscripts ("²").
    return text.isascii() and text.isdigit()


def page_offset(page_token: object, max_results: object) -> int:
    """The offset a page token stands for; the page must end within a 64-bit count."""
    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not 1 <= max_results < INT64_MAX
    ):
        msg = (
            f"Invalid max_results {max_results!r}: a positive integer below {INT64_MAX} is required"
        )
        raise InvalidInputError(msg)
    if page_token is None:
        return 0
    if not isinstance(page_token, str) or not _digits(page_token):
        msg = (
            f"Invalid page_token {page_token!r}: pass the token of a previous page "
            "(a string of digits 0-9), or None for the first page"
        )
        raise InvalidInputError(msg)
    offset = int(page_token)
    if offset + max_results >= INT64_MAX:
        msg = (
            f"Invalid page_token {page_token[:40]!r} (with max_results {max_results}): no "
            f"page starts there, the last row a page may end at is {INT64_MAX - 1}; pass "
            "the token of a previous page"
        )
        raise InvalidInputError(msg)
    return offset


def description(value: object, what: str) -> str | None:
    """A description (None clears it): text, which must be valid Unicode."""
    if value is None:
        return None
    text = str(value)
    return unicode_text(f"description {text[:40]!r} of {what}", text)


def alias_name(alias: object) -> str:
    """An alias: letters, digits, '_' and '-'; not 'latest' nor 'v<number>' (reserved)."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
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
    if _VERSION_ALIAS.fullmatch(alias):
        msg = f"Invalid alias {alias!r}: 'v<number>' names are reserved for version numbers"
        raise InvalidInputError(msg)
    return alias


def gate_name(gate: object) -> str:
    """A gate's name: letters, digits, '_' and '-', as an alias's."""
    if not isinstance(gate, str) or not _ALIAS.fullmatch(gate) or len(gate) > MAX_ALIAS_LENGTH:
        shown = gate[:40] if isinstance(gate, str) else gate
        msg = (
            f"Invalid gate name {shown!r}: a name of 1 to {MAX_ALIAS_LENGTH} letters, digits, "
            "underscores (_) and dashes (-) is required"
        )
        raise InvalidInputError(msg)
    return gate


def stage(value: object) -> str:
    """A stage, case-insensitive: None, Staging, Production or Archived."""
    by_lower = {s.lower(): s for s in STAGES}
    found = by_lower.get(str(value).lower()) if isinstance(value, str) else None
    if found is None:
        msg = f"Invalid stage {value!r}: the stages are {', '.join(STAGES)}"
        raise InvalidInputError(msg)
    return found


def tag(key: object, value: object) -> tuple[str, str]:
    """A tag's key and value, checked as every tag is."""
    return validation.validate_key("tag", key), validation.tag_value(str(key), value)
