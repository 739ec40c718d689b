"""Registered models: create, look up, search, describe, tag, rename, delete.

A registered model gets a random id. Who holds a name, and each model's renames and
deletion, are claims (:mod:`canvasback.registry.claims`): two processes creating one
name get one model, two renaming one model get one rename, and every call that lost
such a race raises. Versions are numbered claims too (:mod:`canvasback.registry.versions`).
Everything else (descriptions, tags, stages, the views' names and deletions) is an event
of the registry's partition, and alias moves are rows kept forever. Every write is on
disk when the call returns, so every process's next read sees it; what a killed call
left is settled by the next call that touches the model, or by ``canvasback recover``
(:mod:`canvasback.registry.repair`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canvasback.registry import claims, names, protection, reads, tables, versions, writes
from canvasback.registry.entities import (
    ModelVersion,
    PagedList,
    RegisteredModel,
    RegistryConflictError,
    RegistryNotFoundError,
)
from canvasback.tracking import validation

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog


def create(
    store: Store,
    name: str,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> RegisteredModel:
    """Create a registered model; its name must be new in this store."""
    checked = names.model_name(name)
    checked_tags = dict(names.tag(k, v) for k, v in (tags or {}).items())
    text = names.description(description, f"registered model {checked!r}")
    claims.create(store, checked, checked_tags, text)
    return get(store, checked)


def get(store: Store, name: str) -> RegisteredModel:
    """A registered model with its tags, aliases and latest version per stage."""
    holding = claims.held(store, name)
    catalog = store.read()
    row = reads.model_row(catalog, holding.entity_id)
    if row is None:  # claimed, row not yet written: its creator is writing it (or died)
        created_at, user, _tags, description = claims.created(holding)
        row = {
            "model_id": holding.entity_id,
            "creation_time": created_at,
            "description": description,
            "user_id": user,
        }
    # The name the claims gave: the views may not show a killed call's rename yet.
    return entities(catalog, [{**row, "name": holding.name}])[0]


def entities(catalog: Catalog, rows: list[reads.Row]) -> list[RegisteredModel]:
    """MLflow's entities of model rows, with their tags, aliases and latest versions."""
    ids = [r["model_id"] for r in rows]
    tags = reads.model_tags(catalog, ids)
    aliases = reads.aliases_of(catalog, ids)
    # Versions under the names given (the claims' name for one model looked up).
    named = {r["model_id"]: r["name"] for r in rows}
    version_rows = [{**v, "name": named[v["model_id"]]} for v in reads.versions_of(catalog, ids)]
    by_model: dict[str, list[ModelVersion]] = {}
    for row, version in zip(version_rows, versions.entities(catalog, version_rows), strict=True):
        by_model.setdefault(row["model_id"], []).append(version)
    return [
        RegisteredModel(
            name=row["name"],
            creation_timestamp=row["creation_time"],
            last_updated_timestamp=row.get("last_updated_time"),
            description=row.get("description"),
            latest_versions=versions.latest_per_stage(by_model.get(row["model_id"], [])),
            tags=tags.get(row["model_id"], {}),
            aliases={a: str(v) for a, v in aliases.get(row["model_id"], {}).items()},
        )
        for row in rows
    ]


def latest_versions(
    store: Store, name: str, stages: Sequence[str] | None = None
) -> list[ModelVersion]:
    """The newest version in each stage (or in each of ``stages``)."""
    wanted = None if not stages else {names.stage(s) for s in stages}
    latest = get(store, name).latest_versions
    return [v for v in latest if wanted is None or v.current_stage in wanted]


def search(
    store: Store,
    filter_string: str | None = None,
    max_results: int = 100,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> PagedList:
    """Registered models that match (``name LIKE 'churn%' AND tags.team = 'a'``)."""
    offset = names.page_offset(page_token, max_results)
    catalog = store.read()
    rows = reads.search_registered_models(catalog, filter_string, order_by, max_results + 1, offset)
    token = str(offset + max_results) if len(rows) > max_results else None
    return PagedList(entities(catalog, rows[:max_results]), token)


def update(store: Store, name: str, description: str | None = None) -> RegisteredModel:
    """Change a registered model's description."""
    text = names.description(description, f"registered model {name!r}")
    holding, _log = claims.writable(store, name)
    writes.event(store, holding.entity_id, tables.EVENT_MODEL_DESCRIPTION, "", text)
    store.flush()
    return get(store, name)


def rename(store: Store, name: str, new_name: str) -> RegisteredModel:
    """Give a registered model a new name; its versions and aliases stay with it.

    The new name is claimed with the intent (model, log slot, token), then the slot
    is taken: the rename is done exactly when it gets the slot. A rename or deletion
    of the model that took it first, or a call that wanted the new name and gave the
    intent up, makes this call raise.
    """
    checked = names.model_name(new_name, "new registered model name")
    holding, log = claims.writable(store, name)
    model_id, seen = holding.entity_id, len(log.entries)
    for _ in range(claims.MAX_TRIES):
        slot, token = log.next_slot, claims.new_token()
        claims.take_name(store, checked, model_id, slot=slot, token=token)
        if claims.commit(store, model_id, slot, claims.RENAME, token, checked):
            break
        log = claims.read_log(store, model_id)
        _raise_if_lost(log, seen, name, f"renamed to {checked!r}")
        taken = log.at(slot)
        if taken is not None and taken.token == token:  # our intent was given up
            msg = (
                f"Registered model {checked!r} was claimed by another call while "
                f"{name!r} was being renamed to it; the rename did not happen"
            )
            raise RegistryConflictError(msg)
    else:
        msg = f"Registered model {name!r} is contended by too many calls; try again"
        raise RegistryConflictError(msg)
    writes.event(store, model_id, tables.EVENT_MODEL_NAME, claims.slot_key(slot), checked)
    store.flush()
    claims.mark_settled(store, model_id, slot)
    return get(store, checked)


def delete(store: Store, name: str) -> None:
    """Delete a registered model and its versions; the name is free again.

    Refused while one of its aliases is protected: the alias would go with the model.
    """
    holding, log = claims.writable(store, name)
    model_id, seen = holding.entity_id, len(log.entries)
    catalog = store.read()
    current = list(reads.aliases_of(catalog, [model_id]).get(model_id, {}))
    protection.refuse_if_held(catalog, model_id, name, f"delete registered model {name!r}", current)
    for _ in range(claims.MAX_TRIES):
        slot = log.next_slot
        if claims.commit(store, model_id, slot, claims.DELETE, claims.new_token()):
            break
        log = claims.read_log(store, model_id)
        _raise_if_lost(log, seen, name, "deleted")
    else:
        msg = f"Registered model {name!r} is contended by too many calls; try again"
        raise RegistryConflictError(msg)
    writes.event(store, model_id, tables.EVENT_MODEL_LIFECYCLE, "", "deleted")
    store.flush()
    claims.mark_settled(store, model_id, slot)


def set_tag(store: Store, name: str, key: str, value: object) -> None:
    """Set a tag on a registered model."""
    tag = names.tag(key, value)
    holding, _log = claims.writable(store, name)
    writes.event(store, holding.entity_id, tables.EVENT_MODEL_TAG, *tag)
    store.flush()


def delete_tag(store: Store, name: str, key: str) -> None:
    """Remove a tag from a registered model."""
    checked = validation.validate_key("tag", key)
    holding, _log = claims.writable(store, name)
    writes.event(store, holding.entity_id, tables.EVENT_MODEL_TAG, checked, None)
    store.flush()


def _raise_if_lost(log: claims.ModelLog, seen: int, name: str, doing: str) -> None:
    """Raise if a rename or the deletion of the model took a slot since ``seen``."""
    lost = log.changes_after(seen)
    if not lost:
        return  # only aborts: the model is as it was, try the next slot
    what = "deleted" if lost[0].op == claims.DELETE else f"renamed to {lost[0].name!r}"
    msg = (
        f"Registered model {name!r} was {what} by another call while it was being "
        f"{doing}; this call did not happen"
    )
    raise RegistryNotFoundError(msg)
