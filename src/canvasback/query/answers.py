"""Run searches asked again of an unchanged catalog: the answer given, given again.

A notebook asks one search again and again: a cell run twice, a widget redrawn, a loop
that polls for a run. Every search still refreshes the catalog first, so another
process's writes show up at once; while the refresh merged nothing, the catalog's memo
(``store/read/memo.py``) holds the answer, but for one thing: the clock. A RUNNING run
whose writer falls silent reads stale from a moment on (``liveness.py``), so a kept
answer holds only before the earliest such moment of the catalog's runs. That moment is
looked up when an answer is first asked again, once per state, not on each search.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from canvasback.store import liveness
from canvasback.store.read.relations import RUNS_WIDE

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    import pyarrow as pa

    from canvasback.store.read.catalog import Catalog

KEPT_ROWS: Final = 10_000
"""Bigger answers are not kept: a widget pages them, and their memory is the user's."""
_STALE_MOMENT: Final = ("query.answers", "the first moment a run reads stale")
_NEVER: Final = float("inf")


def remembered(catalog: Catalog, key: Hashable, work: Callable[[], pa.Table]) -> pa.Table:
    """``work()``'s answer, or the one it gave for ``key`` on this state of the catalog."""

    def holds() -> bool:
        moment = catalog.memo.get(_STALE_MOMENT, lambda: _stale_moment_ms(catalog))
        if time.time() * 1000 < moment:
            return True
        catalog.memo.forget(_STALE_MOMENT)  # that run reads stale now; the next is later
        return False

    return catalog.memo.get(
        ("query.search_runs", key), work, holds=holds, keep=lambda t: t.num_rows <= KEPT_ROWS
    )


def _stale_moment_ms(catalog: Catalog) -> float:
    """The first moment (ms since the epoch) a run of the catalog reads stale, if any."""
    # Runs already stale are stale for good: only the moments still to come count.
    row = catalog.rows(
        f"SELECT min(moment) FROM (SELECT {liveness.stale_at_sql('b')} AS moment "
        f"FROM {RUNS_WIDE} b) WHERE moment > epoch_ms(now())"
    )
    first = row[0][0] if row else None
    return _NEVER if first is None else float(first)
