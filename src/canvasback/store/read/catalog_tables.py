"""The catalog's DuckDB tables and views: what ``canvasback.sql`` sees, in one place.

The tables are made from the tables' columns (``schema.py``, ``declarations.py``): each
keyed table's merged rows (``rows(name)``), the resolved facts, the latest metric
values (and, in ``wide.py``, the wide run table). The views over them are the names
users query: the store's own here, then every declared layer's. Times are milliseconds
since the epoch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from canvasback.store import declarations, liveness, schema
from canvasback.store.read import wide
from canvasback.store.read.relations import FACTS, LATEST, RUNS_WIDE, rows, union_view

if TYPE_CHECKING:
    import duckdb


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the catalog's tables, empty: every keyed table's rows, facts, metrics."""
    for table in declarations.tables():
        if table.keys:
            con.execute(f"CREATE OR REPLACE TABLE {rows(table.name)} ({table.catalog_columns()})")
    con.execute(f"CREATE OR REPLACE TABLE {FACTS} ({schema.EVENTS.catalog_columns()})")
    con.execute(f"CREATE OR REPLACE TABLE {LATEST} ({schema.METRICS.catalog_columns()})")


def views() -> dict[str, str]:
    """The views' SQL, in the order a catalog creates them: the store's, then the declared."""
    store_views = {
        # A rename's or a deletion's event is keyed by its slot in the experiment's log
        # (earlier versions wrote key ''): the greatest key is the latest change. One
        # pass over the experiments' own facts, not a group of every run's.
        "experiments": f"""
            SELECT e.experiment_id, coalesce(c.name, e.name) AS name, e.artifact_location,
                   coalesce(c.lifecycle, 'active') AS lifecycle_stage, e.creation_time,
                   greatest(e.creation_time, c.updated) AS last_update_time
            FROM {rows("experiments")} e
            LEFT JOIN ({_experiment_changes()}) c ON c.entity_id = e.experiment_id
        """,
        "runs": "SELECT "
        + ", ".join(
            f"{liveness.status_sql('w')} AS status" if a == "status" else f"w.{a}"
            for a in wide.ATTRIBUTES
        )
        + f" FROM {RUNS_WIDE} w",
        "params": f"SELECT experiment_id, run_id, key, value FROM {union_view(rows('params'))}",
        "tags": f"""
            SELECT experiment_id, entity_id AS run_id, key, value FROM {union_view(FACTS)}
            WHERE kind = '{schema.EVENT_TAG}' AND value IS NOT NULL
        """,
        "experiment_tags": f"""
            SELECT entity_id AS experiment_id, key, value FROM {FACTS}
            WHERE kind = '{schema.EVENT_EXPERIMENT_TAG}' AND value IS NOT NULL
        """,
        "latest_metrics": (
            f"SELECT experiment_id, run_id, key, step, timestamp, value FROM {union_view(LATEST)}"
        ),
        "datasets": f"""
            SELECT experiment_id, run_id, name, digest, context, source_type, source,
                   schema, profile, timestamp FROM {union_view(rows("inputs"))}
        """,
        "artifacts": f"""
            SELECT experiment_id, run_id, path, size, timestamp FROM {union_view(rows("artifacts"))}
            QUALIFY row_number() OVER (PARTITION BY run_id, path ORDER BY timestamp DESC) = 1
        """,
    }
    declared = dict(declarations.views())
    clashes = sorted(store_views.keys() & declared.keys())
    if clashes or len(declared) != len(declarations.views()):
        msg = f"declared views clash with others of the same name: {clashes or 'among themselves'}"
        raise ValueError(msg)
    return store_views | declared


def _experiment_changes() -> str:
    """Each experiment's latest name and lifecycle (by greatest key) and last change."""
    kinds = (
        schema.EVENT_EXPERIMENT_LIFECYCLE,
        schema.EVENT_EXPERIMENT_NAME,
        schema.EVENT_EXPERIMENT_TAG,
    )
    return (
        "SELECT entity_id, max(timestamp) AS updated, "
        f"arg_max(value, key) FILTER (WHERE kind = '{schema.EVENT_EXPERIMENT_NAME}') AS name, "
        f"arg_max(value, key) FILTER (WHERE kind = '{schema.EVENT_EXPERIMENT_LIFECYCLE}') "
        f"AS lifecycle FROM {FACTS} WHERE kind IN ({', '.join(repr(k) for k in kinds)}) "
        "GROUP BY entity_id"
    )


EMPTY_METRICS: Final = (
    "SELECT "
    + ", ".join(
        f"NULL::{sql_type} AS {name}"
        for name, sql_type in (("experiment_id", "VARCHAR"), *schema.METRICS.columns)
    )
    + " WHERE false"
)
"""The ``metrics`` view while no metric file is live: no row, the columns of one."""

PARQUET_ARGS: Final = "hive_partitioning = true, hive_types = {'exp': VARCHAR}"


def quote_identifier(name: str) -> str:
    """A DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_list(paths: list[str]) -> str:
    """A DuckDB list literal of paths (for a view, where no parameter can be bound)."""
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
