"""Who holds a registered model's name, and what each model's log has decided.

Both are claims (:mod:`canvasback.store.name_claims`): files created only if absent
(``link(2)`` here, ``If-None-Match: *`` on object storage), read, and never changed or
deleted afterwards. What is the registry's own: a model's id is random, a rename and the
deletion each end the holdings before them (a deleted model's name is free), a holding
that creates a model carries its row, tags and description, and a claim of before the
logs holds while the model's row says so.

- **A name's holdings**: ``claims/registered-model-names/<sha256 of the name>`` is its
  first holding, ``<hash>.1``, ``<hash>.2``, ... the later ones, each created only once
  the one before it no longer holds. A holding names a model, a token (the call that
  made it) and the slot of the model's log that makes it good: 0 for the holding that
  created the model, ``k`` for a rename to this name at slot ``k``.
- **A model's log**: ``claims/registered-model-logs/<model id>/1``, ``2``, ...: each slot
  is a rename (with the new name), the deletion, or an abort (a rename's intent given
  up). Exactly one call takes each slot, so one rename or delete wins each step.
  Beside the slots, ``row-written`` says the model's row is on disk.

Whether the last holding of a name *holds* follows from these files alone (see
:func:`status`); :mod:`canvasback.registry.repair` describes the protocol built on them
and why a call killed at any point leaves a state the next caller or ``recover`` settles.
"""

from __future__ import annotations

import contextlib
import re
import time as clock
import uuid
from typing import TYPE_CHECKING, Final

from canvasback.registry import names, reads, tables, writes
from canvasback.registry.entities import RegistryConflictError, RegistryNotFoundError
from canvasback.store.name_claims import (
    ABORT,
    HELD,
    MAX_TRIES,
    OPEN,
    RENAME,
    STALE,
    EntityLog,
    Holding,
    LogEntry,
    Lookup,
    NameClaims,
    name_digest,
    new_token,
    slot_key,
)
from canvasback.tracking.client import user_name

if TYPE_CHECKING:
    from pathlib import Path

    from canvasback.store import Store

__all__ = [
    "ABORT",
    "DELETE",
    "HELD",
    "MAX_TRIES",
    "MODEL_LOGS",
    "NAME_CLAIMS",
    "OPEN",
    "RENAME",
    "STALE",
    "VERSION_CLAIMS",
    "Holding",
    "LogEntry",
    "Lookup",
    "ModelLog",
    "name_digest",
    "new_token",
    "slot_key",
]

NAME_CLAIMS: Final = "registered-model-names"
MODEL_LOGS: Final = "registered-model-logs"
VERSION_CLAIMS: Final = "model-versions"

DELETE: Final = "delete"

ModelLog = EntityLog

# The events of a model's log written up to a length: each process checks them once.
_SETTLED: set[tuple[Path, str, int]] = set()


def _legacy_holds(store: Store, holding: Holding) -> bool:
    # A claim of before the logs: the name held while its model's row and events
    # (written before such a claim was given back) still say so.
    row = reads.model_row(store.read(), holding.entity_id)
    return row is not None and row["name"] == holding.name


def settle(store: Store, model_id: str, log: ModelLog) -> bool:
    """Write the events a model's log implies and the store lacks; True if any was written.

    A rename's event is keyed by its slot and the deletion is for good, so writing them
    again, late or twice is harmless: the view takes the name of the greatest slot.
    """
    key = (store.root, model_id, len(log.entries))
    if not log.entries or key in _SETTLED:
        return False
    renames, deleted = reads.model_log_facts(store.read(), model_id)
    wrote = False
    last = log.last(RENAME)
    if last is not None and renames.get(slot_key(last.slot)) != last.name:
        writes.event(store, model_id, tables.EVENT_MODEL_NAME, slot_key(last.slot), last.name)
        wrote = True
    if log.last(DELETE) is not None and not deleted:
        writes.event(store, model_id, tables.EVENT_MODEL_LIFECYCLE, "", "deleted")
        wrote = True
    if wrote:
        store.flush()
    _SETTLED.add(key)
    return wrote


CLAIMS: Final = NameClaims(
    names=NAME_CLAIMS,
    logs=MODEL_LOGS,
    id_key="model_id",
    entity_id=re.compile(r"[0-9a-f]{32}"),
    what="Registered model",
    ends=frozenset({RENAME, DELETE}),  # a deleted model's name is free
    legacy_holds=_legacy_holds,
    settle=settle,
    conflict=RegistryConflictError,
)


def latest_by_digest(store: Store, digest: str, name: str = "") -> Holding | None:
    """The last holding of a name (given by its digest), None if it was never claimed."""
    return CLAIMS.latest_by_digest(store, digest, name)


def read_log(store: Store, model_id: str) -> ModelLog:
    """Every slot of a model's log taken so far."""
    return CLAIMS.read_log(store, model_id)


def status(store: Store, holding: Holding, log: ModelLog) -> str:
    """HELD, STALE (for good) or OPEN (a rename to this name not yet decided)."""
    return CLAIMS.status(store, holding, log)


def lookup(store: Store, name: str) -> Lookup | None:
    """The last holding of a (checked) name and its state; None if never claimed."""
    return CLAIMS.lookup(store, name)


def commit(
    store: Store, model_id: str, slot: int, op: str, token: str, name: str | None = None
) -> bool:
    """Take a slot of a model's log; True if this call took it."""
    return CLAIMS.commit(store, model_id, slot, op, token, name)


def take_name(
    store: Store,
    name: str,
    model_id: str,
    *,
    slot: int,
    token: str,
    time: int = 0,
    user: str = "unknown",
    tags: dict[str, str] | None = None,
    description: str | None = None,
) -> Holding:
    """Claim the next holding of a name for a model; RegistryConflictError if it is held.

    A holding that creates a model (slot 0) carries its row, tags and description.
    """
    details = {"time": time, "user": user, "tags": tags or {}, "description": description}
    return CLAIMS.take_name(store, name, model_id, slot=slot, token=token, details=details)


def created(holding: Holding) -> tuple[int, str, dict[str, str], str | None]:
    """What the holding that created a model says of it: time, user, tags, description."""
    d = holding.details
    tags = {str(k): str(v) for k, v in (d.get("tags") or {}).items()}
    return int(d.get("time") or 0), str(d.get("user") or "unknown"), tags, d.get("description")


def mark_settled(store: Store, model_id: str, slot: int) -> None:
    """Remember that the events of a model's log up to ``slot`` are written."""
    _SETTLED.add((store.root, model_id, slot))


def write_model(store: Store, holding: Holding) -> None:
    """Write a model's row (and its tags and description) from the holding that created it.

    Events first, then the row: a model is visible once its row is, and then whole. A
    row written twice (its creator and a repair) is one row: rows dedupe on model id.
    """
    model_id = holding.entity_id
    time, user, tags, description = created(holding)
    for key, value in tags.items():
        writes.event(store, model_id, tables.EVENT_MODEL_TAG, key, value)
    if description is not None:
        writes.event(store, model_id, tables.EVENT_MODEL_DESCRIPTION, "", description)
    if tags or description is not None:
        store.flush()
    writes.model_row(store, model_id, holding.name, time, user)
    store.flush()
    CLAIMS.mark_row(store, model_id)


def ensure_written(store: Store, holding: Holding) -> bool:
    """Write the row of a model whose creator was killed after claiming its name."""
    model_id = holding.entity_id
    if holding.slot or not holding.token or CLAIMS.row_marked(store, model_id):
        return False
    if reads.model_written(store.read(), model_id):  # its creator died just before the mark
        CLAIMS.mark_row(store, model_id)
        return False
    write_model(store, holding)
    return True


# -- a call's model, by name -----------------------------------------------------------
def not_found(store: Store, name: str) -> RegistryNotFoundError:
    """The error for a name no model holds, naming the models there are."""
    known = reads.model_names(store.read())
    shown = ", ".join(repr(n) for n in known[:20]) or "none yet"
    return RegistryNotFoundError(
        f"No registered model named {name!r}; the registered models are {shown}"
    )


def held(store: Store, name: object) -> Holding:
    """The holding of a name that holds, the name checked (a read: nothing is written)."""
    checked = names.model_name(name)
    found = lookup(store, checked)
    if found is None or found.state != HELD:
        raise not_found(store, checked)
    return found.holding


def writable(store: Store, name: object) -> tuple[Holding, ModelLog]:
    """A name's holding and model log, for a call that writes to the model.

    It settles what a killed call left on the way: the events of a committed rename
    or deletion, the row of a model whose creator died after claiming its name.
    """
    checked = names.model_name(name)
    found = _held_for_writing(store, checked)
    if found is None:
        raise not_found(store, checked)
    return found


def _held_for_writing(store: Store, name: str) -> tuple[Holding, ModelLog] | None:
    found = lookup(store, name)
    if found is not None and found.state == STALE and found.holding.entity_id:
        settle(store, found.holding.entity_id, found.log)
    if found is None or found.state != HELD:
        return None
    settle(store, found.holding.entity_id, found.log)
    ensure_written(store, found.holding)
    return found.holding, found.log


def create(store: Store, name: str, tags: dict[str, str], description: str | None) -> None:
    """Claim a (checked) name for a new model and write its row; raises if it is held."""
    holding = take_name(
        store,
        name,
        uuid.uuid4().hex,
        slot=0,
        token=new_token(),
        time=clock.time_ns() // 1_000_000,
        user=user_name(),
        tags=tags,
        description=description,
    )
    write_model(store, holding)


def created_if_absent(store: Store, name: str) -> tuple[Holding, ModelLog]:
    """A name's holding and model log for a write, the model created if there is none."""
    checked = names.model_name(name)
    found = _held_for_writing(store, checked)
    if found is None:
        # Another process may create it at the same moment: then its model is the one.
        with contextlib.suppress(RegistryConflictError):
            create(store, checked, {}, None)
        found = _held_for_writing(store, checked)
    if found is None:  # created, then deleted by another call at once
        raise not_found(store, checked)
    return found
