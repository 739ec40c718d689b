"""The run store: Parquet segments written by a buffered writer, read through DuckDB.

It holds runs' rows and facts, and the tables a layer above declares, but knows nothing
of the tracking API above it, nor of widgets or notebooks. One :class:`Store` exists per
store root and process (see :func:`open_store`): its file system, this process's one
writer, its claims, and its DuckDB catalog, created on first read. Every read goes
through :meth:`Store.read`, which flushes this process's rows first, so a process always
reads its own writes.

The package, in the order a newcomer reads it:

- ``schema.py``: every table's columns, once (Parquet schemas and DuckDB tables come
  from them), the event kinds and the run attributes; ``declarations.py``: how a layer
  above declares its own tables and views; ``layout.py``: folders and file names;
- ``fs/``: the file-system seam (a protocol; the local folder is its first backend);
- ``write/``: the write side, rows on their way into segment files;
- ``read/``: the read side, segment files to one catalog (its ``__init__`` gives the
  order of the steps);
- ``integrity.py``, ``liveness.py``, ``leases.py``: what both sides agree on;
  ``blobs.py``: content stored once, named by its digest;
- ``compaction.py``: maintenance over both sides; ``name_claims.py``: names held by
  one entity at a time, on top of the claims.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from canvasback._config import S3Address, StoreAddress, refuse_mlflow_store
from canvasback.store import declarations, layout
from canvasback.store.blobs import Blobs
from canvasback.store.fs import FileSystem, LocalFileSystem
from canvasback.store.write.writer import Writer

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from canvasback.store.compaction import CompactionReport
    from canvasback.store.fs.s3 import S3FileSystem
    from canvasback.store.read.catalog import Catalog

SINGLE_WRITER_ENV = "CANVASBACK_S3_SINGLE_WRITER"
"""``1``: use a store on object storage whose conditional writes failed the probe, this
process promising to be its only writer (``store/fs/write_probe.py``)."""

_CLAIM_READERS = 3
"""Threads that read claims beside the caller (a name lookup reads two at once)."""

__all__ = ["Store", "close_stores", "file_system", "open_store"]


class Store:
    """One store: its file system, this process's writer, its blobs and its DuckDB catalog.

    ``root`` is a local folder, or an :class:`~canvasback._config.S3Address` (a bucket
    and prefix on S3-compatible object storage: the ``s3`` extra). A store on object
    storage is opened only if its exclusive creates hold (the probe's verdict, kept in
    the store; ``write_probe.py``), or with ``CANVASBACK_S3_SINGLE_WRITER=1``.
    """

    def __init__(
        self, root: str | os.PathLike[str] | S3Address, *, fsync: bool | None = None
    ) -> None:
        if fsync is None:
            fsync = os.environ.get("CANVASBACK_FSYNC", "") == "1"
        self.fs = file_system(root, fsync=fsync)
        self.address: StoreAddress = root if isinstance(root, S3Address) else self.fs.root
        self.root = self.fs.root
        """The store's local folder: the store itself, or an object store's local cache."""
        self.url = self.fs.url
        """The store as a user names it: its folder's path, or ``s3://bucket/prefix``."""
        self.writer = Writer(self.fs)
        self.blobs = Blobs(self.fs)
        """Content stored once, named by its digest (what many runs record alike)."""
        self._catalog: Catalog | None = None
        self._catalog_lock = threading.Lock()
        self._readers: tuple[int, ThreadPoolExecutor] | None = None  # (its pid, threads)
        self.kept_claims: dict[tuple[str, str], bytes] = {}
        """Claims a layer above knows never change, ``(namespace, name)`` -> content, kept
        so that it reads them once (``name_claims.py``: holdings and logs)."""

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def location(self, rel: str) -> str:
        """Where a store path is, as a user names it: a local path or an ``s3://`` URL."""
        return f"{self.url}/{rel}" if rel else self.url

    def location_uri(self, rel: str) -> str:
        """A store path as a URI: ``file:`` for a local store, ``s3://`` on object storage."""
        if isinstance(self.address, S3Address):
            return self.location(rel)
        return (self.root / rel).as_uri()

    @property
    def catalog(self) -> Catalog:
        """The DuckDB catalog, created on first use (DuckDB is imported then)."""
        if self._catalog is None:
            with self._catalog_lock:
                if self._catalog is None:
                    from canvasback.store.read.catalog import Catalog  # noqa: PLC0415  # lazy duckdb

                    self._catalog = Catalog(self.fs)
        return self._catalog

    def read(self, tables: Collection[str] | None = None) -> Catalog:
        """The catalog, with this process's writes flushed and others' loaded.

        ``tables``: a read that needs only those (a run search) refreshes them alone.
        """
        # Unconditional: a flush that another thread has begun holds rows this process
        # logged, and a read must wait for it to see them.
        self.writer.flush()
        catalog = self.catalog
        catalog.refresh(tables)
        return catalog

    def flush(self) -> None:
        """Block until every row logged so far in this process is on disk."""
        self.writer.flush()

    def close(self) -> None:
        """Flush and stop the writer, and close the catalog (a later read opens another)."""
        try:
            self.writer.close()
        finally:
            with self._catalog_lock:
                catalog, self._catalog = self._catalog, None
                readers, self._readers = self._readers, None
            if readers is not None and readers[0] == os.getpid():
                readers[1].shutdown()
            if catalog is not None:
                catalog.close()

    # -- claims ----------------------------------------------------------------------
    def claim(self, namespace: str, name: str, data: bytes) -> bool:
        """Claim a unique name by exclusive create; True if this call got it."""
        return self.fs.create_exclusive(f"{layout.CLAIMS_DIR}/{namespace}/{name}", data)

    def release_claim(self, namespace: str, name: str) -> None:
        """Give a claimed name up (a renamed experiment's old name), so it can be claimed."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete(f"{layout.CLAIMS_DIR}/{namespace}/{name}")

    def read_claim(self, namespace: str, name: str) -> bytes | None:
        """The content of a claim, None if unclaimed."""
        with contextlib.suppress(FileNotFoundError):
            return self.fs.read_bytes(f"{layout.CLAIMS_DIR}/{namespace}/{name}")
        return None

    def read_claims(self, claims: Sequence[tuple[str, str]]) -> list[bytes | None]:
        """:meth:`read_claim` of each ``(namespace, name)``; at once on object storage.

        Each read is a round trip to the server there: a caller that needs several
        claims, none depending on another, waits for one.
        """
        if not self.fs.remote or len(claims) < 2:  # noqa: PLR2004  # one needs no thread
            return [self.read_claim(namespace, name) for namespace, name in claims]
        rest = [self._claim_readers().submit(self.read_claim, *claim) for claim in claims[1:]]
        first = self.read_claim(*claims[0])
        return [first, *(future.result() for future in rest)]

    def _claim_readers(self) -> ThreadPoolExecutor:
        # Threads kept: a new thread's first request holds this one up until it ends.
        # A forked child makes its own (its parent's threads are not in it).
        with self._catalog_lock:
            if self._readers is None or self._readers[0] != os.getpid():
                pool = ThreadPoolExecutor(_CLAIM_READERS, thread_name_prefix="canvasback-claims")
                self._readers = (os.getpid(), pool)
            return self._readers[1]

    def claim_next_number(self, namespace: str, data: bytes, *, start: int = 1) -> int:
        """Claim the lowest free number of a namespace: contiguous across processes."""
        taken = [
            int(e.name)
            for e in self.fs.list(f"{layout.CLAIMS_DIR}/{namespace}")
            if e.name.isdigit()
        ]
        number = max([start - 1, *taken]) + 1
        while not self.claim(namespace, str(number), data):
            number += 1
        return number

    # -- maintenance -----------------------------------------------------------------
    def compact(
        self,
        *,
        min_files: int = 2,
        grace_seconds: float | None = None,
        purge_deleted: bool = False,
        snapshot: bool = True,
    ) -> CompactionReport:
        """Merge small segment files, then write a snapshot of the resolved state.

        ``purge_deleted`` drops every row of deleted runs; ``snapshot=False`` skips the
        snapshot (readers then resolve the compacted files themselves).
        """
        import duckdb  # noqa: PLC0415  # lazy duckdb

        from canvasback.store import compaction  # noqa: PLC0415  # maintenance only

        purge: list[str] = []
        if purge_deleted:
            deleted = "SELECT run_id FROM runs WHERE lifecycle_stage = 'deleted'"
            # A run that a declared layer keeps (a registered version's) keeps its rows;
            # a NULL among them must not make NOT IN keep every run.
            kept = " UNION ALL ".join(f"({k})" for k in declarations.keep_runs())
            where = (
                f" AND run_id NOT IN (SELECT k.id FROM ({kept}) AS k(id) WHERE k.id IS NOT NULL)"
                if kept
                else ""
            )
            purge = [r[0] for r in self.read().rows(deleted + where)]
        self.flush()
        grace = compaction.DEFAULT_GRACE_SECONDS if grace_seconds is None else grace_seconds
        con = duckdb.connect()
        try:
            report = compaction.compact_store(
                self.fs,
                con,
                self.writer.writer_id,
                min_files=min_files,
                grace_seconds=grace,
                purge_run_ids=purge,
            )
        finally:
            con.close()
        for run_id in report.purged_runs:
            self.fs.delete_tree(f"{layout.ARTIFACTS_DIR}/{run_id}")
        if snapshot:
            from canvasback.store.read import snapshots  # noqa: PLC0415  # maintenance only

            # The compacted files' rows, resolved once here, so no reader resolves them.
            report.snapshot = self.read().write_snapshot(self.writer.writer_id)
            report.deleted_snapshots = snapshots.prune(self.fs, grace)
        return report


def file_system(root: str | os.PathLike[str] | S3Address, *, fsync: bool = False) -> FileSystem:
    """A store's file system: a local folder's, or an object store's, checked (below)."""
    if isinstance(root, S3Address):
        return _s3_file_system(root)
    return LocalFileSystem(root, fsync=fsync)


def _s3_file_system(address: S3Address) -> S3FileSystem:
    """An object store's file system, its conditional writes checked (probed once per store)."""
    try:
        from canvasback.store.fs.s3 import S3FileSystem  # noqa: PLC0415  # the s3 extra
    except ImportError as exc:
        msg = (
            f"Store {address.url!r} is on S3-compatible object storage, which needs the s3 "
            f"extra: pip install 'canvasback[s3]' ({exc})"
        )
        raise ImportError(msg) from exc
    fs = S3FileSystem(address, single_writer=os.environ.get(SINGLE_WRITER_ENV, "") == "1")
    fs.check_conditional_writes()
    return fs


# The process's one Store per root (an object store's: per address and endpoint). The
# store cannot know the tracking context above it: the context's reset closes them
# through close_stores().
_STORES: dict[object, Store] = {}
_STORES_LOCK = threading.Lock()


# Catalogs inherited over fork: kept referenced, because closing (or collecting) a DuckDB
# connection whose threads stayed in the parent crashes the child.
_INHERITED: list[object] = []


def _reset_catalogs_after_fork() -> None:
    # A DuckDB connection must not be used across fork: a child opens its own.
    for store in _STORES.values():
        _INHERITED.append(store._catalog)  # noqa: SLF001  # module-level hook of this class
        store._catalog = None  # noqa: SLF001
        store._catalog_lock = threading.Lock()  # noqa: SLF001


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_catalogs_after_fork)


def open_store(root: str | os.PathLike[str] | S3Address) -> Store:
    """The process's one Store for a root (created on first use).

    A root that is or holds an MLflow store is refused (``MlflowStoreFolderError``):
    canvasback never writes its files into MLflow's folder.
    """
    if isinstance(root, S3Address):
        from canvasback.store.fs.s3_settings import S3Settings  # noqa: PLC0415  # the s3 extra

        key: object = (root, S3Settings.resolve().endpoint)
    else:
        key = Path(root).expanduser().absolute()
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            if isinstance(key, Path):
                refuse_mlflow_store(key)
            store = _STORES[key] = Store(key if isinstance(key, Path) else root)
        return store


# Closed stores whose rows went to the spill folder: kept, so the exit status says so.
_SPILLED: list[Store] = []


def close_stores() -> None:
    """Flush and close every Store of this process, and forget them (a fresh start).

    Rows a writer cannot write are kept in the spill folder with a warning, as at exit,
    and the process's exit status says so.
    """
    with _STORES_LOCK:
        stores = list(_STORES.values())
        _STORES.clear()
    for store in stores:
        try:
            store.close()
        except Exception as exc:  # noqa: BLE001  # keep the rows elsewhere, say so
            store.writer.spill_unwritten(exc)
        if store.writer.spilled_rows:
            _SPILLED.append(store)
