"""``sql()`` runs in a DuckDB database of its own: nothing it runs changes what the API answers.

Every statement below once reached the catalog's own tables (through ``EXPLAIN ANALYZE``,
which runs its statement, or through the relation's own methods). They run now where
the catalog's tables do not exist, and every answer of the API afterwards is what it
was. That database reads any file the user can; a statement that writes files or
brings in code is refused before any statement of the query runs.
"""

from __future__ import annotations

import duckdb
import pytest

import canvasback as cb
from canvasback.store import layout


@pytest.fixture
def one_run(store):
    del store  # the fresh store the run goes to
    with cb.start_run(run_name="kept", params={"lr": "0.1", "depth": "3"}) as run:
        cb.log_metric("acc", 0.5, step=0)
        cb.log_metric("acc", 0.9, step=1)
        cb.set_tag("team", "vision")
    return run.run_id


def _answers(run_id: str) -> dict[str, object]:
    """What the API says of the store: one run read by id, and a search."""
    run = cb.get_run(run_id)
    frame = cb.search_runs(filter_string="params.lr = '0.1'")
    return {
        "status": run.info.status,
        "params": run.data.params,
        "metrics": run.data.metrics,
        "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        "history": [(m.step, m.value) for m in cb.Client().get_metric_history(run_id, "acc")],
        "search": frame[["run_id", "status", "params.lr", "metrics.acc"]].values.tolist(),
        "sql": cb.sql("SELECT count(*) FROM runs, params, tags, metrics").fetchall(),
    }


def _store_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


EXPLAIN_ANALYZE = [
    # (statement, what DuckDB answers in the user's own database: None when it runs there)
    ("DELETE FROM _params", duckdb.CatalogException),
    ("UPDATE _wide SET status = 'FAILED'", duckdb.CatalogException),
    ("DELETE FROM params", duckdb.Error),  # a read-only copy of the view
    ("CREATE OR REPLACE TABLE _runs AS SELECT 1 AS x", None),
    ("DROP VIEW tags", None),  # the copy this query was given, nothing else
    (
        f"COPY (SELECT 1 AS a) TO '{{root}}/runs/exp=0/{layout.segment_name(1, 'x', 0)}'",
        cb.StatementRefusedError,
    ),
]


@pytest.mark.parametrize(("statement", "outcome"), EXPLAIN_ANALYZE)
def test_explain_analyze_of_a_statement_changes_nothing_the_api_answers(
    one_run, store, statement, outcome
):
    before, files = _answers(one_run), _store_files(store)
    query = f"EXPLAIN ANALYZE {statement.format(root=store)}"
    if outcome is None:
        cb.sql(query)
    else:
        with pytest.raises(outcome):
            cb.sql(query)
    assert _answers(one_run) == before
    assert _store_files(store) == files


def test_the_relation_s_own_methods_reach_only_the_user_s_database(one_run, store, tmp_path):
    before, files = _answers(one_run), _store_files(store)
    relation = cb.sql("SELECT 1")
    with pytest.raises(duckdb.CatalogException):
        relation.query("x", "UPDATE _wide SET status = 'FAILED'")
    with pytest.raises(duckdb.CatalogException):
        relation.query("x", "DELETE FROM _params")
    forged = cb.sql("SELECT experiment_id, run_id, 'lr' AS key, '9' AS value, 0 AS t FROM params")
    with pytest.raises(duckdb.CatalogException):
        forged.insert_into("_params")
    with pytest.raises(duckdb.Error):
        forged.insert_into("params")
    with pytest.raises(duckdb.Error):  # the settings are locked, whatever runs them
        relation.query("x", "SET lock_configuration = false")
    # The relation is DuckDB's: its methods are the caller's own, unchecked, and write
    # where they are told, as the caller's own DuckDB would; still not to the catalog.
    relation.query("x", f"COPY (SELECT 1 AS a) TO '{tmp_path / 'query.csv'}'")
    forged.write_parquet(str(tmp_path / "forged.parquet"))
    assert (tmp_path / "query.csv").read_text().split() == ["a", "1"]
    assert (tmp_path / "forged.parquet").exists()
    assert _answers(one_run) == before
    assert _store_files(store) == files


def test_files_are_read_and_joined_with_the_views(one_run, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text(f"run_id,label\n{one_run},good\n")
    joined = cb.sql(f"SELECT run_name, label FROM runs JOIN read_csv('{labels}') USING (run_id)")
    assert joined.fetchall() == [("kept", "good")]
    assert cb.sql(f"SELECT label FROM '{labels}'").fetchall() == [("good",)]
    (tmp_path / "labels.json").write_text(f'{{"run_id": "{one_run}", "score": 3}}\n')
    assert cb.sql(f"SELECT score FROM read_json('{tmp_path / 'labels.json'}')").fetchall() == [(3,)]
    duckdb.sql(f"COPY (SELECT 7 AS n) TO '{tmp_path / 'n.parquet'}'")  # the caller's DuckDB
    assert cb.sql(f"SELECT n FROM read_parquet('{tmp_path / '*.parquet'}')").fetchall() == [(7,)]
    assert cb.sql(f"SELECT count(*) FROM glob('{tmp_path / '*'}')").fetchall() == [(3,)]
    # Any file the user can read, as with DuckDB itself.
    assert cb.sql("SELECT count(*) FROM read_csv('/etc/passwd', sep = ':')").fetchall()[0][0] > 0
    # A file read into a table of the user's own, as the refusal of COPY says.
    cb.sql(f"CREATE OR REPLACE TABLE labels AS FROM read_csv('{labels}')")
    assert cb.sql("SELECT count(*) FROM labels JOIN runs USING (run_id)").fetchall() == [(1,)]


REFUSED = [
    "COPY (SELECT 1 AS a) TO 'out.csv'",
    "COPY runs TO 'out.parquet' (FORMAT parquet)",
    "COPY mine FROM 'labels.csv'",
    "/* a comment first */ copy (select 1) to 'out.csv'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO 'out.csv'",
    "EXPLAIN (FORMAT json) COPY (SELECT 1) TO 'out.csv'",
    "PREPARE p AS COPY (SELECT 1) TO 'out.csv'",
    "EXPLAIN PREPARE p AS COPY (SELECT 1) TO 'out.csv'",
    "SELECT 1; COPY (SELECT 1) TO 'out.csv'",
    "EXPORT DATABASE 'exported'",
    "IMPORT DATABASE 'exported'",
    "ATTACH 'other.duckdb' AS other",
    "DETACH other",
    "COPY FROM DATABASE memory TO other",
    "INSTALL httpfs",
    "FORCE INSTALL httpfs",
    "LOAD httpfs",
    "UPDATE EXTENSIONS",
    "SET enable_external_access = false",
    "RESET threads",
    "USE memory",
    "PRAGMA enable_profiling = 'json'",
    "PRAGMA table_info('runs')",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_statements_that_write_files_or_bring_in_code_are_refused_before_any_runs(
    one_run, store, tmp_path, monkeypatch, statement
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "labels.csv").write_text(f"run_id\n{one_run}\n")
    cb.sql("DROP TABLE IF EXISTS not_run")  # the user database lasts as long as the process
    before, files, here = _answers(one_run), _store_files(store), sorted(tmp_path.iterdir())
    with pytest.raises(cb.StatementRefusedError, match="does not run the statement") as refused:
        cb.sql(f"CREATE TABLE not_run AS SELECT 'x' AS run_id; {statement}")
    message = str(refused.value)
    assert " ".join(statement.split(";")[-1].split())[:40] in message  # names the statement
    assert "read_csv" in message  # and what is allowed
    with pytest.raises(duckdb.CatalogException):  # the statement before it never ran
        cb.sql("SELECT * FROM not_run")
    assert sorted(tmp_path.iterdir()) == here
    assert _answers(one_run) == before
    assert _store_files(store) == files


def test_the_refusal_of_copy_says_how_to_read_a_file_into_a_table(one_run):
    with pytest.raises(cb.StatementRefusedError) as refused:
        cb.sql("COPY mine FROM 'labels.csv'")
    assert "CREATE TABLE t AS FROM read_csv(" in str(refused.value)
    assert cb.get_run(one_run).info.run_name == "kept"


def test_statements_around_what_is_refused_still_run(one_run, tmp_path):
    assert cb.sql("SET VARIABLE threshold = 0.5; SELECT getvariable('threshold')").fetchall() == [
        (0.5,)
    ]
    plan = cb.sql("EXPLAIN ANALYZE SELECT count(*) FROM runs").fetchall()
    assert plan[0][0] == "analyzed_plan"
    assert cb.sql("PREPARE p AS SELECT run_id FROM runs; EXECUTE p").fetchall() == [(one_run,)]
    assert cb.sql("SELECT * FROM pragma_version()").fetchall()
    assert ("status", "VARCHAR") in [row[:2] for row in cb.sql("DESCRIBE runs").fetchall()]
    # A word that names a refused statement inside a query is only data.
    assert cb.sql("SELECT 'COPY x TO y' AS copy").fetchall() == [("COPY x TO y",)]
    assert not list(tmp_path.glob("*.csv"))


def test_pivot_reads_and_answers(one_run):
    rows = cb.sql("PIVOT params ON key USING first(value) GROUP BY run_id").fetchall()
    assert rows == [(one_run, "3", "0.1")]
    assert cb.sql("PIVOT latest_metrics ON key USING max(value)").fetchall()[0][-1] == 0.9


def test_a_relation_answers_lazily_over_the_state_it_was_made_from(one_run):
    relation = cb.sql("SELECT run_id FROM runs")
    metrics = cb.sql("SELECT step, value FROM metrics ORDER BY step")
    with cb.start_run(run_name="later"):
        cb.log_metric("acc", 0.1)
    assert relation.fetchall() == [(one_run,)]
    assert relation.df()["run_id"].tolist() == [one_run]  # run again: same answer
    assert relation.query("r", "SELECT count(*) FROM r").fetchall() == [(1,)]
    assert metrics.fetchall() == [(0, 0.5), (1, 0.9)]
    assert cb.sql("SELECT count(*) FROM runs").fetchall() == [(2,)]


def test_every_view_answers_from_a_snapshot_as_from_the_segments(one_run):
    queries = {
        "runs": "SELECT run_id, run_name, status FROM runs",
        "params": "SELECT key, value FROM params ORDER BY key",
        "metrics": "SELECT experiment_id, run_id, key, step, value FROM metrics ORDER BY step",
        "latest": "SELECT key, step, value FROM latest_metrics",
        "tags": "SELECT key, value FROM tags WHERE key = 'team'",
        "experiments": "SELECT experiment_id, name FROM experiments",
    }
    before = {name: cb.sql(q).fetchall() for name, q in queries.items()}
    assert cb.compact().snapshot is not None
    assert {name: cb.sql(q).fetchall() for name, q in queries.items()} == before
    assert before["metrics"][1][1:] == (one_run, "acc", 1, 0.9)
