"""Answers of searches over a catalog that has not changed since, given again.

A notebook asks one search again and again: a cell run twice, a widget redrawn, a loop
that polls for a run. Every search still refreshes the catalog first, so another
process's writes show up at once; while the refresh merged nothing, the catalog's
``views_version`` stays the same, and so does the answer, but for one thing: the clock.
A RUNNING run whose writer falls silent reads stale from a moment on (``liveness.py``),
so a kept answer is given again only before the earliest such moment of the catalog's
runs. That moment is looked up when an answer is first asked again, not on each search.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from canvasback.store import liveness
from canvasback.store.read.relations import RUNS_WIDE

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    import pyarrow as pa

    from canvasback.store.read.catalog import Catalog

KEPT: Final = 16
"""Answers kept per catalog (the least recently asked go first)."""
KEPT_ROWS: Final = 10_000
"""Bigger answers are not kept: a widget pages them, and their memory is the user's."""
_NEVER: Final = float("inf")


class _Answers:
    """One catalog's kept answers, all of one ``views_version``."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.by_key: OrderedDict[Hashable, pa.Table] = OrderedDict()
        self.stale_at_ms: float | None = None  # when a status may change; None: not looked up


_lock = threading.Lock()
_kept: weakref.WeakKeyDictionary[Catalog, _Answers] = weakref.WeakKeyDictionary()


def remembered(catalog: Catalog, key: Hashable, work: Callable[[], pa.Table]) -> pa.Table:
    """``work()``'s answer, or the one it gave for ``key`` on this state of the catalog.

    Call it holding the catalog's lock (``Catalog.atomically``): no refresh may come
    between reading the version and the work.
    """
    with _lock:
        answers = _kept.get(catalog)
        if answers is None or answers.version != catalog.views_version:
            answers = _kept[catalog] = _Answers(catalog.views_version)
        found = answers.by_key.get(key)
    if found is not None:
        if answers.stale_at_ms is None:
            answers.stale_at_ms = _stale_at_ms(catalog)
        if time.time() * 1000 < answers.stale_at_ms:
            with _lock:
                answers.by_key.move_to_end(key)
            return found
        with _lock:  # a status turned: every answer may have; the next moment is later
            answers.by_key.clear()
            answers.stale_at_ms = None
    table = work()
    if table.num_rows <= KEPT_ROWS:
        with _lock:
            answers.by_key[key] = table
            while len(answers.by_key) > KEPT:
                answers.by_key.popitem(last=False)
    return table


def _stale_at_ms(catalog: Catalog) -> float:
    """The first moment (ms since the epoch) a run of the catalog reads stale, if any."""
    # Runs already stale are stale for good: only the moments still to come count.
    row = catalog.rows(
        f"SELECT min(moment) FROM (SELECT {liveness.stale_at_sql('b')} AS moment "
        f"FROM {RUNS_WIDE} b) WHERE moment > epoch_ms(now())"
    )
    first = row[0][0] if row else None
    return _NEVER if first is None else float(first)
