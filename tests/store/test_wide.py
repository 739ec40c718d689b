"""The wide run table keeps keys apart by case, as MLflow does: ``Loss`` and ``loss`` are two
keys, two numbered columns, in a search, a filter, a new process and the run table."""

from __future__ import annotations

import pytest

import canvasback as cb
from canvasback.store import Store
from canvasback.store.read import relations
from canvasback.widgets._base import table_from_ipc_bytes


@pytest.fixture
def two_cases(store):
    with cb.start_run(run_name="upper", experiment="a") as upper:
        cb.set_tag("Owner", "ada")
        cb.log_metric("Loss", 1.0)
        cb.log_param("LR", "0.1")
    with cb.start_run(run_name="lower", experiment="b") as lower:
        cb.set_tag("owner", "bob")
        cb.log_metric("loss", 2.0)
        cb.log_param("lr", "0.2")
    return store, upper.run_id, lower.run_id


def test_search_and_get_run_keep_keys_apart(two_cases):
    _root, upper, lower = two_cases
    frame = cb.search_runs(search_all_experiments=True).set_index("run_id")
    assert frame.loc[upper, "tags.Owner"] == "ada"
    assert frame.loc[lower, "tags.owner"] == "bob"
    assert frame.loc[upper, "metrics.Loss"] == 1.0
    assert frame.loc[lower, "metrics.loss"] == 2.0
    assert frame.loc[upper, "params.LR"] == "0.1"
    assert frame.loc[lower, "params.lr"] == "0.2"
    assert cb.get_run(upper).data.metrics == {"Loss": 1.0}
    assert cb.get_run(lower).data.tags["owner"] == "bob"
    assert cb.sql("select 1").fetchall() == [(1,)]
    with cb.start_run(experiment="a"):  # a third run, after both cases exist
        cb.log_metric("LOSS", 3.0)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("tags.Owner = 'ada'", "upper"),
        ("tags.owner = 'bob'", "lower"),
        ("metrics.Loss < 1.5", "upper"),
        ("metrics.loss > 1.5", "lower"),
        ("params.LR = '0.1'", "upper"),
        ("params.lr < 0.5", "lower"),
    ],
)
@pytest.mark.usefixtures("two_cases")
def test_filters_and_order_tell_the_cases_apart(filter_string, expected):
    frame = cb.search_runs(search_all_experiments=True, filter_string=filter_string)
    assert frame["run_name"].tolist() == [expected]
    ordered = cb.search_runs(search_all_experiments=True, order_by=["metrics.loss DESC"])
    assert ordered["run_name"].tolist() == ["lower", "upper"]  # no value sorts last


def test_a_new_process_reads_the_store(two_cases):
    root, upper, _lower = two_cases
    rows = Store(root).read().relation("SELECT key, value FROM tags WHERE run_id = ?", [upper])
    assert ("Owner", "ada") in rows.fetchall()


def test_the_run_table_shows_both_cases(two_cases):
    root, upper, lower = two_cases
    table = cb.runs(store=root, columns=["run_name", "tags.Owner", "tags.owner", "metrics.Loss"])
    reply, buffers = table.handle_request(
        "page", {"offset": 0, "limit": 10, "columns": list(table.columns)}
    )
    assert "error" not in reply, reply
    page = table_from_ipc_bytes(buffers[0]).to_pylist()
    by_id = {row["run_id"]: row for row in page}
    assert by_id[upper]["tags.Owner"] == "ada"
    assert by_id[upper]["tags.owner"] is None
    assert by_id[lower]["tags.owner"] == "bob"
    assert by_id[upper]["metrics.Loss"] == 1.0
    table.filter = "tags.owner = 'bob'"
    assert table.total == 1
    table.close()


def _names(filter_string: str) -> list[str]:
    frame = cb.search_runs(filter_string=filter_string, search_all_experiments=True)
    return sorted(frame["run_id"])


def test_a_renamed_run_is_found_by_its_new_name_only(store):
    with cb.start_run(run_name="before") as run:
        pass
    cb.MlflowClient().update_run(run.info.run_id, name="after")
    cb.flush()
    assert _names("attributes.run_name = 'after'") == [run.info.run_id]
    assert _names("attributes.run_name = 'before'") == []
    # A new reader, and one that starts from a snapshot holding the run, agree.
    assert Store(store).read().rows("SELECT run_name FROM runs") == [("after",)]
    cb.compact(grace_seconds=0)
    assert Store(store).read().rows("SELECT run_name FROM runs") == [("after",)]
    cb.MlflowClient().update_run(run.info.run_id, name="again")
    cb.flush()
    assert Store(store).read().rows("SELECT run_name FROM runs") == [("again",)]


@pytest.mark.usefixtures("store")
def test_a_run_whose_name_tag_is_deleted_keeps_the_name_it_started_with():
    with cb.start_run(run_name="first") as run:
        cb.set_tag("mlflow.runName", "second")
    assert _names("attributes.run_name = 'second'") == [run.info.run_id]
    cb.MlflowClient().delete_tag(run.info.run_id, "mlflow.runName")
    assert _names("attributes.run_name = 'first'") == [run.info.run_id]


def _wide_rows(catalog) -> dict[str, dict[str, object]]:
    """Each run's wide row by the names its columns stand for, its empty keys left out."""
    names = catalog.key_columns()
    columns = ", ".join(catalog.key_column(n) for n in names)
    rows = catalog.rows(f"SELECT * EXCLUDE ({columns}), {columns} FROM {relations.RUNS_WIDE}")
    attributes = len(rows[0]) - len(names) if rows else 0
    return {
        row[0]: {
            **{f"attribute{i}": repr(v) for i, v in enumerate(row[:attributes])},
            **{n: repr(v) for n, v in zip(names, row[attributes:], strict=True) if v is not None},
        }
        for row in rows
    }


def test_wide_rows_kept_up_at_every_refresh_are_those_a_new_reader_builds(store):
    client = cb.MlflowClient()
    with cb.start_run(run_name="a", experiment="one") as a:
        cb.log_params({"lr": "0.1"})
        cb.log_metric("loss", 1.0)
        cb.set_tag("team", "x")
    with cb.start_run(run_name="b", experiment="two") as b:
        cb.log_metric("loss", 2.0)
    steps = [
        lambda: client.set_tag(a.info.run_id, "team", "y"),  # a fact changes
        lambda: client.set_tag(b.info.run_id, "new_key", "1"),  # a new tag column
        lambda: client.delete_tag(a.info.run_id, "team"),
        lambda: client.log_param(b.info.run_id, "depth", "3"),  # a new param column
        lambda: client.log_metric(a.info.run_id, "loss", 0.5, step=5),  # a later step
        lambda: client.log_metric(a.info.run_id, "acc", float("nan")),  # a new metric column
        lambda: client.update_run(b.info.run_id, name="renamed"),
        lambda: client.delete_run(a.info.run_id),
        lambda: client.restore_run(a.info.run_id),
        lambda: client.set_terminated(b.info.run_id, "FAILED"),
    ]
    catalog = Store(store).read()  # refreshed after each step: the incremental path
    for step in steps:
        step()
        cb.flush()
        catalog.refresh()
        assert _wide_rows(catalog) == _wide_rows(Store(store).read()), step
    assert "tags.new_key" in catalog.key_columns()


def test_a_refresh_after_a_tag_is_set_runs_few_statements(store):
    with cb.start_run(run_name="a", experiment="one") as run:
        cb.log_params({"lr": "0.1", "seed": "1"})
        cb.log_metric("loss", 1.0)
        cb.set_tag("team", "x")
    catalog = Store(store).read()
    # DuckDB's own log of the statements the catalog's connection runs.
    catalog.con.execute("CALL enable_logging('QueryLog')")
    cb.MlflowClient().set_tag(run.info.run_id, "team", "y")
    cb.flush()
    catalog.refresh()
    ran = [r[0] for r in catalog.rows("SELECT message FROM duckdb_logs WHERE type = 'QueryLog'")]
    # Merging the file's events, rebuilding the run's wide row, in a transaction; no
    # statement to look for new keys: the merge says which keys it brought.
    assert len(ran) <= 6, ran
    assert catalog.rows(f"SELECT {catalog.key_column('tags.team')} FROM {relations.RUNS_WIDE}") == [
        ("y",)
    ]
