"""The catalog's DuckDB tables and views: what ``canvasback.sql`` sees, in one place.

Run-level tables are materialised (``_experiments``, ``_runs``, ``_params``,
``_artifacts``, ``_latest_metrics``, the events' resolved state and the wide run
table); the views over them are the names users query. Times are milliseconds since
the epoch.
"""

from __future__ import annotations

from typing import Final

from canvasback.store import events, layout, liveness, registry_tables, wide

MATERIALIZED: Final = {
    "experiments": (
        "_experiments",
        "experiment_id VARCHAR, name VARCHAR, artifact_location VARCHAR, creation_time BIGINT",
        ("experiment_id",),
    ),
    "runs": (
        "_runs",
        (
            "experiment_id VARCHAR, run_id VARCHAR, run_name VARCHAR, start_time BIGINT, "
            "parent_run_id VARCHAR, user_id VARCHAR, artifact_uri VARCHAR"
        ),
        ("run_id",),
    ),
    "params": (
        "_params",
        "experiment_id VARCHAR, run_id VARCHAR, key VARCHAR, value VARCHAR, timestamp BIGINT",
        ("run_id", "key"),
    ),
    "inputs": (
        "_inputs",
        (
            "experiment_id VARCHAR, run_id VARCHAR, name VARCHAR, digest VARCHAR, "
            "context VARCHAR, source_type VARCHAR, source VARCHAR, schema VARCHAR, "
            "profile VARCHAR, timestamp BIGINT"
        ),
        ("run_id", "name", "digest", "context"),
    ),
    "artifacts": (
        "_artifacts",
        "experiment_id VARCHAR, run_id VARCHAR, path VARCHAR, size BIGINT, timestamp BIGINT",
        ("run_id", "path", "timestamp"),
    ),
    **registry_tables.MATERIALIZED,
}

LATEST: Final = "_latest_metrics"


def views() -> dict[str, str]:
    """The views' SQL, created when a catalog opens."""
    return {
        # A rename's or a deletion's event is keyed by its slot in the experiment's log
        # (earlier versions wrote key ''): the greatest key is the latest change.
        "experiments": f"""
            SELECT e.experiment_id, coalesce(n.value, e.name) AS name, e.artifact_location,
                   coalesce(l.value, 'active') AS lifecycle_stage, e.creation_time,
                   greatest(e.creation_time, (SELECT max(u.timestamp) FROM {events.STATE_TABLE} u
                                              WHERE u.entity_id = e.experiment_id))
                       AS last_update_time
            FROM _experiments e
            LEFT JOIN ({_latest_by_key(layout.EVENT_EXPERIMENT_LIFECYCLE)}) l
                 ON l.entity_id = e.experiment_id
            LEFT JOIN ({_latest_by_key(layout.EVENT_EXPERIMENT_NAME)}) n
                 ON n.entity_id = e.experiment_id
        """,
        "runs": "SELECT "
        + ", ".join(
            f"{liveness.status_sql('w')} AS status" if a == "status" else f"w.{a}"
            for a in wide.ATTRIBUTES
        )
        + " FROM _wide_v w",
        "params": "SELECT experiment_id, run_id, key, value FROM _params_v",
        "tags": f"""
            SELECT experiment_id, entity_id AS run_id, key, value FROM {events.STATE_TABLE}_v
            WHERE kind = '{layout.EVENT_TAG}' AND value IS NOT NULL
        """,
        "experiment_tags": f"""
            SELECT entity_id AS experiment_id, key, value FROM {events.STATE_TABLE}
            WHERE kind = '{layout.EVENT_EXPERIMENT_TAG}' AND value IS NOT NULL
        """,
        "latest_metrics": (
            f"SELECT experiment_id, run_id, key, step, timestamp, value FROM {LATEST}_v"
        ),
        "datasets": """
            SELECT experiment_id, run_id, name, digest, context, source_type, source,
                   schema, profile, timestamp FROM _inputs_v
        """,
        "artifacts": """
            SELECT experiment_id, run_id, path, size, timestamp FROM _artifacts_v
            QUALIFY row_number() OVER (PARTITION BY run_id, path ORDER BY timestamp DESC) = 1
        """,
        **registry_tables.VIEWS,
    }


def _latest_by_key(kind: str) -> str:
    """Each entity's value of an event kind under its greatest key."""
    return (
        f"SELECT entity_id, arg_max(value, key) AS value FROM {events.STATE_TABLE} "
        f"WHERE kind = '{kind}' GROUP BY entity_id"
    )


EMPTY_METRICS: Final = (
    "SELECT NULL::VARCHAR AS experiment_id, NULL::VARCHAR AS run_id, NULL::VARCHAR AS key, "
    "NULL::BIGINT AS step, NULL::BIGINT AS timestamp, NULL::DOUBLE AS value WHERE false"
)

PARQUET_ARGS: Final = "hive_partitioning = true, hive_types = {'exp': VARCHAR}"


def quote_identifier(name: str) -> str:
    """A DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_list(paths: list[str]) -> str:
    """A DuckDB list literal of paths (for a view, where no parameter can be bound)."""
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
