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

from typing import TYPE_CHECKING, Final, NamedTuple

from canvasback.store import declarations, schema
from canvasback.store.read import events, wide
from canvasback.store.read.catalog_tables import PARQUET_ARGS
from canvasback.store.read.relations import FACTS, LATEST, rows

if TYPE_CHECKING:
    import duckdb

    from canvasback.store.read.shadow import Shadow
    from canvasback.store.schema import Table

_SOURCE: Final = f"read_parquet(?, {PARQUET_ARGS})"


class Merged(NamedTuple):
    """What a merge changed, for the wide rows (``wide.py``)."""

    runs: set[str]
    """The runs (or other entities) whose rows changed: their wide rows are rebuilt."""
    keys: set[str]
    """The key columns the merged rows hold a value of (``tags.team``): new ones are added."""


# The kinds of fact whose entity is a writer: the running runs of that writer move.
_WRITER_KINDS: Final = frozenset({schema.EVENT_HEARTBEAT, schema.EVENT_HEARTBEAT_INTERVAL})


def merge_files(
    con: duckdb.DuckDBPyConnection, shadow: Shadow, table: str, paths: list[str]
) -> Merged:
    """Merge one table's files (inside the caller's transaction): what changed."""
    spec = declarations.table(table)
    dirty = _hydrate_for(con, shadow, spec, paths)
    if spec.keys:
        merged = _merge_rows(con, spec, paths)
        return Merged(dirty | merged.runs, merged.keys)
    if spec is schema.EVENTS:
        columns = ", ".join(schema.EVENTS.column_names)
        facts = events.merge_events(
            con, f"SELECT exp AS experiment_id, {columns} FROM {_SOURCE}", [paths]
        )
        touched = {f.entity_id for f in facts}
        keys = {
            wide.key_name("tags", f.key)
            for f in facts
            if f.kind == schema.EVENT_TAG and f.value is not None
        }
        if any(f.kind in _WRITER_KINDS for f in facts):
            # A heartbeat's entity is a writer: its running runs' last_seen moved.
            running = con.execute(
                f"SELECT entity_id FROM {FACTS} WHERE kind = ? "
                "AND value = 'RUNNING' AND list_contains(?, writer)",
                [schema.EVENT_STATUS, sorted(touched)],
            ).fetchall()
            touched.update(r[0] for r in running)
        return Merged(dirty | touched, keys)
    merged = _merge_metrics(con, paths)
    return Merged(dirty | merged.runs, merged.keys)


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


def _merge_rows(con: duckdb.DuckDBPyConnection, spec: Table, paths: list[str]) -> Merged:
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
        return Merged(set(), set())
    if spec is not schema.PARAMS:  # a run's row: no key column
        runs = con.execute(f"SELECT DISTINCT {spec.run_column} FROM {_SOURCE}", [paths])
        return Merged({r[0] for r in runs.fetchall()}, set())
    keyed = con.execute(f"SELECT DISTINCT run_id, key FROM {_SOURCE}", [paths]).fetchall()
    return Merged({r[0] for r in keyed}, {wide.key_name("params", r[1]) for r in keyed})


def _merge_metrics(con: duckdb.DuckDBPyConnection, paths: list[str]) -> Merged:
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
    touched = con.execute("SELECT DISTINCT run_id, key FROM _merged").fetchall()
    con.execute("DROP TABLE _new_latest; DROP TABLE _merged")
    return Merged({r[0] for r in touched}, {wide.key_name("metrics", r[1]) for r in touched})
