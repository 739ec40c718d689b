"""Cursors on the catalog: every statement sent through one is logged with its parameters."""

from __future__ import annotations

from tests.query.test_sql_snapshots import recorded

from canvasback.store import Store


def test_a_statement_is_recorded_with_its_parameters(store):
    catalog = Store(store).read()
    with recorded() as statements:
        catalog.rows("SELECT ? AS x", [1])
        cursor = catalog.cursor()
        try:
            cursor.arrow("SELECT 2 AS y")
        finally:
            cursor.close()
    assert statements == [("SELECT ? AS x", [1]), ("SELECT 2 AS y", None)]
    catalog.rows("SELECT 3")
    assert len(statements) == 2  # recorded while the block runs only
