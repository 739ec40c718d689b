"""Rows the store could not take, kept on local disk until it can.

When a flush cannot reach the store (it is read-only or full, or its server does not
answer) at the moment a process ends, at any flush once the store is gone, or when rows
hold a value no Parquet column can store, the rows go to a spill folder of the user's
cache (``$XDG_CACHE_HOME/canvasback/spill/<hash of the store's url>/``, else the
temporary folder), never silently nowhere: on this machine, for a store on object
storage too. Three kinds of file:

``<table>/exp=<experiment>/seg-....parquet``
    a finished segment. Replaying copies it to the same path in the store, so a replay
    repeated after a crash writes the same file again, never a second copy.
``rejected/<table>/exp=<experiment>/seg-....jsonl``
    rows with a value Parquet cannot hold (a lone surrogate, an integer beyond int64),
    as JSON lines: lossless, since JSON escapes surrogates and has unbounded integers.
    They are retried on every replay and stay until they can be written (or are fixed
    or deleted by hand).
``corrupt/<time>-<table>__exp=<experiment>__seg-....parquet``
    a spilled segment found corrupt when it was to be replayed: set aside here once,
    with a warning naming it, and never replayed (nor copied into the store) again.

The next process that opens the store replays its spill folder; so does
``canvasback recover [STORE]``. Rows kept because the store was gone while a process
wrote (its folder deleted, moved or unmounted; its bucket deleted) are marked so (a
``STORE_GONE`` file): the folder or bucket found there later may be another store, so
only ``canvasback recover`` writes them, and only once it exists again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from canvasback.store import declarations, layout
from canvasback.store.fs import FileSystem, LocalFileSystem
from canvasback.store.integrity import (
    CORRUPT,
    UNREADABLE,
    CorruptSegmentWarning,
    inspect_segment,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import pyarrow as pa

    Converter = Callable[[str, list[tuple[Any, ...]]], pa.Table]

log = logging.getLogger(__name__)

REJECTED_DIR: Final = "rejected"
CORRUPT_DIR: Final = "corrupt"
STORE_FILE: Final = "STORE"  # the store root a spill folder belongs to
GONE_FILE: Final = "STORE_GONE"  # rows kept while the store folder was gone
JSONL_SUFFIX: Final = ".jsonl"


class SpilledRowsWarning(UserWarning):
    """Rows could not be written to the store; they were kept in a spill folder."""


@dataclass
class ReplayReport:
    """What one replay of a store's spill folders did."""

    written_files: int = 0
    written_rows: int = 0
    remaining: dict[str, int] = field(default_factory=dict)  # spill file -> rows still there
    errors: list[str] = field(default_factory=list)
    set_aside: dict[str, str] = field(default_factory=dict)  # corrupt file -> why
    held: dict[str, int] = field(default_factory=dict)  # rows kept while the store was gone

    @property
    def remaining_rows(self) -> int:
        """Rows still kept in spill files."""
        return sum(self.remaining.values())


def _store_hash(store: str | os.PathLike[str]) -> str:
    return hashlib.sha256(os.fspath(store).encode(errors="surrogateescape")).hexdigest()[:16]


def spill_dirs(store: str | os.PathLike[str]) -> list[Path]:
    """Candidate spill folders of a store (its url: a folder's path), in order of preference."""
    name = _store_hash(store)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folders = [Path(tempfile.gettempdir()) / f"canvasback-spill-{uid}" / name]
    cache = os.environ.get("XDG_CACHE_HOME")
    if not cache:
        try:
            cache = str(Path("~/.cache").expanduser())
        except RuntimeError:  # no home folder: the temporary folder only
            return folders
    return [Path(cache) / "canvasback" / "spill" / name, *folders]


def _open_spill(store: str | os.PathLike[str]) -> LocalFileSystem:
    """The first spill folder that can be created, marked with the store it belongs to."""
    error: OSError | None = None
    for folder in spill_dirs(store):
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            spill = LocalFileSystem(folder)
            if not (folder / STORE_FILE).exists():
                spill.write_bytes(STORE_FILE, os.fsencode(os.fspath(store)))
        except OSError as exc:
            error = exc
            continue
        return spill
    assert error is not None  # noqa: S101  # the loop ran at least once
    raise error


def keep_segments(
    store: str | os.PathLike[str],
    segments: list[tuple[str, pa.Table]],
    *,
    store_gone: bool = False,
) -> Path:
    """Write finished segments (store-relative path, rows) to the spill folder.

    ``store_gone``: the store was gone, so only ``canvasback recover`` writes them.
    """
    spill = _open_spill(store)
    if store_gone and not spill.exists(GONE_FILE):
        spill.write_bytes(GONE_FILE, b"the store was gone when these rows were flushed\n")
    for rel, table in segments:
        spill.write_parquet(rel, table)
    return spill.root


def keep_rejected(store: str | os.PathLike[str], rel: str, rows: list[tuple[Any, ...]]) -> Path:
    """Write rows Parquet cannot hold as JSON lines; returns the spill file's path."""
    spill = _open_spill(store)
    out = f"{REJECTED_DIR}/{rel.removesuffix(layout.PARQUET_SUFFIX)}{JSONL_SUFFIX}"
    lines = (json.dumps(list(row), default=repr) + "\n" for row in rows)
    spill.write_bytes(out, "".join(lines).encode("ascii"))
    return spill.root / out


def pending(store: str | os.PathLike[str]) -> bool:
    """Whether a store has spill files to replay (one stat per candidate folder)."""
    return any((folder / STORE_FILE).exists() for folder in spill_dirs(store))


def replay(fs: FileSystem, rows_to_table: Converter, *, after_gone: bool = True) -> ReplayReport:
    """Write every spill file of a store back into it; remove each file once written.

    ``rows_to_table`` is the writer's row conversion (passed in: the writer imports this).
    Rows kept while the store was gone are written only into an existing folder (an
    existing bucket), and only with ``after_gone`` (``canvasback recover``; a process
    opening the store leaves them, held).
    """
    report = ReplayReport()
    for folder in spill_dirs(fs.url):
        if not (folder / STORE_FILE).exists():
            continue
        spill = LocalFileSystem(folder)
        files = sorted(r for r in spill.walk_files("") if not r.startswith(f"{CORRUPT_DIR}/"))
        if spill.exists(GONE_FILE) and not (after_gone and fs.root_exists()):
            kept = {str(folder / rel): _count_rows(folder / rel) for rel in files}
            kept = {path: rows for path, rows in kept.items() if rows}
            if after_gone:  # never into a new store folder: it must be back first
                report.remaining.update(kept)
                where = "bucket" if fs.remote else "folder"
                report.errors.append(
                    f"{folder}: kept while the store {fs.url} was gone; its {where} does not "
                    f"exist now (bring it back, or make the {where} to start a store with them)"
                )
            else:
                report.held.update(kept)
            continue
        for rel in files:
            try:
                _replay_one(fs, spill, rel, report, rows_to_table)
            except Exception as exc:  # noqa: BLE001  # keep the file; report and go on
                report.remaining[str(folder / rel)] = _count_rows(folder / rel)
                report.errors.append(f"{folder / rel}: {type(exc).__name__}: {exc}")
        _remove_if_empty(folder)
    return report


def _replay_one(
    fs: FileSystem,
    spill: LocalFileSystem,
    rel: str,
    report: ReplayReport,
    rows_to_table: Converter,
) -> None:
    parts = rel.split("/")
    if parts[0] == REJECTED_DIR and rel.endswith(JSONL_SUFFIX) and len(parts) == 4:  # noqa: PLR2004
        table, partition = parts[1], parts[2]
        rows = [tuple(json.loads(line)) for line in spill.read_bytes(rel).splitlines() if line]
        arrow_table = rows_to_table(table, rows)  # raises while a value is still unwritable
        name = parts[3].removesuffix(JSONL_SUFFIX) + layout.PARQUET_SUFFIX
        fs.write_parquet(f"{table}/{partition}/{name}", arrow_table)
        report.written_rows += len(rows)
    elif len(parts) == 3 and declarations.known(parts[0]) and layout.is_data_file(parts[2]):  # noqa: PLR2004
        import pyarrow.parquet as pq  # noqa: PLC0415

        verdict, why = inspect_segment(spill, rel, parts[0])
        if verdict == CORRUPT:  # never into the store, where it would be quarantined
            moved = spill.move_aside(rel, CORRUPT_DIR)
            if moved is not None:
                report.set_aside[str(spill.root / moved)] = why
                report.errors.append(
                    f"{spill.root / rel}: corrupt ({why}); set aside as {spill.root / moved}, "
                    "never replayed"
                )
            return
        if verdict == UNREADABLE:
            raise OSError(why)  # kept, and tried again at the next replay
        data = spill.read_bytes(rel)
        fs.write_bytes(rel, data)  # same name as it would have had: a replay is idempotent
        report.written_rows += pq.ParquetFile(spill.local_path(rel)).metadata.num_rows
    else:
        return  # a marker, or a temp file of an interrupted spill
    report.written_files += 1
    spill.delete(rel)


def _count_rows(path: Path) -> int:
    with contextlib.suppress(Exception):
        if path.suffix == JSONL_SUFFIX:
            return sum(1 for line in path.read_bytes().splitlines() if line)
        import pyarrow.parquet as pq  # noqa: PLC0415

        return int(pq.ParquetFile(path).metadata.num_rows)
    return 0


def _remove_if_empty(folder: Path) -> None:
    """Remove a spill folder once only its markers (and empty folders) are left."""
    markers = {STORE_FILE, GONE_FILE}
    for dirpath, _dirs, files in os.walk(folder):
        if any(f not in markers for f in files) or (files and Path(dirpath) != folder):
            return
    with contextlib.suppress(OSError):
        (folder / GONE_FILE).unlink(missing_ok=True)
        (folder / STORE_FILE).unlink()
        for dirpath, _dirs, _files in sorted(os.walk(folder), key=lambda w: -len(w[0])):
            Path(dirpath).rmdir()


def replay_on_open(fs: FileSystem, rows_to_table: Converter) -> None:
    """A process opening the store writes what earlier ones kept; never fails the opening."""
    try:
        report = replay(fs, rows_to_table, after_gone=False)
    except Exception:
        log.exception("canvasback: replaying the spill folder of %s failed", fs)
        return
    for path, why in report.set_aside.items():
        warnings.warn(
            f"canvasback: the spilled segment {path!r} is corrupt ({why}); it was set aside "
            "there and is never replayed. Every other kept row was written.",
            CorruptSegmentWarning,
            stacklevel=3,
        )
    if report.held:
        where = "bucket" if fs.remote else "folder"
        now = (
            f"The {where} there now may be another store"
            if fs.root_exists()
            else "A write makes a new store there now"
        )
        warnings.warn(
            f"canvasback: {sum(report.held.values())} row(s) were kept while the store "
            f"{where} {fs.url!r} was gone ({', '.join(report.held)}). {now}, so they "
            "are not written on their own; once the store they belong to is back: "
            f"canvasback recover {fs.url!r}",
            SpilledRowsWarning,
            stacklevel=3,
        )
    if report.written_rows:
        log.warning(
            "canvasback: wrote %d row(s) that an earlier process had kept in a spill folder",
            report.written_rows,
        )
    if report.remaining:
        warnings.warn(
            f"canvasback: {report.remaining_rows} row(s) for the store {fs.url!r} are "
            f"still kept in spill files ({', '.join(report.remaining)}): "
            + "; ".join(report.errors),
            SpilledRowsWarning,
            stacklevel=3,
        )
