"""Last-writer-wins resolution of mutable facts (status, end time, tags, deletions).

Events are appended, never updated. The resolved state keeps, per (entity, kind, key),
the event that is greatest by (timestamp, writer, seq): a total order that does not
depend on which process reads, nor on the order files are loaded in. Merging is
idempotent, so loading an event twice (once from a segment, once from the compacted
file that replaced it) changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback.store.read.relations import FACTS

if TYPE_CHECKING:
    import duckdb

# Strictly newer: ties (the same event loaded twice) keep the row already there.
_NEWER = (
    "(n.timestamp > s.timestamp OR (n.timestamp = s.timestamp AND "
    "(n.writer > s.writer OR (n.writer = s.writer AND n.seq > s.seq))))"
)
_SAME_FACT = "s.entity_id = n.entity_id AND s.kind = n.kind AND s.key = n.key"


def merge_events(
    con: duckdb.DuckDBPyConnection, source_sql: str, params: list[object]
) -> list[str]:
    """Merge the events selected by ``source_sql`` into the resolved state.

    Returns the entities whose facts were touched, for tables derived from the state.
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _new_events AS
        SELECT * FROM ({source_sql})
        QUALIFY row_number() OVER (
            PARTITION BY entity_id, kind, key ORDER BY timestamp DESC, writer DESC, seq DESC
        ) = 1
        """,
        params,
    )
    con.execute(f"DELETE FROM {FACTS} s USING _new_events n WHERE {_SAME_FACT} AND {_NEWER}")
    con.execute(
        f"""
        INSERT INTO {FACTS}
        SELECT n.experiment_id, n.entity_id, n.kind, n.key, n.value, n.timestamp,
               n.writer, n.seq
        FROM _new_events n
        WHERE NOT EXISTS (SELECT 1 FROM {FACTS} s WHERE {_SAME_FACT})
        """
    )
    touched = [r[0] for r in con.execute("SELECT DISTINCT entity_id FROM _new_events").fetchall()]
    con.execute("DROP TABLE _new_events")
    return touched
