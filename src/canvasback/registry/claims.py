"""Who holds a registered model's name, and what each model's log has decided.

Both are claims: files created only if absent (``link(2)`` here, ``If-None-Match: *`` on
object storage), read, and never changed or deleted afterwards.

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

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from canvasback.registry.entities import RegistryConflictError
from canvasback.store import layout
from canvasback.tracking.queries import registry as rq

if TYPE_CHECKING:
    from pathlib import Path

    from canvasback.store import Store

NAME_CLAIMS: Final = "registered-model-names"
MODEL_LOGS: Final = "registered-model-logs"
VERSION_CLAIMS: Final = "model-versions"

RENAME: Final = "rename"
DELETE: Final = "delete"
ABORT: Final = "abort"

HELD: Final = "held"
STALE: Final = "stale"
OPEN: Final = "open"  # a rename's intent whose log slot nobody has taken yet

# Each retry follows another call's success, so this bounds only pathological contention.
MAX_TRIES: Final = 64
_MODEL_ID: Final = re.compile(r"[0-9a-f]{32}")
_PARTITION: Final = layout.REGISTRY_PARTITION
_ROW_WRITTEN: Final = "row-written"

# Facts that stay true once seen (a model's row, its log settled up to a length): each
# process checks them once.
_WRITTEN: set[tuple[Path, str]] = set()
_SETTLED: set[tuple[Path, str, int]] = set()


@dataclass(frozen=True, slots=True)
class Holding:
    """One holding of a name: which model, by which call, made good by which log slot."""

    name: str
    index: int
    model_id: str
    slot: int
    token: str
    """Empty for a claim written before model logs existed (its content is the model id)."""
    time: int = 0
    user: str = "unknown"
    tags: dict[str, str] = field(default_factory=dict)
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One slot of a model's log."""

    slot: int
    op: str
    token: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ModelLog:
    """The slots of a model's log, in order (slot ``k`` is ``entries[k - 1]``)."""

    model_id: str
    entries: tuple[LogEntry, ...] = ()

    @property
    def next_slot(self) -> int:
        """The slot the next rename or deletion takes."""
        return len(self.entries) + 1

    def at(self, slot: int) -> LogEntry | None:
        """The entry at a slot, None while the slot is free."""
        return self.entries[slot - 1] if 1 <= slot <= len(self.entries) else None

    def changes_after(self, slot: int) -> list[LogEntry]:
        """Renames and the deletion after a slot (aborts change nothing)."""
        return [e for e in self.entries[slot:] if e.op != ABORT]

    @property
    def deleted(self) -> bool:
        """Whether a deletion took a slot (for good)."""
        return any(e.op == DELETE for e in self.entries)

    @property
    def last_rename(self) -> LogEntry | None:
        """The latest rename: it names the model."""
        renames = [e for e in self.entries if e.op == RENAME]
        return renames[-1] if renames else None


@dataclass(frozen=True, slots=True)
class Lookup:
    """A name's last holding, its model's log, and whether the holding holds."""

    holding: Holding
    log: ModelLog
    state: str


def new_token() -> str:
    """A token naming one call (a holding's and a log slot's owner)."""
    return uuid.uuid4().hex


def name_digest(name: str) -> str:
    """A name's claim key (names are any text; file names are not)."""
    return hashlib.sha256(name.encode()).hexdigest()


def slot_key(slot: int) -> str:
    """The key of a rename's event: the view takes the name of the greatest key."""
    return f"{slot:010d}"


def _holding_key(digest: str, index: int) -> str:
    return digest if index == 0 else f"{digest}.{index}"


def _parse_holding(name: str, index: int, data: bytes) -> Holding:
    if not data.startswith(b"{"):  # written before model logs: the content is the model id
        model_id = data.decode(errors="replace")
        return Holding(name, index, model_id if _MODEL_ID.fullmatch(model_id) else "", 0, "")
    d: dict[str, Any] = json.loads(data)
    model_id = str(d["model_id"])
    return Holding(
        name=str(d["name"]),
        index=index,
        model_id=model_id if _MODEL_ID.fullmatch(model_id) else "",
        slot=int(d["slot"]),
        token=str(d["token"]),
        time=int(d.get("time") or 0),
        user=str(d.get("user") or "unknown"),
        tags={str(k): str(v) for k, v in (d.get("tags") or {}).items()},
        description=d.get("description"),
    )


def latest_by_digest(store: Store, digest: str, name: str = "") -> Holding | None:
    """The last holding of a name (given by its digest), None if it was never claimed."""
    found: Holding | None = None
    index = 0
    while (data := store.read_claim(NAME_CLAIMS, _holding_key(digest, index))) is not None:
        found = _parse_holding(name, index, data)
        index += 1
    return found


def read_log(store: Store, model_id: str) -> ModelLog:
    """Every slot of a model's log taken so far."""
    entries: list[LogEntry] = []
    namespace = f"{MODEL_LOGS}/{model_id}"
    while (data := store.read_claim(namespace, str(len(entries) + 1))) is not None:
        d = json.loads(data)
        entries.append(LogEntry(len(entries) + 1, str(d["op"]), str(d["token"]), d.get("name")))
    return ModelLog(model_id, tuple(entries))


def status(store: Store, holding: Holding, log: ModelLog) -> str:
    """HELD, STALE (for good) or OPEN (a rename to this name not yet decided)."""
    if not holding.model_id:
        return STALE  # content that names no model: it holds nothing
    if holding.slot:
        entry = log.at(holding.slot)
        if entry is None:
            return OPEN
        if entry.op != RENAME or entry.token != holding.token:
            return STALE
    if log.changes_after(holding.slot):
        return STALE
    if not holding.token:
        # A claim of before the logs: the name held while its model's row and events
        # (written before such a claim was given back) still say so.
        row = rq.model_row(store.read(), holding.model_id)
        if row is None or row["name"] != holding.name:
            return STALE
    return HELD


def lookup(store: Store, name: str) -> Lookup | None:
    """The last holding of a (checked) name and its state; None if never claimed."""
    holding = latest_by_digest(store, name_digest(name), name)
    if holding is None:
        return None
    log = read_log(store, holding.model_id) if holding.model_id else ModelLog("")
    return Lookup(holding, log, status(store, holding, log))


def commit(
    store: Store, model_id: str, slot: int, op: str, token: str, name: str | None = None
) -> bool:
    """Take a slot of a model's log; True if this call took it."""
    data = json.dumps({"op": op, "token": token, "name": name}).encode()
    return store.claim(f"{MODEL_LOGS}/{model_id}", str(slot), data)


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

    A rename's intent still open on the name is given up for its owner (an abort in
    its model's log: that rename then raises); a stale holder's model is settled first,
    so the views never show two models under one name.
    """
    digest = name_digest(name)
    for _ in range(MAX_TRIES):
        found = lookup(store, name)
        if found is not None:
            if found.state == HELD:
                msg = f"Registered model {name!r} already exists in store {str(store.root)!r}"
                raise RegistryConflictError(msg)
            held = found.holding
            if found.state == OPEN:
                commit(store, held.model_id, held.slot, ABORT, held.token)
                continue  # decided now, one way or the other: look again
            if held.model_id:
                settle(store, held.model_id, found.log)
        index = 0 if found is None else found.holding.index + 1
        holding = Holding(name, index, model_id, slot, token, time, user, tags or {}, description)
        content = {
            "name": name,
            "model_id": model_id,
            "slot": slot,
            "token": token,
            "time": time,
            "user": user,
            "tags": holding.tags,
            "description": description,
        }
        if store.claim(NAME_CLAIMS, _holding_key(digest, index), json.dumps(content).encode()):
            return holding
    msg = f"Registered model name {name!r} is contended by too many calls at once; try again"
    raise RegistryConflictError(msg)


def settle(store: Store, model_id: str, log: ModelLog) -> bool:
    """Write the events a model's log implies and the store lacks; True if any was written.

    A rename's event is keyed by its slot and the deletion is for good, so writing them
    again, late or twice is harmless: the view takes the name of the greatest slot.
    """
    key = (store.root, model_id, len(log.entries))
    if not log.entries or key in _SETTLED:
        return False
    names, deleted = rq.model_log_facts(store.read(), model_id)
    wrote = False
    last = log.last_rename
    if last is not None and names.get(slot_key(last.slot)) != last.name:
        store.writer.event(
            _PARTITION, model_id, layout.EVENT_MODEL_NAME, slot_key(last.slot), last.name
        )
        wrote = True
    if log.deleted and not deleted:
        store.writer.event(_PARTITION, model_id, layout.EVENT_MODEL_LIFECYCLE, "", "deleted")
        wrote = True
    if wrote:
        store.flush()
    _SETTLED.add(key)
    return wrote


def mark_settled(store: Store, model_id: str, slot: int) -> None:
    """Remember that the events of a model's log up to ``slot`` are written."""
    _SETTLED.add((store.root, model_id, slot))


def write_model(store: Store, holding: Holding) -> None:
    """Write a model's row (and its tags and description) from the holding that created it.

    Events first, then the row: a model is visible once its row is, and then whole. A
    row written twice (its creator and a repair) is one row: rows dedupe on model id.
    """
    model_id = holding.model_id
    for key, value in holding.tags.items():
        store.writer.event(_PARTITION, model_id, layout.EVENT_MODEL_TAG, key, value)
    if holding.description is not None:
        store.writer.event(
            _PARTITION, model_id, layout.EVENT_MODEL_DESCRIPTION, "", holding.description
        )
    if holding.tags or holding.description is not None:
        store.flush()
    row = (model_id, holding.name, holding.time, holding.user)
    store.writer.append("registered_models", _PARTITION, row)
    store.flush()
    _mark_written(store, model_id)


def _mark_written(store: Store, model_id: str) -> None:
    # A claim beside the model's log: later calls know the row is there from one read.
    store.claim(f"{MODEL_LOGS}/{model_id}", _ROW_WRITTEN, b"")
    _WRITTEN.add((store.root, model_id))


def ensure_written(store: Store, holding: Holding) -> bool:
    """Write the row of a model whose creator was killed after claiming its name."""
    model_id = holding.model_id
    if holding.slot or not holding.token or (store.root, model_id) in _WRITTEN:
        return False
    if store.read_claim(f"{MODEL_LOGS}/{model_id}", _ROW_WRITTEN) is not None:
        _WRITTEN.add((store.root, model_id))
        return False
    if rq.model_written(store.read(), model_id):  # its creator died just before the mark
        _mark_written(store, model_id)
        return False
    write_model(store, holding)
    return True
