"""Protected aliases: an alias that moves, or goes, only with ``force=True``.

A protection is a fact of its model (``alias_protection``, keyed by the alias; its value
says who protected it, from where, and why), resolved last-writer-wins like every other
registry fact: of a protect and an unprotect written at once by two processes, the later
by its stamp holds, in every process. An alias may be protected before it is first set.

Protection keeps a team's hands off an alias by accident, not by right: anyone who can
write to the store can unprotect it, or write its files. What the store guarantees is
that every move is attributed (user, host, time) and kept, a forced one marked so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from canvasback.registry import claims, names, reads, tables, writes
from canvasback.registry.entities import ProtectedAliasError, RegistryNotFoundError

if TYPE_CHECKING:
    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog


@dataclass(frozen=True)
class AliasProtection:
    """A protected alias of a registered model: by whom, from where, when, why."""

    name: str
    alias: str
    user_id: str | None
    host: str | None
    timestamp: int
    reason: str | None = None


def protect(store: Store, name: str, alias: str, reason: str | None = None) -> None:
    """Protect an alias of a model (set or not yet): it then moves only with ``force=True``.

    Protecting it again records the new protection (who, when, why) over the old.
    """
    checked = names.alias_name(alias)
    text = names.description(reason, f"the protection of alias {checked!r}")
    holding, _log = claims.writable(store, name)
    user, host = writes.who()
    value = json.dumps({"user": user, "host": host, "reason": text})
    writes.event(store, holding.entity_id, tables.EVENT_ALIAS_PROTECTION, checked, value)
    store.flush()


def unprotect(store: Store, name: str, alias: str) -> None:
    """Let a protected alias move without ``force`` again."""
    checked = names.alias_name(alias)
    holding, _log = claims.writable(store, name)
    current = of_model(store.read(), holding.entity_id, name)
    if checked not in current:
        shown = ", ".join(f"@{a}" for a in current) or "none"
        msg = (
            f"Alias {checked!r} of registered model {name!r} is not protected; "
            f"its protected aliases are {shown}"
        )
        raise RegistryNotFoundError(msg)
    writes.event(store, holding.entity_id, tables.EVENT_ALIAS_PROTECTION, checked, None)
    store.flush()


def of_model(catalog: Catalog, model_id: str, name: str) -> dict[str, AliasProtection]:
    """A model's protected aliases: alias -> its protection."""
    return from_facts(reads.alias_guards(catalog, model_id), name)


def from_facts(facts: list[reads.Row], name: str) -> dict[str, AliasProtection]:
    """The protections among a model's guard facts (``reads.alias_guards``)."""
    found = {}
    for fact in facts:
        if fact["kind"] == tables.EVENT_ALIAS_PROTECTION:
            value = reads.json_object(fact["value"])
            found[fact["key"]] = AliasProtection(
                name=name,
                alias=fact["key"],
                user_id=value.get("user"),
                host=value.get("host"),
                timestamp=fact["timestamp"],
                reason=value.get("reason"),
            )
    return found


def described(protection: AliasProtection) -> str:
    """``@champion is protected (by ana on box-1 since 2026-03-01 09:30 UTC: "why")``."""
    since = datetime.fromtimestamp(protection.timestamp / 1000, UTC).strftime("%Y-%m-%d %H:%M")
    why = f': "{protection.reason}"' if protection.reason else ""
    return (
        f"@{protection.alias} is protected (by {protection.user_id} on {protection.host} "
        f"since {since} UTC{why})"
    )


def refuse_if_held(
    catalog: Catalog, model_id: str, name: str, doing: str, aliases: list[str]
) -> None:
    """Refuse a deletion that would take protected aliases with it (``aliases``: theirs)."""
    protected = of_model(catalog, model_id, name)
    held = [protected[a] for a in sorted(aliases) if a in protected]
    if not held:
        return
    lift = ", ".join(f"unprotect_alias({name!r}, {p.alias!r})" for p in held)
    msg = (
        f"Refusing to {doing}: {'; '.join(described(p) for p in held)}, and would go with "
        f"it. Lift the protection first ({lift}); nothing was written"
    )
    raise ProtectedAliasError(msg)
