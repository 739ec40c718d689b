"""Compaction: merge a partition's small segments into one file, losing and duplicating nothing.

Per partition: take a lease (an epoch of it, ``leases.py``), merge the inputs into a
local temp file, commit the lease's epoch, write a sidecar naming the inputs, write the
compacted file (it appears whole), and delete inputs of earlier compactions once a
reader grace period has passed. A compactor killed at any point leaves the store exact:
before the compacted file appears its inputs are live; after, readers skip them; an
orphaned sidecar or temp file is only ever cleaned up. A compactor paused past its
lease finds its epoch fenced by the one that took over when it comes to commit, and
publishes nothing.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from canvasback.store import declarations, layout
from canvasback.store.integrity import (
    CORRUPT,
    SOUND,
    CorruptSegmentWarning,
    UnreadableSegmentWarning,
    inspect_segment,
)
from canvasback.store.leases import lease
from canvasback.store.read.segments import TableIndex

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb

    from canvasback.store.fs import FileSystem
    from canvasback.store.leases import Lease
    from canvasback.store.schema import Table

DEFAULT_GRACE_SECONDS: Final = 300.0
STALE_TMP_SECONDS: Final = 3600.0


@dataclass
class CompactionReport:
    """What one compaction pass did."""

    compacted_files: int = 0
    input_files: int = 0
    rows: int = 0
    deleted_files: int = 0
    purged_runs: list[str] = field(default_factory=list)
    skipped_partitions: list[str] = field(default_factory=list)  # leased by another process
    snapshot: str | None = None  # the snapshot written after compacting
    deleted_snapshots: list[str] = field(default_factory=list)


def compact_store(
    fs: FileSystem,
    con: duckdb.DuckDBPyConnection,
    writer_id: str,
    *,
    min_files: int = 2,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    purge_run_ids: list[str] | None = None,
) -> CompactionReport:
    """Compact every partition of every table that has at least ``min_files`` live files.

    ``con`` is a DuckDB connection used only to merge files (it need not know the store).
    Rows of runs in ``purge_run_ids`` are dropped from the compacted files of run-scoped
    tables (see ``schema.Table.run_column``).
    """
    report = CompactionReport(purged_runs=sorted(purge_run_ids or []))
    for spec in declarations.tables():
        table = spec.name
        index = TableIndex(fs, table)
        index.refresh()
        for partition in index.partitions():
            prefix = f"{table}/{partition}/"
            with lease(fs, f"{table}-{partition}") as held:
                if held is None:
                    report.skipped_partitions.append(prefix)
                    continue
                index.refresh()
                live = sorted(r for r in index.live if r.startswith(prefix))
                purge = report.purged_runs if spec.run_scoped else []
                if len(live) >= min_files or (purge and live):
                    job = Job(spec, prefix, live, writer_id, purge)
                    if not compact_partition(fs, con, job, held, report):
                        report.skipped_partitions.append(prefix)  # fenced: taken over
                        continue
                    index.refresh()
                _delete_replaced(fs, index, prefix, grace_seconds, report)
    return report


@dataclass(frozen=True)
class Job:
    """One partition's compaction: its table, its live files, who compacts, what is purged."""

    spec: Table
    prefix: str
    inputs: list[str]
    writer_id: str
    purge: list[str]


class _FencedError(Exception):
    """The lease's epoch was ended by a successor: the work must not be published."""


def compact_partition(
    fs: FileSystem,
    con: duckdb.DuckDBPyConnection,
    job: Job,
    held: Lease,
    report: CompactionReport,
) -> bool:
    """Merge a partition's inputs into one compacted file, under the lease ``held``.

    The merge goes to a local temp file; then the lease's epoch is committed, and only
    then do the sidecar and the file appear. False if the epoch was fenced (this
    compactor was paused past its lease and another took it over): nothing is written.
    """
    spec, inputs = job.spec, job.inputs
    data_rel = job.prefix + layout.segment_name(time.time_ns(), job.writer_id, 0, compacted=True)
    side_rel = data_rel[: -len(layout.PARQUET_SUFFIX)] + layout.INPUTS_SUFFIX
    while inputs:
        try:
            with fs.atomic_write(data_rel) as tmp:
                rows = _merge(con, job, fs.local_paths(inputs), tmp)
                _commit(held)
                # The sidecar goes first: a compacted file must never be seen without it.
                sidecar = {"inputs": inputs, "purged_run_ids": job.purge, "epoch": held.epoch}
                fs.write_bytes(side_rel, json.dumps(sidecar).encode())
        except _FencedError:
            return False
        except Exception:
            # A corrupt input is moved aside (as a reader would) and the rest merged.
            bad = _quarantine_unreadable(fs, spec.name, inputs)
            if not bad:
                raise
            inputs = [r for r in inputs if r not in bad]
            continue
        report.compacted_files += 1
        report.input_files += len(inputs)
        report.rows += rows
        return True
    return True  # every input was unreadable: nothing to replace


def _merge(con: duckdb.DuckDBPyConnection, job: Job, paths: list[str], out: Path) -> int:
    """Merge the input files into ``out``, sorted, less purged runs; returns its rows."""
    spec = job.spec
    where = f"WHERE NOT list_contains(?, {spec.run_column})" if job.purge else ""
    params: list[object] = [paths, job.purge] if job.purge else [paths]
    con.execute(
        f"COPY (SELECT {', '.join(spec.column_names)} FROM read_parquet(?, "
        f"hive_partitioning = false) {where} ORDER BY {', '.join(spec.sort)}) "
        f"TO '{_quote(str(out))}' "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {int(spec.compacted_row_group)})",
        params,
    )
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{_quote(str(out))}')").fetchone()
    return int(rows[0]) if rows else 0


def _commit(held: Lease) -> None:
    """Commit the lease's epoch; :class:`_FencedError` if a successor fenced it."""
    if not held.commit():
        raise _FencedError


def _quarantine_unreadable(fs: FileSystem, table: str, inputs: list[str]) -> list[str]:
    """Inputs to leave out: corrupt ones are moved aside, unreadable ones left in place.

    Only a file proven corrupt is moved; one that cannot be opened now (a permission,
    an I/O error) stays where it is, live, for a later compaction to merge.
    """
    bad: list[str] = []
    for rel in inputs:
        verdict, why = inspect_segment(fs, rel, table)
        if verdict == SOUND:
            continue
        bad.append(rel)
        if verdict == CORRUPT:
            moved = fs.move_aside(rel, layout.QUARANTINE_DIR)
            msg = f"is corrupt ({why}); moved aside to {moved!r}"
            category: type[UserWarning] = CorruptSegmentWarning
        else:
            msg = f"cannot be opened now ({why}); left in place"
            category = UnreadableSegmentWarning
        warnings.warn(
            f"canvasback: segment {rel!r} of table {table!r} {msg} and left out of "
            "compaction. Every other row stays readable.",
            category,
            stacklevel=4,
        )
    return bad


def _delete_replaced(
    fs: FileSystem,
    index: TableIndex,
    prefix: str,
    grace_seconds: float,
    report: CompactionReport,
) -> None:
    """Delete inputs of compacted files older than the grace period, and stale leftovers."""
    now_ns = time.time_ns()
    grace_ns = int(grace_seconds * 1e9)
    live_or_accepted = index.live | set(index.accepted)
    for rel, sidecar in index.accepted.items():
        if not rel.startswith(prefix):
            continue
        mtime = fs.stat_mtime_ns(rel)
        if mtime is None or now_ns - mtime < grace_ns:
            continue
        for old in sidecar.inputs:
            if fs.exists(old):
                fs.delete(old)
                _delete_sidecar_of(fs, old)
                report.deleted_files += 1
    for entry in fs.list(prefix.rstrip("/")):
        rel = prefix + entry.name
        age_ns = now_ns - entry.mtime_ns
        stale_tmp = entry.name.startswith(".") and age_ns > STALE_TMP_SECONDS * 1e9
        orphan_sidecar = (
            entry.name.endswith(layout.INPUTS_SUFFIX)
            and age_ns > grace_ns
            and _data_of(rel) not in live_or_accepted
            and not fs.exists(_data_of(rel))
        )
        if stale_tmp or orphan_sidecar:
            fs.delete(rel)


def _data_of(sidecar_rel: str) -> str:
    return sidecar_rel[: -len(layout.INPUTS_SUFFIX)] + layout.PARQUET_SUFFIX


def _delete_sidecar_of(fs: FileSystem, data_rel: str) -> None:
    if data_rel.rsplit("/", 1)[-1].startswith(layout.COMPACTED_PREFIX):
        fs.delete(data_rel[: -len(layout.PARQUET_SUFFIX)] + layout.INPUTS_SUFFIX)


def _quote(text: str) -> str:
    return text.replace("'", "''")
