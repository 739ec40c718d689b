"""Compaction: merge a partition's small segments into one file, losing and duplicating nothing.

Per partition: take a lease (exclusive create, with a time to live), write a sidecar
naming the inputs, write the compacted file (temp file, then rename), and delete inputs
of earlier compactions once a reader grace period has passed. A compactor killed at any
point leaves the store exact: before the compacted file appears its inputs are live;
after, readers skip them; an orphaned sidecar or temp file is only ever cleaned up.
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
    import duckdb

    from canvasback.store.fs import FileSystem
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
                if not held:
                    report.skipped_partitions.append(prefix)
                    continue
                index.refresh()
                live = sorted(r for r in index.live if r.startswith(prefix))
                purge = report.purged_runs if spec.run_scoped else []
                if len(live) >= min_files or (purge and live):
                    _compact_partition(fs, con, spec, prefix, live, writer_id, purge, report)
                    index.refresh()
                _delete_replaced(fs, index, prefix, grace_seconds, report)
    return report


def _compact_partition(
    fs: FileSystem,
    con: duckdb.DuckDBPyConnection,
    spec: Table,
    prefix: str,
    inputs: list[str],
    writer_id: str,
    purge: list[str],
    report: CompactionReport,
) -> None:
    name = layout.segment_name(time.time_ns(), writer_id, 0, compacted=True)
    data_rel = prefix + name
    side_rel = data_rel[: -len(layout.PARQUET_SUFFIX)] + layout.INPUTS_SUFFIX
    where = f"WHERE NOT list_contains(?, {spec.run_column})" if purge else ""
    order = ", ".join(spec.sort)
    columns = ", ".join(spec.column_names)
    while inputs:
        # The sidecar goes first: a compacted file must never be seen without it.
        fs.write_bytes(side_rel, json.dumps({"inputs": inputs, "purged_run_ids": purge}).encode())
        paths = fs.local_paths(inputs)
        params: list[object] = [paths, purge] if purge else [paths]
        try:
            with fs.atomic_write(data_rel) as tmp:
                con.execute(
                    f"COPY (SELECT {columns} FROM read_parquet(?, hive_partitioning = false) "
                    f"{where} ORDER BY {order}) TO '{_quote(str(tmp))}' "
                    "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)",
                    params,
                )
                rows = con.execute(
                    f"SELECT count(*) FROM read_parquet('{_quote(str(tmp))}')"
                ).fetchone()
        except Exception:
            # A corrupt input is moved aside (as a reader would) and the rest merged.
            bad = _quarantine_unreadable(fs, spec.name, inputs)
            if not bad:
                raise
            inputs = [r for r in inputs if r not in bad]
            continue
        report.compacted_files += 1
        report.input_files += len(inputs)
        report.rows += rows[0] if rows else 0
        return
    fs.delete(side_rel)  # every input was unreadable: nothing to replace


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
