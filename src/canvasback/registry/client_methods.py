"""MlflowClient's model registry methods, under their MLflow names, over one store.

A registered model gets a random id; its name is claimed by exclusive create (hashed),
so two processes creating one name get one model. Version numbers are the lowest free
number of the model's claim namespace: 1, 2, 3, ... without gaps or duplicates however
many processes register at once, and never reused, since a claim is never given back.
Everything else (names after a rename, descriptions, tags, stages, deletions) is an
event of the registry's partition, and alias moves are rows kept forever. Every write
is on disk when the call returns, so every process's next read sees it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from typing import TYPE_CHECKING, Any, Final

from canvasback.exceptions import MlflowException
from canvasback.registry import names
from canvasback.registry.aliases import AliasMethods
from canvasback.registry.entities import (
    ModelVersion,
    RegisteredModel,
    RegistryNotFoundError,
)
from canvasback.store import layout
from canvasback.tracking import validation
from canvasback.tracking.client import user_name
from canvasback.tracking.queries import registry as rq

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from canvasback.store import Store
    from canvasback.store.reader import Catalog

NAME_CLAIMS: Final = "registered-model-names"
VERSION_CLAIMS: Final = "model-versions"
_PARTITION: Final = layout.REGISTRY_PARTITION


class RegistryConflictError(MlflowException, ValueError):
    """A registered model name that is taken already."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class PagedList(list[Any]):
    """A page of search results; ``token`` fetches the next page (None: no more)."""

    def __init__(self, items: list[Any], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def _name_claim(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _tag(key: object, value: object) -> tuple[str, str]:
    return validation.validate_key("tag", key), validation.tag_value(str(key), value)


class RegistryMethods(AliasMethods):
    """The registry half of :class:`canvasback.registry.client.Client`."""

    store: Store

    # -- names -----------------------------------------------------------------------
    def _model_id(self, name: object) -> str:
        checked = names.model_name(name)
        claimed = self.store.read_claim(NAME_CLAIMS, _name_claim(checked))
        if claimed is None:
            known = rq.model_names(self.store.read())
            shown = ", ".join(repr(n) for n in known[:20]) or "none yet"
            msg = f"No registered model named {checked!r}; the registered models are {shown}"
            raise RegistryNotFoundError(msg)
        return claimed.decode()

    def _event(self, entity: str, kind: str, key: str, value: str | None) -> None:
        self.store.writer.event(_PARTITION, entity, kind, key, value)

    # -- registered models -----------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model; its name must be new in this store."""
        checked = names.model_name(name)
        checked_tags = dict(_tag(k, v) for k, v in (tags or {}).items())
        model_id = uuid.uuid4().hex
        if not self.store.claim(NAME_CLAIMS, _name_claim(checked), model_id.encode()):
            msg = f"Registered model {checked!r} already exists in store {str(self.store.root)!r}"
            raise RegistryConflictError(msg)
        row = (model_id, checked, time.time_ns() // 1_000_000, user_name())
        self.store.writer.append("registered_models", _PARTITION, row)
        for key, value in checked_tags.items():
            self._event(model_id, layout.EVENT_MODEL_TAG, key, value)
        if description is not None:
            self._event(model_id, layout.EVENT_MODEL_DESCRIPTION, "", str(description))
        self.store.flush()
        return self.get_registered_model(checked)

    def _ensure_model(self, name: str) -> str:
        checked = names.model_name(name)
        claimed = self.store.read_claim(NAME_CLAIMS, _name_claim(checked))
        if claimed is not None:
            return claimed.decode()
        # Another process may create it at the same moment: then its model is the one.
        with contextlib.suppress(RegistryConflictError):
            self.create_registered_model(checked)
        return self._model_id(checked)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its tags, aliases and latest version per stage."""
        model_id = self._model_id(name)
        catalog = self.store.read()
        row = rq.model_row(catalog, model_id)
        if row is None:  # claimed, row not yet visible: another process is creating it
            row = {"model_id": model_id, "name": name, "creation_time": 0}
        return self._models(catalog, [row])[0]

    def _models(self, catalog: Catalog, rows: list[rq.Row]) -> list[RegisteredModel]:
        ids = [r["model_id"] for r in rows]
        tags = rq.model_tags(catalog, ids)
        aliases = rq.aliases_of(catalog, ids)
        by_model: dict[str, list[ModelVersion]] = {}
        for version in self._versions(catalog, rq.versions_of(catalog, ids)):
            by_model.setdefault(version.name, []).append(version)
        out = []
        for row in rows:
            versions = by_model.get(row["name"], [])
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
        offset = _offset(page_token)
        catalog = self.store.read()
        rows = rq.search_registered_models(
            catalog, filter_string, order_by, max_results + 1, offset
        )
        token = str(offset + max_results) if len(rows) > max_results else None
        return PagedList(self._models(catalog, rows[:max_results]), token)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Change a registered model's description."""
        model_id = self._model_id(name)
        self._event(model_id, layout.EVENT_MODEL_DESCRIPTION, "", description)
        self.store.flush()
        return self.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Give a registered model a new name; its versions and aliases stay with it."""
        model_id = self._model_id(name)
        checked = names.model_name(new_name, "new registered model name")
        if not self.store.claim(NAME_CLAIMS, _name_claim(checked), model_id.encode()):
            msg = f"Registered model {checked!r} already exists in store {str(self.store.root)!r}"
            raise RegistryConflictError(msg)
        self._event(model_id, layout.EVENT_MODEL_NAME, "", checked)
        self.store.flush()
        self.store.release_claim(NAME_CLAIMS, _name_claim(name))
        return self.get_registered_model(checked)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model and its versions; the name is free again."""
        model_id = self._model_id(name)
        self._event(model_id, layout.EVENT_MODEL_LIFECYCLE, "", "deleted")
        self.store.flush()
        self.store.release_claim(NAME_CLAIMS, _name_claim(name))

    def set_registered_model_tag(self, name: str, key: str, value: object) -> None:
        """Set a tag on a registered model."""
        model_id = self._model_id(name)
        self._event(model_id, layout.EVENT_MODEL_TAG, *_tag(key, value))
        self.store.flush()

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        model_id = self._model_id(name)
        self._event(model_id, layout.EVENT_MODEL_TAG, validation.validate_key("tag", key), None)
        self.store.flush()

    # -- versions --------------------------------------------------------------------
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
        if not isinstance(source, str) or not source:
            msg = f"Invalid model version source {source!r}: a model URI or folder is required"
            raise validation.InvalidInputError(msg)
        checked_tags = dict(_tag(k, v) for k, v in (tags or {}).items())
        model_id = self._ensure_model(name)
        now, user = time.time_ns() // 1_000_000, user_name()
        # The claim holds the whole version: a crash before its row is written loses
        # nothing (registry/repair.py writes the row from it).
        claim = json.dumps({"source": source, "run_id": run_id, "time": now, "user": user}).encode()
        version = self.store.claim_next_number(f"{VERSION_CLAIMS}/{model_id}", claim)
        row = (model_id, version, source, run_id, now, user)
        self.store.writer.append("model_versions", _PARTITION, row)
        entity = f"{model_id}/{version}"
        for key, value in checked_tags.items():
            self._event(entity, layout.EVENT_VERSION_TAG, key, value)
        if description is not None:
            self._event(entity, layout.EVENT_VERSION_DESCRIPTION, "", str(description))
        self.store.flush()
        return ModelVersion(
            name=name,
            version=str(version),
            creation_timestamp=now,
            last_updated_timestamp=now,
            description=description,
            user_id=row[5],
            source=source,
            run_id=run_id,
            tags=checked_tags,
        )

    def _version_row(self, name: str, version: object) -> rq.Row:
        model_id = self._model_id(name)
        number = names.version_number(version)
        catalog = self.store.read()
        row = rq.version_row(catalog, model_id, number)
        if row is None:
            have = [str(r["version"]) for r in rq.versions_of(catalog, [model_id])]
            shown = ", ".join(have) or "none"
            msg = f"Registered model {name!r} has no version {number}; its versions are {shown}"
            raise RegistryNotFoundError(msg)
        return row

    def _versions(self, catalog: Catalog, rows: list[rq.Row]) -> list[ModelVersion]:
        if not rows:
            return []
        ids = sorted({r["model_id"] for r in rows})
        tags = rq.version_tags(catalog, ids)
        by_version: dict[tuple[str, int], list[str]] = {}
        for model_id, aliases in rq.aliases_of(catalog, ids).items():
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
        offset = _offset(page_token)
        catalog = self.store.read()
        rows = rq.search_model_versions(catalog, filter_string, order_by, max_results + 1, offset)
        token = str(offset + max_results) if len(rows) > max_results else None
        return PagedList(self._versions(catalog, rows[:max_results]), token)

    def update_model_version(
        self, name: str, version: object, description: str | None = None
    ) -> ModelVersion:
        """Change a version's description."""
        row = self._version_row(name, version)
        entity = f"{row['model_id']}/{row['version']}"
        self._event(entity, layout.EVENT_VERSION_DESCRIPTION, "", description)
        self.store.flush()
        return self.get_model_version(name, version)

    def delete_model_version(self, name: str, version: object) -> None:
        """Delete a version (its number is never given again); its aliases go with it."""
        row = self._version_row(name, version)
        model_id, number = row["model_id"], row["version"]
        for alias, target in rq.aliases_of(self.store.read(), [model_id]).get(model_id, {}).items():
            if target == number:
                self._alias_row(model_id, alias, None)
        self._event(f"{model_id}/{number}", layout.EVENT_VERSION_LIFECYCLE, "", "deleted")
        self.store.flush()

    def set_model_version_tag(self, name: str, version: object, key: str, value: object) -> None:
        """Set a tag on a model version."""
        row = self._version_row(name, version)
        entity = f"{row['model_id']}/{row['version']}"
        self._event(entity, layout.EVENT_VERSION_TAG, *_tag(key, value))
        self.store.flush()

    def delete_model_version_tag(self, name: str, version: object, key: str) -> None:
        """Remove a tag from a model version."""
        row = self._version_row(name, version)
        entity = f"{row['model_id']}/{row['version']}"
        self._event(entity, layout.EVENT_VERSION_TAG, validation.validate_key("tag", key), None)
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
            for other in rq.versions_in_stage(self.store.read(), model_id, target):
                if other != number:
                    self._event(f"{model_id}/{other}", layout.EVENT_VERSION_STAGE, "", "Archived")
        self._event(f"{model_id}/{number}", layout.EVENT_VERSION_STAGE, "", target)
        self.store.flush()
        return self.get_model_version(name, number)

    def get_model_version_download_uri(self, name: str, version: object) -> str:
        """The source of a version (where its model folder is)."""
        return str(self._version_row(name, version)["source"])


def _offset(page_token: str | None) -> int:
    if page_token is None:
        return 0
    if not str(page_token).isdigit():
        msg = f"Invalid page_token {page_token!r}: pass the token of a previous page"
        raise validation.InvalidInputError(msg)
    return int(page_token)
