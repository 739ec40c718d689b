"""Aliases of registered models: set, move, remove, look up, and every move's history.

An alias move is a row of ``model_aliases`` (model, alias, version or None, when, who,
from which host), never updated: the current alias is the latest row, and the rows in
order are its history, which MLflow does not keep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback.registry import claims, names, reads, versions, writes
from canvasback.registry.entities import AliasMove, ModelVersion, RegistryNotFoundError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.store import Store


def move(
    store: Store, name: str, alias: str, version: object, *, refresh: bool = True
) -> AliasMove:
    """Point an alias at a version (moving it from the version it pointed at); the move.

    The alias, the name and the version are each checked once, then the version is
    looked up: in a fresh read of the store, or with ``refresh=False`` in the catalog as
    it was last read (what a view showed; it is read afresh before the move is refused).
    The move is on disk when this returns.
    """
    checked = names.alias_name(alias)
    row = versions.row(store, name, version, refresh=refresh)
    model_id, number = row["model_id"], row["version"]
    # The catalog the version was found in: store.catalog is the one catalog, as last read.
    before = reads.aliases_of(store.catalog, [model_id]).get(model_id, {}).get(checked)
    timestamp, user, host = writes.alias_move(store, model_id, checked, number)
    store.flush()
    return AliasMove(
        name=name,
        alias=checked,
        from_version=None if before is None else str(before),
        to_version=str(number),
        timestamp=timestamp,
        user_id=user,
        host=host,
    )


def remove(store: Store, name: str, alias: str) -> None:
    """Remove an alias."""
    model_id = claims.held(store, name).entity_id
    current = reads.aliases_of(store.read(), [model_id]).get(model_id, {})
    if alias not in current:
        raise RegistryNotFoundError(_no_alias(name, alias, current))
    writes.alias_move(store, model_id, alias, None)
    store.flush()


def version_by_alias(store: Store, name: str, alias: str) -> ModelVersion:
    """The version an alias points at."""
    model_id = claims.held(store, name).entity_id
    catalog = store.read()
    row = reads.version_by_alias(catalog, model_id, alias)
    if row is None:
        current = reads.aliases_of(catalog, [model_id]).get(model_id, {})
        raise RegistryNotFoundError(_no_alias(name, alias, current))
    return versions.entities(catalog, [row])[0]


def history(store: Store, name: str, alias: str | None = None) -> list[AliasMove]:
    """Every move of a model's aliases (or of one), oldest first: when, from, to, who."""
    model_id = claims.held(store, name).entity_id
    return [
        AliasMove(
            name=r["name"],
            alias=r["alias"],
            from_version=None if r["from_version"] is None else str(r["from_version"]),
            to_version=None if r["to_version"] is None else str(r["to_version"]),
            timestamp=r["timestamp"],
            user_id=r["user_id"],
            host=r["host"],
        )
        for r in reads.alias_history(store.read(), model_id, alias)
    ]


def _no_alias(name: str, alias: str, current: Mapping[str, int]) -> str:
    shown = ", ".join(f"@{a} -> {v}" for a, v in sorted(current.items())) or "none"
    return f"Registered model {name!r} has no alias {alias!r}; its aliases are {shown}"
