"""A version's lineage as the registry panel draws it, as a trait value.

Datasets -> run -> logged model -> version -> aliases (those pointing at it now, and
those that did).

Read from the catalog the panel has just read (``registry.lineage.of_row``), with what
the graph's nodes open: the run's status, code and environment, each dataset's source,
schema and profile where the run logged them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canvasback import query
from canvasback.registry import lineage, panel_reads, reads

if TYPE_CHECKING:
    from canvasback.registry.entities import AliasMove
    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog


def move_fields(move: AliasMove) -> dict[str, Any]:
    """An alias move as the panel sends it (versions as numbers, forced or not)."""
    return {
        "alias": move.alias,
        "from_version": None if move.from_version is None else int(move.from_version),
        "to_version": None if move.to_version is None else int(move.to_version),
        "timestamp": move.timestamp,
        "user_id": move.user_id,
        "host": move.host,
        "forced": move.forced,
        "overrode": move.overrode,
    }


def of_version(store: Store, catalog: Catalog, key: str) -> dict[str, Any]:
    """The lineage of the version ``"<model>/<version>"``; {} if it is not a live version."""
    row = panel_reads.version_by_key(catalog, key)
    if row is None:
        return {}
    found = lineage.of_row(store, catalog, row)
    run = None
    logged: dict[tuple[str, str, str], dict[str, Any]] = {}
    if found.run_id is not None:
        info = query.run_info(catalog, found.run_id, store.address)
        run = {
            "run_id": found.run_id,
            "run_name": found.run_name,
            "experiment_id": found.experiment_id,
            "status": None if info is None else info["status"],
            "git_commit": found.git_commit,
            "code": found.code,
            "environment": found.environment,
        }
        logged = {
            (d["name"], d["digest"], d["context"]): d
            for d in panel_reads.dataset_inputs(catalog, found.run_id)
        }
    datasets = []
    for d in found.datasets:
        more = logged.get((d.name, d.digest, d.context), {})
        datasets.append(
            {
                "name": d.name,
                "digest": d.digest,
                "source": d.source,
                "source_type": d.source_type,
                "context": d.context,
                "schema": reads.json_object(more.get("schema") or ""),
                "profile": reads.json_object(more.get("profile") or ""),
            }
        )
    moved = {m.alias for m in found.alias_moves}
    return {
        "key": key,
        "name": found.name,
        "version": int(found.version),
        "source": found.source,
        "artifact_path": found.artifact_path,
        "logged_model_id": found.logged_model_id,
        "run": run,
        "datasets": datasets,
        "aliases": list(found.aliases),
        "past_aliases": sorted(moved - set(found.aliases)),
        "moves": [move_fields(m) for m in found.alias_moves],
    }


def versions_on_dataset(catalog: Catalog, digest: str) -> list[dict[str, Any]]:
    """The versions trained on (whose source run logged) the dataset ``digest``."""
    return [
        {
            "name": r["name"],
            "version": int(r["version"]),
            "run_id": r["run_id"],
            "run_name": r["run_name"],
            "context": r["context"],
        }
        for r in panel_reads.versions_on_dataset(catalog, digest)
    ]
