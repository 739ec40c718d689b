"""``sql()`` answers queries over the store's views and can change nothing the API reads."""

from __future__ import annotations

import contextlib

import duckdb
import pytest

import canvasback as cb


@pytest.fixture
def one_run(store):
    del store  # the fresh store the run goes to
    with cb.start_run(run_name="kept", params={"lr": "0.1"}) as run:
        cb.log_metric("acc", 0.9)
        cb.set_tag("team", "vision")
    return run.run_id


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM _params",
        "UPDATE _wide SET status = 'FAILED'",
        "DROP VIEW runs",
        "SET enable_external_access = true",
        "CREATE TABLE mine AS SELECT 1",
        "INSERT INTO _runs SELECT * FROM _runs",
        "ATTACH ':memory:' AS other",
        "COPY (SELECT 1) TO 'anywhere.csv'",
        "SELECT 1; DELETE FROM _params",
    ],
)
def test_statements_run_in_a_database_of_their_own_and_change_nothing(
    one_run, statement, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    with contextlib.suppress(duckdb.Error):  # refused there, or run on the user's own tables
        cb.sql(statement)
    frame = cb.search_runs(filter_string="params.lr = '0.1'")
    assert frame["run_id"].tolist() == [one_run]
    assert frame["status"].tolist() == ["FINISHED"]
    assert cb.get_run(one_run).data.params == {"lr": "0.1"}
    assert cb.sql("SELECT count(*) FROM runs").fetchall() == [(1,)]
    assert not (tmp_path / "anywhere.csv").exists()


def test_queries_still_answer(one_run):
    assert cb.sql("SELECT run_id FROM runs").fetchall() == [(one_run,)]
    assert cb.sql("FROM latest_metrics SELECT key, value").fetchall() == [("acc", 0.9)]
    assert cb.sql("SELECT value FROM tags WHERE key = ?", ["team"]).fetchall() == [("vision",)]
    assert "physical_plan" in str(cb.sql("EXPLAIN SELECT * FROM params").fetchall())
    assert cb.sql("SELECT 1").fetchall() == [(1,)]
    assert cb.sql('SELECT count(*) FROM "Runs" r JOIN PARAMS p USING (run_id)').fetchall() == [(1,)]
