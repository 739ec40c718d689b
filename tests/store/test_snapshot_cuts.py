"""Snapshots as cuts of the store: what each holds, how readers merge the rest, their order.

A snapshot holds the resolution of exactly the segment files it names, whatever a writer
was doing while it was taken; a reader on it merges every other row once; the newest
snapshot is the one that covers the most, whatever the clocks of the processes that
wrote them; and a manifest that cannot be read is passed over, never a crash.
"""

from __future__ import annotations

import json
import os
import time
import warnings

import pytest
from tests.store.test_snapshots import folder, log_runs, read, state

import canvasback
from canvasback.store import Store
from canvasback.store.read import snapshots
from canvasback.store.read.snapshots import CorruptSnapshotWarning


@pytest.mark.parametrize(
    "damage",
    [
        "a list",
        "null",
        "covered as a list",
        "a file outside",
        "wide file missing",
        "wide file unnamed",
    ],
)
def test_a_manifest_of_another_shape_falls_back_with_a_warning(store, damage):
    log_runs(2)
    older = canvasback.compact(grace_seconds=0).snapshot
    log_runs(1, start=2)
    newer = str(canvasback.compact(grace_seconds=0).snapshot)
    expected = state(read(store, use_snapshots=False))
    manifest = store / snapshots.SNAPSHOTS_DIR / f"{newer}{snapshots.MANIFEST_SUFFIX}"
    raw = json.loads(manifest.read_text())
    wide = folder(store, newer) / snapshots.WIDE_FILE
    if damage == "a list":
        raw = []
    elif damage == "null":
        raw = None
    elif damage == "covered as a list":
        raw["covered"] = []
    elif damage == "a file outside":
        raw["files"]["../../runs/outside.parquet"] = {"rows": 0, "bytes": 0}
    else:
        wide.unlink()
        if damage == "wide file unnamed":
            del raw["files"][snapshots.WIDE_FILE]
    manifest.write_text(json.dumps(raw))
    with pytest.warns(CorruptSnapshotWarning, match=newer):
        catalog = read(store)
    assert catalog.snapshot == older
    assert state(catalog) == expected


AHEAD = """
import sys
import time

from canvasback.store import Store

# This process's clock is 400 days ahead of everyone else's.
ahead = 400 * 86_400
real_time, real_time_ns = time.time, time.time_ns
time.time = lambda: real_time() + ahead
time.time_ns = lambda: real_time_ns() + ahead * 10**9
print(Store(sys.argv[1]).read().write_snapshot("ahead"))
"""


def test_snapshots_are_ordered_by_what_they_cover_not_by_a_writer_s_clock(store, run_python):
    log_runs(2)
    canvasback.compact(grace_seconds=0)
    ahead = run_python(AHEAD, store).stdout.strip()
    fs = Store(store).fs
    assert snapshots.manifest_names(fs)[0] == ahead
    written, deleted = [], []
    for i in range(3):
        log_runs(1, start=2 + i)
        report = canvasback.compact(grace_seconds=0)
        assert report.snapshot is not None
        # The latest is the newest for every reader; the one before it is kept.
        assert snapshots.manifest_names(fs)[:2] == [
            report.snapshot,
            written[-1] if written else ahead,
        ]
        assert read(store).snapshot == report.snapshot
        written.append(report.snapshot)
        deleted += report.deleted_snapshots
    assert ahead in deleted  # pruned as any older snapshot is
    assert not set(written[-2:]) & set(deleted)
    assert state(read(store)) == state(read(store, use_snapshots=False))


def test_of_two_catalogs_writing_one_generation_one_wins_the_other_moves_onto_it(store):
    log_runs(2)
    canvasback.compact(grace_seconds=0)
    early, late = read(store), read(store)
    log_runs(1, start=2)
    late.refresh()  # holds a run more than early
    won = late.write_snapshot("late")
    assert won is not None
    # early listed the snapshots before late's was written: its state may hold less, so
    # it may not be ordered after it. It loses the generation and leaves nothing behind.
    assert early.write_snapshot("early") is None
    assert snapshots.manifest_names(Store(store).fs)[0] == won
    assert not [p for p in (store / snapshots.SNAPSHOTS_DIR).iterdir() if "early" in p.name]
    assert early.snapshot == won
    assert state(early) == state(read(store, use_snapshots=False))
    # Once it has listed the winner, its next snapshot is the one after.
    log_runs(1, start=3)
    early.refresh()
    after = early.write_snapshot("early")
    assert after is not None
    assert snapshots.generation_of(after) == snapshots.generation_of(won) + 1
    assert (store / snapshots.SNAPSHOTS_DIR / f"{after}.json").exists()


def test_a_snapshot_of_an_earlier_version_is_not_read_and_compaction_removes_it(store):
    log_runs(2)
    legacy = store / snapshots.SNAPSHOTS_DIR / "snap-01796655595177079865-5345aeadeab2"
    legacy.mkdir(parents=True)
    (legacy / "runs.parquet").write_bytes(b"of another format")
    manifest = legacy.with_name(f"{legacy.name}.json")
    manifest.write_text(json.dumps({"format": 1, "covered": {}}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptSnapshotWarning)  # not a snapshot of this one
        assert read(store).snapshot is None
    hour_ago_ns = int((time.time() - 2 * snapshots.UNFINISHED_SECONDS) * 1e9)
    for path in (legacy, legacy / "runs.parquet", manifest):
        os.utime(path, ns=(hour_ago_ns, hour_ago_ns))
    name = canvasback.compact(grace_seconds=0).snapshot
    assert sorted(p.name for p in legacy.parent.iterdir()) == sorted(
        [f"{name}.json", folder(store, name).name]
    )
