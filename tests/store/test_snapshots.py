"""Snapshots: a new reader starts from the resolved state on disk, plus the newer tail.

Every answer must be the one a reader gets by resolving every segment itself
(``CANVASBACK_SNAPSHOTS=0``), whatever happened since the snapshot: new runs, tags and
params on runs the snapshot holds, deletions, purges, heartbeats, another snapshot.
How a reader reads the tail over one is in ``test_overlay.py``.
"""

from __future__ import annotations

import json
import os
import signal
import warnings
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest

import canvasback
from canvasback.store import Store
from canvasback.store.read import relations, snapshots
from canvasback.store.read.catalog import Catalog
from canvasback.store.read.snapshots import CorruptSnapshotWarning

if TYPE_CHECKING:
    from pathlib import Path

VIEWS = {
    "experiments": "SELECT experiment_id, name, lifecycle_stage FROM experiments",
    "runs": "SELECT * FROM runs",
    "params": "SELECT run_id, key, value FROM params",
    "tags": "SELECT run_id, key, value FROM tags",
    "metrics": "SELECT run_id, key, step, timestamp, value FROM metrics",
    "latest_metrics": "SELECT run_id, key, step, timestamp, value FROM latest_metrics",
    "artifacts": "SELECT run_id, path, size FROM artifacts",
    "datasets": "SELECT run_id, name, digest, context FROM datasets",
    "experiment_tags": "SELECT * FROM experiment_tags",
    "registered_models": "SELECT name, description FROM registered_models",
    "model_versions": "SELECT name, version, run_id, current_stage FROM model_versions",
    "aliases": "SELECT name, alias, version FROM aliases",
}


def state(catalog: Catalog) -> dict[str, list[tuple]]:
    """What every view shows, sorted."""
    return {
        name: sorted(catalog.rows(sql), key=lambda r: tuple(map(str, r)))
        for name, sql in VIEWS.items()
    }


def read(root, *, use_snapshots: bool = True) -> Catalog:
    """A new reader of ``root``, sharing nothing with this process's catalog."""
    catalog = Catalog(Store(root).fs, use_snapshots=use_snapshots)
    catalog.refresh()
    return catalog


def assert_same_as_full_resolve(root) -> Catalog:
    with_snapshot, without = read(root), read(root, use_snapshots=False)
    assert state(with_snapshot) == state(without)
    return with_snapshot


def folder(root, name) -> Path:
    """The folder of a snapshot's files."""
    found = snapshots.folder_of(Store(root).fs, str(name))
    assert found is not None
    return root / snapshots.SNAPSHOTS_DIR / found


def log_runs(n: int, experiment: str = "snap", start: int = 0) -> list[str]:
    canvasback.set_experiment(experiment)
    ids = []
    for i in range(start, start + n):
        with canvasback.start_run(run_name=f"r{i}", params={"i": i, "lr": 0.1 * i}) as run:
            for step in range(3):
                canvasback.log_metric("loss", 1.0 / (i + step + 1), step=step)
            canvasback.set_tag("team", f"t{i % 2}")
        ids.append(run.run_id)
    canvasback.flush()
    return ids


def test_a_new_reader_starts_from_the_snapshot_compaction_wrote(store):
    ids = log_runs(5)
    with canvasback.start_run(run_id=ids[0]):
        canvasback.log_text("flavors: {}\n", "model/MLmodel")  # all the registry needs
    version = canvasback.register_model(f"runs:/{ids[0]}/model", "m")
    canvasback.MlflowClient(store).set_registered_model_alias("m", "champion", version.version)
    canvasback.set_experiment_tag("owner", "ana")
    report = canvasback.compact(grace_seconds=0)
    assert report.snapshot is not None
    assert (store / snapshots.SNAPSHOTS_DIR / f"{report.snapshot}.json").exists()
    catalog = assert_same_as_full_resolve(store)
    assert catalog.snapshot == report.snapshot
    assert catalog.tail_files == 0  # nothing newer than the snapshot to read
    assert len(state(catalog)["runs"]) == 5


def test_the_snapshot_keeps_few_valued_text_as_dictionaries_and_reads_it_as_text(store):
    log_runs(12)
    canvasback.compact(grace_seconds=0)
    catalog = read(store)
    base = catalog.base.wide
    team = catalog.key_column("tags.team")
    assert pa.types.is_dictionary(base.schema.field(team).type)  # two values in twelve runs
    assert pa.types.is_dictionary(base.schema.field("status").type)
    assert not pa.types.is_dictionary(base.schema.field("run_id").type)  # all distinct
    client = canvasback.Client(store)  # a new reader, standing on the snapshot
    assert client.store.read().snapshot is not None
    experiment = [canvasback.get_experiment_by_name("snap").experiment_id]
    frame = client.search_runs_frame(experiment, order_by=["params.i ASC"], max_results=3)
    assert frame["tags.team"].tolist() == ["t0", "t1", "t0"]
    assert frame["status"].dtype == frame["run_id"].dtype  # text, not categories
    hits = client.search_runs_frame(experiment, "tags.team LIKE 't1%' and params.i != '3'")
    assert sorted(hits["params.i"].astype(int)) == [1, 5, 7, 9, 11]


def test_a_reader_moves_onto_a_newer_snapshot_and_old_ones_are_pruned(store):
    log_runs(3)
    first = canvasback.compact(grace_seconds=0).snapshot
    catalog = read(store)
    assert catalog.snapshot == first
    log_runs(2, start=3)
    second = canvasback.compact(grace_seconds=0).snapshot
    first_folder = folder(store, first)
    third_report = (log_runs(1, start=5), canvasback.compact(grace_seconds=0))[1]
    catalog.refresh()
    assert catalog.snapshot == third_report.snapshot
    assert state(catalog) == state(read(store, use_snapshots=False))
    assert first in third_report.deleted_snapshots  # past the newest two
    assert snapshots.manifest_names(Store(store).fs) == [third_report.snapshot, second]
    assert not first_folder.exists()


def test_a_corrupt_snapshot_falls_back_with_a_warning(store):
    log_runs(3)
    older = canvasback.compact(grace_seconds=0).snapshot
    log_runs(2, start=3)
    newer = canvasback.compact(grace_seconds=0).snapshot
    expected = state(read(store, use_snapshots=False))
    wide = folder(store, newer) / snapshots.WIDE_FILE
    wide.write_bytes(wide.read_bytes()[: wide.stat().st_size // 2])
    with pytest.warns(CorruptSnapshotWarning, match=str(newer)):
        catalog = read(store)
    assert catalog.snapshot == older  # the older one, and the newer tail on top
    assert state(catalog) == expected
    # Both damaged: the segments themselves.
    params = folder(store, older) / "params.parquet"
    params.write_bytes(b"not parquet")
    with pytest.warns(CorruptSnapshotWarning):
        catalog = read(store)
    assert catalog.snapshot is None
    assert state(catalog) == expected


def test_a_manifest_that_lies_is_refused(store):
    log_runs(2)
    name = canvasback.compact(grace_seconds=0).snapshot
    expected = state(read(store, use_snapshots=False))
    manifest = store / snapshots.SNAPSHOTS_DIR / f"{name}.json"
    raw = json.loads(manifest.read_text())
    raw["files"]["runs.parquet"]["rows"] += 1
    manifest.write_text(json.dumps(raw))
    with pytest.warns(CorruptSnapshotWarning, match="rows"):
        catalog = read(store)
    assert catalog.snapshot is None
    assert state(catalog) == expected


@pytest.mark.parametrize("kill_at", range(1, 15))
def test_a_snapshot_writer_killed_at_any_point_leaves_the_store_exact(store, run_python, kill_at):
    log_runs(3)
    canvasback.compact(grace_seconds=0, snapshot=False)
    expected = state(read(store, use_snapshots=False))
    # The child dies (SIGKILL, no clean-up) at its kill_at-th file operation.
    done = run_python(
        """
        import os, signal, sys
        from pathlib import Path
        from canvasback.store import Store, layout
        from canvasback.store.read import snapshots

        left = int(sys.argv[2])
        real_replace = Path.replace
        def replace(self, target):
            global left
            left -= 1
            if left == 0:
                os.kill(os.getpid(), signal.SIGKILL)
            return real_replace(self, target)
        Path.replace = replace
        store = Store(sys.argv[1])
        store.read().write_snapshot("victim")
        print("finished")
        """,
        store,
        kill_at,
        check=False,
    )
    killed = done.returncode == -signal.SIGKILL
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptSnapshotWarning)  # unfinished is not corrupt
        catalog = read(store)
    assert (catalog.snapshot is not None) == (not killed)
    assert state(catalog) == expected
    if killed:  # what it left is cleaned up once it is old enough
        folder = store / snapshots.SNAPSHOTS_DIR
        leftovers = [p for p in folder.rglob("*") if "victim" in str(p)]
        assert leftovers
        old_ns = int(10 * snapshots.UNFINISHED_SECONDS * 1e9)
        for path in leftovers:
            stat = path.stat()
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - old_ns))
        snapshots.prune(Store(store).fs, grace_seconds=0)
        assert not [p for p in folder.iterdir() if "victim" in p.name]


def test_the_first_reader_of_a_long_tail_writes_the_next_snapshot(store, monkeypatch):
    log_runs(2)
    first = canvasback.compact(grace_seconds=0).snapshot
    for i in range(4):  # every run flushes: a few files per run and table
        log_runs(1, start=10 + i)
    monkeypatch.setenv("CANVASBACK_SNAPSHOT_AFTER_FILES", "5")
    catalog = read(store)
    assert catalog.snapshot not in (None, first)
    assert catalog.tail_files == 0
    assert state(catalog) == state(read(store, use_snapshots=False))
    monkeypatch.setenv("CANVASBACK_SNAPSHOT_AFTER_FILES", "100000")


def test_a_reader_folds_as_many_runs_as_its_snapshot_holds_into_the_next(store, monkeypatch):
    monkeypatch.setenv("CANVASBACK_SNAPSHOT_AFTER_RUNS", "6")
    catalog = read(store)
    log_runs(5)
    catalog.refresh()
    assert catalog.snapshot is None  # five runs in memory: under the threshold
    log_runs(1, start=5)
    catalog.refresh()
    first = catalog.snapshot
    assert first is not None  # six: written, and this reader stands on it
    assert catalog.rows(f"SELECT count(*) FROM {relations.WIDE}") == [(0,)]
    log_runs(5, start=6)
    catalog.refresh()
    assert catalog.snapshot == first  # five more, under the six the snapshot holds
    log_runs(1, start=11)
    catalog.refresh()
    assert catalog.snapshot not in (None, first)
    assert state(catalog) == state(read(store, use_snapshots=False))
    assert len(state(catalog)["runs"]) == 12
