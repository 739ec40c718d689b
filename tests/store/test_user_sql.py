"""``sql()`` answers queries over the store's views and can change nothing the API reads."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import duckdb
import pytest

import canvasback as cb
from canvasback.store import Store, liveness
from canvasback.store.read.user_sql import public_views

if TYPE_CHECKING:
    import pyarrow as pa


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
    # Refused before it runs, refused there, or run on the user's own tables.
    with contextlib.suppress(duckdb.Error, cb.StatementRefusedError):
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


@pytest.mark.usefixtures("one_run")
def test_repeated_queries_on_an_unchanged_store_copy_nothing(store):
    reader = Store(store)
    copies = reader.read().view_copies

    def answer(query: str) -> list[tuple[object, ...]]:
        return reader.read().relation(query).fetchall()  # each read refreshes first

    assert answer("SELECT count(*) FROM params") == [(1,)]
    made = copies.made
    for _ in range(3):
        assert answer("SELECT count(*) FROM params") == [(1,)]
        assert answer("SELECT 1") == [(1,)]
    assert copies.made == made
    assert answer("SELECT count(*) FROM runs JOIN params USING (run_id)") == [(1,)]
    assert copies.made == made + 1  # only the view not copied yet
    with cb.start_run(params={"lr": "0.2"}):
        pass
    cb.flush()
    assert answer("SELECT count(*) FROM params") == [(2,)]
    assert copies.made == made + 2


def _every_view(reader: Store) -> dict[str, pa.Table]:
    catalog = reader.read()
    return {
        view: catalog.relation(f"SELECT * FROM {view}").to_arrow_table()
        for view in sorted(public_views())
    }


def _as_the_catalog_answers(reader: Store) -> dict[str, pa.Table]:
    """Every view as the catalog itself answers (``metrics``: as a new reader's copy)."""
    catalog = reader.read()
    return {
        view: catalog.arrow(f"SELECT * FROM {view}")
        if view != "metrics"
        else catalog.relation("SELECT * FROM metrics").to_arrow_table()
        for view in sorted(public_views())
    }


def _sorted(tables: dict[str, pa.Table]) -> dict[str, tuple[pa.Schema, list[str]]]:
    return {name: (t.schema, sorted(map(repr, t.to_pylist()))) for name, t in tables.items()}


def test_kept_copies_follow_every_change_of_the_store(one_run, store):
    """A reader that keeps its copies answers as the catalog after each change, and
    copies nothing again while nothing changes."""
    kept = Store(store)
    _every_view(kept)
    changes = [
        lambda: cb.start_run(run_name="second", params={"lr": "0.2"}),
        lambda: cb.log_metric("acc", 0.95, step=3),
        lambda: cb.set_tag("team", "audio"),
        cb.end_run,
        lambda: cb.delete_run(one_run),
        lambda: cb.set_experiment_tag("owner", "me"),
        lambda: cb.compact(purge_deleted=True, grace_seconds=0),  # rows forgotten; a snapshot
        lambda: cb.start_run(run_name="on the snapshot", params={"lr": "0.3"}),
        cb.end_run,
    ]
    for change in changes:
        change()
        cb.flush()
        answers = _every_view(kept)
        made = kept.read().view_copies.made
        assert _sorted(answers) == _sorted(_as_the_catalog_answers(Store(store)))
        assert _sorted(_every_view(kept)) == _sorted(answers)
        assert kept.read().view_copies.made == made
    assert kept.read().snapshot is not None
    runs = kept.read().relation("SELECT run_name FROM runs ORDER BY run_name").fetchall()
    assert runs == [("on the snapshot",), ("second",)]


STALE_CHILD = """
import sys
import threading
from pathlib import Path

import canvasback as cb

cb.set_store(sys.argv[1])
run = cb.start_run(run_name="victim")
cb.flush()
Path(sys.argv[2]).write_text(run.run_id)
threading.Event().wait()  # alive until killed
"""


@pytest.mark.slow
def test_a_run_of_a_dead_process_turns_killed_in_kept_copies(
    tmp_path, spawn_python, wait, monkeypatch
):
    monkeypatch.setenv(liveness.HEARTBEAT_ENV, "1")  # its run is stale six seconds after
    root, id_file = tmp_path / "store", tmp_path / "run_id"
    child = spawn_python(STALE_CHILD, root, id_file)
    wait(lambda: id_file.exists() and id_file.read_text(), what="the run")
    child.kill()
    child.wait(timeout=30)
    reader = Store(root)

    def status() -> list[tuple[object, ...]]:
        return reader.read().relation("SELECT run_name, status FROM runs").fetchall()

    assert status() == [("victim", "RUNNING")]  # just after its last sign of life
    version = reader.read().views_version
    wait(lambda: status() == [("victim", "KILLED")], timeout=60, what="KILLED")
    assert reader.read().views_version == version  # from the copy made before, status anew
