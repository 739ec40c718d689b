"""Params are write-once across processes too: the first value wins, the loser is told.

Every reader keeps the first value of a run's param by (timestamp, value); a handle that
resumed a run (another process may log to it) checks at ``end_run`` that its values are
the ones that stayed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from canvasback import query
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.store import Store


class ParamConflictError(InvalidInputError):
    """Another process logged a param of the same run with another value, first."""


def check_params_won(
    store: Store, run_id: str, logged: Mapping[str, str], logged_at: float
) -> None:
    """Raise :class:`ParamConflictError` if another value of a logged param came first."""
    # Any other process's writer has flushed what it held one flush interval after our
    # params were logged: only then does the store show which value came first.
    wait = store.writer.flush_interval + 0.25 - (time.monotonic() - logged_at)
    if wait > 0:
        time.sleep(wait)  # another process's flush: nothing in this one to wait on
    stored = query.run_data(store.read(), run_id)["params"]
    lost = {k: val for k, val in logged.items() if stored.get(k) != val}
    if lost:
        detail = "; ".join(
            f"{k!r}: logged {val!r} here, but {stored.get(k)!r} was logged first"
            for k, val in lost.items()
        )
        msg = (
            f"Param(s) of run {run_id} were logged by another process with other values "
            f"first, and the first value stays (params are write-once): {detail}"
        )
        raise ParamConflictError(msg)
