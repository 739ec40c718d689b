"""A run table's runs (query/run_set.py) on a real store: filtered and sorted into an
order table of its own cursor, paged from it, and the columns the runs could show."""

from __future__ import annotations

import logging
import math

import duckdb
import pytest

import canvasback
from canvasback.query.filter import parse_filter
from canvasback.query.run_set import Column, RunSet, SortKey, attribute_type, parse_column
from canvasback.store.read.cursors import STATEMENTS


@pytest.fixture
def runs(logged):
    run_set = RunSet(logged.store)
    run_set.refresh()
    run_set.load([logged.EXPERIMENT])
    yield run_set
    run_set.close()


def by(name: str, *, descending: bool = False) -> SortKey:
    return SortKey(parse_column(name), descending)


def test_the_active_runs_in_scope_newest_first(runs, logged):
    assert runs.rebuild(None, []) == 4
    assert runs.total == 4
    assert runs.ids() == ["run-d", "run-c", "run-b", "run-a"]  # run-e deleted, run-x elsewhere
    assert runs.ids(1, 3) == ["run-c", "run-b"]
    runs.load([])  # every experiment
    runs.rebuild(None, [])
    assert runs.ids()[0] == "run-x"
    assert set(runs.ids()) == set(logged.ACTIVE_IN_EXPERIMENT) | {"run-x"}


def test_a_filter_and_sort_keys(runs):
    assert runs.rebuild(parse_filter("metrics.acc >= 0.5"), [by("metrics.acc")]) == 3
    assert runs.ids() == ["run-c", "run-b", "run-a"]  # run-d's latest acc is NaN
    runs.rebuild(None, [by("metrics.acc", descending=True)])
    assert runs.ids() == ["run-a", "run-b", "run-c", "run-d"]  # NaN last either way
    runs.rebuild(None, [by("params.lr", descending=True)])
    assert runs.ids() == ["run-a", "run-b", "run-c", "run-d"]  # numbers by value, then "abc"
    runs.rebuild(None, [by("params.opt"), by("status", descending=True)])
    assert runs.ids() == ["run-d", "run-c", "run-a", "run-b"]  # adam: KILLED, FINISHED x2
    runs.rebuild(None, [by("tags.nothing")])  # no run has it: the default order
    assert runs.ids() == ["run-d", "run-c", "run-b", "run-a"]


def test_the_newest_runs_that_pass_the_filter_whatever_the_sort(runs):
    runs.rebuild(parse_filter("params.opt = 'adam'"), [by("run_name")])
    assert runs.ids() == ["run-a", "run-c", "run-d"]  # alpha, charlie, delta
    assert runs.newest(2) == ["run-d", "run-c"]
    assert runs.newest(10) == ["run-d", "run-c", "run-a"]


def test_pages_carry_the_columns_asked_for(runs):
    runs.rebuild(None, [by("run_name")])
    columns = [parse_column(n) for n in ("run_name", "metrics.acc", "params.lr", "tags.none")]
    page = runs.page(1, 2, columns)
    assert page.column_names == ["run_id", "run_name", "metrics.acc", "params.lr", "tags.none"]
    assert page.to_pydict() == {
        "run_id": ["run-b", "run-c"],
        "run_name": ["bravo", "charlie"],
        "metrics.acc": [0.6, 0.55],
        "params.lr": ["0.01", "1e-4"],
        "tags.none": [None, None],
    }
    assert runs.page(3, 10, columns).column("run_id").to_pylist() == ["run-d"]
    assert math.isnan(runs.page(3, 10, columns).column("metrics.acc")[0].as_py())
    assert runs.page(4, 10, columns).num_rows == 0
    assert runs.rows_of(["run-c", "run-a", "run-x"], columns[:1]).to_pydict() == {
        "run_id": ["run-a", "run-c"],  # table order; run-x is not in the table
        "run_name": ["alpha", "charlie"],
    }


def test_a_renaming_tag_names_the_run_in_the_table(runs, logged):
    canvasback.Client(logged.root).set_tag("run-a", "mlflow.runName", "zulu")
    logged.store.flush()
    runs.refresh()
    runs.rebuild(None, [by("run_name", descending=True)])
    assert runs.page(0, 1, [parse_column("run_name")]).to_pydict() == {
        "run_id": ["run-a"],
        "run_name": ["zulu"],
    }


def test_order_of_puts_the_filtered_out_runs_last(runs):
    runs.rebuild(parse_filter("tags.team = 'vision'"), [])
    assert runs.ids() == ["run-c", "run-a"]
    assert runs.order_of(["run-b", "run-a", "run-c", "gone"]) == ["run-c", "run-a", "run-b", "gone"]


def test_count_shown_counts_the_given_runs_the_filter_passes(runs):
    runs.rebuild(parse_filter("tags.team = 'vision'"), [])
    assert runs.count_shown(["run-b", "run-a", "run-c", "gone"]) == 2
    assert runs.count_shown(["run-b"]) == 0
    assert runs.count_shown([]) == 0
    runs.rebuild(None, [])
    assert runs.count_shown(["run-b", "run-a", "run-c", "gone"]) == 3


def test_count_shown_sends_the_same_ids_once(runs, caplog):
    selection = ["run-b", "run-a", "run-c"]
    with caplog.at_level(logging.DEBUG, logger=STATEMENTS.name):
        for text in ("tags.team = 'vision'", "params.opt = 'adam'", "status = 'FAILED'"):
            runs.rebuild(parse_filter(text), [])
            runs.count_shown(selection)
        assert runs.count_shown(["run-b"]) == 1
    sent = [r.getMessage() for r in caplog.records if runs.held in r.getMessage()]
    assert sum("CREATE OR REPLACE" in m for m in sent) == 2  # the three ids, then one
    runs.close()  # the held ids go with the cursor; asked again, they are sent again
    runs.rebuild(None, [])
    assert runs.count_shown(["run-b"]) == 1


def test_the_order_table_is_the_run_set_s_own(runs):
    runs.rebuild(None, [])
    assert runs.rows(f"SELECT count(*) FROM {runs.order}") == [(4,)]
    with pytest.raises(duckdb.CatalogException):
        canvasback.sql(f"SELECT * FROM {runs.order}").fetchall()
    other = RunSet(runs.store)
    try:
        with pytest.raises(duckdb.CatalogException):
            other.rows(f"SELECT * FROM {runs.order}")
    finally:
        other.close()


def test_new_runs_show_after_a_refresh_and_a_rebuild(runs, logged):
    runs.rebuild(None, [])
    client = canvasback.Client(logged.root)
    run = client.create_run(logged.EXPERIMENT, start_time=logged.T0 + 99_000, run_name="new")
    client.set_terminated(run.run_id)
    logged.store.flush()
    runs.refresh()
    assert runs.rebuild(None, []) == 5
    assert runs.ids(0, 1) == [run.run_id]


def test_the_columns_runs_could_show(runs, logged):
    available = {c["name"]: c for c in runs.available([logged.EXPERIMENT])}
    assert [c["name"] for c in runs.available([])][:8] == [
        "run_name",
        "status",
        "start_time",
        "end_time",
        "user_id",
        "experiment_id",
        "run_id",
        "parent_run_id",
    ]
    assert available["status"]["type"] == "status"
    assert available["start_time"]["type"] == "time"
    assert available["metrics.acc"] == {
        "name": "metrics.acc",
        "entity": "metric",
        "type": "number",
        "better": "higher",  # by its name (query/metric_goal.py)
    }
    assert available["metrics.loss"]["better"] == "lower"
    assert available["params.lr"]["type"] == "text"  # "abc" is not a number
    assert available["params.opt"] == {"name": "params.opt", "entity": "param", "type": "text"}
    assert available["tags.team"]["entity"] == "tag"
    other = {c["name"]: c for c in runs.available([logged.OTHER_EXPERIMENT])}
    assert other["params.lr"]["type"] == "number"  # only run-x's 0.1 there
    assert "tags.team" not in other
    assert "metrics.loss" not in other


def test_columns_by_name():
    assert parse_column("metrics.val/acc") == Column("metrics.val/acc", "metric", "val/acc")
    assert parse_column("tags.a.b") == Column("tags.a.b", "tag", "a.b")
    assert parse_column("end_time") == Column("end_time", "attribute", "end_time")
    assert attribute_type("end_time") == "time"
    assert attribute_type("run_name") == "text"
    for bad in ("colour", "metrics.", "datasets.name"):
        with pytest.raises(ValueError, match=rf"unknown column '{bad}'.*metrics.<key>"):
            parse_column(bad)
