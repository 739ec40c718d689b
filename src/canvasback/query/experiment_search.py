"""Experiment search: MLflow's ``search_experiments`` filter and order over the views.

The grammar is the run filter's (``OR`` and parentheses included) with experiments'
attributes (``name``, ``creation_time``, ``last_update_time``, ...) and ``tags.``; every
value is a bound parameter. Experiments come back as dicts of ``Experiment``'s fields:
the tracking API makes its records of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from canvasback.query import filter as run_filter
from canvasback.query.search import check_page_size, filtered_where
from canvasback.query.tag_columns import TaggedColumns
from canvasback.store import schema
from canvasback.store.read import relations

if TYPE_CHECKING:
    from canvasback._config import StoreAddress
    from canvasback.store.read.catalog import Catalog


def search_experiments(
    catalog: Catalog,
    root: StoreAddress,
    *,
    view: object = "ACTIVE_ONLY",
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    max_results: int | None = None,
    experiment_ids: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Experiments that match, in the requested order (oldest first by default)."""
    check_page_size("max_results", max_results)
    expr = run_filter.parse_filter(filter_string, run_filter.EXPERIMENTS)
    keys = run_filter.parse_order_by(order_by, run_filter.EXPERIMENTS)
    columns = TaggedColumns(
        {a: f"x.{a}" for a in run_filter.EXPERIMENTS.attributes},
        "experiment_tags",
        "{t}.experiment_id = x.experiment_id",
    )
    where, params = filtered_where(view, "x", experiment_ids, expr, columns)
    order = [
        f"{columns(k.entity, k.key)} {'ASC' if k.ascending else 'DESC'} NULLS LAST" for k in keys
    ]
    order += ["x.creation_time", "TRY_CAST(x.experiment_id AS BIGINT)"]
    limit = "" if max_results is None else f" LIMIT {int(max_results):d}"
    rows = catalog.rows(
        "SELECT x.experiment_id, x.name, x.artifact_location, x.lifecycle_stage, "
        f"x.creation_time, x.last_update_time FROM experiments x {' '.join(columns.joins)} "
        f"WHERE {' AND '.join(where)} ORDER BY {', '.join(order)}{limit}",
        [*columns.params, *params],
    )
    tags: dict[str, dict[str, str]] = {}
    for eid, key, value in catalog.rows("SELECT experiment_id, key, value FROM experiment_tags"):
        tags.setdefault(eid, {})[key] = value
    return [
        {
            "experiment_id": eid,
            "name": name,
            "artifact_location": _location_uri(root, loc),
            "lifecycle_stage": stage,
            "creation_time": created,
            "tags": tags.get(eid, {}),
            "last_update_time": updated,
        }
        for eid, name, loc, stage, created, updated in rows
    ]


def experiment_written(catalog: Catalog, experiment_id: str) -> bool:
    """Whether an experiment's row is in the store."""
    table = relations.rows("experiments")
    return bool(catalog.rows(f"SELECT 1 FROM {table} WHERE experiment_id = ?", [experiment_id]))


def experiment_changes(catalog: Catalog, experiment_id: str) -> dict[tuple[str, str], str]:
    """An experiment's rename and lifecycle events: ``(kind, key) -> value``."""
    rows = catalog.rows(
        f"SELECT kind, key, value FROM {relations.FACTS} WHERE entity_id = ? AND kind IN (?, ?)",
        [experiment_id, schema.EVENT_EXPERIMENT_NAME, schema.EVENT_EXPERIMENT_LIFECYCLE],
    )
    return {(kind, key): value for kind, key, value in rows}


def _location_uri(root: StoreAddress, rel: str) -> str:
    """A store path as a URI: ``file:`` in a folder, ``s3://`` on object storage."""
    return (root / rel).as_uri() if isinstance(root, Path) else f"{root}/{rel}"
