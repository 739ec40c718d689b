"""One autologged training call: whether it logs, into which run, and what an error does.

MLflow's rules (its ``safe_patch`` and ``with_managed_run``):

* only the outermost training call of the process logs: the fits a pipeline makes of
  its steps, a search of its candidates, ``cross_val_score`` of its folds log nothing
  of their own (process-wide, not per thread: joblib's threads fit a search's
  candidates);
* with no active run, the call starts one, tagged ``mlflow.autologging``, and ends it:
  FINISHED, or FAILED if training raised (the error goes on to the caller), KILLED on
  Ctrl-C; with ``exclusive=True`` a run the user started gets nothing;
* an error while logging never reaches the caller: it is an :class:`AutologgingWarning`,
  training runs (or has run) all the same and its result is returned; a run the call
  started ends FAILED, keeping what was logged before the error;
* warnings raised while logging (a score scikit-learn finds undefined for the data) go
  to the ``canvasback.integrations`` logger, not to the user's cell, and
  ``silent=True`` drops them, the logger's messages and the AutologgingWarning. Training
  itself warns as it always does.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from typing import TYPE_CHECKING, Final, TypeVar

from canvasback.integrations import settings
from canvasback.tracking import fluent

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from canvasback.integrations.settings import Options
    from canvasback.tracking.run import Run

    # Logs what is known before training; returns what logs what training made.
    Before = Callable[[Run, Options], Callable[[], None]]

T = TypeVar("T")

LOG: Final = logging.getLogger("canvasback.integrations")
AUTOLOGGING_TAG: Final = "mlflow.autologging"


class AutologgingWarning(UserWarning):
    """Autologging could not log something; the training call's result stands."""


class _Sessions:
    """How many training calls are under way in the process, in any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0

    def enter(self) -> bool:
        with self._lock:
            self._depth += 1
            return self._depth == 1

    def leave(self) -> None:
        with self._lock:
            self._depth -= 1


_SESSIONS: Final = _Sessions()


@contextlib.contextmanager
def training() -> Iterator[bool]:
    """A training call under way: yields whether it is the outermost one."""
    outermost = _SESSIONS.enter()
    try:
        yield outermost
    finally:
        _SESSIONS.leave()


def autologged(integration: str, what: str, call: Callable[[], T], before: Before) -> T:
    """Run ``call()`` (the original training call ``what``), logged if it should be."""
    options = settings.options_of(integration)
    with training() as outermost:
        if (
            options is None
            or not outermost
            or (options.exclusive and fluent.active_run() is not None)
        ):
            return call()
        return _logged(integration, what, options, call, before)


def _logged(
    integration: str, what: str, options: Options, call: Callable[[], T], before: Before
) -> T:
    managed: Run | None = None
    run: Run | None = None
    try:
        with _quiet(silent=options.silent):
            run = fluent.active_run()
            if run is None:
                run = managed = fluent.start_run(tags={AUTOLOGGING_TAG: integration})
            after = before(run, options)
    except Exception as exc:  # noqa: BLE001 - logging never breaks training
        _failed(what, options, exc, run, managed)
        return call()
    try:
        result = call()
    except BaseException as exc:
        if managed is not None:
            managed.end("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise
    try:
        with _quiet(silent=options.silent):
            after()
    except Exception as exc:  # noqa: BLE001 - logging never breaks training
        _failed(what, options, exc, run, managed)
        return result
    if managed is not None:
        managed.end("FINISHED")
    return result


def _failed(
    what: str, options: Options, exc: Exception, run: Run | None, managed: Run | None
) -> None:
    if managed is not None:
        managed.end("FAILED")
    if options.silent:
        return
    if run is None:
        kept = "no run was started"
    elif managed is not None:
        kept = f"its run {run.run_id} ended FAILED, keeping what was logged before the error"
    else:
        kept = f"run {run.run_id} keeps what was logged before the error"
    reason = str(exc).rstrip(".")
    # Attributed to the caller's line: the frames below are this module's and the patch's.
    warnings.warn(
        f"canvasback could not autolog {what}: {type(exc).__name__}: {reason}. Training was "
        f"not affected and its result is returned; {kept}.",
        AutologgingWarning,
        stacklevel=5,
    )


@contextlib.contextmanager
def _quiet(*, silent: bool) -> Iterator[None]:
    """Warnings raised inside go to the log (nowhere if silent); so do the log's messages."""
    was_disabled = LOG.disabled
    LOG.disabled = was_disabled or silent
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        LOG.disabled = was_disabled
        if not silent:
            for warning in caught:
                LOG.warning("%s: %s", warning.category.__name__, warning.message)
