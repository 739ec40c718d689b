"""Names that belong to one entity at a time, across processes: holdings and logs.

Registered models and experiments (the layers above) both keep their names this way.
Everything is a claim: a file created only if absent (``link(2)`` here, ``If-None-Match:
*`` on object storage), read, and never changed or deleted afterwards, so no call can
take back what another decided.

- **A name's holdings**: ``claims/<names>/<sha256 of the name>`` is its first holding,
  ``<hash>.1``, ``<hash>.2``, ... the later ones, each created only once the one before
  it no longer holds. A holding names an entity, a token (the call that made it), the
  slot of the entity's log that makes it good (0 for the holding that created the
  entity, ``k`` for a rename to this name at slot ``k``), and what a creation must
  leave (``details``: a repair writes the entity's row from them).
- **An entity's log**: ``claims/<logs>/<id>/1``, ``2``, ...: each slot is a change (a
  rename with the new name, a deletion, ...) or an abort (a rename's intent given up).
  Exactly one call takes each slot, so one change wins each step. Beside the slots,
  ``row-written`` says the entity's row is on disk.

The last holding of a name *holds* while no change that ends holdings
(:attr:`NameClaims.ends`: a rename, and a deletion that frees the name) took a slot
after the holding's own and, for a rename's holding, the rename at its slot carries its
token. While that slot is free the holding is *open* (a rename under way); any other
holding is *stale*, for good. A name is free when its last holding does not hold. A
claim of before the logs holds the bare entity id; whether it holds is the layer
above's to say (:attr:`NameClaims.legacy_holds`).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from canvasback.store import layout

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from canvasback.store import Store

RENAME: Final = "rename"
ABORT: Final = "abort"

HELD: Final = "held"
STALE: Final = "stale"
OPEN: Final = "open"  # a rename's intent whose log slot nobody has taken yet

# Each retry follows another call's success, so this bounds only pathological contention.
MAX_TRIES: Final = 64
_ROW_WRITTEN: Final = "row-written"
_DIGEST: Final = re.compile(r"[0-9a-f]{64}")  # a name's hash (temp files start with '.')
_BASE_KEYS: Final = frozenset({"name", "slot", "token"})


@dataclass(frozen=True, slots=True)
class Holding:
    """One holding of a name: which entity, by which call, made good by which log slot."""

    name: str
    index: int
    entity_id: str
    """Empty when the claim's content names no entity: it holds nothing."""
    slot: int
    token: str
    """Empty for a claim written before the logs existed (its content is the entity id)."""
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One slot of an entity's log."""

    slot: int
    op: str
    token: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class EntityLog:
    """The slots of an entity's log, in order (slot ``k`` is ``entries[k - 1]``)."""

    entity_id: str
    entries: tuple[LogEntry, ...] = ()

    @property
    def next_slot(self) -> int:
        """The slot the next change takes."""
        return len(self.entries) + 1

    def at(self, slot: int) -> LogEntry | None:
        """The entry at a slot, None while the slot is free."""
        return self.entries[slot - 1] if 1 <= slot <= len(self.entries) else None

    def changes_after(self, slot: int) -> list[LogEntry]:
        """The changes after a slot (aborts change nothing)."""
        return [e for e in self.entries[slot:] if e.op != ABORT]

    def last(self, *ops: str) -> LogEntry | None:
        """The latest entry of one of these operations."""
        return next((e for e in reversed(self.entries) if e.op in ops), None)


@dataclass(frozen=True, slots=True)
class Lookup:
    """A name's last holding, its entity's log, and whether the holding holds."""

    holding: Holding
    log: EntityLog
    state: str


def new_token() -> str:
    """A token naming one call (a holding's and a log slot's owner)."""
    return uuid.uuid4().hex


def name_digest(name: str) -> str:
    """A name's claim key (names are any text; file names are not)."""
    return hashlib.sha256(name.encode()).hexdigest()


def slot_key(slot: int) -> str:
    """The key of a change's event: a view takes the value of the greatest key."""
    return f"{slot:010d}"


def holding_key(digest: str, index: int) -> str:
    """The claim key of a name's ``index``-th holding."""
    return digest if index == 0 else f"{digest}.{index}"


@dataclass(frozen=True)
class NameClaims:
    """The holdings and logs of one kind of entity, and what that kind decides."""

    names: str
    """The claims namespace of the names' holdings."""
    logs: str
    """The claims namespace of the entities' logs."""
    id_key: str
    """The key of the entity id in a holding's content."""
    entity_id: re.Pattern[str]
    """What an entity id looks like: a holding naming anything else holds nothing."""
    what: str
    """The entity, as errors name it ("Registered model")."""
    ends: frozenset[str]
    """The log operations that end the holdings of the slots before them."""
    legacy_holds: Callable[[Store, Holding], bool]
    """Whether a claim of before the logs (bare entity id) still holds its name."""
    settle: Callable[[Store, str, EntityLog], object]
    """Write the events an entity's log implies (before its old name is taken again)."""
    conflict: Callable[[str], Exception]
    """The error of a name already held."""
    _written: set[tuple[Path, str]] = field(default_factory=set, compare=False)

    # -- reading -----------------------------------------------------------------------
    def _parse(self, name: str, index: int, data: bytes) -> Holding:
        if not data.startswith(b"{"):  # written before the logs: the content is the id
            entity_id = data.decode(errors="replace")
            return Holding(name, index, self._checked(entity_id), 0, "")
        d: dict[str, Any] = json.loads(data)
        return Holding(
            name=str(d["name"]),
            index=index,
            entity_id=self._checked(str(d[self.id_key])),
            slot=int(d["slot"]),
            token=str(d["token"]),
            details={k: v for k, v in d.items() if k not in _BASE_KEYS and k != self.id_key},
        )

    def _checked(self, entity_id: str) -> str:
        return entity_id if self.entity_id.fullmatch(entity_id) else ""

    def latest_by_digest(self, store: Store, digest: str, name: str = "") -> Holding | None:
        """The last holding of a name (given by its digest), None if it was never claimed."""
        held = self._kept(store, self.names, lambda i: holding_key(digest, i))
        while (data := store.read_claim(self.names, holding_key(digest, len(held)))) is not None:
            self._keep_holding(store, holding_key(digest, len(held)), data)
            held.append(data)
        return self._parse(name, len(held) - 1, held[-1]) if held else None

    def read_log(self, store: Store, entity_id: str) -> EntityLog:
        """Every slot of an entity's log taken so far."""
        namespace = f"{self.logs}/{entity_id}"
        taken = self._kept(store, namespace, lambda i: str(i + 1))
        while (data := store.read_claim(namespace, str(len(taken) + 1))) is not None:
            store.kept_claims[namespace, str(len(taken) + 1)] = data
            taken.append(data)
        return _log(entity_id, taken)

    # Holdings and log slots never change once created, and nothing deletes them: each
    # is read once per store, and what could have changed since is in the claims after
    # them. A claim of before the logs (bare id) is not kept: earlier versions deleted
    # it at a rename.
    def _kept(self, store: Store, namespace: str, key: Callable[[int], str]) -> list[bytes]:
        """The kept contents of a namespace's claims ``key(0)``, ``key(1)``, ... in a row."""
        found: list[bytes] = []
        while (data := store.kept_claims.get((namespace, key(len(found))))) is not None:
            found.append(data)
        return found

    def _keep_holding(self, store: Store, key: str, data: bytes) -> None:
        if data.startswith(b"{"):
            store.kept_claims[self.names, key] = data

    def status(self, store: Store, holding: Holding, log: EntityLog) -> str:
        """HELD, STALE (for good) or OPEN (a rename to this name not yet decided)."""
        if not holding.entity_id:
            return STALE  # content that names no entity: it holds nothing
        if holding.slot:
            entry = log.at(holding.slot)
            if entry is None:
                return OPEN
            if entry.op != RENAME or entry.token != holding.token:
                return STALE
        if any(e.op in self.ends for e in log.entries[holding.slot :]):
            return STALE
        if not holding.token and not self.legacy_holds(store, holding):
            return STALE
        return HELD

    def lookup(self, store: Store, name: str) -> Lookup | None:
        """The last holding of a (checked) name and its state; None if never claimed.

        A name looked up before in this process is settled by one round trip: its next
        holding and its entity's next log slot, read at once (every claim before them
        is kept, and a rename, a deletion or a new holding would be one of these two).
        """
        digest = name_digest(name)
        held = self._kept(store, self.names, lambda i: holding_key(digest, i))
        entity_id = self._parse(name, len(held) - 1, held[-1]).entity_id if held else ""
        if entity_id:
            namespace = f"{self.logs}/{entity_id}"
            taken = self._kept(store, namespace, lambda i: str(i + 1))
            nexts = [(self.names, holding_key(digest, len(held))), (namespace, str(len(taken) + 1))]
            holding_after, slot_after = store.read_claims(nexts)
            if holding_after is None and slot_after is None:
                holding = self._parse(name, len(held) - 1, held[-1])
                log = _log(entity_id, taken)
                return Lookup(holding, log, self.status(store, holding, log))
            if holding_after is not None:  # read below from here, not asked again
                self._keep_holding(store, nexts[0][1], holding_after)
            if slot_after is not None:
                store.kept_claims[nexts[1]] = slot_after
        found = self.latest_by_digest(store, digest, name)
        if found is None:
            return None
        log = self.read_log(store, found.entity_id) if found.entity_id else EntityLog("")
        return Lookup(found, log, self.status(store, found, log))

    # -- deciding ----------------------------------------------------------------------
    def commit(
        self,
        store: Store,
        entity_id: str,
        slot: int,
        op: str,
        token: str,
        name: str | None = None,
    ) -> bool:
        """Take a slot of an entity's log; True if this call took it."""
        data = json.dumps({"op": op, "token": token, "name": name}).encode()
        return store.claim(f"{self.logs}/{entity_id}", str(slot), data)

    def take_name(
        self,
        store: Store,
        name: str,
        entity_id: str,
        *,
        slot: int,
        token: str,
        details: Mapping[str, Any] | None = None,
    ) -> Holding:
        """Claim the next holding of a name for an entity; :attr:`conflict` if it is held.

        A rename's intent still open on the name is given up for its owner (an abort in
        its entity's log: that rename then raises); a stale holder's entity is settled
        first, so the views never show two entities under one name.
        """
        digest = name_digest(name)
        content = dict(details or {})
        for _ in range(MAX_TRIES):
            found = self.lookup(store, name)
            if found is not None:
                if found.state == HELD:
                    msg = f"{self.what} {name!r} already exists in store {store.url!r}"
                    raise self.conflict(msg)
                held = found.holding
                if found.state == OPEN:
                    self.commit(store, held.entity_id, held.slot, ABORT, held.token)
                    continue  # decided now, one way or the other: look again
                if held.entity_id:
                    self.settle(store, held.entity_id, found.log)
            index = 0 if found is None else found.holding.index + 1
            data = {"name": name, self.id_key: entity_id, "slot": slot, "token": token, **content}
            if store.claim(self.names, holding_key(digest, index), json.dumps(data).encode()):
                return Holding(name, index, entity_id, slot, token, content)
        msg = f"{self.what} name {name!r} is contended by too many calls at once; try again"
        raise self.conflict(msg)

    # -- the entity's row ----------------------------------------------------------------
    def row_marked(self, store: Store, entity_id: str) -> bool:
        """Whether the entity's row is known to be on disk (the mark, read once)."""
        if (store.root, entity_id) in self._written:
            return True
        if store.read_claim(f"{self.logs}/{entity_id}", _ROW_WRITTEN) is None:
            return False
        self._written.add((store.root, entity_id))
        return True

    def mark_row(self, store: Store, entity_id: str) -> None:
        """Say the entity's row is on disk: later calls know it from one read."""
        store.claim(f"{self.logs}/{entity_id}", _ROW_WRITTEN, b"")
        self._written.add((store.root, entity_id))

    # -- repair ------------------------------------------------------------------------
    def recover_names(
        self, store: Store, grace_seconds: float, ensure_row: Callable[[Holding], bool]
    ) -> int:
        """Abort open intents older than the grace period; write the rows killed creators left.

        ``ensure_row`` writes the row of a held entity if it is missing (True if it did).
        Returns the repairs made.
        """
        base = f"{layout.CLAIMS_DIR}/{self.names}"
        repaired = 0
        now = time.time()
        digests = {name.partition(".")[0] for name in store.fs.names(base)}
        for digest in sorted(d for d in digests if _DIGEST.fullmatch(d)):
            holding = self.latest_by_digest(store, digest)
            if holding is None or not holding.token:  # claims of before the logs need nothing
                continue
            state = self.status(store, holding, self.read_log(store, holding.entity_id))
            if state == OPEN:
                key = holding_key(digest, holding.index)
                mtime = store.fs.stat_mtime_ns(f"{base}/{key}") or 0
                if now - mtime / 1e9 >= grace_seconds:
                    self.commit(store, holding.entity_id, holding.slot, ABORT, holding.token)
                    repaired += 1
            elif state == HELD:
                repaired += ensure_row(holding)
        return repaired

    def logged_entities(self, store: Store) -> list[str]:
        """The ids of the entities that have a log folder."""
        base = f"{layout.CLAIMS_DIR}/{self.logs}"
        return [name for name, is_dir, _file in store.fs.list_names(base) if is_dir]


def _log(entity_id: str, taken: list[bytes]) -> EntityLog:
    """An entity's log from its slots' contents, in order."""
    entries = []
    for slot, data in enumerate(taken, start=1):
        d = json.loads(data)
        entries.append(LogEntry(slot, str(d["op"]), str(d["token"]), d.get("name")))
    return EntityLog(entity_id, tuple(entries))
