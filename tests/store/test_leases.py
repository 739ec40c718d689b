"""Leases with epochs (fencing tokens): one holder at a time, and a paused one is fenced.

On a local folder and on S3-compatible object storage (SeaweedFS, the ``s3`` tier). A
"paused" holder is one whose lease expired (a time to live of zero) and was taken over
by another process's compactor or lease; it then comes back and tries to commit.
"""

from __future__ import annotations

import duckdb
import pytest

from canvasback._config import S3Address
from canvasback.store import Store, declarations, layout
from canvasback.store.compaction import CompactionReport, Job, compact_partition
from canvasback.store.leases import lease, take
from canvasback.store.read import snapshots
from canvasback.store.read.segments import TableIndex


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request, tmp_path):
    """A store on either backend, opened as a user would."""
    if request.param == "local":
        store = Store(tmp_path / "store")
    else:
        request.getfixturevalue("s3_env")
        store = Store(S3Address(request.getfixturevalue("s3_bucket"), "team"))
    yield store
    store.close()


def test_one_holder_at_a_time_and_the_next_epoch_after_it(store):
    fs = store.fs
    with lease(fs, "job") as first:
        assert first is not None
        assert first.epoch == 1
        with lease(fs, "job") as second:
            assert second is None  # held, not expired
    with lease(fs, "job") as third:  # let go: the next epoch
        assert third is not None
        assert third.epoch == 2


def test_a_holder_paused_past_its_lease_cannot_commit_after_its_successor(store):
    fs = store.fs
    paused = take(fs, "job", ttl=0)  # expired at once: as a process stopped for long
    assert paused is not None
    successor = take(fs, "job")
    assert successor is not None
    assert successor.epoch == paused.epoch + 1
    assert not paused.commit()  # fenced: its work must not be published
    assert take(fs, "job") is None  # the paused one's let-go did not free the successor's
    paused.release()
    assert take(fs, "job") is None
    assert successor.commit()
    after = take(fs, "job")
    assert after is not None
    assert after.epoch == successor.epoch + 1
    # Only the last epochs' files are kept.
    assert len([n for n in fs.names(f"{layout.LEASES_DIR}/job") if n.isdigit()]) <= 2


def test_a_paused_compactor_publishes_nothing_over_its_successors_work(store):
    fs = store.fs
    for step in range(6):  # six segments of one partition
        store.writer.append("metrics", "0", ("r1", "loss", step, 1000 + step, float(step)))
        store.flush()
    inputs = sorted(_live(fs))
    assert len(inputs) == 6

    paused = take(fs, "metrics-exp=0", ttl=0)  # a compactor that stopped after listing
    assert paused is not None
    report = store.compact(grace_seconds=3600, snapshot=False)  # another one takes over
    assert report.compacted_files == 1
    (compacted,) = _live(fs)
    assert compacted.rsplit("/", 1)[1].startswith(layout.COMPACTED_PREFIX)
    files = sorted(fs.walk_files("metrics"))

    job = Job(declarations.table("metrics"), "metrics/exp=0/", inputs, "paused", [])
    late = CompactionReport()
    assert not compact_partition(fs, duckdb.connect(), job, paused, late)  # it wakes up
    assert late.compacted_files == 0
    assert sorted(fs.walk_files("metrics")) == files  # no file, no sidecar of its own
    assert _live(fs) == {compacted}
    steps = store.read().rows("SELECT step FROM metrics ORDER BY step")
    assert [s for (s,) in steps] == list(range(6))  # every row once


def _live(fs) -> set[str]:
    index = TableIndex(fs, "metrics")
    index.refresh()
    return index.live


def test_a_paused_snapshot_writer_publishes_nothing(store):
    store.writer.append("metrics", "0", ("r1", "loss", 0, 1000, 0.5))
    catalog = store.read()
    paused = take(store.fs, "snapshot", ttl=0)
    assert paused is not None
    successor = take(store.fs, "snapshot")
    assert successor is not None
    assert catalog.write_snapshot("paused", paused) is None
    assert snapshots.manifest_names(store.fs) == []
    assert list(store.fs.walk_files(snapshots.SNAPSHOTS_DIR)) == []  # its files removed too
    assert catalog.write_snapshot("successor", successor) is not None
    assert len(snapshots.manifest_names(store.fs)) == 1
