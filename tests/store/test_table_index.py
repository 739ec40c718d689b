"""A table's incremental listing: an unchanged folder stops being listed once its time
can no longer be given to a new change, and a change stamped with the time seen
before then is still found."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from canvasback.store import layout
from canvasback.store.fs.local import LocalFileSystem
from canvasback.store.read.segments import TableIndex, settle_ns

if TYPE_CHECKING:
    from pathlib import Path

# A folder time with nanoseconds in it, as a file system with fine stamps gives.
STAMP = 1_700_000_000_123_456_789
TABLE = "model_versions"
PARTITION = f"{layout.PARTITION_KEY}=_registry"


class CountingFileSystem(LocalFileSystem):
    """The local file system, counting the partition listings it is asked for."""

    listings = 0

    def names(self, rel: str) -> list[str]:
        self.listings += 1
        return super().names(rel)


class Clock:
    """The reader's time, moved by hand."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def _segment(folder: Path, seq: int) -> str:
    name = layout.segment_name(seq, "w", seq)
    (folder / name).write_bytes(b"")
    os.utime(folder, ns=(STAMP, STAMP))  # every change of the folder in the same tick
    return f"{TABLE}/{PARTITION}/{name}"


def _store(tmp_path: Path) -> tuple[Path, CountingFileSystem]:
    folder = tmp_path / TABLE / PARTITION
    folder.mkdir(parents=True)
    os.utime(tmp_path / TABLE, ns=(STAMP - 1, STAMP - 1))
    return folder, CountingFileSystem(tmp_path)


def test_an_unchanged_folder_is_not_listed_again_once_its_time_settled(tmp_path: Path) -> None:
    folder, fs = _store(tmp_path)
    clock = Clock()
    index = TableIndex(fs, TABLE, clock)
    first = _segment(folder, 1)
    assert index.refresh().new == [first]
    clock.now += settle_ns(STAMP)
    assert not index.refresh()  # listed once more: the clock has passed the folder's time
    listed = fs.listings
    for _ in range(3):
        clock.now += settle_ns(STAMP)
        assert not index.refresh()
    assert fs.listings == listed
    second = _segment(folder, 2)
    os.utime(folder, ns=(STAMP + 1, STAMP + 1))  # a later change: a later time
    assert index.refresh().new == [second]


def test_a_change_with_the_time_already_seen_is_found_before_it_settled(
    tmp_path: Path,
) -> None:
    folder, fs = _store(tmp_path)
    clock = Clock()
    index = TableIndex(fs, TABLE, clock)
    first = _segment(folder, 1)
    assert index.refresh().new == [first]
    clock.now += settle_ns(STAMP) - 1
    second = _segment(folder, 2)  # the folder's time is the one seen: listed anyway
    assert index.refresh().new == [second]


def test_whole_second_times_settle_only_after_two_seconds() -> None:
    assert settle_ns(1_700_000_000_000_000_000) == 2_000_000_000
    assert settle_ns(STAMP) < 1_000_000_000
