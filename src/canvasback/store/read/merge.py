"""Merging new segment files into the catalog's in-memory tables, one table at a time.

Every rule is idempotent, so a file loaded twice (a segment, then the compacted file
that replaced it) changes nothing: a run's row and its artifacts are kept once, a param
is write-once (the first by timestamp, then value, wins in every reader alike), a fact
is the latest event by (timestamp, writer, seq), a metric's latest value is the one of
the greatest (step, timestamp, value). With a snapshot under the catalog, the rows it
holds of the runs a file touches are brought into memory first (``shadow.py``), so the
same rules see the whole run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from canvasback.store import layout
from canvasback.store.read import events
from canvasback.store.read.catalog_tables import MATERIALIZED, PARQUET_ARGS
from canvasback.store.read.relations import FACTS, LATEST

if TYPE_CHECKING:
    import duckdb

    from canvasback.store.read.shadow import Shadow

# Tables whose rows belong to runs (events: to runs and other entities).
RUN_SCOPED: Final = frozenset({"runs", "params", "metrics", "events", "artifacts", "inputs"})
_SOURCE: Final = f"read_parquet(?, {PARQUET_ARGS})"


def merge_files(
    con: duckdb.DuckDBPyConnection, shadow: Shadow, table: str, paths: list[str]
) -> set[str]:
    """Merge one table's files (inside the caller's transaction); returns the runs touched."""
    dirty = _hydrate_for(con, shadow, table, paths)
    if table in MATERIALIZED:
        return dirty | _merge_rows(con, table, paths)
    if table == "events":
        touched = events.merge_events(
            con,
            f"SELECT exp AS experiment_id, entity_id, kind, key, value, timestamp, "
            f"writer, seq FROM {_SOURCE}",
            [paths],
        )
        # A heartbeat's entity is a writer: its running runs' last_seen moved.
        running = con.execute(
            f"SELECT entity_id FROM {FACTS} WHERE kind = ? "
            "AND value = 'RUNNING' AND list_contains(?, writer)",
            [layout.EVENT_STATUS, touched],
        ).fetchall()
        return dirty | set(touched) | {r[0] for r in running}
    return dirty | _merge_metrics(con, paths)


def _hydrate_for(
    con: duckdb.DuckDBPyConnection, shadow: Shadow, table: str, paths: list[str]
) -> set[str]:
    """Bring the snapshot's rows of the runs these files touch into memory first."""
    if shadow.base.snapshot is None or table not in RUN_SCOPED:
        return set()
    column = "entity_id" if table == "events" else "run_id"
    ids = [
        r[0] for r in con.execute(f"SELECT DISTINCT {column} FROM {_SOURCE}", [paths]).fetchall()
    ]
    if table == "events":  # a heartbeat's entity is a writer: its running runs move
        ids += shadow.base.running_of_writers(ids)
    return set(shadow.hydrate(ids))


def _merge_rows(con: duckdb.DuckDBPyConnection, table: str, paths: list[str]) -> set[str]:
    name, _cols, keys = MATERIALIZED[table]
    cols = [f"n.{f.name}" for f in layout.schema(table)]
    if table != "experiments":  # its rows carry their id; others get it from the path
        cols.insert(0, "n.exp")
    match = " AND ".join(f"t.{k} = n.{k}" for k in keys)
    # A param is write-once: when two processes logged one key with different values,
    # the first by (timestamp, value) wins, in every reader alike.
    first = " ORDER BY timestamp, value" if table == "params" else ""
    fresh = (
        f"(SELECT * FROM {_SOURCE} QUALIFY row_number() OVER "
        f"(PARTITION BY {', '.join(keys)}{first}) = 1) n"
    )
    if table == "params":
        con.execute(
            f"""
            UPDATE {name} t SET value = n.value, timestamp = n.timestamp
            FROM {fresh}
            WHERE {match} AND (n.timestamp, n.value) < (t.timestamp, t.value)
            """,
            [paths],
        )
    con.execute(
        f"""
        INSERT INTO {name}
        SELECT {", ".join(cols)}
        FROM {fresh}
        WHERE NOT EXISTS (SELECT 1 FROM {name} t WHERE {match})
        """,
        [paths],
    )
    if table not in ("runs", "params"):
        return set()
    rows = con.execute(f"SELECT DISTINCT run_id FROM {_SOURCE}", [paths]).fetchall()
    return {r[0] for r in rows}


def _merge_metrics(con: duckdb.DuckDBPyConnection, paths: list[str]) -> set[str]:
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _new_latest AS
        SELECT exp AS experiment_id, run_id, key,
               max(struct_pack(step := step, ts := timestamp, v := value)) AS m
        FROM {_SOURCE} GROUP BY ALL
        """,
        [paths],
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _merged AS
        SELECT experiment_id, run_id, key, max(m) AS m FROM (
            SELECT experiment_id, run_id, key,
                   struct_pack(step := step, ts := timestamp, v := value) AS m
            FROM {LATEST} l
            WHERE EXISTS (SELECT 1 FROM _new_latest n
                          WHERE n.run_id = l.run_id AND n.key = l.key)
            UNION ALL SELECT * FROM _new_latest
        ) GROUP BY ALL
        """
    )
    con.execute(
        f"DELETE FROM {LATEST} l USING _merged n WHERE n.run_id = l.run_id AND n.key = l.key"
    )
    con.execute(
        f"INSERT INTO {LATEST} SELECT experiment_id, run_id, key, m.step, m.ts, m.v FROM _merged"
    )
    touched = {r[0] for r in con.execute("SELECT DISTINCT run_id FROM _merged").fetchall()}
    con.execute("DROP TABLE _new_latest; DROP TABLE _merged")
    return touched
