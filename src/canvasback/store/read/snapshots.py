"""Snapshots: the resolved run-level state on disk, so a new reader starts from it.

Resolving every segment of a big store (a million runs: 13.7 s, 3.4 GB) is what a new
process paid before its first answer. A snapshot keeps what that resolution produced:

    _snapshots/snap-<generation>-<token>-<writer>/   the tables, immutable
        runs.parquet params.parquet latest.parquet state_runs.parquet ...
        wide.arrow                                    the wide run table, Arrow IPC
    _snapshots/snap-<generation>.json                 the manifest, created last

The manifest names, per table, every segment file whose rows the snapshot holds, and
the snapshot holds the resolution of exactly those files: a reader starts from it and
loads only the other live files (the tail). A snapshot with no manifest is unfinished
and never read, so a writer killed at any point leaves the store exact.

Snapshots are ordered by generation, not by anyone's clock. A catalog writes the
generation after the newest it had listed before its last refresh, so what it holds
covers every older snapshot; the manifest is created exclusively (as a claim is), so of
two catalogs racing for one generation one wins and the other discards its files. The
newest snapshot is then the one with the highest generation, found by listing names.

The wide run table is an uncompressed Arrow IPC file, memory mapped by readers: it
opens in milliseconds and a search reads only the columns it touches, where the same
table in Parquet costs a full decode (0.4-1 s at a million runs) before the first
answer. Every other table is zstd Parquet, read where it lies.

This module finds, checks and prunes snapshots; ``snapshot_write.py`` writes one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from canvasback.store import declarations, layout, schema
from canvasback.store.read import relations

if TYPE_CHECKING:
    import pyarrow as pa

    from canvasback.store.fs import FileSystem

SNAPSHOTS_DIR: Final = "_snapshots"
PREFIX: Final = "snap-"
MANIFEST_SUFFIX: Final = ".json"
FORMAT_VERSION: Final = 2
GENERATION_DIGITS: Final = 12
# Zero-padded, so names sort as generations do.
_MANIFEST: Final = re.compile(rf"{PREFIX}(\d{{{GENERATION_DIGITS}}}){re.escape(MANIFEST_SUFFIX)}")
WIDE_STEM: Final = "wide"
WIDE_FILE: Final = f"{WIDE_STEM}.arrow"  # the wide rows, as Arrow IPC
# The wide file's row numbers, as a column: a search picks its page's rows by position.
POSITION: Final = "_pos"
# Older snapshots are kept this long after a newer one appears: a reader moves to the
# newest at its next refresh, and one still reading the old one has this long to finish.
KEEP: Final = 2
UNFINISHED_SECONDS: Final = 3600.0

# Event kinds whose entity is a run: their resolved rows are as many as the runs, so
# they stay on disk; every other kind (experiments, writers, a declared layer's) is small
# and read into memory.
RUN_EVENT_KINDS: Final = (
    schema.EVENT_STATUS,
    schema.EVENT_END_TIME,
    schema.EVENT_TAG,
    schema.EVENT_LIFECYCLE,
)

STATE_RUNS: Final = "state_runs"  # the facts of runs
STATE_OTHER: Final = "state_other"  # the facts of everything else (experiments, writers)
LATEST_STEM: Final = "latest"


def split() -> dict[str, tuple[str, str]]:
    """Run-level relations, kept on disk: catalog relation -> (file stem, run column).

    Every run-scoped keyed table (its stem is its name), the latest metric values and
    the facts of runs.
    """
    tables = {
        relations.rows(t.name): (t.name, t.run_column)
        for t in declarations.tables()
        if t.keys and t.run_column is not None
    }
    return tables | {
        relations.LATEST: (LATEST_STEM, "run_id"),
        relations.FACTS: (STATE_RUNS, "entity_id"),
    }


def whole() -> dict[str, str]:
    """Small relations, read into memory whole: catalog relation -> file stem.

    Every keyed table that is not run-scoped (experiments, a declared layer's tables);
    the facts of everything but runs are ``STATE_OTHER``.
    """
    return {
        relations.rows(t.name): t.name
        for t in declarations.tables()
        if t.keys and t.run_column is None
    }


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

    name: str  # snap-<generation>: its manifest's name
    folder_name: str  # where its files are, under SNAPSHOTS_DIR
    covered: dict[str, set[str]]  # segment table -> files whose rows it holds
    wide_columns: list[tuple[str, str, str]]  # (key name, physical column, SQL type)
    files: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> rows, bytes
    # Runs it holds rows of (params, events...) but no run row, hence no wide row: a
    # writer's runs segment not listed yet, or not written. Their rows are its too.
    runs_without_row: frozenset[str] = frozenset()

    @property
    def generation(self) -> int:
        """Its place in the order of snapshots: a higher one covers all lower ones."""
        return generation_of(self.name)

    @property
    def folder(self) -> str:
        """The folder of its files, relative to the store."""
        return f"{SNAPSHOTS_DIR}/{self.folder_name}"

    def rel(self, stem: str, suffix: str = layout.PARQUET_SUFFIX) -> str:
        """A file of the snapshot, relative to the store."""
        return f"{self.folder}/{stem}{suffix}"


def name_of(generation: int) -> str:
    """The name of a generation's snapshot (and of its manifest, less the suffix)."""
    return f"{PREFIX}{generation:0{GENERATION_DIGITS}d}"


def generation_of(name: str) -> int:
    """The generation a snapshot's name carries."""
    return int(name[len(PREFIX) :])


def manifest_names(fs: FileSystem) -> list[str]:
    """Names of finished snapshots, newest (highest generation) first."""
    names = [n[: -len(MANIFEST_SUFFIX)] for n in fs.names(SNAPSHOTS_DIR) if _MANIFEST.fullmatch(n)]
    return sorted(names, reverse=True)


def newest(fs: FileSystem, names: list[str] | None = None, *, above: int = 0) -> Snapshot | None:
    """The newest snapshot that reads back whole (of a generation over ``above``), else None.

    ``names``: a listing from :func:`manifest_names`, if the caller has one. A snapshot
    that does not read back (a file missing, truncated or not what its manifest says, a
    manifest of another shape) is passed over with a :class:`CorruptSnapshotWarning`:
    the reader falls back to an older snapshot or to the segments themselves, which
    hold every row it held.
    """
    for name in manifest_names(fs) if names is None else names:
        if generation_of(name) <= above:
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


def expected_files() -> set[str]:
    """The files every snapshot has, as its manifest names them."""
    stems = [stem for stem, _column in split().values()] + [*whole().values(), STATE_OTHER]
    return {f"{stem}{layout.PARQUET_SUFFIX}" for stem in stems} | {WIDE_FILE}


def _checked(fs: FileSystem, name: str) -> Snapshot:
    import pyarrow as pa  # noqa: PLC0415  # loaded with the catalog
    import pyarrow.parquet as pq  # noqa: PLC0415
    from pyarrow import ipc  # noqa: PLC0415

    snapshot = _parsed(name, json.loads(fs.read_bytes(f"{SNAPSHOTS_DIR}/{name}{MANIFEST_SUFFIX}")))
    # One listing for every file's size (and, on object storage, its ETag: then its
    # local copy is read with no request); the copies missing are fetched at once.
    sizes = {e.name: e.size for e in fs.list(snapshot.folder) if not e.is_dir}
    for file in snapshot.files:
        if file not in sizes:
            raise FileNotFoundError(
                errno.ENOENT, "no such snapshot file", f"{snapshot.folder}/{file}"
            )
    paths = fs.local_paths([f"{snapshot.folder}/{file}" for file in snapshot.files])
    for (file, want), path in zip(snapshot.files.items(), paths, strict=True):
        size = sizes[file]
        if size != want["bytes"]:
            msg = f"{file} has {size} bytes, its manifest says {want['bytes']}"
            raise ValueError(msg)
        if file.endswith(layout.PARQUET_SUFFIX):
            rows = pq.read_metadata(path).num_rows
        else:
            reader = ipc.open_file(pa.memory_map(path))
            rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
            lacking = {"run_id", POSITION, *(c for _, c, _ in snapshot.wide_columns)}
            lacking -= set(reader.schema.names)
            if lacking:
                msg = f"{file} has no column {', '.join(sorted(lacking))}"
                raise ValueError(msg)
        if rows != want["rows"]:
            msg = f"{file} has {rows} rows, its manifest says {want['rows']}"
            raise ValueError(msg)
    return snapshot


def _parsed(name: str, raw: object) -> Snapshot:
    """A manifest's content as a :class:`Snapshot`; ``ValueError`` if it has another shape."""
    problem = _shape_problem(name, raw)
    if problem or not isinstance(raw, dict):
        msg = f"its manifest {problem}"
        raise ValueError(msg)
    return Snapshot(
        name=name,
        folder_name=raw["folder"],
        covered={t: set(rels) for t, rels in raw["covered"].items()},
        wide_columns=[(n, p, t) for n, p, t in raw["wide_columns"]],
        files={f: {"rows": v["rows"], "bytes": v["bytes"]} for f, v in raw["files"].items()},
        runs_without_row=frozenset(raw["runs_without_row"]),
    )


def _shape_problem(name: str, raw: object) -> str:  # noqa: PLR0911  # one answer per field
    """What is wrong with a manifest's shape ('' if nothing)."""
    if not isinstance(raw, dict):
        return f"is a JSON {type(raw).__name__}, not an object"
    if raw.get("format") != FORMAT_VERSION:
        return f"has format {raw.get('format')!r}, this version reads {FORMAT_VERSION}"
    folder, covered = raw.get("folder"), raw.get("covered")
    columns, files = raw.get("wide_columns"), raw.get("files")
    # The folder is the manifest's own: no path of the store outside it is ever read.
    if not isinstance(folder, str) or not re.fullmatch(rf"{name}-[0-9a-f]{{8}}-\w*", folder):
        return f"names the folder {folder!r}, not one of {name!r}"
    if not isinstance(covered, dict) or not all(_strings(v) for v in covered.values()):
        return "has no 'covered' object of file lists"
    if not isinstance(columns, list) or not all(
        _strings(c) and len(c) == len(("key", "column", "type")) and c[2] in ("DOUBLE", "VARCHAR")
        for c in columns
    ):
        return "has no 'wide_columns' list of (key, column, DOUBLE or VARCHAR)"
    if not isinstance(files, dict) or not all(
        isinstance(v, dict) and all(isinstance(v.get(k), int) for k in ("rows", "bytes"))
        for v in files.values()
    ):
        return "has no 'files' object of row and byte counts"
    # Its files, and no other path: nothing outside its folder is ever opened.
    missing, other = expected_files() - set(files), set(files) - expected_files()
    if missing or other:
        return f"names no {', '.join(sorted(missing))}" if missing else f"names {sorted(other)}"
    if not _strings(raw.get("runs_without_row")):
        return "has no 'runs_without_row' list of run ids"
    return ""


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def open_wide(fs: FileSystem, snapshot: Snapshot) -> pa.Table:
    """The snapshot's wide run table, memory-mapped: pages are read as queries touch them."""
    import pyarrow as pa  # noqa: PLC0415
    from pyarrow import ipc  # noqa: PLC0415

    source = pa.memory_map(fs.local_path(f"{snapshot.folder}/{WIDE_FILE}"))
    return ipc.open_file(source).read_all()


def prune(fs: FileSystem, grace_seconds: float) -> list[str]:
    """Delete snapshots past the newest ``KEEP`` once a newer one is ``grace_seconds`` old.

    Also removes, once they are old, what no manifest names: the folders of writers
    killed long ago or that lost a generation to another, temp files, and snapshots of
    an earlier format. Returns the names deleted.
    """
    now_ns = time.time_ns()
    finished = manifest_names(fs)
    deleted: list[str] = []
    for older, newer in zip(finished[KEEP:], finished[KEEP - 1 :], strict=False):
        mtime = fs.stat_mtime_ns(f"{SNAPSHOTS_DIR}/{newer}{MANIFEST_SUFFIX}")
        if mtime is None or now_ns - mtime < grace_seconds * 1e9:
            continue
        folder = folder_of(fs, older)
        fs.delete(f"{SNAPSHOTS_DIR}/{older}{MANIFEST_SUFFIX}")  # first: never a torn one
        if folder is not None:
            fs.delete_tree(f"{SNAPSHOTS_DIR}/{folder}")
        deleted.append(older)
    named = {folder_of(fs, name) for name in finished if name not in deleted}
    for entry in fs.list(SNAPSHOTS_DIR):
        if now_ns - entry.mtime_ns <= UNFINISHED_SECONDS * 1e9 or entry.name in named:
            continue
        if entry.is_dir and entry.name.startswith(PREFIX):
            with contextlib.suppress(OSError):
                fs.delete_tree(f"{SNAPSHOTS_DIR}/{entry.name}")
        elif entry.name.startswith(".") or (
            entry.name.startswith(PREFIX) and not _MANIFEST.fullmatch(entry.name)
        ):  # a manifest's temp file, or an earlier format's manifest
            fs.delete(f"{SNAPSHOTS_DIR}/{entry.name}")
    return deleted


def folder_of(fs: FileSystem, name: str) -> str | None:
    """The folder a manifest names, if it can be read."""
    try:
        raw = json.loads(fs.read_bytes(f"{SNAPSHOTS_DIR}/{name}{MANIFEST_SUFFIX}"))
        return _parsed(name, raw).folder_name
    except (OSError, ValueError):
        return None


def file_size(fs: FileSystem, rel: str) -> int:
    """The size of a snapshot's file; ``FileNotFoundError`` if it is missing."""
    entry = fs.stat(rel)
    if entry is None:
        raise FileNotFoundError(errno.ENOENT, "no such snapshot file", rel)
    return entry.size
