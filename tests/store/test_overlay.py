"""A reader on a snapshot: its rows plus the tail's through the union views, the runs the
tail touched shadowed, the wide table's pages taken from the snapshot's file."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.store.test_snapshots import assert_same_as_full_resolve, log_runs, read

import canvasback
from canvasback.query import search
from canvasback.store import Store, layout, schema
from canvasback.store.read import relations, snapshot_write, snapshots


def test_the_tail_on_top_of_a_snapshot_gives_the_same_answers(store, run_python):
    old = log_runs(4)
    canvasback.compact(grace_seconds=0)
    # Another process changes runs the snapshot holds and adds new ones.
    run_python(
        """
        import sys
        import canvasback as cb

        cb.set_store(sys.argv[1])
        cb.set_experiment("snap")
        old = sys.argv[2].split(",")
        client = cb.MlflowClient()
        client.set_tag(old[0], "team", "moved")
        client.delete_tag(old[1], "team")
        client.log_metric(old[2], "loss", 0.0001, step=10)
        client.log_param(old[2], "extra", "yes")
        client.delete_run(old[3])
        with cb.start_run(run_name="new"):
            cb.log_params({"i": 99})
            cb.log_metric("brand_new_key", 1.5)
        cb.flush()
        """,
        store,
        ",".join(old),
    )
    catalog = assert_same_as_full_resolve(store)
    assert catalog.snapshot is not None
    assert catalog.tail_files > 0
    runs = {r[0]: r for r in catalog.rows("SELECT run_id, lifecycle_stage FROM runs")}
    assert runs[old[3]][1] == "deleted"
    found = canvasback.search_runs(filter_string="tags.team = 'moved'")
    assert list(found["run_id"]) == [old[0]]
    frame = canvasback.search_runs(order_by=["metrics.loss ASC"], max_results=1)
    assert frame["run_id"].iloc[0] == old[2]
    assert frame["params.extra"].iloc[0] == "yes"


def test_search_order_and_pages_match_the_full_resolve(store, monkeypatch):
    monkeypatch.setattr(snapshot_write, "WIDE_BATCH_ROWS", 4)  # a page's rows span batches
    log_runs(12)
    canvasback.compact(grace_seconds=0)
    log_runs(5, start=12)  # in memory, interleaved in every order with the snapshot's
    with canvasback.start_run(run_name="late", params={"i": 99}):  # a key newer than it
        canvasback.log_metric("loss", 0.0)
        canvasback.log_metric("extra", 1.0)
    queries = [
        {"order_by": ["metrics.loss DESC"], "max_results": 7, "filter_string": None},
        {"order_by": ["params.lr ASC"], "max_results": 100, "filter_string": "params.i > 3"},
        {
            "order_by": ["tags.team DESC", "attributes.run_name ASC"],
            "max_results": 100,
            "filter_string": "metrics.loss < 0.3",
        },
    ]
    experiment = canvasback.get_experiment_by_name("snap").experiment_id
    answers = []
    for use in (True, False):
        catalog = read(store, use_snapshots=use)
        assert (catalog.snapshot is not None) is use
        frames = [
            search.search_runs(
                catalog, store, experiment_ids=[experiment], run_view_type="ALL", **q
            )
            for q in queries
        ]
        # The first page is wholly in the snapshot: taken from its file, with no query.
        answers.append([f.drop(columns=["artifact_uri"]) for f in frames])
    for with_snapshot, without in zip(*answers, strict=True):
        pd.testing.assert_frame_equal(with_snapshot, without)  # values, NaN, dtypes
    # loss of run i is 1 / (i + 3)
    assert [len(frame) for frame in answers[0]] == [7, 14, 17]
    assert "metrics.extra" not in answers[0][0]  # no run of the first page has the key


def test_purged_runs_leave_the_snapshot_too(store):
    ids = log_runs(3)
    canvasback.compact(grace_seconds=0)
    canvasback.delete_run(ids[0])
    canvasback.flush()
    report = canvasback.compact(grace_seconds=0, purge_deleted=True)
    assert report.purged_runs == [ids[0]]
    catalog = assert_same_as_full_resolve(store)
    assert ids[0] not in {r[0] for r in catalog.rows("SELECT run_id FROM runs")}


def test_a_heartbeat_after_the_snapshot_moves_a_running_run(store):
    canvasback.set_experiment("live")
    run = canvasback.start_run(run_name="long")
    canvasback.flush()
    canvasback.compact(grace_seconds=0)
    writer = canvasback.client().store.writer
    before = read(store)
    seen = before.rows(f"SELECT last_seen FROM {relations.RUNS_WIDE}")
    # The sign of life a writer sends while its run goes on, a second later.
    writer.event(
        layout.HEARTBEAT_PARTITION,
        writer.writer_id,
        schema.EVENT_HEARTBEAT,
        "",
        str(seen[0][0] + 1000),
    )
    writer.flush()
    catalog = assert_same_as_full_resolve(store)
    assert catalog.rows(f"SELECT last_seen FROM {relations.RUNS_WIDE}") == [(seen[0][0] + 1000,)]
    canvasback.end_run()
    canvasback.flush()
    catalog = assert_same_as_full_resolve(store)
    assert catalog.rows("SELECT run_id, status FROM runs") == [(run.info.run_id, "FINISHED")]


def test_a_run_s_rows_in_a_snapshot_without_its_row_are_merged_once_when_it_comes(store):
    log_runs(2)
    experiment = canvasback.set_experiment("late").experiment_id
    canvasback.flush()
    # The store refuses this experiment's run rows for now (a file where their folder
    # goes): the run's params, tags and status are written, its row is kept for a retry.
    blocked = store / "runs" / f"exp={experiment}"
    blocked.write_text("")
    with canvasback.start_run(run_name="late", params={"p": "1"}) as run:
        canvasback.set_tag("t", "v")
    with pytest.raises(OSError, match="exp="):
        canvasback.flush()
    taken = read(store)  # a reader of another process takes a snapshot now
    name = taken.write_snapshot("reader")
    assert name is not None
    held = snapshots.newest(Store(store).fs)
    assert held is not None
    assert held.runs_without_row == {run.info.run_id}
    blocked.unlink()
    canvasback.flush()  # the row comes
    with canvasback.start_run(run_name="next", params={"p": "2"}):
        pass
    # Compacting re-delivers the late run's params and events beside the new run's
    # (their files are deleted at once), then writes the next snapshot.
    canvasback.compact(grace_seconds=0)
    catalog = assert_same_as_full_resolve(store)  # no param or tag twice
    frame = search.search_runs(
        catalog,
        store,
        experiment_ids=[experiment],
        filter_string=None,
        run_view_type="ALL",
        max_results=100,
        order_by=None,
    )
    assert len(frame) == 2  # each run once
    assert frame["run_id"].is_unique
    late = frame[frame["run_id"] == run.info.run_id].iloc[0]
    assert (late["params.p"], late["tags.t"], late["status"]) == ("1", "v", "FINISHED")
