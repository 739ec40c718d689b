"""What happens to a process's runs when it ends.

A run still active at interpreter exit ends ``FINISHED``, or ``FAILED`` when an uncaught
exception ended the process, or ``KILLED`` after Ctrl-C: the excepthook notes which,
the exit hook ends the runs. The exit hook is registered after the writer's own, so it
runs first (atexit is last in, first out) and the writer's final flush carries the end
events.
"""

from __future__ import annotations

import atexit
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

_exit_status = "FINISHED"
_previous_excepthook = sys.excepthook
_installed: list[Callable[[str], None]] = []


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    global _exit_status  # noqa: PLW0603  # read once, at exit
    _exit_status = "KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED"
    _previous_excepthook(exc_type, exc, tb)


def _at_exit() -> None:
    for end_runs in _installed:
        end_runs(_exit_status)


def end_runs_at_exit(end_runs: Callable[[str], None]) -> None:
    """Call ``end_runs(status)`` at interpreter exit with the process's ending status."""
    if not _installed:
        sys.excepthook = _excepthook
        atexit.register(_at_exit)
    _installed.append(end_runs)
