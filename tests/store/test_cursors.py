"""Cursors on the catalog: their temp tables are their own, every statement is logged."""

from __future__ import annotations

import duckdb
import pytest
from tests.query.test_sql_snapshots import recorded

import canvasback
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


def _temp_tables(query) -> set[str]:
    return {r[0] for r in query("SELECT table_name FROM duckdb_tables() WHERE temporary")}


def test_a_cursor_s_temp_tables_are_its_own_and_go_when_it_closes(store):
    canvasback.log_param("lr", 0.1)
    canvasback.end_run()
    catalog = Store(store).read()
    mine, other = catalog.cursor(), catalog.cursor()
    try:
        mine.rows("CREATE TEMP TABLE picked AS SELECT run_id FROM runs")
        # It sees the catalog's views beside its own table...
        assert mine.rows("SELECT count(*) FROM picked JOIN params USING (run_id)") == [(1,)]
        # ...and nobody else sees its table: not the catalog, another cursor, or user SQL.
        assert "picked" not in _temp_tables(catalog.rows)
        assert "picked" not in _temp_tables(other.rows)
        with pytest.raises(duckdb.CatalogException, match="picked"):
            canvasback.sql("SELECT * FROM picked")
        other.rows("CREATE TEMP TABLE picked AS SELECT 1 AS x")  # the same name, its own
        assert other.rows("SELECT * FROM picked") == [(1,)]
        assert len(mine.rows("SELECT * FROM picked")) == 1
        mine.close()
        # Closed, it answers nothing and its table is gone; the other's table stays.
        with pytest.raises(RuntimeError, match="closed"):
            mine.rows("SELECT 1")
        assert other.rows("SELECT * FROM picked") == [(1,)]
        fresh = catalog.cursor()
        try:
            assert "picked" not in _temp_tables(fresh.rows)
        finally:
            fresh.close()
    finally:
        mine.close()
        other.close()
        catalog.close()
