"""Whether a RUNNING run's process is still alive: heartbeats and the stale rule.

A process with runs going on has its writer append a heartbeat event every
``CANVASBACK_HEARTBEAT_SECONDS`` (10 s by default), even when nothing is logged. A run
whose status is RUNNING but whose writer has shown no sign of life (the RUNNING event
itself, or a heartbeat) for ``STALE_BEATS`` intervals is shown as ``KILLED``, as W&B
shows "crashed": its process was killed or its machine went away. The rule is applied
when a run is read, so a run that comes back to life (a resumed laptop) reads RUNNING
again, and nothing is written on a dead process's behalf.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pyarrow as pa

HEARTBEAT_ENV: Final = "CANVASBACK_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT_INTERVAL: Final = 10.0
STALE_BEATS: Final = 6
STALE_STATUS: Final = "KILLED"


def heartbeat_interval() -> float:
    """Seconds between a live writer's heartbeats (``CANVASBACK_HEARTBEAT_SECONDS``)."""
    try:
        seconds = float(os.environ.get(HEARTBEAT_ENV, DEFAULT_HEARTBEAT_INTERVAL))
    except ValueError:
        return DEFAULT_HEARTBEAT_INTERVAL
    return seconds if seconds > 0 else DEFAULT_HEARTBEAT_INTERVAL


def stale_after_ms() -> int:
    """Milliseconds without a sign of life after which a RUNNING run reads as KILLED."""
    return int(STALE_BEATS * heartbeat_interval() * 1000)


def status_arrow(status: pa.ChunkedArray, last_seen: pa.ChunkedArray) -> pa.ChunkedArray:
    """:func:`status_sql` over Arrow columns: a page taken from a file, not a query."""
    import pyarrow as pa  # noqa: PLC0415  # loaded with the page
    import pyarrow.compute as pc  # noqa: PLC0415

    cutoff = int(time.time() * 1000) - stale_after_ms()
    stale = pc.and_(pc.equal(status, "RUNNING"), pc.less(last_seen, cutoff))
    return pc.if_else(pc.fill_null(stale, fill_value=False), pa.scalar(STALE_STATUS), status)


def status_sql(alias: str) -> str:
    """The status of the wide run table's row ``alias`` with the stale rule applied."""
    # Every part is this module's own text and an integer: nothing from a user.
    return (
        f"CASE WHEN {alias}.status = 'RUNNING' "
        f"AND {alias}.last_seen < epoch_ms(now()) - {stale_after_ms():d} "
        f"THEN '{STALE_STATUS}' ELSE {alias}.status END"
    )
