"""Aliases of registered models: set, move, remove, look up, and every move's history.

An alias move is a row of ``model_aliases`` (model, alias, version or None, when, who,
from which host), never updated: the current alias is the latest row, and the rows in
order are its history, which MLflow does not keep.

Before a move, its alias's protection (:mod:`~canvasback.registry.protection`) and
gates (:mod:`~canvasback.registry.gates`) are checked as the store holds them then; a
refused move raises and writes nothing. A move with ``force=True`` passes a protection
and the gates that allow it, and is recorded as forced, with what it passed over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback.registry import (
    claims,
    gates,
    hook_dispatch,
    names,
    protection,
    reads,
    versions,
    writes,
)
from canvasback.registry.entities import (
    AliasMove,
    GateFailedError,
    GateFailure,
    ModelVersion,
    ProtectedAliasError,
    RegistryNotFoundError,
)
from canvasback.tracking import validation

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog


def move(
    store: Store,
    name: str,
    alias: str,
    version: object,
    *,
    refresh: bool = True,
    force: bool = False,
) -> AliasMove:
    """Point an alias at a version (moving it from the version it pointed at); the move.

    The alias, the name and the version are each checked once, then the version is
    looked up: in a fresh read of the store, or with ``refresh=False`` in the catalog as
    it was last read (what a view showed; it is read afresh before the move is refused).
    The alias's protection and gates are checked in a fresh read either way: one set
    since a view's last read holds. The move is on disk when this returns.
    """
    checked = names.alias_name(alias)
    _check_force(force, checked)
    row = versions.row(store, name, version, refresh=refresh)
    model_id, number = row["model_id"], row["version"]
    catalog = store.catalog if refresh else store.read()  # refresh=True has just read it
    overrode = _guard(store, catalog, row, checked, force=force)
    before = reads.aliases_of(catalog, [model_id]).get(model_id, {}).get(checked)
    timestamp, user, host = writes.alias_move(store, model_id, checked, number, overrode=overrode)
    store.flush()
    data: dict[str, object] = {"name": name, "alias": checked, "version": str(number)}
    hook_dispatch.fire(store, catalog, model_id, "alias_moved", number, data)
    return AliasMove(
        name=name,
        alias=checked,
        from_version=None if before is None else str(before),
        to_version=str(number),
        timestamp=timestamp,
        user_id=user,
        host=host,
        forced=overrode is not None,
        overrode=overrode,
    )


def _check_force(force: object, alias: object) -> None:
    if not isinstance(force, bool):
        msg = f"Invalid force {force!r} for alias {alias!r}: True or False"
        raise validation.InvalidInputError(msg)


def _guard(
    store: Store, catalog: Catalog, row: reads.Row, alias: str, *, force: bool
) -> str | None:
    """What ``force`` passes over (None: nothing); raises, naming why, if the move is refused."""
    name, model_id = row["name"], row["model_id"]
    facts = reads.alias_guards(catalog, model_id)
    protected = protection.from_facts(facts, name).get(alias)
    alias_gates = gates.from_facts(facts, name, alias) + gates.registered_for(
        store, model_id, alias
    )
    failed = (
        gates.failures(alias_gates, gates.candidate(store, catalog, row, alias))
        if alias_gates
        else []
    )
    forced = [f for f in failed if force and f.gate.allow_force]
    blocking = [f for f in failed if f not in forced]
    if not blocking and (protected is None or force):
        passed = ([protection.described(protected)] if protected else []) + [str(f) for f in forced]
        return "; ".join(passed) or None
    reasons = ([protection.described(protected)] if protected and not force else []) + [
        str(f) for f in blocking
    ]
    hints = []
    if protected and not force:
        hints.append(
            "force=True moves a protected alias (the move is recorded as forced); "
            f"unprotect_alias({name!r}, {alias!r}) lifts the protection"
        )
    if strict := [f.gate.gate for f in blocking if not f.gate.allow_force]:
        hints.append(
            f"force=True does not pass gate {', '.join(map(repr, strict))} (set without "
            "allow_force): point the alias at a version that passes it, or remove the gate "
            f"with delete_alias_gate({name!r}, {alias!r}, {strict[0]!r})"
        )
    if forceable := [f.gate.gate for f in blocking if f.gate.allow_force]:
        hints.append(f"force=True passes gate {', '.join(map(repr, forceable))} (it allows force)")
    msg = (
        f"Refusing to move @{alias} of {name!r} to version {row['version']}: "
        f"{'; '.join(reasons)}. {'. '.join(hints)}. Nothing was written"
    )
    if blocking:
        refused = [GateFailure(f.gate.alias, f.gate.gate, f.why) for f in blocking]
        raise GateFailedError(msg, refused)
    raise ProtectedAliasError(msg)


def remove(store: Store, name: str, alias: str, *, force: bool = False) -> None:
    """Remove an alias; a protected one only with ``force=True`` (recorded as forced)."""
    _check_force(force, alias)
    model_id = claims.held(store, name).entity_id
    catalog = store.read()
    current = reads.aliases_of(catalog, [model_id]).get(model_id, {})
    if alias not in current:
        raise RegistryNotFoundError(_no_alias(name, alias, current))
    protected = protection.of_model(catalog, model_id, name).get(alias)
    if protected is not None and not force:
        msg = (
            f"Refusing to remove @{alias} of {name!r}: {protection.described(protected)}. "
            "force=True removes it anyway (recorded as forced); "
            f"unprotect_alias({name!r}, {alias!r}) lifts the protection. Nothing was written"
        )
        raise ProtectedAliasError(msg)
    overrode = None if protected is None else protection.described(protected)
    writes.alias_move(store, model_id, alias, None, overrode=overrode)
    store.flush()
    data: dict[str, object] = {"name": name, "alias": alias}
    hook_dispatch.fire(store, catalog, model_id, "alias_removed", current[alias], data)


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
    return history_of(store.read(), model_id, alias)


def history_of(catalog: Catalog, model_id: str, alias: str | None = None) -> list[AliasMove]:
    """:func:`history` of a model by id, as ``catalog`` holds it."""
    return [
        AliasMove(
            name=r["name"],
            alias=r["alias"],
            from_version=None if r["from_version"] is None else str(r["from_version"]),
            to_version=None if r["to_version"] is None else str(r["to_version"]),
            timestamp=r["timestamp"],
            user_id=r["user_id"],
            host=r["host"],
            forced=r["forced"],
            overrode=r["overrode"],
        )
        for r in reads.alias_history(catalog, model_id, alias)
    ]


def _no_alias(name: str, alias: str, current: Mapping[str, int]) -> str:
    shown = ", ".join(f"@{a} -> {v}" for a, v in sorted(current.items())) or "none"
    return f"Registered model {name!r} has no alias {alias!r}; its aliases are {shown}"
