"""The registry's rows and events, appended to its partition of the store.

One place spells each row's layout (the columns of ``tables.py``, in order). Appends are
buffered by the process's writer; every registry call flushes before it returns, so
every process's next read sees what it wrote.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Final

from canvasback.registry import tables
from canvasback.tracking.client import user_name

if TYPE_CHECKING:
    from canvasback.store import Store

PARTITION: Final = tables.PARTITION


def event(store: Store, entity: str, kind: str, key: str, value: str | None) -> None:
    """A fact of a model (``entity`` its id) or a version (``"<model id>/<version>"``)."""
    store.writer.event(PARTITION, entity, kind, key, value)


def model_row(store: Store, model_id: str, name: str, time: int, user: str) -> None:
    """A registered model as created (its name the first it had)."""
    store.writer.append(tables.REGISTERED_MODELS.name, PARTITION, (model_id, name, time, user))


def version_row(
    store: Store, model_id: str, version: int, source: str, run_id: str | None, time: int, user: str
) -> None:
    """A model version as registered."""
    row = (model_id, version, source, run_id, time, user)
    store.writer.append(tables.MODEL_VERSIONS.name, PARTITION, row)


def who() -> tuple[str, str]:
    """The user and the machine a registry change is attributed to."""
    return user_name(), socket.gethostname()


def alias_move(
    store: Store, model_id: str, alias: str, version: int | None, *, overrode: str | None = None
) -> tuple[int, str, str]:
    """An alias pointed at a version (None removes it); returns when, by whom, from where.

    A forced move (``overrode``: what the force passed over) has its fact written first,
    keyed by the move's stamp, and on disk before the move's row is appended: a process
    killed in between leaves a fact of no move, which no view shows, never a forced move
    that reads as an ordinary one.
    """
    timestamp, writer, seq = store.writer.stamp()
    user, host = who()
    if overrode is not None:
        key = f"{alias}/{timestamp}/{writer}/{seq}"
        event(store, model_id, tables.EVENT_ALIAS_FORCED, key, overrode)
        store.flush()
    row = (model_id, alias, version, timestamp, user, host, writer, seq)
    store.writer.append(tables.MODEL_ALIASES.name, PARTITION, row)
    return timestamp, user, host


def hook_row(store: Store, row: tuple[object, ...]) -> None:
    """A hook as added, its columns those of ``tables.REGISTRY_HOOKS`` in order."""
    store.writer.append(tables.REGISTRY_HOOKS.name, PARTITION, row)


def delivery_row(
    store: Store,
    delivery: tuple[str, str, str, str, int | None],
    attempt: int,
    outcome: tuple[str, int | None, int | None, str | None],
    retry_at: int | None,
    payload: str | None = None,
) -> int:
    """One row of a delivery's log; returns its time.

    ``delivery`` is (delivery id, hook id, event, model id, version), ``outcome``
    (status, HTTP status, exit code, error).
    """
    timestamp, writer, seq = store.writer.stamp()
    row = (*delivery, attempt, *outcome, retry_at, payload, timestamp, writer, seq)
    store.writer.append(tables.HOOK_DELIVERIES.name, PARTITION, row)
    return timestamp
