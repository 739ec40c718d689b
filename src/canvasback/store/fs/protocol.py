"""What a backend of the store's file system offers: the operations, their contract.

Paths are relative to the store root and ``/``-separated. The file operations take
only normal paths: no leading ``/``, no empty, ``.`` or ``..`` component, no NUL; ``""``
is the root itself, for listings. Anything else is refused with
:class:`StorePathError` before the backend is touched, so no path leaves the store and
an object store sees the same names a folder does. ``tests/store/test_fs_contract.py``
is the contract, run against every backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from canvasback.exceptions import MlflowException

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    import pyarrow as pa

# Longest file name, in bytes, on the file systems a store lives on (ext4, xfs, apfs, ntfs).
NAME_MAX: Final = 255


class StorePathError(MlflowException, ValueError):
    """A relative path that would leave the store, or that no backend spells alike."""


class StoreMissingError(FileNotFoundError):
    """The store itself does not exist (on object storage: its bucket), not a file of it."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One file or folder of a listing."""

    name: str
    is_dir: bool
    mtime_ns: int
    size: int


_BAD: Final = frozenset({"", ".", ".."})


def check_rel(rel: str, *, file: bool = False) -> str:
    """``rel`` if it is a normal store-relative path (see the module), else raise.

    ``file``: it names a file, so not the root (``""``).
    """
    if (rel or file) and (
        not rel or rel[0] == "/" or "\0" in rel or any(p in _BAD for p in rel.split("/"))
    ):
        msg = (
            f"path {rel!r} is not a store path: it must be relative, '/'-separated, "
            "with no empty, '.' or '..' component and no NUL"
        )
        raise StorePathError(msg)
    return rel


class FileSystem(Protocol):
    """The operations the store does on files; every store file goes through one.

    Reads of a missing file raise ``FileNotFoundError``; listings of a missing folder
    are empty; removals of a missing file do nothing (another process removed it).
    """

    root: Path
    """The store's local folder: the store itself for a local store, the cache of an
    object store's files (``local_path``) for one on object storage."""

    url: str
    """The store as a user names it: its folder's path, or ``s3://bucket/prefix``. Spill
    folders are keyed by it."""

    remote: bool
    """Whether the files are objects on a server, read through a local cache: folders
    have no times there (a reader lists them), and a write may find it unreachable."""

    # -- reads -----------------------------------------------------------------------
    def inside(self, rel: str) -> str:
        """``rel``, refused (``StorePathError``) if it resolves outside the store.

        A local folder's links are followed; object storage has none, so a normal path
        (:func:`check_rel`) is inside.
        """
        ...

    def local_path(self, rel: str) -> str:
        """A path DuckDB and pyarrow open to read a file that never changes once written.

        A local store's file itself; an object store's local copy of the version last
        listed, written or read in this process (segments and snapshot files are never
        rewritten). A file that changes is read with :meth:`local_copy`.
        """
        ...

    def local_paths(self, rels: Sequence[str]) -> list[str]:
        """:meth:`local_path` of several files (an object store fetches them in parallel).

        Asked again at each refresh for the files a reader's views read, so an object
        store's copies of them are marked in use and stay.
        """
        ...

    def local_copy(self, rel: str) -> Path:
        """A local file or folder with the current content of ``rel`` (and all below it).

        A local store's own (resolved, inside it); an object store's view of its copies.
        Raises ``FileNotFoundError`` if nothing is there.
        """
        ...

    def read_bytes(self, rel: str) -> bytes:
        """The content of a file."""
        ...

    def exists(self, rel: str) -> bool:
        """Whether a file or folder exists."""
        ...

    def stat(self, rel: str) -> Entry | None:
        """A file's or folder's entry, None if it does not exist."""
        ...

    def stat_mtime_ns(self, rel: str) -> int | None:
        """Modification time of a file or folder, None if it does not exist.

        A folder on object storage has no time of its own: it gives the time of the
        call, so a reader that skips folders whose time did not move looks again.
        """
        ...

    def is_regular_file(self, rel: str) -> bool:
        """Whether a path is a regular file (not a folder, FIFO or device)."""
        ...

    def names(self, rel: str) -> list[str]:
        """Names of a folder's entries, nothing else (the cheapest listing)."""
        ...

    def list_names(self, rel: str) -> list[tuple[str, bool, bool]]:
        """(name, is a folder, is a regular file) of a folder's entries."""
        ...

    def list(self, rel: str) -> list[Entry]:
        """Entries of a folder, with their times and sizes."""
        ...

    def walk_files(self, rel: str, *, starting: str = "") -> Iterator[str]:
        """Store-relative paths of all files below a folder.

        ``starting``: only below its entries whose names start so (a table's partitions,
        ``exp=``, beside whatever else shares its folder).
        """
        ...

    # -- writes ----------------------------------------------------------------------
    def atomic_write(self, rel: str) -> contextlib.AbstractContextManager[Path]:
        """A local temp path to write, for a writer that needs a path (DuckDB, pyarrow).

        The file appears under ``rel`` whole when the block ends; if the block raises,
        nothing appears and any old content stays.
        """
        ...

    def write_bytes(self, rel: str, data: bytes | memoryview) -> None:
        """Write a file atomically: it is seen whole or not at all."""
        ...

    def write_parquet(self, rel: str, table: pa.Table, *, compression: str = "zstd") -> int:
        """Write a Parquet file atomically; returns its size in bytes."""
        ...

    def copy_in(self, source: Path, rel: str) -> int:
        """Copy a local file into the store atomically; returns its size."""
        ...

    def create_exclusive(self, rel: str, data: bytes) -> bool:
        """Create a file with content only if none exists; True if this call created it.

        Of any number of processes racing for one name, exactly one wins, and its
        content is never seen half-written.
        """
        ...

    def root_gone(self) -> bool:
        """Whether the store existed and is gone (a write then fails; it is not made again).

        False when that cannot be told now (the server does not answer).
        """
        ...

    def root_exists(self) -> bool:
        """Whether the store's folder (an object store's bucket) exists now."""
        ...

    # -- removal ---------------------------------------------------------------------
    def delete(self, rel: str) -> None:
        """Remove a file, if it exists."""
        ...

    def delete_tree(self, rel: str) -> None:
        """Remove a folder and everything below it, if it exists."""
        ...

    def move_aside(self, rel: str, quarantine_dir: str) -> str | None:
        """Move a file into ``quarantine_dir``; its new path, None if it was gone."""
        ...
