"""``sql()`` runs in a DuckDB database of its own: nothing it runs changes what the API answers.

Every statement below once reached the catalog's own tables (through ``EXPLAIN ANALYZE``,
which runs its statement, or through the relation's own methods). They run now where
the catalog's tables do not exist and no file can be opened, and every answer of the
API afterwards is what it was.
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
        duckdb.Error,
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


def test_the_relation_s_own_methods_reach_only_the_user_s_database(one_run, store):
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
    with pytest.raises(duckdb.Error):
        relation.query("x", f"COPY (SELECT 1 AS a) TO '{store}/params/exp=0/seg-evil.parquet'")
    with pytest.raises(duckdb.Error):
        relation.write_parquet(str(store / "params" / "exp=0" / "seg-evil.parquet"))
    with pytest.raises(duckdb.Error):
        relation.query("x", "SET enable_external_access = true")
    assert _answers(one_run) == before
    assert _store_files(store) == files


def test_tables_made_in_sql_are_the_user_s_and_never_hide_a_view(one_run):
    cb.sql("CREATE OR REPLACE TABLE runs AS SELECT 'forged' AS run_id")
    cb.sql("CREATE OR REPLACE TABLE mine AS SELECT 42 AS answer")
    assert cb.sql("SELECT run_id FROM runs").fetchall() == [(one_run,)]
    assert cb.sql("SELECT answer FROM mine").fetchall() == [(42,)]
    assert cb.get_run(one_run).info.run_name == "kept"


def test_no_file_can_be_read_or_written(one_run, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text(f"run_id,label\n{one_run},good\n")
    with pytest.raises(duckdb.PermissionException):
        cb.sql("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(duckdb.PermissionException):
        cb.sql(f"SELECT * FROM '{labels}'")
    with pytest.raises(duckdb.PermissionException):
        cb.sql(f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'")
    assert not (tmp_path / "out.csv").exists()
    # A result leaves as Arrow (or a DataFrame): the caller's own DuckDB joins files.
    own = duckdb.connect()
    own.register("runs", cb.sql("SELECT run_id, run_name FROM runs").to_arrow_table())
    joined = own.sql(f"SELECT run_name, label FROM runs JOIN '{labels}' USING (run_id)")
    assert joined.fetchall() == [("kept", "good")]


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
