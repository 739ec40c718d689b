"""The union views: each run-level table as the snapshot's rows plus the memory's.

For a table ``t`` in memory, ``union_view(t)`` (``_params_v``, ``_state_v``, ...) is the
snapshot's rows of the runs not shadowed (``shadow.py``), read from its file where it
lies, plus the rows in memory; without a snapshot it is the memory alone. The wide view
(``RUNS_WIDE``) is the snapshot's mapped wide rows plus the wide rows built in memory,
whose columns grow as keys come: it is made again when a key's column is added.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback.store.read import relations, snapshots

if TYPE_CHECKING:
    import duckdb

    from canvasback.store.read.base import SnapshotBase


class UnionViews:
    """Makes (and remakes) the union views of a catalog over its snapshot base."""

    def __init__(self, con: duckdb.DuckDBPyConnection, base: SnapshotBase) -> None:
        self.con = con
        self.base = base
        self.hiding = False
        """Some runs are shadowed: each view leaves their snapshot rows out."""
        self._tail = False  # the wide table in memory has had rows: the view unions it

    def create(self) -> None:
        """(Re)create every union view; the wide one follows the wide table's columns."""
        for table, (stem, column) in snapshots.split().items():
            body = f"SELECT * FROM {table}"
            if self.base.snapshot is not None:
                body = (
                    f"SELECT * FROM {self.base.source(stem)}{self._unshadowed(column)} "
                    f"UNION ALL BY NAME {body}"
                )
            self.con.execute(f"CREATE OR REPLACE VIEW {relations.union_view(table)} AS {body}")
        self.create_wide()

    def create_wide(self, *, tail: bool = False) -> None:
        """(Re)create the wide view, when a key's column or the first row in memory comes.

        Until the wide table in memory has a row (``tail``), a search scans the snapshot's.
        """
        self._tail = self._tail or tail
        body = f"SELECT * FROM {relations.WIDE}"
        if self.base.snapshot is not None:
            body = f"SELECT * FROM {relations.WIDE_BASE}{self._unshadowed('run_id')}"
            if self._tail:
                body += f" UNION ALL BY NAME SELECT * FROM {relations.WIDE}"
        self.con.execute(f"CREATE OR REPLACE VIEW {relations.RUNS_WIDE} AS {body}")

    def follow_tail(self) -> None:
        """After the wide table in memory changed: the view unions it once it has rows."""
        if self.base.snapshot is not None and not self._tail:
            self.create_wide(tail=True)

    def _unshadowed(self, column: str) -> str:
        # No anti-join while nothing is shadowed: the usual tail holds only new runs.
        return f" WHERE {column} NOT IN (SELECT id FROM {relations.SHADOW})" if self.hiding else ""
