"""Merging new segment files into the catalog's in-memory tables, one table at a time.

Every rule is idempotent, so a file loaded twice (a segment, then the compacted file
that replaced it) changes nothing: a keyed table keeps one row per natural key (a run's
row, its artifacts, a declared layer's rows: ``schema.Table.keys``), a param is
write-once (the first by timestamp, then value, wins in every reader alike:
``first_by``), a fact is the latest event by (timestamp, writer, seq), a metric's
latest value is the one of the greatest (step, timestamp, value). With a snapshot under
the catalog, the rows it holds of the runs a file touches are brought into memory first
(``shadow.py``), so the same rules see the whole run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from canvasback.store import declarations, schema
from canvasback.store.read import events, wide
from canvasback.store.read.catalog_tables import PARQUET_ARGS
from canvasback.store.read.relations import FACTS, LATEST, rows

if TYPE_CHECKING:
    import duckdb

    from canvasback.store.read.shadow import Shadow
    from canvasback.store.schema import Table

_SOURCE: Final = f"read_parquet(?, {PARQUET_ARGS})"


def merge_files(
    con: duckdb.DuckDBPyConnection, shadow: Shadow, table: str, paths: list[str]
) -> set[str]:
    """Merge one table's files (inside the caller's transaction); returns the runs touched."""
    spec = declarations.table(table)
    dirty = _hydrate_for(con, shadow, spec, paths)
    if spec.keys:
        return dirty | _merge_rows(con, spec, paths)
    if spec is schema.EVENTS:
        columns = ", ".join(schema.EVENTS.column_names)
        touched = events.merge_events(
            con, f"SELECT exp AS experiment_id, {columns} FROM {_SOURCE}", [paths]
        )
        # A heartbeat's entity is a writer: its running runs' last_seen moved.
        running = con.execute(
            f"SELECT entity_id FROM {FACTS} WHERE kind = ? "
            "AND value = 'RUNNING' AND list_contains(?, writer)",
            [schema.EVENT_STATUS, touched],
        ).fetchall()
        return dirty | set(touched) | {r[0] for r in running}
    return dirty | _merge_metrics(con, paths)


def _hydrate_for(
    con: duckdb.DuckDBPyConnection, shadow: Shadow, spec: Table, paths: list[str]
) -> set[str]:
    """Bring the snapshot's rows of the runs these files touch into memory first."""
    if shadow.base.snapshot is None or spec.run_column is None:
        return set()
    column = spec.run_column
    ids = [
        r[0] for r in con.execute(f"SELECT DISTINCT {column} FROM {_SOURCE}", [paths]).fetchall()
    ]
    if spec is schema.EVENTS:  # a heartbeat's entity is a writer: its running runs move
        ids += shadow.base.running_of_writers(ids)
    return set(shadow.hydrate(ids))


def _merge_rows(con: duckdb.DuckDBPyConnection, spec: Table, paths: list[str]) -> set[str]:
    """One row per natural key; of two rows of a key, the first by ``first_by`` wins."""
    name, keys, first_by = rows(spec.name), spec.keys, spec.first_by
    cols = [f"n.{c}" for c in spec.column_names]
    if schema.PARTITION_COLUMN not in spec.column_names:  # else its rows carry their id
        cols.insert(0, "n.exp")
    match = " AND ".join(f"t.{k} = n.{k}" for k in keys)
    first = f" ORDER BY {', '.join(first_by)}" if first_by else ""
    fresh = (
        f"(SELECT * FROM {_SOURCE} QUALIFY row_number() OVER "
        f"(PARTITION BY {', '.join(keys)}{first}) = 1) n"
    )
    if first_by:  # a row merged earlier gives way to one that comes first
        rest = ", ".join(f"{c} = n.{c}" for c in spec.column_names if c not in keys)
        before = (
            f"({', '.join(f'n.{c}' for c in first_by)}) < ({', '.join(f't.{c}' for c in first_by)})"
        )
        con.execute(f"UPDATE {name} t SET {rest} FROM {fresh} WHERE {match} AND {before}", [paths])
    con.execute(
        f"""
        INSERT INTO {name}
        SELECT {", ".join(cols)}
        FROM {fresh}
        WHERE NOT EXISTS (SELECT 1 FROM {name} t WHERE {match})
        """,
        [paths],
    )
    if spec.name not in wide.BUILT_FROM:
        return set()
    touched = con.execute(f"SELECT DISTINCT {spec.run_column} FROM {_SOURCE}", [paths])
    return {r[0] for r in touched.fetchall()}


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
