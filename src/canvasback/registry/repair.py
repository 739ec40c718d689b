"""What a registry call killed part-way leaves, and how it is settled.

The protocol
------------
It uses only what object storage offers too: create-if-absent, read, list. Nothing a
call claims is ever changed or deleted, so no call can take back what another decided.
The claims (:mod:`canvasback.registry.claims`):

- a name's **holdings**, ``<hash>``, ``<hash>.1``, ...: the last one decides. Each names
  a model, the token of the call that made it, and the slot of the model's log that makes
  it good (0: the creation; the holding carries the model's row, tags and description).
- a model's **log**, slots ``1``, ``2``, ...: ``rename`` (token, new name), ``delete``
  (token) or ``abort`` (the token of a rename intent given up). One call takes each slot.

The last holding of a name *holds* while its model's log has no rename or deletion
after the holding's slot and, for a rename's holding, the rename at its slot carries
its token. If that slot is still free the holding is *open* (a rename under way); any
other holding is *stale*, for good. A name is free when its last holding does not hold.

- **create** ``N``: claim the next holding of ``N`` (slot 0), then write the model's
  events, its row, and the ``row-written`` mark beside its log. Done when the holding
  is claimed.
- **rename** ``A -> B``: read the model's log (next slot ``s``); claim the next holding
  of ``B`` for slot ``s`` (the intent); take slot ``s`` with ``rename B`` (the commit);
  write the name event keyed by ``s``. Done exactly when slot ``s`` is taken: ``A``
  stops holding and ``B`` starts at that one create. If ``s`` was taken first by a
  rename or deletion, the call lost and raises; by an abort of another call's intent,
  nothing changed and it tries slot ``s + 1``; by an abort of its own intent, a call
  that wanted ``B`` won, and it raises.
- **delete** ``N``: take the next slot with ``delete``, then write the deletion event.
  Done when the slot is taken; a rename or deletion that took it first makes it raise.
- **register** a version of ``N``: claim the lowest free version number (the claim
  holds the whole version), write its events then its row, then read the model's log
  again: a rename or deletion since the model was looked up means the call cannot say
  whether its version came before it, so it raises and marks the version deleted.
- **claiming a name** held by an open intent first takes that intent's slot with an
  ``abort`` (its rename then raises); a stale holder's model is settled before the new
  holding is claimed, so the views never show two models under one name.

A kill, point by point
----------------------
- create, after the holding: the model exists (name lookups answer from the holding);
  its row is missing. The next call writing to it (a registration too), or ``recover``,
  finds no ``row-written`` mark and writes the tags, description and row from the
  holding: the create happened, whole. Rows dedupe on the model id, so a repair racing
  a creator that is only slow writes the same row twice, harmlessly.
- rename, after the intent: the holding of ``B`` is open; lookups of ``B`` find no model.
  The next call claiming ``B`` aborts it (``recover`` does so once it is older than the
  grace period): the rename never happened. A later rename or deletion of the model
  takes the slot and decides it the same way.
- rename, after the commit: ``B`` holds, ``A`` does not, by the claims alone; the views
  still show ``A`` until the name event is written, which the next call writing to the
  model or claiming ``A``, or ``recover``, does (keyed by the slot, so it is right
  however late it comes): the rename happened, whole.
- delete, after the commit: ``N`` is free and lookups find no model; the next call
  writing to it or claiming ``N``, or ``recover``, writes the deletion event.
- register, after the number claim: ``recover`` writes the version's events and row
  from the claim: registered, whole (before a rename or deletion that came later).
  After the events: the same. After the row: the version stays, as registered before
  any rename or deletion that raced it (the check only decides what the caller is told,
  and a killed caller is told nothing).
- every other point is before a claim (nothing happened) or after the last write.

``recover`` (``canvasback recover``) does all of this for every model and name, and
writes the versions whose row a killed registration never wrote.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Final

from canvasback.registry import claims, reads, tables, writes
from canvasback.store import layout

if TYPE_CHECKING:
    from canvasback.store import Store

GRACE_SECONDS: Final = 60.0
"""Claims younger than this may belong to a call still running, and are left to it."""


def recover_registry(store: Store, *, grace_seconds: float = GRACE_SECONDS) -> int:
    """Settle everything killed registry calls left; returns how many repairs were made."""
    repaired = recover_versions(store, grace_seconds=grace_seconds)
    repaired += claims.CLAIMS.recover_names(
        store, grace_seconds, lambda holding: claims.ensure_written(store, holding)
    )
    for model_id in claims.CLAIMS.logged_entities(store):
        repaired += claims.settle(store, model_id, claims.read_log(store, model_id))
    return repaired


def recover_versions(store: Store, *, grace_seconds: float = GRACE_SECONDS) -> int:
    """Write the rows of orphaned version claims; returns how many were written."""
    catalog = store.read()
    base = f"{layout.CLAIMS_DIR}/{claims.VERSION_CLAIMS}"
    rows = []
    now = time.time()
    for model in store.fs.list(base):
        if not model.is_dir:
            continue
        have = reads.version_numbers_written(catalog, model.name)
        for claim in store.fs.list(f"{base}/{model.name}"):
            if not claim.name.isdigit() or int(claim.name) in have:
                continue
            if now - claim.mtime_ns / 1e9 < grace_seconds:
                continue
            data = json.loads(store.fs.read_bytes(f"{base}/{model.name}/{claim.name}"))
            entity = f"{model.name}/{claim.name}"
            for key, value in (data.get("tags") or {}).items():
                writes.event(store, entity, tables.EVENT_VERSION_TAG, key, value)
            if data.get("description") is not None:
                description = data["description"]
                writes.event(store, entity, tables.EVENT_VERSION_DESCRIPTION, "", description)
            rows.append(
                (
                    model.name,
                    int(claim.name),
                    data["source"],
                    data.get("run_id"),
                    int(data["time"]),
                    data.get("user", "unknown"),
                )
            )
    store.flush()  # the versions' events first: a version is visible once its row is
    for row in rows:
        writes.version_row(store, *row)
    store.flush()
    return len(rows)
