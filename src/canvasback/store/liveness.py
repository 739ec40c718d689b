"""Whether a RUNNING run's process is still alive: heartbeats and the stale rule.

A process with runs going on has its writer append a heartbeat event every
``CANVASBACK_HEARTBEAT_SECONDS`` (10 s by default), even when nothing is logged, and
with it the interval it beats at. A run whose status is RUNNING but whose writer has
shown no sign of life (the RUNNING event itself, or a heartbeat) for ``STALE_BEATS`` of
the writer's intervals is shown as ``KILLED``, as W&B shows "crashed": its process was
killed or its machine went away. The interval is the one the writer recorded (the
default for a writer that recorded none), never the reader's setting: a reader and a
writer set differently agree on every run. The rule is applied when a run is read, so
a run that comes back to life (a resumed laptop) reads RUNNING again, and nothing is
written on a dead process's behalf.
"""

from __future__ import annotations

import math
import os
import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pyarrow as pa

HEARTBEAT_ENV: Final = "CANVASBACK_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT_INTERVAL: Final = 10.0
STALE_BEATS: Final = 6
STALE_STATUS: Final = "KILLED"
_DEFAULT_MS: Final = int(DEFAULT_HEARTBEAT_INTERVAL * 1000)


def heartbeat_interval() -> float:
    """Seconds between this process's heartbeats (``CANVASBACK_HEARTBEAT_SECONDS``)."""
    try:
        seconds = float(os.environ.get(HEARTBEAT_ENV, DEFAULT_HEARTBEAT_INTERVAL))
    except ValueError:
        return DEFAULT_HEARTBEAT_INTERVAL
    return seconds if 0 < seconds < math.inf else DEFAULT_HEARTBEAT_INTERVAL


def stale_after_ms(interval_ms: int | None = None) -> int:
    """Milliseconds without a sign of life after which a RUNNING run reads as KILLED.

    ``interval_ms``: the interval its writer recorded (None: it recorded none).
    """
    return STALE_BEATS * (_DEFAULT_MS if interval_ms is None else interval_ms)


def status_arrow(
    status: pa.ChunkedArray, last_seen: pa.ChunkedArray, heartbeat_ms: pa.ChunkedArray
) -> pa.ChunkedArray:
    """:func:`status_sql` over Arrow columns: a page taken from a file, not a query."""
    import pyarrow as pa  # noqa: PLC0415  # loaded with the page
    import pyarrow.compute as pc  # noqa: PLC0415

    now = int(time.time() * 1000)
    patience = pc.multiply(pc.fill_null(heartbeat_ms, _DEFAULT_MS), STALE_BEATS)
    stale = pc.and_(pc.equal(status, "RUNNING"), pc.less(last_seen, pc.subtract(now, patience)))
    return pc.if_else(pc.fill_null(stale, fill_value=False), pa.scalar(STALE_STATUS), status)


def stale_at_sql(alias: str) -> str:
    """When the wide row ``alias`` starts to read stale (ms since the epoch).

    NULL unless it is RUNNING with a sign of life: the only rows whose status as shown
    (:func:`status_sql`) changes with the clock alone.
    """
    return (
        f"CASE WHEN {alias}.status = 'RUNNING' THEN {alias}.last_seen "
        f"+ {STALE_BEATS:d} * coalesce({alias}.heartbeat_ms, {_DEFAULT_MS:d}) END"
    )


def status_sql(alias: str) -> str:
    """The status of the wide run table's row ``alias`` with the stale rule applied."""
    # Every part is this module's own text and an integer: nothing from a user.
    return (
        f"CASE WHEN {alias}.status = 'RUNNING' "
        f"AND {alias}.last_seen < epoch_ms(now()) "
        f"- {STALE_BEATS:d} * coalesce({alias}.heartbeat_ms, {_DEFAULT_MS:d}) "
        f"THEN '{STALE_STATUS}' ELSE {alias}.status END"
    )
