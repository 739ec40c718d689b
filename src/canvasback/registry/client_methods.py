"""MlflowClient's model registry methods, under their MLflow names, over one store.

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

import contextlib
import time
import uuid
from typing import TYPE_CHECKING, Any, Final

from canvasback.registry import claims, names, reads, tables
from canvasback.registry.aliases import AliasMethods
from canvasback.registry.claims import NAME_CLAIMS, VERSION_CLAIMS
from canvasback.registry.entities import (
    ModelVersion,
    RegisteredModel,
    RegistryConflictError,
    RegistryNotFoundError,
)
from canvasback.registry.versions import PagedList, VersionMethods, checked_tag
from canvasback.tracking import validation
from canvasback.tracking.client import user_name

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog

__all__ = [
    "NAME_CLAIMS",
    "VERSION_CLAIMS",
    "PagedList",
    "RegistryConflictError",
    "RegistryMethods",
]

_PARTITION: Final = tables.PARTITION


class RegistryMethods(AliasMethods, VersionMethods):
    """The registry half of :class:`canvasback.registry.client.Client`."""

    store: Store

    # -- names -----------------------------------------------------------------------
    def _not_found(self, name: str) -> RegistryNotFoundError:
        known = reads.model_names(self.store.read())
        shown = ", ".join(repr(n) for n in known[:20]) or "none yet"
        return RegistryNotFoundError(
            f"No registered model named {name!r}; the registered models are {shown}"
        )

    def _holding(self, name: object) -> claims.Holding:
        """The holding of a name that holds (a read: nothing is written)."""
        checked = names.model_name(name)
        found = claims.lookup(self.store, checked)
        if found is None or found.state != claims.HELD:
            raise self._not_found(checked)
        return found.holding

    def _model_id(self, name: object) -> str:
        return self._holding(name).entity_id

    def _writable(self, name: object) -> tuple[claims.Holding, claims.ModelLog]:
        """A name's holding and model log, for a call that writes to the model.

        It settles what a killed call left on the way: the events of a committed rename
        or deletion, the row of a model whose creator died after claiming its name.
        """
        checked = names.model_name(name)
        found = self._held_for_writing(checked)
        if found is None:
            raise self._not_found(checked)
        return found

    def _held_for_writing(self, name: str) -> tuple[claims.Holding, claims.ModelLog] | None:
        found = claims.lookup(self.store, name)
        if found is not None and found.state == claims.STALE and found.holding.entity_id:
            claims.settle(self.store, found.holding.entity_id, found.log)
        if found is None or found.state != claims.HELD:
            return None
        claims.settle(self.store, found.holding.entity_id, found.log)
        claims.ensure_written(self.store, found.holding)
        return found.holding, found.log

    # -- registered models -----------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model; its name must be new in this store."""
        checked = names.model_name(name)
        checked_tags = dict(checked_tag(k, v) for k, v in (tags or {}).items())
        text = names.description(description, f"registered model {checked!r}")
        self._create(checked, checked_tags, text)
        return self.get_registered_model(checked)

    def _create(self, name: str, tags: dict[str, str], description: str | None) -> None:
        holding = claims.take_name(
            self.store,
            name,
            uuid.uuid4().hex,
            slot=0,
            token=claims.new_token(),
            time=time.time_ns() // 1_000_000,
            user=user_name(),
            tags=tags,
            description=description,
        )
        claims.write_model(self.store, holding)

    def _ensure_model(self, name: str) -> tuple[claims.Holding, claims.ModelLog]:
        checked = names.model_name(name)
        found = self._held_for_writing(checked)
        if found is None:
            # Another process may create it at the same moment: then its model is the one.
            with contextlib.suppress(RegistryConflictError):
                self._create(checked, {}, None)
            found = self._held_for_writing(checked)
        if found is None:  # created, then deleted by another call at once
            raise self._not_found(checked)
        return found

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its tags, aliases and latest version per stage."""
        holding = self._holding(name)
        catalog = self.store.read()
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
        return self._models(catalog, [{**row, "name": holding.name}])[0]

    def _models(self, catalog: Catalog, rows: list[reads.Row]) -> list[RegisteredModel]:
        ids = [r["model_id"] for r in rows]
        tags = reads.model_tags(catalog, ids)
        aliases = reads.aliases_of(catalog, ids)
        # Versions under the names given (the claims' name for one model looked up).
        named = {r["model_id"]: r["name"] for r in rows}
        version_rows = [
            {**v, "name": named[v["model_id"]]} for v in reads.versions_of(catalog, ids)
        ]
        by_model: dict[str, list[ModelVersion]] = {}
        for row, version in zip(version_rows, self._versions(catalog, version_rows), strict=True):
            by_model.setdefault(row["model_id"], []).append(version)
        out = []
        for row in rows:
            versions = by_model.get(row["model_id"], [])
            latest = {v.current_stage: v for v in versions}  # oldest first: the last wins
            out.append(
                RegisteredModel(
                    name=row["name"],
                    creation_timestamp=row["creation_time"],
                    last_updated_timestamp=row.get("last_updated_time"),
                    description=row.get("description"),
                    latest_versions=sorted(latest.values(), key=lambda v: int(v.version)),
                    tags=tags.get(row["model_id"], {}),
                    aliases={a: str(v) for a, v in aliases.get(row["model_id"], {}).items()},
                )
            )
        return out

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Registered models that match (``name LIKE 'churn%' AND tags.team = 'a'``)."""
        offset = names.page_offset(page_token, max_results)
        catalog = self.store.read()
        rows = reads.search_registered_models(
            catalog, filter_string, order_by, max_results + 1, offset
        )
        token = str(offset + max_results) if len(rows) > max_results else None
        return PagedList(self._models(catalog, rows[:max_results]), token)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Change a registered model's description."""
        text = names.description(description, f"registered model {name!r}")
        holding, _log = self._writable(name)
        self._event(holding.entity_id, tables.EVENT_MODEL_DESCRIPTION, "", text)
        self.store.flush()
        return self.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Give a registered model a new name; its versions and aliases stay with it.

        The new name is claimed with the intent (model, log slot, token), then the slot
        is taken: the rename is done exactly when it gets the slot. A rename or deletion
        of the model that took it first, or a call that wanted the new name and gave the
        intent up, makes this call raise.
        """
        checked = names.model_name(new_name, "new registered model name")
        holding, log = self._writable(name)
        model_id, seen = holding.entity_id, len(log.entries)
        for _ in range(claims.MAX_TRIES):
            slot, token = log.next_slot, claims.new_token()
            claims.take_name(self.store, checked, model_id, slot=slot, token=token)
            if claims.commit(self.store, model_id, slot, claims.RENAME, token, checked):
                break
            log = claims.read_log(self.store, model_id)
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
        self._event(model_id, tables.EVENT_MODEL_NAME, claims.slot_key(slot), checked)
        self.store.flush()
        claims.mark_settled(self.store, model_id, slot)
        return self.get_registered_model(checked)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model and its versions; the name is free again."""
        holding, log = self._writable(name)
        model_id, seen = holding.entity_id, len(log.entries)
        for _ in range(claims.MAX_TRIES):
            slot = log.next_slot
            if claims.commit(self.store, model_id, slot, claims.DELETE, claims.new_token()):
                break
            log = claims.read_log(self.store, model_id)
            _raise_if_lost(log, seen, name, "deleted")
        else:
            msg = f"Registered model {name!r} is contended by too many calls; try again"
            raise RegistryConflictError(msg)
        self._event(model_id, tables.EVENT_MODEL_LIFECYCLE, "", "deleted")
        self.store.flush()
        claims.mark_settled(self.store, model_id, slot)

    def set_registered_model_tag(self, name: str, key: str, value: object) -> None:
        """Set a tag on a registered model."""
        tag = checked_tag(key, value)
        holding, _log = self._writable(name)
        self._event(holding.entity_id, tables.EVENT_MODEL_TAG, *tag)
        self.store.flush()

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        checked = validation.validate_key("tag", key)
        holding, _log = self._writable(name)
        self._event(holding.entity_id, tables.EVENT_MODEL_TAG, checked, None)
        self.store.flush()


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
