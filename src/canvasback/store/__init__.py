"""The run store: Parquet segments written by a buffered writer, read through DuckDB.

It holds runs' rows and facts (the layout names their tables and columns) but knows
nothing of the tracking API above it, nor of widgets or notebooks. One :class:`Store`
exists per store root and process (see :func:`open_store`): its file system (the seam
an object-store backend will implement), this process's one writer, its claims, and
its DuckDB catalog, created on first read. Every read goes through :meth:`Store.read`,
which flushes this process's rows first, so a process always reads its own writes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from canvasback._config import refuse_mlflow_store
from canvasback.store import layout
from canvasback.store.fs import LocalFileSystem
from canvasback.store.writer import Writer

if TYPE_CHECKING:
    from canvasback.store.compaction import CompactionReport
    from canvasback.store.reader import Catalog

__all__ = ["Store", "close_stores", "open_store"]


class Store:
    """One store root: its file system, this process's writer and its DuckDB catalog."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool | None = None) -> None:
        if fsync is None:
            fsync = os.environ.get("CANVASBACK_FSYNC", "") == "1"
        self.fs = LocalFileSystem(root, fsync=fsync)
        self.root = self.fs.root
        self.writer = Writer(self.fs)
        self._catalog: Catalog | None = None
        self._catalog_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    @property
    def catalog(self) -> Catalog:
        """The DuckDB catalog, created on first use (DuckDB is imported then)."""
        if self._catalog is None:
            with self._catalog_lock:
                if self._catalog is None:
                    from canvasback.store.reader import Catalog  # noqa: PLC0415  # lazy duckdb

                    self._catalog = Catalog(self.fs)
        return self._catalog

    def read(self) -> Catalog:
        """The catalog, with this process's writes flushed and others' loaded."""
        # Unconditional: a flush that another thread has begun holds rows this process
        # logged, and a read must wait for it to see them.
        self.writer.flush()
        catalog = self.catalog
        catalog.refresh()
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
            catalog = self.read()
            # A registered model version keeps its source run's files.
            purge = [
                r[0]
                for r in catalog.rows(
                    "SELECT run_id FROM runs WHERE lifecycle_stage = 'deleted' AND run_id NOT IN "
                    "(SELECT run_id FROM model_versions WHERE run_id IS NOT NULL)"
                )
            ]
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
            from canvasback.store import snapshots  # noqa: PLC0415  # maintenance only

            # The compacted files' rows, resolved once here, so no reader resolves them.
            report.snapshot = self.read().write_snapshot(self.writer.writer_id)
            report.deleted_snapshots = snapshots.prune(self.fs, grace)
        return report


# The process's one Store per root. The store cannot know the tracking context above it:
# the context's reset closes them through close_stores().
_STORES: dict[Path, Store] = {}
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


def open_store(root: str | os.PathLike[str]) -> Store:
    """The process's one Store for a root (created on first use).

    A root that is or holds an MLflow store is refused (``MlflowStoreFolderError``):
    canvasback never writes its files into MLflow's folder.
    """
    key = Path(root).expanduser().absolute()
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            refuse_mlflow_store(key)
            store = _STORES[key] = Store(key)
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
