"""Last-writer-wins resolution of mutable facts (status, end time, tags, deletions).

Events are appended, never updated. The resolved state keeps, per (entity, kind, key),
the event that is greatest by (timestamp, writer, seq): a total order that does not
depend on which process reads, nor on the order files are loaded in. Merging is
idempotent, so loading an event twice (once from a segment, once from the compacted
file that replaced it) changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from canvasback.store import schema
from canvasback.store.read.relations import FACTS

if TYPE_CHECKING:
    import duckdb

# Strictly newer: ties (the same event loaded twice) keep the row already there.
_NEWER = (
    "(n.timestamp > s.timestamp OR (n.timestamp = s.timestamp AND "
    "(n.writer > s.writer OR (n.writer = s.writer AND n.seq > s.seq))))"
)
_SAME_FACT = "s.entity_id = n.entity_id AND s.kind = n.kind AND s.key = n.key"
_KEY = ("entity_id", "kind", "key")
_COLUMNS = ("experiment_id", *schema.EVENTS.column_names)


class Fact(NamedTuple):
    """A fact a merge set: its entity, kind, key and value (None: a deleted tag)."""

    entity_id: str
    kind: str
    key: str
    value: str | None


def merge_events(
    con: duckdb.DuckDBPyConnection, source_sql: str, params: list[object]
) -> list[Fact]:
    """Merge the events selected by ``source_sql`` into the resolved state.

    Returns the facts that changed (an event older than the fact, or the same event
    again, changes none), for tables derived from the state. One statement: at a
    refresh after a small write each statement costs more than the rows it reads.
    """
    rows = con.execute(
        f"""
        MERGE INTO {FACTS} s
        USING (
            SELECT * FROM ({source_sql})
            QUALIFY row_number() OVER (
                PARTITION BY entity_id, kind, key
                ORDER BY timestamp DESC, writer DESC, seq DESC
            ) = 1
        ) n
        ON {_SAME_FACT}
        WHEN MATCHED AND {_NEWER} THEN
            UPDATE SET {", ".join(f"{c} = n.{c}" for c in _COLUMNS if c not in _KEY)}
        WHEN NOT MATCHED THEN
            INSERT ({", ".join(_COLUMNS)}) VALUES ({", ".join(f"n.{c}" for c in _COLUMNS)})
        RETURNING s.entity_id, s.kind, s.key, s.value
        """,
        params,
    ).fetchall()
    return [Fact(*row) for row in rows]
