"""What autologging is set to do: each integration's options, in the process's context.

The options live in a context slot, so ``canvasback.reset()`` turns every integration
off as a new process starts with none; the patches stay on the library's classes (they
are facts about classes, not about the context) and do nothing until turned on again.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Final

from canvasback.tracking.context import Slot, current_context
from canvasback.tracking.validation import InvalidInputError

DEFAULT_MAX_TUNING_RUNS: Final = 5


@dataclass(frozen=True)
class Options:
    """An integration's options, as MLflow's ``autolog`` takes them."""

    log_input_examples: bool = False
    log_model_signatures: bool = True
    log_models: bool = True
    exclusive: bool = False
    silent: bool = False
    max_tuning_runs: int | None = DEFAULT_MAX_TUNING_RUNS


def checked(
    *,
    log_input_examples: object,
    log_model_signatures: object,
    log_models: object,
    disable: object,
    exclusive: object,
    silent: object,
    max_tuning_runs: object = DEFAULT_MAX_TUNING_RUNS,
) -> Options:
    """The options given to ``autolog``, checked before anything is turned on or off."""
    flag("disable", disable)
    return Options(
        log_input_examples=flag("log_input_examples", log_input_examples),
        log_model_signatures=flag("log_model_signatures", log_model_signatures),
        log_models=flag("log_models", log_models),
        exclusive=flag("exclusive", exclusive),
        silent=flag("silent", silent),
        max_tuning_runs=_tuning_runs(max_tuning_runs),
    )


def flag(key: str, value: object) -> bool:
    """An on/off option of ``autolog``: a bool, or an error naming it."""
    if not isinstance(value, bool):
        msg = f"Invalid {key}={value!r} for autolog: True or False is required"
        raise InvalidInputError(msg)
    return value


def _tuning_runs(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 0:
        return int(value)
    msg = (
        f"Invalid max_tuning_runs={value!r} for autolog: a whole number of child runs "
        "(0 or more), or None for one per candidate, is required"
    )
    raise InvalidInputError(msg)


# Each integration turned on, by name ("sklearn"), with its options; empty in a fresh context.
_ENABLED: Final[Slot[dict[str, Options]]] = Slot("autologging's integrations", lambda _ctx: {})


def enable(integration: str, options: Options) -> None:
    """Turn ``integration`` on with ``options`` (replacing any it had)."""
    current_context().get(_ENABLED)[integration] = options


def disable(integration: str) -> None:
    """Turn ``integration`` off."""
    current_context().get(_ENABLED).pop(integration, None)


def options_of(integration: str) -> Options | None:
    """The options of ``integration``, or None while it is off."""
    return current_context().get(_ENABLED).get(integration)
