"""Model versions: numbered by claims, described by rows and events.

A version number is the lowest free number of its model's claim namespace: 1, 2, 3,
... without gaps or duplicates however many processes register at once, and never
reused, since a claim is never given back. The claim holds the whole version (source,
run, time, user, tags, description), so a registration killed before its row was
written loses nothing (``canvasback recover`` writes it). A registration checks, once
its row is on disk, that no rename or deletion of the model won meanwhile; if one did,
the call lost the race: it takes its version back and raises.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from canvasback.registry import claims, hook_dispatch, names, protection, reads, tables, writes
from canvasback.registry.entities import ModelVersion, PagedList, RegistryNotFoundError
from canvasback.tracking import validation
from canvasback.tracking.client import user_name

if TYPE_CHECKING:
    from collections.abc import Hashable, Mapping, Sequence

    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog


def _text(what: str, value: object, allowed: str) -> str:
    if not isinstance(value, str) or not value:
        msg = f"Invalid {what} {value!r}: {allowed} is required"
        raise validation.InvalidInputError(msg)
    return validation.unicode_text(f"{what} {value[:40]!r}", value)


def create(
    store: Store,
    name: str,
    source: str,
    run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """A new version of a registered model (created if needed) for a model folder."""
    source = _text("model version source", source, "a model URI or folder")
    run_id = None if run_id is None else _text("run id", run_id, "a run's id (a string)")
    checked_tags = dict(names.tag(k, v) for k, v in (tags or {}).items())
    text = names.description(description, f"a new version of {name!r}")
    holding, log = claims.created_if_absent(store, name)
    model_id, seen = holding.entity_id, len(log.entries)
    now, user = time.time_ns() // 1_000_000, user_name()
    # The claim holds the whole version: a process killed before its row is written
    # loses nothing (registry/repair.py writes the row from it).
    claim: dict[str, object] = {"source": source, "run_id": run_id, "time": now}
    claim |= {"user": user, "tags": checked_tags, "description": text}
    version = store.claim_next_number(
        f"{claims.VERSION_CLAIMS}/{model_id}", json.dumps(claim).encode()
    )
    entity = f"{model_id}/{version}"
    # Tags first: the version is visible once its row is, and then whole.
    for key, value in checked_tags.items():
        writes.event(store, entity, tables.EVENT_VERSION_TAG, key, value)
    if text is not None:
        writes.event(store, entity, tables.EVENT_VERSION_DESCRIPTION, "", text)
    if checked_tags or text is not None:
        store.flush()
    writes.version_row(store, model_id, version, source, run_id, now, user)
    store.flush()
    lost = claims.read_log(store, model_id).changes_after(seen)
    if lost:
        # Renamed or deleted while the row was written: whether before or after it
        # cannot be told, so the call lost. The version goes, as a deletion would.
        writes.event(store, entity, tables.EVENT_VERSION_LIFECYCLE, "", "deleted")
        store.flush()
        what = "deleted" if lost[0].op == claims.DELETE else f"renamed to {lost[0].name!r}"
        msg = (
            f"Registered model {name!r} was {what} by another call while version "
            f"{version} was being registered; the version is not kept"
        )
        raise RegistryNotFoundError(msg)
    data: dict[str, object] = {"name": name, "version": str(version), "source": source}
    data |= {"run_id": run_id, "tags": checked_tags, "description": text}
    # No catalog: the store is read for its hooks only if it has any.
    hook_dispatch.fire(store, None, model_id, "version_created", version, data)
    return ModelVersion(
        name=name,
        version=str(version),
        creation_timestamp=now,
        last_updated_timestamp=now,
        description=text,
        user_id=user,
        source=source,
        run_id=run_id,
        tags=checked_tags,
    )


def row(store: Store, name: str, version: object, *, refresh: bool = True) -> reads.Row:
    """A live version's row, its model by name and its number checked; raises if absent.

    ``refresh=False`` looks the version up in the catalog as it was last read (what a
    view shows) and reads the store afresh only before it refuses.
    """
    model_id = claims.held(store, name).entity_id
    number = names.version_number(version)
    found = None if refresh else reads.version_row(store.catalog, model_id, number)
    if found is None:
        catalog = store.read()
        found = reads.version_row(catalog, model_id, number)
        if found is None:
            have = [str(r["version"]) for r in reads.versions_of(catalog, [model_id])]
            shown = ", ".join(have) or "none"
            msg = f"Registered model {name!r} has no version {number}; its versions are {shown}"
            raise RegistryNotFoundError(msg)
    # The name the claims gave: the views may not show a rename of a killed call yet.
    return {**found, "name": name}


Details = tuple[dict[tuple[str, int], dict[str, str]], dict[tuple[str, int], list[str]]]
"""The tags and the aliases of versions, by (model id, version)."""


def details(catalog: Catalog, rows: list[reads.Row]) -> Details:
    """The tags and the aliases (sorted) of the versions of these rows' models."""
    if not rows:
        return {}, {}
    return reads.version_details(catalog, sorted({r["model_id"] for r in rows}))


def built(rows: list[reads.Row], found: Details) -> list[ModelVersion]:
    """MLflow's entities of version rows, each with tags and aliases of its own."""
    tags, aliases = found
    return [
        ModelVersion(
            name=r["name"],
            version=str(r["version"]),
            creation_timestamp=r["creation_time"],
            last_updated_timestamp=r["last_updated_time"],
            description=r["description"],
            user_id=r["user_id"],
            current_stage=r["current_stage"],
            source=r["source"],
            run_id=r["run_id"],
            status=r["status"],
            tags=dict(tags.get((r["model_id"], r["version"]), ())),
            aliases=list(aliases.get((r["model_id"], r["version"]), ())),
        )
        for r in rows
    ]


def entities(catalog: Catalog, rows: list[reads.Row]) -> list[ModelVersion]:
    """MLflow's entities of version rows, with their tags and aliases."""
    return built(rows, details(catalog, rows))


def latest_per_stage(versions: list[ModelVersion]) -> list[ModelVersion]:
    """The newest of each stage's versions (given oldest first), by version number."""
    latest = {v.current_stage: v for v in versions}  # oldest first: the last wins
    return sorted(latest.values(), key=lambda v: int(v.version))


def get(store: Store, name: str, version: object) -> ModelVersion:
    """One version of a registered model."""
    found = row(store, name, version)
    return entities(store.catalog, [found])[0]


def search(
    store: Store,
    filter_string: str | None = None,
    max_results: int = 10_000,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> PagedList:
    """Versions that match (``name = 'churn' AND tags.validated = 'yes'``)."""
    offset = names.page_offset(page_token, max_results)
    catalog = store.read()

    def found() -> tuple[list[reads.Row], Details]:
        rows = reads.search_model_versions(
            catalog, filter_string, order_by, max_results + 1, offset
        )
        return rows, details(catalog, rows[:max_results])

    # The same search of a store that has not changed since: the rows found then.
    key = _search_key(filter_string, order_by, max_results, offset)
    rows, versions = found() if key is None else catalog.memo.get(key, found)
    token = str(offset + max_results) if len(rows) > max_results else None
    return PagedList(built(rows[:max_results], versions), token)


def _search_key(
    filter_string: object, order_by: object, max_results: int, offset: int
) -> Hashable | None:
    """What a search asks, as a key of the catalog's memo; None if it cannot be one."""
    order = tuple(order_by) if isinstance(order_by, list | tuple) else order_by
    key = ("search_model_versions", filter_string, order, max_results, offset)
    try:
        hash(key)
    except TypeError:
        return None  # the search itself says what is wrong with it
    return key


def update(store: Store, name: str, version: object, description: str | None) -> ModelVersion:
    """Change a version's description."""
    text = names.description(description, f"version {version!r} of {name!r}")
    found = row(store, name, version)
    entity = f"{found['model_id']}/{found['version']}"
    writes.event(store, entity, tables.EVENT_VERSION_DESCRIPTION, "", text)
    store.flush()
    return get(store, name, version)


def delete(store: Store, name: str, version: object) -> None:
    """Delete a version (its number is never given again); its aliases go with it."""
    found = row(store, name, version)
    model_id, number = found["model_id"], found["version"]
    catalog = store.catalog  # row() has just read the store
    held = [
        a for a, v in reads.aliases_of(catalog, [model_id]).get(model_id, {}).items() if v == number
    ]
    protection.refuse_if_held(catalog, model_id, name, f"delete version {number} of {name!r}", held)
    for alias in held:
        writes.alias_move(store, model_id, alias, None)
    writes.event(store, f"{model_id}/{number}", tables.EVENT_VERSION_LIFECYCLE, "", "deleted")
    store.flush()
    for alias in held:
        data: dict[str, object] = {"name": name, "alias": alias}
        hook_dispatch.fire(store, catalog, model_id, "alias_removed", number, data)


def set_tag(store: Store, name: str, version: object, key: str, value: object) -> None:
    """Set a tag on a model version."""
    found = row(store, name, version)
    model_id, number = found["model_id"], found["version"]
    key, text = names.tag(key, value)
    writes.event(store, f"{model_id}/{number}", tables.EVENT_VERSION_TAG, key, text)
    store.flush()
    data: dict[str, object] = {"name": name, "version": str(number), "key": key, "value": text}
    hook_dispatch.fire(store, store.catalog, model_id, "tag_set", number, data)


def delete_tag(store: Store, name: str, version: object, key: str) -> None:
    """Remove a tag from a model version."""
    found = row(store, name, version)
    entity = f"{found['model_id']}/{found['version']}"
    key = validation.validate_key("tag", key)
    writes.event(store, entity, tables.EVENT_VERSION_TAG, key, None)
    store.flush()


def transition_stage(
    store: Store, name: str, version: object, stage: str, *, archive_existing_versions: bool
) -> ModelVersion:
    """Move a version to a stage; optionally archive the others in that stage."""
    found = row(store, name, version)
    target = names.stage(stage)
    model_id, number = found["model_id"], found["version"]
    changed = {number: (found["current_stage"], target)}
    if archive_existing_versions:
        if target not in ("Staging", "Production"):
            msg = (
                f"archive_existing_versions=True needs stage Staging or Production, not {target!r}"
            )
            raise validation.InvalidInputError(msg)
        for other in reads.versions_in_stage(store.read(), model_id, target):
            if other != number:
                writes.event(
                    store, f"{model_id}/{other}", tables.EVENT_VERSION_STAGE, "", "Archived"
                )
                changed[other] = (target, "Archived")
    writes.event(store, f"{model_id}/{number}", tables.EVENT_VERSION_STAGE, "", target)
    store.flush()
    for moved, (before, after) in changed.items():
        if before != after:
            data: dict[str, object] = {"name": name, "version": str(moved)}
            data |= {"from_stage": before, "to_stage": after}
            hook_dispatch.fire(store, store.catalog, model_id, "stage_changed", moved, data)
    return get(store, name, number)


def download_uri(store: Store, name: str, version: object) -> str:
    """The source of a version (where its model folder is)."""
    return str(row(store, name, version)["source"])
