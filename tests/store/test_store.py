"""The store on disk: immutable Parquet segments, flushing, compaction, corruption."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow.parquet as pq
import pytest

import canvasback
from canvasback import Client, CorruptSegmentWarning, Metric
from canvasback.store import Store, declarations, layout, schema

if TYPE_CHECKING:
    from pathlib import Path

SEGMENT = re.compile(
    r"^(?P<table>experiments|runs|params|metrics|events|artifacts)/exp=(?P<exp>[^/]+)/"
    r"(?P<kind>seg|cmp)-\d{20}-[0-9a-f]{12}-\d{8}\.parquet$"
)

VIEW_QUERIES = {
    "experiments": "SELECT experiment_id, name, lifecycle_stage FROM experiments",
    "runs": "SELECT run_id, experiment_id, run_name, status, start_time, end_time, "
    "lifecycle_stage, parent_run_id FROM runs",
    "params": "SELECT run_id, key, value FROM params",
    "tags": "SELECT run_id, key, value FROM tags",
    "metrics": "SELECT experiment_id, run_id, key, step, timestamp, value FROM metrics",
    "latest_metrics": "SELECT run_id, key, step, timestamp, value FROM latest_metrics",
    "artifacts": "SELECT run_id, path, size FROM artifacts",
}


def data_files(root: Path) -> list[str]:
    """Store-relative paths of every segment file (run artifacts excluded)."""
    out = []
    for table in declarations.table_names():
        base = root / table
        if base.is_dir():
            out.extend(
                p.relative_to(root).as_posix()
                for p in base.glob("exp=*/*.parquet")
                if not p.name.startswith(".")
            )
    return sorted(out)


def raw_rows(root: Path) -> dict[str, Counter]:
    """Every row of every segment file on disk, per table, as a multiset."""
    rows: dict[str, Counter] = {t: Counter() for t in declarations.table_names()}
    for rel in data_files(root):
        table = rel.split("/", 1)[0]
        exp = rel.split("/")[1]
        for row in pq.read_table(root / rel).to_pylist():
            rows[table][(exp, *sorted(row.items()))] += 1
    return rows


def fresh_reader(root: Path):
    """``sql`` of a new Store object: a reader that shares nothing with this process's."""
    con = Store(root).read().con

    def sql(query: str, params: list | None = None):
        return con.sql(query, params=params)

    return sql


def snapshot(query) -> dict[str, list[tuple]]:
    """The content of every view, sorted (NaN-free data only)."""
    return {
        name: sorted(query(sql).fetchall(), key=lambda r: tuple(map(str, r)))
        for name, sql in VIEW_QUERIES.items()
    }


def fill(runs: int = 6, steps: int = 30, experiment: str = "fill") -> list[str]:
    """Log several runs, flushing after each so that every table gets many files."""
    ids = []
    canvasback.set_experiment(experiment)
    for i in range(runs):
        with canvasback.start_run(run_name=f"run-{i}", params={"i": i}, tags={"n": str(i)}) as r:
            for step in range(steps):
                canvasback.log_metric("loss", 1.0 / (step + 1) + i, step=step)
                canvasback.log_metric("acc", step / steps, step=step)
            canvasback.log_text(f"text {i}", f"notes/{i}.txt")
            canvasback.set_tag("phase", "done")
        canvasback.flush()
        ids.append(r.run_id)
    return ids


def test_files_are_immutable_parquet_segments(store):
    fill(runs=3, steps=5)
    files = data_files(store)
    assert files
    for rel in files:
        match = SEGMENT.match(rel)
        assert match, rel
        assert match["kind"] == "seg"
        table = pq.read_table(store / rel)
        assert table.schema.equals(declarations.table(match["table"]).arrow_schema()), rel
        assert table.num_rows > 0
        meta = pq.ParquetFile(store / rel).metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"
    tables = {SEGMENT.match(r)["table"] for r in files}
    # fill() logs no dataset and registers no model: the store's own tables but inputs
    assert tables == {t.name for t in schema.CORE} - {"inputs"}
    # no temp files are left behind
    assert not list(store.rglob(".*.tmp"))

    before = {rel: ((store / rel).stat().st_ino, _sha(store / rel)) for rel in files}
    fill(runs=2, steps=5, experiment="more")
    canvasback.compact(grace_seconds=3600)  # compaction adds files; it rewrites none
    after = data_files(store)
    assert set(before) <= set(after)
    for rel, (inode, digest) in before.items():
        assert (store / rel).stat().st_ino == inode, rel
        assert _sha(store / rel) == digest, rel


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_one_flush_writes_one_file_per_table_touched(store):
    client = canvasback.client()
    writer = client.store.writer
    writer.flush_interval = 3600  # no timer flush in the middle of this test
    experiment_id = client.create_experiment("batch")
    # Starting a run has its row written at once (another process may resume it).
    runs = [client.create_run(experiment_id, run_name=f"r{i}") for i in range(50)]
    canvasback.flush()
    before = set(data_files(store))
    for i, run in enumerate(runs):
        run.log_param("i", i)
        run.set_tag("t", str(i))
        for step in range(10):
            run.log_metric("m", float(step), step=step)
    assert set(data_files(store)) == before  # nothing written before the flush
    canvasback.flush()
    new = sorted(set(data_files(store)) - before)
    by_table = Counter(SEGMENT.match(rel)["table"] for rel in new)
    assert by_table == {"metrics": 1, "params": 1, "events": 1}
    metric_file = next(rel for rel in new if rel.startswith("metrics/"))
    assert metric_file.startswith(f"metrics/exp={experiment_id}/")
    assert pq.read_table(store / metric_file).num_rows == 500
    for run in runs:
        client.set_terminated(run.run_id)
    assert canvasback.sql("SELECT count(*) FROM runs WHERE status = 'FINISHED'").fetchall() == [
        (50,)
    ]


@pytest.mark.usefixtures("store")
def test_reads_own_writes_without_an_explicit_flush():
    with canvasback.start_run() as run:
        canvasback.log_metric("m", 1.0)
        canvasback.log_param("p", "v")
        assert canvasback.get_run(run.run_id).data.metrics == {"m": 1.0}
        assert canvasback.get_run(run.run_id).data.params == {"p": "v"}
        canvasback.set_tag("t", "1")
        assert canvasback.sql("SELECT value FROM tags WHERE key = 't'").fetchall() == [("1",)]
        canvasback.log_metric("m", 2.0, step=1)
        assert canvasback.search_runs()["metrics.m"].tolist() == [2.0]


@pytest.mark.usefixtures("store")
def test_a_read_during_a_flush_in_progress_sees_the_rows(wait):
    """A read right after logging sees the rows even if another thread is flushing them."""
    client = canvasback.client()
    writer = client.store.writer
    run = client.create_run(run_name="big")
    canvasback.flush()
    n = 200_000
    client.log_batch(run.run_id, metrics=[Metric("m", float(i), i, i) for i in range(n)])
    assert writer.pending == n
    flusher = threading.Thread(target=canvasback.flush)  # as the timer flush would
    flusher.start()
    try:
        wait(lambda: writer.pending == 0, timeout=30, what="the flush to take the rows")
        assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(n,)]
    finally:
        flusher.join()
    assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(n,)]


def test_compaction_merges_and_keeps_every_row_once(store):
    fill(runs=6, steps=30)
    files_before = data_files(store)
    raw_before = raw_rows(store)
    views_before = snapshot(canvasback.sql)
    run_ids = [r[0] for r in canvasback.sql("SELECT run_id FROM runs").fetchall()]
    histories = {r: canvasback.get_metric_history(r, "loss") for r in run_ids}
    assert len([f for f in files_before if f.startswith("metrics/")]) == 6

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


def _two_runs_two_files() -> tuple[str, str]:
    with canvasback.start_run(run_name="first", params={"a": 1}) as first:
        for step in range(20):
            canvasback.log_metric("m", float(step), step=step)
    canvasback.flush()
    with canvasback.start_run(run_name="second", params={"b": 2}) as second:
        for step in range(20):
            canvasback.log_metric("m", float(step), step=step)
    canvasback.flush()
    return first.run_id, second.run_id


def _assert_quarantined(store: Path, rel: str, record) -> None:
    assert rel in str(record[0].message)
    assert not (store / rel).exists()
    quarantined = list((store / layout.QUARANTINE_DIR).iterdir())
    assert len(quarantined) == 1
    assert quarantined[0].name.endswith(rel.replace("/", "__"))


def test_truncated_segment_is_quarantined(store, run_python):
    first, second = _two_runs_two_files()
    metric_files = [rel for rel in data_files(store) if rel.startswith("metrics/")]
    assert len(metric_files) == 2
    victim = next(rel for rel in metric_files if first in _run_ids(store / rel))
    data = (store / victim).read_bytes()
    (store / victim).write_bytes(data[: len(data) // 2])

    with pytest.warns(CorruptSegmentWarning) as record:
        frame = canvasback.search_runs()
    assert len(record) == 1
    _assert_quarantined(store, victim, record)
    assert set(frame["run_id"]) == {first, second}
    assert canvasback.get_metric_history(second, "m")["step"].tolist() == list(range(20))
    assert canvasback.get_metric_history(first, "m").empty
    assert canvasback.get_run(first).data.params == {"a": "1"}
    assert canvasback.get_run(second).data.params == {"b": "2"}
    # No second warning: the file is gone from the live set.
    assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(20,)]
    out = _fresh_counts(run_python, store)
    assert out == {"metrics": 20, "runs": 2, "params": 2}


def test_garbage_segment_is_quarantined(store, run_python):
    first, second = _two_runs_two_files()
    rel = f"params/exp=0/{layout.segment_name(1, 'feedfacecafe', 0)}"
    (store / rel).write_bytes(b"this is not parquet at all" * 10)

    with pytest.warns(CorruptSegmentWarning) as record:
        assert canvasback.get_run(first).data.params == {"a": "1"}
    assert len(record) == 1
    _assert_quarantined(store, rel, record)
    assert canvasback.get_run(second).data.params == {"b": "2"}
    assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(40,)]
    assert _fresh_counts(run_python, store) == {"metrics": 40, "runs": 2, "params": 2}


def test_corrupt_file_seen_by_a_reader_that_loaded_earlier_files(store):
    first, _second = _two_runs_two_files()
    assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(40,)]
    rel = f"metrics/exp=0/{layout.segment_name(2**62, 'feedfacecafe', 0)}"
    (store / rel).write_bytes(b"PAR1" + b"\x00" * 100 + b"PAR1")
    with pytest.warns(CorruptSegmentWarning, match=re.escape(rel)):
        assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(40,)]
    assert not (store / rel).exists()
    assert canvasback.get_metric_history(first, "m")["value"].tolist() == [
        float(s) for s in range(20)
    ]
    assert canvasback.search_runs(order_by=["metrics.m DESC"])["metrics.m"].tolist() == [19.0, 19.0]


def _run_ids(path: Path) -> set[str]:
    return set(pq.read_table(path, columns=["run_id"])["run_id"].to_pylist())


def _fresh_counts(run_python, store: Path) -> dict[str, int]:
    result = run_python(
        """
        import json, sys, warnings
        import canvasback as cb

        warnings.simplefilter("error")
        cb.set_store(sys.argv[1])
        print(json.dumps({
            view: cb.sql(f"SELECT count(*) FROM {view}").fetchall()[0][0]
            for view in ("metrics", "runs", "params")
        }))
        """,
        store,
    )
    return json.loads(result.stdout)


def test_a_fresh_process_sees_everything(store, run_python):
    ids = fill(runs=3, steps=10)
    with canvasback.start_run(run_name="unflushed-at-read") as run:
        canvasback.log_metric("loss", 5.0, step=99)
    canvasback.delete_run(ids[0])
    canvasback.flush()
    expected = snapshot(canvasback.sql)
    result = run_python(
        """
        import json, sys
        import canvasback as cb

        cb.set_store(sys.argv[1])
        queries = json.loads(sys.argv[2])
        print(json.dumps({k: [list(r) for r in cb.sql(q).fetchall()] for k, q in queries.items()}))
        """,
        store,
        json.dumps(VIEW_QUERIES),
    )
    seen = {
        name: sorted((tuple(r) for r in rows), key=lambda r: tuple(map(str, r)))
        for name, rows in json.loads(result.stdout).items()
    }
    assert seen == expected
    assert run.run_id in {r[0] for r in seen["runs"]}
    deleted = [r for r in seen["runs"] if r[0] == ids[0]]
    assert deleted[0][6] == "deleted"


def test_client_store_layout(tmp_path):
    root = tmp_path / "explicit"
    client = Client(store=root)
    experiment_id = client.create_experiment("e")
    run = client.create_run(experiment_id)
    run.log_metric("m", 1.0)
    client.set_terminated(run.run_id)
    client.flush()
    files = data_files(root)
    assert {rel.split("/")[0] for rel in files} == {"experiments", "runs", "metrics", "events"}
    assert all(f"exp={experiment_id}/" in rel or "exp=0/" in rel for rel in files)
    metrics = [rel for rel in files if rel.startswith("metrics/")]
    assert metrics == [next(r for r in metrics if f"exp={experiment_id}/" in r)]


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
    first, second = _two_runs_two_files()
    victim = next(
        rel
        for rel in data_files(store)
        if rel.startswith("metrics/") and first in _run_ids(store / rel)
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


@pytest.mark.usefixtures("store")
def test_sql_in_one_thread_while_another_reads():
    """A notebook reads from several threads (widgets, the cell): the catalog must cope."""
    run = canvasback.start_run()
    errors: list[BaseException] = []
    done = threading.Event()

    def query_loop():
        while not done.is_set():
            try:
                canvasback.sql("SELECT count(*) FROM metrics").fetchall()
            except Exception as exc:  # noqa: BLE001  # collected and asserted on below
                errors.append(exc)
                return

    thread = threading.Thread(target=query_loop)
    thread.start()
    try:
        for step in range(150):
            canvasback.log_metric("m", float(step), step=step)
            assert canvasback.get_run(run.run_id).data.metrics == {"m": float(step)}
    finally:
        done.set()
        thread.join()
    assert errors == []
    assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(150,)]
