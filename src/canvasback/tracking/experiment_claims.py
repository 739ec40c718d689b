"""Who holds an experiment's name, and what each experiment's log has decided.

The protocol of :mod:`canvasback.store.name_claims` (holdings of a name, an entity's
log of slots, all decided by exclusive creates and never deleted), with what is the
experiments' own:

- An id is the lowest free number, claimed in ``experiment-ids`` (the claim holds the
  name asked for); ``0`` is the Default experiment's.
- A name's holdings are in ``experiment-names``, where earlier versions kept one claim
  per name holding the bare id (and deleted it at a rename): such a claim holds while
  the experiment's row and events name it so. A holding that creates an experiment
  carries its creation time and tags.
- An experiment's log (``experiment-logs/<id>``) takes renames, deletions and
  restores. Only a rename ends the holdings before it: a deleted experiment keeps its
  name (as in MLflow, its name cannot be taken; ``restore_experiment`` brings it back).
- The events of a rename and of a deletion or restore are keyed by their slot; the
  ``experiments`` view takes the name and the lifecycle of the greatest key (events of
  earlier versions have the key ``''``, below every slot).

The calls:

- **create** ``N``: claim an id, then the next holding of ``N`` (slot 0); then the
  tags' events, the row, and the ``row-written`` mark. Done when the holding is claimed.
- **rename** to ``B``: read the log (next slot ``s``); refuse a deleted experiment;
  claim the next holding of ``B`` for slot ``s`` (the intent); take slot ``s`` with
  ``rename B`` (the commit); write the name event keyed by ``s``. Done exactly when
  slot ``s`` is taken: the old name stops holding and ``B`` starts at that one create.
  If another call's rename, deletion or restore took ``s`` first, this call lost and
  raises; an abort of another call's intent changed nothing, and it tries ``s + 1``;
  an abort of its own intent means a call that wanted ``B`` won, and it raises.
- **delete** and **restore**: take the next slot, then write the lifecycle event keyed
  by it. They act on an id, whatever its name: they never lose, slots only order them.
- **claiming a name** held by an open intent first takes that intent's slot with an
  ``abort`` (its rename then raises); a stale holder's log is settled (its events
  written) before the new holding is claimed, so the views never show one name twice.

A kill, point by point: after the id claim, an id no name leads to (never used); after
the holding, the experiment exists (``get_experiment`` answers from the holding) and the
next call writing to it (a tag, a rename, ``set_experiment``) or ``recover`` writes its
tags and row from the holding; after a rename's intent, the name is open until a call
claiming it (or ``recover``, past the grace period) aborts it, or a change of the
experiment takes the slot: the rename never happened; after a commit, the claims have
decided (lookups answer so) and the event is written by the next writer or ``recover``,
keyed by its slot, so it is right however late it comes.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Final

from canvasback import query
from canvasback.query import experiment_search as eq
from canvasback.store import layout, schema
from canvasback.store.name_claims import (
    RENAME,
    EntityLog,
    Holding,
    NameClaims,
    name_digest,
    slot_key,
)
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from pathlib import Path

    from canvasback.store import Store
    from canvasback.tracking.entities import Experiment

NAME_CLAIMS: Final = "experiment-names"
EXPERIMENT_LOGS: Final = "experiment-logs"
ID_CLAIMS: Final = "experiment-ids"

DELETE: Final = "delete"
RESTORE: Final = "restore"
GRACE_SECONDS: Final = 60.0
"""Claims younger than this may belong to a call still running, and are left to it."""

# The events of an experiment's log written up to a length: each process checks once.
_SETTLED: set[tuple[Path, str, int]] = set()
# Claims of earlier versions seen holding: only a rename ends that, and a rename now
# takes a slot of the log, which is read before this (no catalog read per lookup).
_LEGACY_HELD: set[tuple[Path, str, str]] = set()


def _legacy_holds(store: Store, holding: Holding) -> bool:
    # A claim of an earlier version: it holds while the experiment is named so.
    key = (store.root, holding.entity_id, holding.name)
    if key in _LEGACY_HELD:
        return True
    found = query.search_experiments(
        store.read(), store.address, view="ALL", experiment_ids=[holding.entity_id]
    )
    if found and found[0]["name"] == holding.name:
        _LEGACY_HELD.add(key)
        return True
    return False


def logged(log: EntityLog) -> tuple[str | None, str | None]:
    """What an experiment's log decided: its name and lifecycle stage (None: nothing)."""
    rename, change = log.last(RENAME), log.last(DELETE, RESTORE)
    stage = None if change is None else "deleted" if change.op == DELETE else "active"
    return (None if rename is None else rename.name), stage


def as_logged(experiment: Experiment, log: EntityLog) -> Experiment:
    """An experiment with the name and lifecycle stage its log decided (the views lag)."""
    name, stage = logged(log)
    return dataclasses.replace(
        experiment,
        name=experiment.name if name is None else name,
        lifecycle_stage=experiment.lifecycle_stage if stage is None else stage,
    )


def settle(store: Store, experiment_id: str, log: EntityLog) -> bool:
    """Write the events an experiment's log implies and the store lacks; True if it did.

    Keyed by their slots, they are right written late or twice: the greatest key wins.
    """
    key = (store.root, experiment_id, len(log.entries))
    if not log.entries or key in _SETTLED:
        return False
    have = eq.experiment_changes(store.read(), experiment_id)
    name, stage = logged(log)
    wrote = False
    for kind, value, ops in (
        (schema.EVENT_EXPERIMENT_NAME, name, (RENAME,)),
        (schema.EVENT_EXPERIMENT_LIFECYCLE, stage, (DELETE, RESTORE)),
    ):
        entry = log.last(*ops)
        if entry is not None and have.get((kind, slot_key(entry.slot))) != value:
            store.writer.event(experiment_id, experiment_id, kind, slot_key(entry.slot), value)
            wrote = True
    if wrote:
        store.flush()
    _SETTLED.add(key)
    return wrote


def mark_settled(store: Store, experiment_id: str, slot: int) -> None:
    """Remember that the events of an experiment's log up to ``slot`` are written."""
    _SETTLED.add((store.root, experiment_id, slot))


CLAIMS: Final = NameClaims(
    names=NAME_CLAIMS,
    logs=EXPERIMENT_LOGS,
    id_key="experiment_id",
    entity_id=re.compile(r"[0-9]{1,19}"),
    what="Experiment",
    ends=frozenset({RENAME}),  # a deleted experiment keeps its name
    legacy_holds=_legacy_holds,
    settle=settle,
    conflict=InvalidInputError,
)


def created(holding: Holding) -> tuple[int, dict[str, str]]:
    """What the holding that created an experiment says of it: its time and tags."""
    tags = holding.details.get("tags") or {}
    return int(holding.details.get("time") or 0), {str(k): str(v) for k, v in tags.items()}


def write_experiment(store: Store, holding: Holding) -> None:
    """Write an experiment's tags, then its row, from the holding that created it.

    An experiment is listed once its row is, and then whole. A row written twice (its
    creator and a repair) is one row: rows dedupe on the experiment id.
    """
    experiment_id = holding.entity_id
    time, tags = created(holding)
    for key, value in tags.items():
        store.writer.event(experiment_id, experiment_id, schema.EVENT_EXPERIMENT_TAG, key, value)
    if tags:
        store.flush()
    row = (experiment_id, holding.name, layout.ARTIFACTS_DIR, time)
    store.writer.append("experiments", experiment_id, row)
    store.flush()  # experiments are rare; other processes should see them at once
    CLAIMS.mark_row(store, experiment_id)


def ensure_written(store: Store, holding: Holding) -> bool:
    """Write the row of an experiment whose creator was killed after claiming its name."""
    experiment_id = holding.entity_id
    if holding.slot or not holding.token or CLAIMS.row_marked(store, experiment_id):
        return False
    if eq.experiment_written(store.read(), experiment_id):  # killed just before the mark
        CLAIMS.mark_row(store, experiment_id)
        return False
    write_experiment(store, holding)
    return True


def creation_holding(store: Store, experiment_id: str) -> Holding | None:
    """The holding that created an experiment, while it is its name's last one."""
    asked = store.read_claim(ID_CLAIMS, experiment_id)
    if asked is None:
        return None
    name = asked.decode(errors="replace")
    held = CLAIMS.latest_by_digest(store, name_digest(name), name)
    if held is None or held.entity_id != experiment_id or held.slot or not held.token:
        return None
    return held


def recover_experiments(store: Store, *, grace_seconds: float = GRACE_SECONDS) -> int:
    """Settle everything killed experiment calls left; returns how many repairs were made."""
    repaired = CLAIMS.recover_names(store, grace_seconds, lambda h: ensure_written(store, h))
    for experiment_id in CLAIMS.logged_entities(store):
        repaired += settle(store, experiment_id, CLAIMS.read_log(store, experiment_id))
    return repaired


def raise_if_lost(log: EntityLog, seen: int, name: str, doing: str) -> None:
    """Raise if another call renamed, deleted or restored the experiment since ``seen``."""
    lost = log.changes_after(seen)
    if not lost:
        return  # only aborts: the experiment is as it was, try the next slot
    first = lost[0]
    what = {DELETE: "deleted", RESTORE: "restored"}.get(first.op) or f"renamed to {first.name!r}"
    msg = (
        f"Experiment {name!r} was {what} by another call while it was being {doing}; "
        "this call did not happen"
    )
    raise InvalidInputError(msg)
