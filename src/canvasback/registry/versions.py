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
from typing import TYPE_CHECKING, Any, Final

from canvasback.registry import claims, names, reads, tables
from canvasback.registry.entities import (
    ModelVersion,
    RegisteredModel,
    RegistryNotFoundError,
)
from canvasback.tracking import validation
from canvasback.tracking.client import user_name

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog

_PARTITION: Final = tables.PARTITION


class PagedList(list[Any]):
    """A page of search results; ``token`` fetches the next page (None: no more)."""

    def __init__(self, items: list[Any], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def checked_tag(key: object, value: object) -> tuple[str, str]:
    """A tag's key and value, checked as every tag is."""
    return validation.validate_key("tag", key), validation.tag_value(str(key), value)


def _text(what: str, value: object, allowed: str) -> str:
    if not isinstance(value, str) or not value:
        msg = f"Invalid {what} {value!r}: {allowed} is required"
        raise validation.InvalidInputError(msg)
    return validation.unicode_text(f"{what} {value[:40]!r}", value)


class VersionMethods:
    """The version half of the registry's methods (mixed into ``RegistryMethods``)."""

    store: Store

    if TYPE_CHECKING:

        def _model_id(self, name: object) -> str: ...
        def _ensure_model(self, name: str) -> tuple[claims.Holding, claims.ModelLog]: ...
        def get_registered_model(self, name: str) -> RegisteredModel: ...  # noqa: D102
        def _alias_row(self, model_id: str, alias: str, version: int | None) -> None: ...

    def _event(self, entity: str, kind: str, key: str, value: str | None) -> None:
        self.store.writer.event(_PARTITION, entity, kind, key, value)

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """A new version of a registered model (created if needed) for a model folder."""
        del run_link  # a run is linked by its id: the widgets open it in place
        source = _text("model version source", source, "a model URI or folder")
        run_id = None if run_id is None else _text("run id", run_id, "a run's id (a string)")
        checked_tags = dict(checked_tag(k, v) for k, v in (tags or {}).items())
        text = names.description(description, f"a new version of {name!r}")
        holding, log = self._ensure_model(name)
        model_id, seen = holding.entity_id, len(log.entries)
        now, user = time.time_ns() // 1_000_000, user_name()
        # The claim holds the whole version: a process killed before its row is written
        # loses nothing (registry/repair.py writes the row from it).
        claim: dict[str, object] = {"source": source, "run_id": run_id, "time": now}
        claim |= {"user": user, "tags": checked_tags, "description": text}
        version = self.store.claim_next_number(
            f"{claims.VERSION_CLAIMS}/{model_id}", json.dumps(claim).encode()
        )
        entity = f"{model_id}/{version}"
        # Tags first: the version is visible once its row is, and then whole.
        for key, value in checked_tags.items():
            self._event(entity, tables.EVENT_VERSION_TAG, key, value)
        if text is not None:
            self._event(entity, tables.EVENT_VERSION_DESCRIPTION, "", text)
        if checked_tags or text is not None:
            self.store.flush()
        row = (model_id, version, source, run_id, now, user)
        self.store.writer.append("model_versions", _PARTITION, row)
        self.store.flush()
        lost = claims.read_log(self.store, model_id).changes_after(seen)
        if lost:
            # Renamed or deleted while the row was written: whether before or after it
            # cannot be told, so the call lost. The version goes, as a deletion would.
            self._event(entity, tables.EVENT_VERSION_LIFECYCLE, "", "deleted")
            self.store.flush()
            what = "deleted" if lost[0].op == claims.DELETE else f"renamed to {lost[0].name!r}"
            msg = (
                f"Registered model {name!r} was {what} by another call while version "
                f"{version} was being registered; the version is not kept"
            )
            raise RegistryNotFoundError(msg)
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

    def _version_row(self, name: str, version: object) -> reads.Row:
        model_id = self._model_id(name)
        number = names.version_number(version)
        catalog = self.store.read()
        row = reads.version_row(catalog, model_id, number)
        if row is None:
            have = [str(r["version"]) for r in reads.versions_of(catalog, [model_id])]
            shown = ", ".join(have) or "none"
            msg = f"Registered model {name!r} has no version {number}; its versions are {shown}"
            raise RegistryNotFoundError(msg)
        # The name the claims gave: the views may not show a rename of a killed call yet.
        return {**row, "name": name}

    def _versions(self, catalog: Catalog, rows: list[reads.Row]) -> list[ModelVersion]:
        if not rows:
            return []
        ids = sorted({r["model_id"] for r in rows})
        tags = reads.version_tags(catalog, ids)
        by_version: dict[tuple[str, int], list[str]] = {}
        for model_id, aliases in reads.aliases_of(catalog, ids).items():
            for alias, number in aliases.items():
                by_version.setdefault((model_id, number), []).append(alias)
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
                tags=tags.get((r["model_id"], r["version"]), {}),
                aliases=sorted(by_version.get((r["model_id"], r["version"]), [])),
            )
            for r in rows
        ]

    def get_model_version(self, name: str, version: object) -> ModelVersion:
        """One version of a registered model."""
        row = self._version_row(name, version)
        return self._versions(self.store.catalog, [row])[0]

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each stage (or in each of ``stages``)."""
        wanted = None if not stages else {names.stage(s) for s in stages}
        latest = self.get_registered_model(name).latest_versions
        return [v for v in latest if wanted is None or v.current_stage in wanted]

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Versions that match (``name = 'churn' AND tags.validated = 'yes'``)."""
        offset = names.page_offset(page_token, max_results)
        catalog = self.store.read()
        rows = reads.search_model_versions(
            catalog, filter_string, order_by, max_results + 1, offset
        )
        token = str(offset + max_results) if len(rows) > max_results else None
        return PagedList(self._versions(catalog, rows[:max_results]), token)

    def update_model_version(
        self, name: str, version: object, description: str | None = None
    ) -> ModelVersion:
        """Change a version's description."""
        text = names.description(description, f"version {version!r} of {name!r}")
        row = self._version_row(name, version)
        entity = f"{row['model_id']}/{row['version']}"
        self._event(entity, tables.EVENT_VERSION_DESCRIPTION, "", text)
        self.store.flush()
        return self.get_model_version(name, version)

    def delete_model_version(self, name: str, version: object) -> None:
        """Delete a version (its number is never given again); its aliases go with it."""
        row = self._version_row(name, version)
        model_id, number = row["model_id"], row["version"]
        for alias, target in (
            reads.aliases_of(self.store.read(), [model_id]).get(model_id, {}).items()
        ):
            if target == number:
                self._alias_row(model_id, alias, None)
        self._event(f"{model_id}/{number}", tables.EVENT_VERSION_LIFECYCLE, "", "deleted")
        self.store.flush()

    def set_model_version_tag(self, name: str, version: object, key: str, value: object) -> None:
        """Set a tag on a model version."""
        row = self._version_row(name, version)
        entity = f"{row['model_id']}/{row['version']}"
        self._event(entity, tables.EVENT_VERSION_TAG, *checked_tag(key, value))
        self.store.flush()

    def delete_model_version_tag(self, name: str, version: object, key: str) -> None:
        """Remove a tag from a model version."""
        row = self._version_row(name, version)
        entity = f"{row['model_id']}/{row['version']}"
        self._event(entity, tables.EVENT_VERSION_TAG, validation.validate_key("tag", key), None)
        self.store.flush()

    def transition_model_version_stage(
        self, name: str, version: object, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to a stage; optionally archive the others in that stage."""
        row = self._version_row(name, version)
        target = names.stage(stage)
        model_id, number = row["model_id"], row["version"]
        if archive_existing_versions:
            if target not in ("Staging", "Production"):
                msg = (
                    f"archive_existing_versions=True needs stage Staging or Production, "
                    f"not {target!r}"
                )
                raise validation.InvalidInputError(msg)
            for other in reads.versions_in_stage(self.store.read(), model_id, target):
                if other != number:
                    self._event(f"{model_id}/{other}", tables.EVENT_VERSION_STAGE, "", "Archived")
        self._event(f"{model_id}/{number}", tables.EVENT_VERSION_STAGE, "", target)
        self.store.flush()
        return self.get_model_version(name, number)

    def get_model_version_download_uri(self, name: str, version: object) -> str:
        """The source of a version (where its model folder is)."""
        return str(self._version_row(name, version)["source"])
