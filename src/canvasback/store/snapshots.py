"""Snapshots: the resolved run-level state on disk, so a new reader starts from it.

Resolving every segment of a big store (a million runs: 13.7 s, 3.4 GB) is what a new
process paid before its first answer. A snapshot keeps what that resolution produced:

    _snapshots/snap-<time_ns>-<writer>/        the tables, immutable
        runs.parquet params.parquet latest.parquet state_runs.parquet ...
        wide.arrow                               the wide run table, Arrow IPC
    _snapshots/snap-<time_ns>-<writer>.json    the manifest, written last

The manifest names, per table, every segment file whose rows the snapshot holds: a
reader starts from the snapshot and loads only the other live files (the tail). A
snapshot with no manifest is unfinished and never read, so a writer killed at any point
leaves the store exact. The wide run table is an uncompressed Arrow IPC file, memory
mapped by readers: it opens in milliseconds and a search reads only the columns it
touches, where the same table in Parquet costs a full decode (0.4-1 s at a million runs)
before the first answer. Every other table is zstd Parquet, read where it lies.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from canvasback.store import layout

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from canvasback.store.fs import LocalFileSystem

SNAPSHOTS_DIR: Final = "_snapshots"
PREFIX: Final = "snap-"
MANIFEST_SUFFIX: Final = ".json"
FORMAT_VERSION: Final = 1
WIDE_FILE: Final = "wide.arrow"
# The wide file's row numbers, as a column: a search picks its page's rows by position.
POSITION: Final = "_pos"
WIDE_BATCH_ROWS = 1 << 16
"""Rows per record batch of the wide file: a page's pick touches only its rows' batches."""
# Older snapshots are kept this long after a newer one appears: a reader moves to the
# newest at its next refresh, and one still reading the old one has this long to finish.
KEEP: Final = 2
UNFINISHED_SECONDS: Final = 3600.0

# Event kinds whose entity is a run: their resolved rows are as many as the runs, so
# they stay on disk; every other kind (experiments, writers, the registry) is small and
# read into memory.
RUN_EVENT_KINDS: Final = (
    layout.EVENT_STATUS,
    layout.EVENT_END_TIME,
    layout.EVENT_TAG,
    layout.EVENT_LIFECYCLE,
)

# Run-scoped tables kept on disk: catalog table -> (file stem, column that names the run).
SPLIT: Final[dict[str, tuple[str, str]]] = {
    "_runs": ("runs", "run_id"),
    "_params": ("params", "run_id"),
    "_inputs": ("inputs", "run_id"),
    "_artifacts": ("artifacts", "run_id"),
    "_latest_metrics": ("latest", "run_id"),
    "_state": ("state_runs", "entity_id"),
}

# Small tables read into memory whole: catalog table -> file stem.
WHOLE: Final[dict[str, str]] = {
    "_experiments": "experiments",
    "_registered_models": "registered_models",
    "_model_versions": "model_versions",
    "_model_aliases": "model_aliases",
}
STATE_OTHER: Final = "state_other"


# "0": resolve every table from the segments, as before snapshots (for comparison).
SNAPSHOTS_ENV: Final = "CANVASBACK_SNAPSHOTS"
SNAPSHOT_AFTER_ENV: Final = "CANVASBACK_SNAPSHOT_AFTER_FILES"
DEFAULT_SNAPSHOT_AFTER_FILES: Final = 500
SNAPSHOT_AFTER_RUNS_ENV: Final = "CANVASBACK_SNAPSHOT_AFTER_RUNS"
DEFAULT_SNAPSHOT_AFTER_RUNS: Final = 5_000


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def after_files() -> int:
    """Tail files past which a new reader writes a snapshot.

    Set by ``CANVASBACK_SNAPSHOT_AFTER_FILES``.
    """
    return _int_env(SNAPSHOT_AFTER_ENV, DEFAULT_SNAPSHOT_AFTER_FILES)


def after_runs(snapshot_runs: int) -> int:
    """Runs held in memory past which a reader folds them into a new snapshot.

    As many as the snapshot under them holds, and at least
    ``CANVASBACK_SNAPSHOT_AFTER_RUNS`` (5,000): each snapshot then costs about what the
    runs since the last one do, and a reader's memory stays in proportion to its store.
    """
    return max(_int_env(SNAPSHOT_AFTER_RUNS_ENV, DEFAULT_SNAPSHOT_AFTER_RUNS), snapshot_runs)


def enabled() -> bool:
    """Whether readers start from snapshots (``CANVASBACK_SNAPSHOTS``, on unless "0")."""
    return os.environ.get(SNAPSHOTS_ENV, "1") != "0"


class CorruptSnapshotWarning(UserWarning):
    """A snapshot could not be read; the reader starts from an older one or the segments."""


@dataclass
class Snapshot:
    """One finished snapshot, as its manifest describes it."""

    name: str
    covered: dict[str, set[str]]  # segment table -> files whose rows it holds
    wide_columns: list[tuple[str, str, str]]  # (key name, physical column, SQL type)
    files: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> rows, bytes

    @property
    def folder(self) -> str:
        """The folder of its files, relative to the store."""
        return f"{SNAPSHOTS_DIR}/{self.name}"

    def rel(self, stem: str, suffix: str = layout.PARQUET_SUFFIX) -> str:
        """A file of the snapshot, relative to the store."""
        return f"{self.folder}/{stem}{suffix}"


def manifest_names(fs: LocalFileSystem) -> list[str]:
    """Names of finished snapshots, newest first."""
    names = [
        n[: -len(MANIFEST_SUFFIX)]
        for n in fs.names(SNAPSHOTS_DIR)
        if n.startswith(PREFIX) and n.endswith(MANIFEST_SUFFIX)
    ]
    return sorted(names, reverse=True)


def newest(fs: LocalFileSystem, *, after: str = "") -> Snapshot | None:
    """The newest snapshot that reads back whole (newer than ``after``), else None.

    A snapshot that does not (a file missing, truncated or not what its manifest says)
    is passed over with a :class:`CorruptSnapshotWarning`: the reader falls back to an
    older snapshot or to the segments themselves, which hold every row it held.
    """
    for name in manifest_names(fs):
        if name <= after:
            return None
        try:
            return _checked(fs, name)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            warnings.warn(
                f"canvasback: snapshot {name!r} cannot be read ({exc}); reading from an "
                "older snapshot or from the segment files instead, which hold the same rows.",
                CorruptSnapshotWarning,
                stacklevel=4,
            )
    return None


def _checked(fs: LocalFileSystem, name: str) -> Snapshot:
    import pyarrow as pa  # noqa: PLC0415  # loaded with the catalog
    import pyarrow.parquet as pq  # noqa: PLC0415
    from pyarrow import ipc  # noqa: PLC0415

    raw = json.loads(fs.read_bytes(f"{SNAPSHOTS_DIR}/{name}{MANIFEST_SUFFIX}"))
    if raw.get("format") != FORMAT_VERSION:
        msg = f"format {raw.get('format')!r}, this version reads {FORMAT_VERSION}"
        raise ValueError(msg)
    snapshot = Snapshot(
        name=name,
        covered={t: set(files) for t, files in raw["covered"].items()},
        wide_columns=[(n, p, t) for n, p, t in raw["wide_columns"]],
        files={f: dict(v) for f, v in raw["files"].items()},
    )
    for file, want in snapshot.files.items():
        path = fs.local_path(f"{snapshot.folder}/{file}")
        size = Path(path).stat().st_size
        if size != want["bytes"]:
            msg = f"{file} has {size} bytes, its manifest says {want['bytes']}"
            raise ValueError(msg)
        if file.endswith(layout.PARQUET_SUFFIX):
            rows = pq.read_metadata(path).num_rows
        else:
            reader = ipc.open_file(pa.memory_map(path))
            rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
        if rows != want["rows"]:
            msg = f"{file} has {rows} rows, its manifest says {want['rows']}"
            raise ValueError(msg)
    return snapshot


def open_wide(fs: LocalFileSystem, snapshot: Snapshot) -> pa.Table:
    """The snapshot's wide run table, memory-mapped: pages are read as queries touch them."""
    import pyarrow as pa  # noqa: PLC0415
    from pyarrow import ipc  # noqa: PLC0415

    source = pa.memory_map(fs.local_path(snapshot.rel("wide", ".arrow")))
    return ipc.open_file(source).read_all()


def write(
    fs: LocalFileSystem,
    con: duckdb.DuckDBPyConnection,
    *,
    writer_id: str,
    covered: dict[str, set[str]],
    wide_columns: list[tuple[str, str, str]],
    sources: dict[str, str],
) -> str:
    """Write a snapshot of the catalog state ``sources`` select; returns its name.

    ``sources`` maps each file stem to the SELECT that yields its rows (``wide`` too),
    all read in the one DuckDB transaction of ``con``, so that they and ``covered``
    describe one state. The manifest is written last.
    """
    import pyarrow as pa  # noqa: PLC0415
    from pyarrow import ipc  # noqa: PLC0415

    name = f"{PREFIX}{time.time_ns():020d}-{writer_id}"
    folder = fs.path(f"{SNAPSHOTS_DIR}/{name}")
    folder.mkdir(parents=True, exist_ok=False)
    files: dict[str, dict[str, int]] = {}
    for stem, select in sources.items():
        if stem == "wide":
            table = con.sql(select).to_arrow_table()
            if POSITION in table.column_names:  # the previous snapshot's positions
                table = table.drop_columns([POSITION])
            table = table.append_column(POSITION, pa.array(range(table.num_rows), pa.int64()))
            table = _dictionary_encoded(table)
            target = folder / WIDE_FILE
            tmp = folder / f".{WIDE_FILE}.tmp"
            with pa.OSFile(str(tmp), "wb") as sink, ipc.new_file(sink, table.schema) as out:
                out.write_table(table, max_chunksize=WIDE_BATCH_ROWS)
            tmp.replace(target)
            files[WIDE_FILE] = {"rows": table.num_rows, "bytes": target.stat().st_size}
            del table
            continue
        file = f"{stem}{layout.PARQUET_SUFFIX}"
        tmp = folder / f".{file}.tmp"
        con.execute(
            f"COPY ({select}) TO '{_quote(str(tmp))}' "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)"
        ).fetchall()
        ((rows,),) = con.execute(
            f"SELECT count(*) FROM read_parquet('{_quote(str(tmp))}')"
        ).fetchall()
        tmp.replace(folder / file)
        files[file] = {"rows": int(rows), "bytes": (folder / file).stat().st_size}
    manifest: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "covered": {t: sorted(rels) for t, rels in sorted(covered.items())},
        "wide_columns": [list(c) for c in wide_columns],
        "files": files,
    }
    fs.write_bytes(f"{SNAPSHOTS_DIR}/{name}{MANIFEST_SUFFIX}", json.dumps(manifest).encode())
    return name


def _dictionary_encoded(table: pa.Table) -> pa.Table:
    """Text columns with few distinct values (status, params, tags), dictionary-encoded.

    DuckDB compares such a column's few values, not each row's: a search's scan of the
    mapped file then takes about half the time.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    for i, column in enumerate(table.schema):
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            continue
        encoded = pc.dictionary_encode(table.column(i).combine_chunks())
        if len(encoded.dictionary) * 2 <= table.num_rows:
            table = table.set_column(i, column.name, encoded)
    return table


def prune(fs: LocalFileSystem, grace_seconds: float) -> list[str]:
    """Delete snapshots past the newest ``KEEP`` once a newer one is ``grace_seconds`` old.

    Also removes what writers killed long ago left: folders with no manifest, temp files.
    Returns the names deleted.
    """
    now_ns = time.time_ns()
    finished = manifest_names(fs)
    deleted: list[str] = []
    for older, newer in zip(finished[KEEP:], finished[KEEP - 1 :], strict=False):
        mtime = fs.stat_mtime_ns(f"{SNAPSHOTS_DIR}/{newer}{MANIFEST_SUFFIX}")
        if mtime is None or now_ns - mtime < grace_seconds * 1e9:
            continue
        fs.delete(f"{SNAPSHOTS_DIR}/{older}{MANIFEST_SUFFIX}")
        fs.delete_tree(f"{SNAPSHOTS_DIR}/{older}")
        deleted.append(older)
    keep = set(finished)
    for entry in fs.list(SNAPSHOTS_DIR):
        if now_ns - entry.mtime_ns <= UNFINISHED_SECONDS * 1e9:
            continue
        if entry.is_dir and entry.name.startswith(PREFIX) and entry.name not in keep:
            with contextlib.suppress(OSError):
                fs.delete_tree(f"{SNAPSHOTS_DIR}/{entry.name}")
        elif entry.name.startswith("."):  # a manifest's temp file
            fs.delete(f"{SNAPSHOTS_DIR}/{entry.name}")
    return deleted


def _quote(text: str) -> str:
    return text.replace("'", "''")
