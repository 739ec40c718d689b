"""Compaction and purging: every row kept once, safe beside a writer, around corrupt files."""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd
import pyarrow.parquet as pq
import pytest
from tests.store.segment_files import (
    SEGMENT,
    data_files,
    fill,
    fresh_reader,
    raw_rows,
    run_ids,
    snapshot,
    two_runs_two_files,
)

import canvasback
from canvasback import CorruptSegmentWarning
from canvasback.store import layout


def test_compaction_merges_and_keeps_every_row_once(store):
    fill(runs=6, steps=30)
    files_before = data_files(store)
    raw_before = raw_rows(store)
    views_before = snapshot(canvasback.sql)
    run_ids = [r[0] for r in canvasback.sql("SELECT run_id FROM runs").fetchall()]
    histories = {r: canvasback.get_metric_history(r, "loss") for r in run_ids}
    # One file per run at least (the flusher's own tick may cut a run's rows in two).
    assert len([f for f in files_before if f.startswith("metrics/")]) >= 6

    report = canvasback.compact(grace_seconds=0)
    assert report.compacted_files > 0
    assert report.input_files > report.compacted_files

    files_after = data_files(store)
    partitions_before = Counter(rel.rsplit("/", 1)[0] for rel in files_before)
    partitions_after = Counter(rel.rsplit("/", 1)[0] for rel in files_after)
    assert set(partitions_after) == set(partitions_before)
    assert set(partitions_after.values()) == {1}
    for rel in files_after:
        merged = partitions_before[rel.rsplit("/", 1)[0]] > 1
        assert SEGMENT.match(rel)["kind"] == ("cmp" if merged else "seg"), rel
    metric_files = [f for f in files_after if f.startswith("metrics/")]
    assert len(metric_files) == 1
    assert SEGMENT.match(metric_files[0])["kind"] == "cmp"

    assert raw_rows(store) == raw_before  # every row exactly once, nothing else
    assert snapshot(canvasback.sql) == views_before  # the same process
    for run_id, history in histories.items():
        pd.testing.assert_frame_equal(canvasback.get_metric_history(run_id, "loss"), history)
    assert snapshot(fresh_reader(store)) == views_before  # it never saw the small files

    # Logging goes on after compaction, and a second pass folds the new files in.
    with canvasback.start_run(run_name="late") as late:
        canvasback.log_metric("loss", 9.0)
    canvasback.flush()
    canvasback.compact(grace_seconds=0)
    counts = canvasback.sql("SELECT run_id, count(*) FROM metrics GROUP BY run_id").fetchall()
    assert len(counts) == 7
    assert dict(counts)[late.run_id] == 1
    assert sum(c for _, c in counts) == 6 * 60 + 1
    metric_files = [f for f in data_files(store) if f.startswith("metrics/")]
    assert len(metric_files) == 1
    assert SEGMENT.match(metric_files[0])["kind"] == "cmp"
    assert raw_rows(store)["metrics"].total() == 6 * 60 + 1


def test_compaction_with_a_grace_period_keeps_inputs_but_reads_each_row_once(store):
    fill(runs=4, steps=10)
    views_before = snapshot(canvasback.sql)
    before = data_files(store)
    canvasback.compact()  # default grace: inputs stay on disk for slow readers
    after = data_files(store)
    assert set(before) < set(after)
    assert snapshot(canvasback.sql) == views_before
    assert snapshot(fresh_reader(store)) == views_before


@pytest.mark.parametrize("sidecar", ["{}", '{"inputs": 3}', "[]"])
def test_a_sidecar_that_says_nothing_usable_leaves_its_file_for_its_inputs(store, sidecar):
    fill(runs=3, steps=5)
    views_before = snapshot(canvasback.sql)
    canvasback.compact(snapshot=False)  # the inputs stay beside the compacted files
    sidecars = sorted(store.glob(f"*/exp=*/*{layout.INPUTS_SUFFIX}"))
    assert sidecars
    for path in sidecars:
        path.write_text(sidecar)
    assert snapshot(fresh_reader(store)) == views_before


def test_compaction_is_safe_while_another_process_writes(store, spawn_python):
    canvasback.set_experiment("shared")
    with canvasback.start_run(run_name="seed") as seed:
        canvasback.log_metric("x", 0.0)
    canvasback.flush()
    batches, per_batch = 40, 250
    child = spawn_python(
        """
        import sys
        import canvasback as cb

        cb.set_store(sys.argv[1])
        cb.set_experiment("shared")
        batches, per_batch = int(sys.argv[2]), int(sys.argv[3])
        with cb.start_run(run_name="writer") as run:
            print(run.run_id, flush=True)
            for b in range(batches):
                for i in range(per_batch):
                    step = b * per_batch + i
                    cb.log_metric("x", float(step), step=step)
                cb.log_param(f"p{b}", b)
                cb.flush()
        """,
        store,
        batches,
        per_batch,
    )
    compacted = 0
    passes = 0
    counts = []
    # Passes while the child writes, and one more begun after it is done (a pass also
    # writes a snapshot, so the child may finish during a single pass).
    finished = False
    while not finished or passes < 2:
        finished = child.poll() is not None
        report = canvasback.compact(grace_seconds=0)
        compacted += report.compacted_files
        passes += 1
        counts.append(canvasback.sql("SELECT count(*) FROM metrics").fetchall()[0][0])
    assert counts == sorted(counts)  # a reader never sees a row twice, nor loses one
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    writer_run = out.split()[0]
    assert compacted > 0
    assert passes >= 3, passes

    total = batches * per_batch
    for query in (canvasback.sql, fresh_reader(store)):
        assert query(
            "SELECT count(*), count(DISTINCT step), min(step), max(step) FROM metrics "
            "WHERE run_id = ?",
            [writer_run],
        ).fetchall() == [(total, total, 0, total - 1)]
        assert query("SELECT count(*) FROM params WHERE run_id = ?", [writer_run]).fetchall() == [
            (batches,)
        ]
        assert query("SELECT status FROM runs WHERE run_id = ?", [writer_run]).fetchall() == [
            ("FINISHED",)
        ]
        assert query("SELECT count(*) FROM metrics WHERE run_id = ?", [seed.run_id]).fetchall() == [
            (1,)
        ]
    # On disk too: after a last pass, each metric row is in exactly one live file.
    canvasback.compact(grace_seconds=0)
    raw = raw_rows(store)["metrics"]
    assert sum(raw.values()) == total + 1
    assert set(raw.values()) == {1}


def test_purge_deleted_removes_rows_and_artifacts(store):
    keep, gone = fill(runs=2, steps=5)
    gone_artifacts = store / "artifacts" / gone
    assert gone_artifacts.is_dir()
    canvasback.delete_run(gone)
    canvasback.flush()
    report = canvasback.compact(purge_deleted=True, grace_seconds=0)
    assert report.purged_runs == [gone]
    assert not gone_artifacts.exists()
    assert (store / "artifacts" / keep).is_dir()

    for table, column in (
        ("runs", "run_id"),
        ("params", "run_id"),
        ("metrics", "run_id"),
        ("artifacts", "run_id"),
        ("events", "entity_id"),
    ):
        for rel in data_files(store):
            if rel.startswith(f"{table}/"):
                ids = set(pq.read_table(store / rel, columns=[column])[column].to_pylist())
                assert gone not in ids, rel
    for reader in (canvasback.sql, fresh_reader(store)):
        for view in ("runs", "params", "metrics", "latest_metrics", "tags", "artifacts"):
            assert reader(f"SELECT count(*) FROM {view} WHERE run_id = ?", [gone]).fetchall() == [
                (0,)
            ], view
        assert reader("SELECT count(*) FROM metrics WHERE run_id = ?", [keep]).fetchall() == [(10,)]
    assert set(
        canvasback.search_runs(experiment_names=["fill"], run_view_type="ALL")["run_id"]
    ) == {keep}
    assert canvasback.get_run(keep).data.params == {"i": "0"}
    with pytest.raises(canvasback.RunNotFoundError):
        canvasback.get_run(gone)


def test_purge_with_the_default_grace_period(store):
    keep, gone = fill(runs=2, steps=5)
    canvasback.delete_run(gone)
    canvasback.compact(purge_deleted=True)
    assert not (store / "artifacts" / gone).exists()
    for reader in (canvasback.sql, fresh_reader(store)):
        assert reader("SELECT DISTINCT run_id FROM metrics").fetchall() == [(keep,)]
        assert reader("SELECT run_id FROM runs").fetchall() == [(keep,)]


def test_corrupt_compacted_file_falls_back_to_its_inputs(store):
    """Within the grace period a compacted file's inputs are still there: if the compacted
    file is damaged, a reader quarantines it and reads the inputs instead."""
    fill(runs=4, steps=10)
    expected = snapshot(canvasback.sql)
    # Default grace: the inputs stay on disk. No snapshot: the reader opens the files.
    canvasback.compact(snapshot=False)
    compacted = [
        rel
        for rel in data_files(store)
        if rel.startswith("metrics/") and SEGMENT.match(rel)["kind"] == "cmp"
    ]
    assert len(compacted) == 1
    data = (store / compacted[0]).read_bytes()
    (store / compacted[0]).write_bytes(data[: len(data) // 2])

    with pytest.warns(CorruptSegmentWarning, match=re.escape(compacted[0])):
        reader = fresh_reader(store)
    assert not (store / compacted[0]).exists()
    assert snapshot(reader) == expected
    assert reader("SELECT count(*) FROM metrics").fetchall() == [(4 * 20,)]


def test_compaction_skips_a_corrupt_segment(store):
    first, second = two_runs_two_files()
    victim = next(
        rel
        for rel in data_files(store)
        if rel.startswith("metrics/") and first in run_ids(store / rel)
    )
    data = (store / victim).read_bytes()
    (store / victim).write_bytes(data[: len(data) // 2])

    with pytest.warns(CorruptSegmentWarning, match=re.escape(victim)):
        canvasback.compact(grace_seconds=0)
    assert not (store / victim).exists()
    assert len(list((store / layout.QUARANTINE_DIR).iterdir())) == 1
    sql = fresh_reader(store)
    assert sql("SELECT run_id, count(*) FROM metrics GROUP BY run_id").fetchall() == [(second, 20)]
    assert sql("SELECT count(*) FROM runs").fetchall() == [(2,)]


def test_compaction_over_a_corrupt_compacted_file_keeps_its_inputs(store):
    fill(runs=3, steps=10)
    canvasback.compact()  # default grace: the inputs stay on disk
    (cmp,) = [
        rel
        for rel in data_files(store)
        if rel.startswith("metrics/") and SEGMENT.match(rel)["kind"] == "cmp"
    ]
    data = (store / cmp).read_bytes()
    (store / cmp).write_bytes(data[: len(data) // 3])
    with canvasback.start_run(run_name="after") as late:
        canvasback.log_metric("loss", 1.0)
    canvasback.flush()

    with pytest.warns(CorruptSegmentWarning, match=re.escape(cmp)):
        canvasback.compact(grace_seconds=0)
    counts = fresh_reader(store)("SELECT count(*) FROM metrics").fetchall()
    assert counts == [(3 * 20 + 1,)]  # the damaged file's inputs were not deleted
    canvasback.compact(grace_seconds=0)  # and a later pass folds them in
    sql = fresh_reader(store)
    assert sql("SELECT count(*), count(DISTINCT (run_id, key, step)) FROM metrics").fetchall() == [
        (61, 61)
    ]
    assert sql("SELECT count(*) FROM metrics WHERE run_id = ?", [late.run_id]).fetchall() == [(1,)]
    assert len([f for f in data_files(store) if f.startswith("metrics/")]) == 1
