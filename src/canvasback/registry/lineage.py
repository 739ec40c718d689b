"""A model version's lineage: what it was made from, and where its aliases have been.

For one version: the run that made it, the datasets that run logged as inputs, the code
version and environment the run captured (the ``canvasback.source.*`` and
``canvasback.env.*`` tags of ``projects/capture.py``), the logged model it came from,
and every alias that points or pointed at it, with each of their moves.

``sql()``'s ``lineage`` view holds the same, a row per dataset (``registry/tables.py``),
but for the logged model: that is a claim (``claims/logged-model-paths/``), which SQL
does not read. The other way, the versions trained on a dataset, is a filter of
``search_model_versions``: ``datasets.digest = '...'`` (and ``datasets.name``,
``datasets.context``), as ``search_runs`` takes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from canvasback.registry import aliases, reads, sources, versions
from canvasback.tracking import logged_models

if TYPE_CHECKING:
    from canvasback.registry.entities import AliasMove
    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog


@dataclass(frozen=True)
class DatasetInput:
    """A dataset the version's source run logged as an input (``log_input``)."""

    name: str
    digest: str
    source: str
    source_type: str
    context: str
    """What the run used it for (``training``, ``evaluation``, ...; ``""`` if unsaid)."""


@dataclass(frozen=True)
class Lineage:
    """Where a model version comes from, and the aliases that point or pointed at it."""

    name: str
    version: str
    source: str
    run_id: str | None
    """The run that made it (None for a version of a folder outside any run)."""
    run_name: str | None = None
    experiment_id: str | None = None
    artifact_path: str | None = None
    """The model's folder in the run's artifacts."""
    logged_model_id: str | None = None
    """The logged model (``models:/m-<id>``) it was registered from, if any."""
    datasets: list[DatasetInput] = field(default_factory=list)
    git_commit: str | None = None
    code: dict[str, str] = field(default_factory=dict)
    """The code the run captured: ``canvasback.source.*`` tags, the prefix left out."""
    environment: dict[str, str] = field(default_factory=dict)
    """Its environment: ``canvasback.env.*`` tags, the prefix left out."""
    aliases: list[str] = field(default_factory=list)
    """The aliases that point at it now."""
    alias_moves: list[AliasMove] = field(default_factory=list)
    """Every move of an alias onto it or off it, oldest first."""


def get(store: Store, name: str, version: object) -> Lineage:
    """The lineage of one version of a registered model."""
    row = versions.row(store, name, version)
    return of_row(store, store.catalog, row)  # row() has just read the store


def of_row(store: Store, catalog: Catalog, row: reads.Row) -> Lineage:
    """The lineage of the version of ``row`` (``model_versions``), as ``catalog`` holds it."""
    name, model_id, number = row["name"], row["model_id"], row["version"]
    rows = reads.lineage_rows(catalog, model_id, number)
    first = rows[0]  # a live version has a row of the view, with or without datasets
    moves = [
        move
        for move in aliases.history_of(catalog, model_id)
        if str(number) in (move.to_version, move.from_version)
    ]
    return Lineage(
        name=name,
        version=str(number),
        source=row["source"],
        run_id=row["run_id"],
        run_name=first["run_name"],
        experiment_id=first["experiment_id"],
        artifact_path=first["artifact_path"],
        logged_model_id=_logged_model(store, row["source"], first["artifact_path"]),
        datasets=[
            DatasetInput(
                name=r["dataset_name"],
                digest=r["dataset_digest"],
                source=r["dataset_source"],
                source_type=r["dataset_source_type"],
                context=r["dataset_context"],
            )
            for r in rows
            if r["dataset_name"] is not None
        ],
        git_commit=first["git_commit"],
        code=dict(first["code"]),
        environment=dict(first["environment"]),
        aliases=list(first["aliases"]),
        alias_moves=moves,
    )


def _logged_model(store: Store, source: str, artifact_path: str | None) -> str | None:
    """The logged model a version's source is: named, or holding the run's folder."""
    if source.startswith(sources.MODELS_PREFIX):
        body = source.removeprefix(sources.MODELS_PREFIX).strip("/")
        return body if logged_models.is_model_id(body) else None
    if source.startswith("runs:/"):
        run_id = source.removeprefix("runs:/").lstrip("/").partition("/")[0]
        return logged_models.model_at(store, run_id, artifact_path or "")
    return None
