"""Which segment files are live: an incremental listing of one table.

A table's live files are its segments and compacted files, less every input that a
compacted file (with its ``.inputs.json`` sidecar) replaces. Listing is incremental: a
partition folder whose modification time has not changed since a trusted scan is not
read again, and only files not seen before are reported as new.

When a folder's mtime may be trusted does not depend on the file system's timestamp
granularity (one second on some), nor on the reader's clock: a scan that saw mtime M
is trusted only if the file system's clock had passed M before the scan: then any later
change of the folder gives it a different mtime. Either some folder of the table
already showed an mtime later than M, or this reader saw M at least one timestamp
step (:func:`settle_ns`) before the scan: the file system's clock, at M or later then,
has moved on by as much since (clocks do not run at the same time, but at the same
rate). Until then the folder is listed again at each refresh, so the newest folder of
a store that stopped changing is listed a few more times, not at every read.

On object storage folders have no times: each refresh lists the table's objects in one
listing (pages of 1,000), which names every partition and file at once; files not
seen before are new, as above. The listing also tells each object's ETag, so its local
copy is read with no further request (``fs/s3_local.py``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from canvasback.store import layout

if TYPE_CHECKING:
    from collections.abc import Callable

    from canvasback.store.fs import FileSystem

# A file system that stamps whole seconds (FAT: two) or milliseconds (exFAT: ten) may
# give two changes a step apart the same mtime; one with finer stamps takes them from
# the kernel's coarse clock, a scheduler tick behind (10 ms at most), with margin.
_COARSE_STEP_NS: Final = 2_000_000_000
_FINE_STEP_NS: Final = 50_000_000


def settle_ns(mtime_ns: int) -> int:
    """How long after a reader sees ``mtime_ns`` no new change can be stamped with it."""
    return _COARSE_STEP_NS if mtime_ns % 1_000_000 == 0 else _FINE_STEP_NS


@dataclass
class Sidecar:
    """What a compacted file replaces."""

    inputs: list[str]
    purged_run_ids: list[str] = field(default_factory=list)


@dataclass
class Changes:
    """What one refresh of a table found."""

    new: list[str] = field(default_factory=list)  # live files not seen before
    gone: list[str] = field(default_factory=list)  # live files that were replaced or removed
    sidecars: dict[str, Sidecar] = field(default_factory=dict)  # new compacted file -> sidecar

    def __bool__(self) -> bool:
        return bool(self.new or self.gone)


def read_sidecar(fs: FileSystem, data_rel: str) -> Sidecar | None:
    """What a compacted file replaces, from its sidecar (None if it has none)."""
    side_rel = data_rel[: -len(layout.PARQUET_SUFFIX)] + layout.INPUTS_SUFFIX
    try:
        raw = json.loads(fs.read_bytes(side_rel))
        return Sidecar(list(raw["inputs"]), list(raw.get("purged_run_ids", [])))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        # A sidecar that says nothing usable leaves its file aside, as a damaged
        # compacted file is: its inputs are read instead, never a refresh that fails.
        return None


# Compacted files of compacted files: how deep :func:`remainder` follows them.
_MAX_NESTING = 8


def remainder(
    fs: FileSystem, sidecar: Sidecar, loaded: set[str], depth: int = 0
) -> list[str] | None:
    """Files holding exactly the rows of a compacted file that ``loaded`` files do not.

    None if no input is loaded, or if only the compacted file itself has the rest: an
    input is gone (compaction deletes them after a grace period), or the compaction
    dropped purged runs' rows. Then the file is loaded whole, merging the loaded rows
    again (every merge rule is idempotent: only the time is lost). A snapshot may hold
    some inputs of a file compacted after it: the rest of its rows are those of the
    other inputs, each read whole, or, for one itself compacted and partly loaded, the
    same way from its own inputs.
    """
    inputs = set(sidecar.inputs)
    if inputs <= loaded:
        return []
    if not inputs & loaded or sidecar.purged_run_ids or depth > _MAX_NESTING:
        return None
    files: list[str] = []
    for rel in sidecar.inputs:
        if rel in loaded:
            continue
        if not fs.is_regular_file(rel):
            return None
        compacted = rel.rsplit("/", 1)[-1].startswith(layout.COMPACTED_PREFIX)
        nested = read_sidecar(fs, rel) if compacted else None
        rest = remainder(fs, nested, loaded, depth + 1) if nested is not None else None
        files += [rel] if rest is None else rest
    return files


class TableIndex:
    """Incremental view of one table's live files (store-relative paths)."""

    def __init__(
        self, fs: FileSystem, table: str, clock: Callable[[], int] = time.monotonic_ns
    ) -> None:
        self.fs = fs
        self.table = table
        self._clock_ns = clock  # the reader's: only the time between two reads is used
        self._dir_mtimes: dict[str, int] = {}  # folder -> mtime at a trusted scan
        self._first_seen: dict[str, tuple[int, int]] = {}  # folder -> (mtime, reader time)
        self._present: dict[str, set[str]] = {}  # partition -> data file names present
        self._sidecars: dict[str, Sidecar] = {}  # compacted file rel path -> sidecar
        self.accepted: dict[str, Sidecar] = {}  # compacted files in force -> sidecar
        self.live: set[str] = set()
        self.ignored: set[str] = set()  # corrupt files that could not be moved aside
        self._clock = 0  # latest mtime seen in this table: the file system's clock passed it
        self.stale = False  # a compacted file was forgotten: recompute live on refresh

    def _trust(self, rel: str, mtime_ns: int, clock_ns: int, seen_at: int) -> None:
        """After a scan of ``rel``: remember its mtime if no later change can share it.

        ``seen_at``: the reader's time just after ``mtime_ns`` was read, before the scan.
        """
        first = self._first_seen.get(rel)
        if first is None or first[0] != mtime_ns:
            first = self._first_seen[rel] = (mtime_ns, seen_at)
        if mtime_ns < clock_ns or seen_at - first[1] >= settle_ns(mtime_ns):
            self._dir_mtimes[rel] = mtime_ns
            self._first_seen.pop(rel, None)
        else:
            self._dir_mtimes.pop(rel, None)

    def refresh(self) -> Changes:
        """List what changed since the last refresh.

        A listing that fails midway (a server's answer cut short) may have taken in
        files it never reported: the next refresh reports them.
        """
        try:
            return self._refresh_listed() if self.fs.remote else self._refresh_folders()
        except BaseException:
            self.stale = True
            raise

    def _refresh_folders(self) -> Changes:
        """:meth:`refresh` of a local folder: only the folders whose time moved are listed."""
        table_mtime = self.fs.stat_mtime_ns(self.table)
        if table_mtime is None:
            return Changes()
        mtimes = {p: self.fs.stat_mtime_ns(f"{self.table}/{p}") for p in self._present}
        seen_at = self._clock_ns()
        # A lower bound of the file system's clock, from mtimes seen before any scan below.
        clock = max([self._clock, table_mtime, *(m for m in mtimes.values() if m is not None)])
        self._clock = clock
        if self._dir_mtimes.get(self.table) != table_mtime:
            listing = self.fs.list_names(self.table)
            partitions = [name for name, is_dir, _file in listing if is_dir and "=" in name]
            self._trust(self.table, table_mtime, clock, seen_at)
            for gone in set(self._present) - set(partitions):
                self._present.pop(gone)
                self._dir_mtimes.pop(f"{self.table}/{gone}", None)
                self._first_seen.pop(f"{self.table}/{gone}", None)
            for p in partitions:
                if p not in self._present:
                    self._present[p] = set()
                    mtimes[p] = self.fs.stat_mtime_ns(f"{self.table}/{p}")
                    seen_at = self._clock_ns()
        changes = Changes()
        dirty = False
        for partition in list(self._present):
            rel = f"{self.table}/{partition}"
            mtime = mtimes.get(partition)
            if mtime is None or self._dir_mtimes.get(rel) == mtime:
                continue
            dirty |= self._scan_partition(partition, changes)
            self._trust(rel, mtime, clock, seen_at)
        if dirty or self.stale:
            self.stale = False
            self._recompute_live(changes)
        return changes

    def _refresh_listed(self) -> Changes:
        """:meth:`refresh` from one listing of every object of the table (no folder times)."""
        listed: dict[str, set[str]] = {}
        for rel in self.fs.walk_files(self.table, starting=f"{layout.PARTITION_KEY}="):
            parts = rel.split("/")
            if len(parts) == 3 and "=" in parts[1]:  # noqa: PLR2004  # table/partition/file
                listed.setdefault(parts[1], set()).add(parts[2])
        gone = set(self._present) - set(listed)
        for partition in gone:
            self._present.pop(partition)
        changes = Changes()
        dirty = bool(gone)
        for partition, names in listed.items():
            self._present.setdefault(partition, set())
            dirty |= self._scan_partition(partition, changes, names)
        if dirty or self.stale:
            self.stale = False
            self._recompute_live(changes)
        return changes

    def _scan_partition(
        self, partition: str, changes: Changes, listed: set[str] | None = None
    ) -> bool:
        """Update the files present in one partition; True if any came or went.

        ``listed``: its objects' names, from a listing of the whole table (objects are
        regular files); else the folder is listed here.
        """
        rel = f"{self.table}/{partition}"
        before = set(self._present[partition])
        # Names only (a folder of many segments is listed at C speed); each name not seen
        # before is checked once. Regular files only: opening a FIFO or a device named
        # like a segment would block.
        names = set(self.fs.names(rel)) if listed is None else listed
        fresh = {
            n
            for n in names - before
            if layout.is_data_file(n)
            and f"{rel}/{n}" not in self.ignored
            and (listed is not None or self.fs.is_regular_file(f"{rel}/{n}"))
        }
        data = (names & before) | fresh
        for name in data - before:
            if name.startswith(layout.COMPACTED_PREFIX):
                sidecar = self._read_sidecar(f"{rel}/{name}")
                if sidecar is None:
                    continue  # written before its sidecar is impossible; a foreign file
                self._sidecars[f"{rel}/{name}"] = sidecar
                changes.sidecars[f"{rel}/{name}"] = sidecar
            self._present[partition].add(name)
        for name in before - data:
            self._present[partition].discard(name)
            self._sidecars.pop(f"{rel}/{name}", None)
        return self._present[partition] != before

    def _read_sidecar(self, data_rel: str) -> Sidecar | None:
        return read_sidecar(self.fs, data_rel)

    def _recompute_live(self, changes: Changes) -> None:
        present = {f"{self.table}/{p}/{n}" for p, names in self._present.items() for n in names}
        replaced: set[str] = set()
        self.accepted = {}
        # Oldest first: a compacted file whose inputs overlap one already accepted (two
        # compactors raced past a broken lease) would duplicate rows, so it is ignored.
        for rel in sorted(self._sidecars):
            inputs = set(self._sidecars[rel].inputs)
            if inputs & replaced:
                continue
            self.accepted[rel] = self._sidecars[rel]
            replaced |= inputs
        live = {p for p in present if p not in replaced}
        live -= {r for r in self._sidecars if r not in self.accepted}
        changes.new.extend(sorted(live - self.live))
        changes.gone.extend(sorted(self.live - live))
        self.live = live

    def forget(self, rel: str, *, retry: bool = False, ignore: bool = False) -> None:
        """Drop a file (moved aside as corrupt, or unreadable for now) from the index.

        A forgotten compacted file no longer replaces its inputs: those still on disk
        become live again at the next refresh, so their rows stay readable. With
        ``retry`` the file's folder is listed again at the next refresh, so a file that
        could not be opened this time is offered again; with ``ignore`` a file still on
        disk (corrupt, but it could not be moved) is never offered again.
        """
        table, partition = rel.split("/")[:2]
        self._present.get(partition, set()).discard(rel.rsplit("/", 1)[-1])
        self.live.discard(rel)
        if retry:
            self._dir_mtimes.pop(f"{table}/{partition}", None)
        if ignore:
            self.ignored.add(rel)
        if self._sidecars.pop(rel, None) is not None:
            self.stale = True

    def partitions(self) -> list[str]:
        """Partition folder names seen at the last refresh."""
        return sorted(self._present)
