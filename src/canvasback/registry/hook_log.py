"""The hook deliveries' log, read: each delivery's state, from its rows of attempts.

A delivery's rows (``hook_deliveries``): the pending row written when its event fired
(attempt 0, holding the body), then one per attempt (numbered 1, 2, ...), and maybe a
last one that says why it is not sent (its hook deleted, its process gone first),
numbered as the attempt before it. Its state is its latest row's:
``pending`` (not tried yet), ``delivered`` or ``failed``, with the HTTP status, exit
code or error of that attempt, and when its process means to try again (``retry_at``;
None: it will not). The registry panel shows a version's failed deliveries with
:func:`deliveries`; ``canvasback hooks retry`` sends again the ones :func:`undelivered`
finds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from canvasback.registry import reads

if TYPE_CHECKING:
    from canvasback.store.read.catalog import Catalog

DELIVERED: Final = "delivered"
FAILED: Final = "failed"
PENDING: Final = "pending"

_STATES: Final = """
    WITH d AS MATERIALIZED (SELECT * FROM hook_deliveries WHERE {where})
    SELECT l.delivery_id, l.hook_id, l.event, l.name, l.model_id, l.version, l.status,
           l.http_status, l.exit_code, l.error, l.retry_at, l.timestamp AS time,
           a.first_time, a.attempts, a.payload
    FROM (SELECT * FROM d QUALIFY row_number() OVER (
              PARTITION BY delivery_id ORDER BY timestamp DESC, attempt DESC) = 1) l
    JOIN (SELECT delivery_id, min(timestamp) AS first_time,
                 count(DISTINCT attempt) FILTER (WHERE attempt > 0) AS attempts,
                 any_value(payload) FILTER (WHERE payload IS NOT NULL) AS payload
          FROM d GROUP BY delivery_id) a ON a.delivery_id = l.delivery_id
    {having}
    ORDER BY a.first_time {order}, l.delivery_id
"""


@dataclass(frozen=True)
class HookDelivery:
    """One event sent to one hook: its state as of its latest attempt."""

    delivery_id: str
    """The idempotency key: every attempt sends it (``X-MLflow-Delivery-Id``)."""
    hook_id: str
    event: str
    name: str | None
    """The registered model (its name now; None once it is deleted)."""
    version: str | None
    status: str
    """``pending``, ``delivered`` or ``failed``: its latest attempt's outcome."""
    attempts: int
    http_status: int | None
    exit_code: int | None
    error: str | None
    time: int
    """When its latest row was written (ms)."""
    first_time: int
    """When its event fired (ms)."""
    retry_at: int | None
    """When its process tries again (ms); None: it will not."""
    model_id: str = field(repr=False, default="")
    payload: str | None = field(repr=False, default=None)


def deliveries(
    catalog: Catalog, model_id: str, version: int | None = None, *, failed_only: bool = False
) -> list[HookDelivery]:
    """A model's (or one version's) deliveries, newest first; only failed ones if asked."""
    where, params = "model_id = ?", list[Any]([model_id])
    if version is not None:
        where, params = f"{where} AND version = ?", [*params, version]
    having = f"WHERE l.status = '{FAILED}'" if failed_only else ""
    return _states(catalog, where, params, having, "DESC")


def undelivered(
    catalog: Catalog, model_id: str | None = None, version: int | None = None
) -> list[HookDelivery]:
    """Every delivery (of a model, or of one version) not delivered yet, oldest first."""
    where, params = "TRUE", list[Any]()
    if model_id is not None:
        where, params = "model_id = ?", [model_id]
        if version is not None:
            where, params = f"{where} AND version = ?", [*params, version]
    return _states(catalog, where, params, f"WHERE l.status <> '{DELIVERED}'", "ASC")


def _states(
    catalog: Catalog, where: str, params: list[Any], having: str, order: str
) -> list[HookDelivery]:
    sql = _STATES.format(where=where, having=having, order=order)
    return [
        HookDelivery(
            delivery_id=r["delivery_id"],
            hook_id=r["hook_id"],
            event=r["event"],
            name=r["name"],
            version=None if r["version"] is None else str(r["version"]),
            status=r["status"],
            attempts=r["attempts"],
            http_status=r["http_status"],
            exit_code=r["exit_code"],
            error=r["error"],
            time=r["time"],
            first_time=r["first_time"],
            retry_at=r["retry_at"],
            model_id=r["model_id"],
            payload=r["payload"],
        )
        for r in reads.rows_of(catalog, sql, params)
    ]
