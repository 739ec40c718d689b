"""Aliases of registered models: set, move, remove, look up, and every move's history.

An alias move is a row of ``model_aliases`` (model, alias, version or None, when, who,
from which host), never updated: the current alias is the latest row, and the rows in
order are its history, which MLflow does not keep.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Final

from canvasback.registry import names, reads, tables
from canvasback.registry.entities import AliasMove, ModelVersion, RegistryNotFoundError
from canvasback.tracking.client import user_name

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog

_PARTITION: Final = tables.PARTITION


class AliasMethods:
    """The alias half of the registry's methods (mixed into ``RegistryMethods``)."""

    store: Store

    if TYPE_CHECKING:

        def _model_id(self, name: object) -> str: ...
        def _version_row(self, name: str, version: object) -> reads.Row: ...
        def _versions(self, catalog: Catalog, rows: list[reads.Row]) -> list[ModelVersion]: ...

    # -- aliases ---------------------------------------------------------------------
    def _alias_row(self, model_id: str, alias: str, version: int | None) -> None:
        timestamp, writer, seq = self.store.writer.stamp()
        row = (model_id, alias, version, timestamp, user_name(), socket.gethostname(), writer, seq)
        self.store.writer.append("model_aliases", _PARTITION, row)

    def set_registered_model_alias(self, name: str, alias: str, version: object) -> None:
        """Point an alias at a version (moving it from the version it pointed at)."""
        checked = names.alias_name(alias)
        row = self._version_row(name, version)
        self._alias_row(row["model_id"], checked, row["version"])
        self.store.flush()

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        model_id = self._model_id(name)
        current = reads.aliases_of(self.store.read(), [model_id]).get(model_id, {})
        if alias not in current:
            raise RegistryNotFoundError(_no_alias(name, alias, current))
        self._alias_row(model_id, alias, None)
        self.store.flush()

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""
        model_id = self._model_id(name)
        catalog = self.store.read()
        row = reads.version_by_alias(catalog, model_id, alias)
        if row is None:
            current = reads.aliases_of(catalog, [model_id]).get(model_id, {})
            raise RegistryNotFoundError(_no_alias(name, alias, current))
        return self._versions(catalog, [row])[0]

    def get_alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of a model's aliases (or of one), oldest first: when, from, to, who."""
        model_id = self._model_id(name)
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
            for r in reads.alias_history(self.store.read(), model_id, alias)
        ]


def _no_alias(name: str, alias: str, current: Mapping[str, int]) -> str:
    shown = ", ".join(f"@{a} -> {v}" for a, v in sorted(current.items())) or "none"
    return f"Registered model {name!r} has no alias {alias!r}; its aliases are {shown}"
