"""A source's registered models written into canvasback's registry, resumably.

A model of the same name is the same model: its tags and description are brought up to
the source's. Versions keep their numbers where the model's numbers are free: they are
registered in order, and a number the source gave and took back (a deleted version) is
taken by a version registered and deleted at once, so the next one lines up. Each
version carries the tag ``canvasback.imported_from`` (``<source>#version=<n>``): a
version with it is not registered again. A version's source becomes the portable
``runs:/<run_id>/<path>`` when it lies in an imported run (a logged model's
``models:/m-<id>``, a path under a run's artifacts); else it is kept as it was, and the
report says so. Stages, aliases and tags follow. The registry's own times (creation,
last update) are the import's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from canvasback.importers.writer import MARKER
from canvasback.registry import claims, names, repair
from canvasback.registry.entities import RegistryNotFoundError
from canvasback.tracking import logged_models, validation

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.importers.records import RegisteredModelRecord, VersionRecord
    from canvasback.importers.report import ImportReport
    from canvasback.registry import Client

_PLACEHOLDER: Final = "a version number the source gave and took back"
_VERSION_MARK: Final = "#version="


class RegistryWriter:
    """Writes registered models of one source into one store's registry."""

    def __init__(
        self, client: Client, source_uri: str, report: ImportReport, run_roots: Mapping[str, str]
    ) -> None:
        self.client = client
        self.uri = source_uri
        self.report = report
        # Artifact roots of the source's runs (longest first), to make sources portable.
        self._roots = sorted(
            ((_local(root), run_id) for run_id, root in run_roots.items() if root),
            key=lambda item: -len(item[0]),
        )

    def write(self, models: list[RegisteredModelRecord]) -> None:
        """Write every model, its versions, stages and aliases."""
        for model in models:
            try:
                names.model_name(model.name)
            except validation.InvalidInputError as exc:
                self.report.skip(f"registered model {model.name!r}: {exc}")
                continue
            self._model(model)

    def _model(self, model: RegisteredModelRecord) -> None:
        where = f"registered model {model.name!r}"
        tags = self._tags(where, model.tags)
        try:
            have = self.client.get_registered_model(model.name)
        except RegistryNotFoundError:
            self.client.create_registered_model(
                model.name, tags=tags, description=model.description
            )
        else:
            for key, value in tags.items():
                if have.tags.get(key) != value:
                    self.client.set_registered_model_tag(model.name, key, value)
            if model.description and have.description != model.description:
                self.client.update_registered_model(model.name, model.description)
        self.report.registered_models += 1
        numbers = self._versions(model, where)
        current = self.client.get_registered_model(model.name).aliases
        for alias, version in sorted(model.aliases.items()):
            number = numbers.get(version)
            if number is None:
                self.report.skip(f"{where}: alias {alias!r} names version {version}, not imported")
                continue
            try:
                if current.get(alias) != str(number):
                    self.client.set_registered_model_alias(model.name, alias, number)
            except validation.InvalidInputError as exc:
                self.report.skip(f"{where}: alias {alias!r}: {exc}")
                continue
            self.report.aliases += 1

    def _versions(self, model: RegisteredModelRecord, where: str) -> dict[int, int]:
        """Register the versions not imported yet; source number -> number here."""
        by_number = {v.version: v for v in model.versions}
        top = max(by_number, default=0)
        if self._orphaned(model.name, top):
            # An import cut short after claiming a version, before writing its row: the
            # row is written from the claim, as `canvasback recover` does.
            repair.recover_versions(self.client.store, grace_seconds=0)
        numbers = self._imported(model.name)
        for number in range(1, top + 1):
            marker = f"{_VERSION_MARK}{number}"
            if marker in numbers.values() or self._claim(model.name, number, marker):
                continue  # registered by an earlier import (a taken-back number: deleted)
            version = by_number.get(number)
            if version is None or version.deleted:
                placeholder = self.client.create_model_version(
                    model.name, _PLACEHOLDER, tags={MARKER: f"{self.uri}{marker}"}
                )
                self.client.delete_model_version(model.name, placeholder.version)
                continue
            created = self._register(model.name, version, f"{self.uri}{marker}", where)
            numbers[int(created)] = marker
        mapping = {int(m.rsplit("=", 1)[1]): k for k, m in numbers.items()}
        for number, here in sorted(mapping.items()):
            version = by_number.get(number)
            if version is None:
                continue
            if here != number:
                self.report.skip(f"{where}: version {number} is version {here} here")
            if version.stage not in ("None", "") and (
                self.client.get_model_version(model.name, here).current_stage != version.stage
            ):
                self.client.transition_model_version_stage(model.name, here, version.stage)
            if version.status not in ("READY", ""):
                self.report.skip(f"{where}: version {number} was {version.status}; it is READY")
        return mapping

    def _register(self, name: str, version: VersionRecord, marker: str, where: str) -> str:
        tags = self._tags(f"{where} version {version.version}", version.tags)
        created = self.client.create_model_version(
            name,
            self._portable(version, where),
            run_id=version.run_id,
            tags={**tags, MARKER: marker},
            description=version.description,
        )
        self.report.versions += 1
        return created.version

    def _imported(self, name: str) -> dict[int, str]:
        """The model's versions imports registered: number -> ``#version=<n>``.

        By the source's number, whatever URI it was read through (a server's or its
        database's); a placeholder left undeleted by an import cut short is deleted.
        """
        found: dict[int, str] = {}
        for version in self.client.search_model_versions(_name_filter(name), max_results=100_000):
            _uri, mark, number = version.tags.get(MARKER, "").rpartition(_VERSION_MARK)
            if not mark or not number.isdigit():
                continue
            if version.source == _PLACEHOLDER:
                self.client.delete_model_version(name, version.version)
            else:
                found[int(version.version)] = f"{_VERSION_MARK}{number}"
        return found

    def _claim(self, name: str, number: int, marker: str | None = None) -> dict[str, Any] | None:
        """Version ``number``'s claim, if an import made it (and for ``marker``, if given)."""
        looked = claims.lookup(self.client.store, name)
        if looked is None or not looked.holding.entity_id:
            return None
        data = self.client.store.read_claim(
            f"{claims.VERSION_CLAIMS}/{looked.holding.entity_id}", str(number)
        )
        if data is None:
            return None
        claim: dict[str, Any] = json.loads(data)
        tag = str(claim.get("tags", {}).get(MARKER, ""))
        if _VERSION_MARK not in tag or (marker is not None and not tag.endswith(marker)):
            return None
        return claim

    def _orphaned(self, name: str, top: int) -> bool:
        """Whether an import claimed a version of ``name`` and never wrote its row."""
        try:
            visible = {
                int(v.version) for v in self.client.search_model_versions(_name_filter(name))
            }
        except RegistryNotFoundError:
            return False
        for number in range(1, top + 1):
            claim = None if number in visible else self._claim(name, number)
            if claim is not None and claim.get("source") != _PLACEHOLDER:
                return True
        return False

    def _portable(self, version: VersionRecord, where: str) -> str:
        """The version's source as ``runs:/<run_id>/<path>`` where it lies in a run."""
        source = version.source
        if source.startswith("models:/m-"):
            found = logged_models.resolve(self.client.store, source.removeprefix("models:/"))
            if found is not None:
                return f"runs:/{found[0]}/{found[1]}"
        elif source.startswith("runs:/"):
            return source
        local = _local(source)
        for root, run_id in self._roots:
            if local == root or local.startswith(root + "/"):
                return f"runs:/{run_id}/{local[len(root) :].strip('/')}".rstrip("/")
        self.report.skip(
            f"{where} version {version.version}: its source {source!r} lies in no imported "
            "run; it is kept as written"
        )
        return source

    def _tags(self, where: str, tags: Mapping[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in tags.items():
            try:
                out[validation.validate_key("tag", key)] = validation.tag_value(key, value)
            except validation.InvalidInputError as exc:
                self.report.skip(f"{where}: tag {key!r}: {exc}")
        return out


def _local(uri: str) -> str:
    """A ``file:`` URI as its path, other URIs as they are; no trailing slash."""
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    elif uri.startswith("file:"):
        uri = uri.removeprefix("file:")
    return uri.rstrip("/")


def _name_filter(name: str) -> str:
    """A filter for one model's versions, quoted so that the name stays one string."""
    quote = "'" if "'" not in name else '"'
    return f"name = {quote}{name}{quote}"
