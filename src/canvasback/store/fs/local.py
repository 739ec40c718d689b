"""The store's file system in a local folder: the first backend of the seam.

Atomic writes are a temp file renamed into place; an exclusive create is a hard link,
which fails if the name exists (``link(2)``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

from canvasback.store.fs import parquet_bytes
from canvasback.store.fs.protocol import NAME_MAX, Entry, StorePathError, check_rel

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import pyarrow as pa


class LocalFileSystem:
    """A store rooted in a local folder.

    Parameters
    ----------
    root
        The store folder. If it does not exist yet, the first write creates it (a new
        store); once it has existed, no write creates it again: a store deleted or
        unmounted while a process writes is not replaced by an empty one there, and
        writes fail with ``FileNotFoundError`` (the writer then keeps its rows in the
        spill folder, see ``write/spill.py``).
    fsync
        Whether finished files are fsynced before they are renamed into place. Off by
        default: a rename is atomic without it, fsync only adds power-loss durability.

    """

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.root = Path(root).expanduser().absolute()
        self.url = str(self.root)
        self.remote = False
        self.fsync = fsync
        self._root_seen = self.root.is_dir()

    def __repr__(self) -> str:
        return f"LocalFileSystem({str(self.root)!r})"

    # -- paths -----------------------------------------------------------------------
    def path(self, rel: str) -> Path:
        """Absolute local path of a store-relative path; refuses paths that escape."""
        candidate = (self.root / rel).resolve()
        root = self.root.resolve()
        if candidate != root and root not in candidate.parents:
            msg = f"path {rel!r} resolves outside the store {str(root)!r}"
            raise StorePathError(msg)
        return candidate

    def inside(self, rel: str) -> str:
        """``rel``, refused if it resolves (through a link) outside the store."""
        self.path(check_rel(rel))
        return rel

    def local_path(self, rel: str) -> str:
        """Path string DuckDB and pyarrow can open."""
        return str(self.root / check_rel(rel))

    def local_paths(self, rels: Sequence[str]) -> list[str]:
        """Path strings DuckDB and pyarrow can open."""
        return [self.local_path(rel) for rel in rels]

    def local_copy(self, rel: str) -> Path:
        """The file or folder itself, resolved inside the store; ``FileNotFoundError`` if none."""
        path = self.path(check_rel(rel))
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "no such file or folder", str(path))
        return path

    # -- writes ----------------------------------------------------------------------
    def _tmp_for(self, target: Path) -> Path:
        # Dot-prefixed, with the pid: readers skip it, and a killed writer's leftovers
        # are recognisable for clean-up. A long final name is shortened in the temp
        # name, which must fit the same 255-byte limit of a file name.
        suffix = f".{os.getpid()}.{secrets.token_hex(3)}.tmp"
        stem = target.name
        room = NAME_MAX - 1 - len(suffix.encode())
        while len(os.fsencode(stem)) > room:
            stem = stem[: room - len(os.fsencode(stem))] or stem[:-1]
        return target.with_name(f".{stem}{suffix}")

    def root_gone(self) -> bool:
        """Whether the store folder existed and is gone now (deleted, moved or unmounted)."""
        return self._root_seen and not self.root.is_dir()

    def root_exists(self) -> bool:
        """Whether the store folder exists now."""
        return self.root.is_dir()

    def _make_folder(self, folder: Path) -> None:
        """Create a folder below the root; the root only if it never existed (a new store)."""
        missing: list[Path] = []
        while not folder.is_dir():
            if folder == self.root:
                if self._root_seen:
                    msg = "the store folder is gone (deleted, moved or unmounted); not made again"
                    raise FileNotFoundError(errno.ENOENT, msg, str(self.root))
                self.root.mkdir(parents=True, exist_ok=True)
                break
            missing.append(folder)
            folder = folder.parent
        self._root_seen = True
        for below in reversed(missing):  # no parents=True: a root gone meanwhile stays gone
            below.mkdir(exist_ok=True)

    @contextlib.contextmanager
    def atomic_write(self, rel: str) -> Iterator[Path]:
        """A temp path to write; renamed to ``rel`` when the block ends, removed on error."""
        target = self.root / check_rel(rel, file=True)
        self._make_folder(target.parent)
        tmp = self._tmp_for(target)
        try:
            yield tmp
            if self.fsync:
                _fsync_path(tmp)
            tmp.replace(target)
            if self.fsync:  # the rename itself survives power loss once its folder is synced
                _fsync_path(target.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def write_parquet(self, rel: str, table: pa.Table, *, compression: str = "zstd") -> int:
        """Write a Parquet file so that it appears atomically; returns its size in bytes.

        The file is encoded in memory and written with plain system calls, so a failure
        of any of them (a full disk, a read-only or vanished folder) raises ``OSError``
        and leaves nothing behind under the final name.
        """
        data = parquet_bytes.encode(table, compression=compression)
        with self.atomic_write(rel) as tmp:
            _write_file(tmp, memoryview(data))
        return int(data.size)

    def write_bytes(self, rel: str, data: bytes | memoryview) -> None:
        """Write a small file atomically (temp file, then rename)."""
        with self.atomic_write(rel) as tmp:
            _write_file(tmp, memoryview(data))

    def create_exclusive(self, rel: str, data: bytes) -> bool:
        """Create a file with content only if it does not exist yet; True if we created it.

        The content is written to a temp file first and hard-linked into place, so a
        claim is never seen half-written, and ``link(2)`` fails if the name exists.
        """
        target = self.root / check_rel(rel, file=True)
        self._make_folder(target.parent)
        tmp = self._tmp_for(target)
        with tmp.open("wb") as fh:
            fh.write(data)
            if self.fsync:
                fh.flush()
                os.fsync(fh.fileno())
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
        finally:
            tmp.unlink()
        return True

    def copy_in(self, source: Path, rel: str) -> int:
        """Copy a local file into the store atomically; returns the size."""
        with self.atomic_write(rel) as tmp, source.open("rb") as src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        return (self.root / rel).stat().st_size

    # -- reads -----------------------------------------------------------------------
    def read_bytes(self, rel: str) -> bytes:
        """Content of a file."""
        return (self.root / check_rel(rel, file=True)).read_bytes()

    def exists(self, rel: str) -> bool:
        """Whether a file or folder exists."""
        return (self.root / check_rel(rel)).exists()

    def stat(self, rel: str) -> Entry | None:
        """A file's or folder's entry (size, time), None if it does not exist."""
        path = self.root / check_rel(rel)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return Entry(path.name, stat.S_ISDIR(st.st_mode), st.st_mtime_ns, st.st_size)

    def stat_mtime_ns(self, rel: str) -> int | None:
        """Modification time of a file or folder, None if it does not exist."""
        try:
            return (self.root / check_rel(rel)).stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def list_names(self, rel: str) -> list[tuple[str, bool, bool]]:
        """(name, is a folder, is a regular file) of a folder's entries, without a stat each."""
        try:
            it = os.scandir(self.root / check_rel(rel))
        except (FileNotFoundError, NotADirectoryError):
            return []
        with it:
            return [(e.name, e.is_dir(), e.is_file()) for e in it]

    def names(self, rel: str) -> list[str]:
        """Names of a folder's entries, nothing else (the cheapest listing)."""
        try:
            return os.listdir(self.root / check_rel(rel))  # noqa: PTH208  # names at C speed
        except (FileNotFoundError, NotADirectoryError):
            return []

    def is_regular_file(self, rel: str) -> bool:
        """Whether a path is a regular file (not a folder, FIFO or device)."""
        try:
            return stat.S_ISREG((self.root / check_rel(rel)).stat().st_mode)
        except OSError:
            return False

    def list(self, rel: str) -> list[Entry]:
        """Entries of a folder (empty if it does not exist)."""
        try:
            it = os.scandir(self.root / check_rel(rel))
        except (FileNotFoundError, NotADirectoryError):
            return []
        out: list[Entry] = []
        with it:
            for e in it:
                try:
                    st = e.stat()
                except FileNotFoundError:  # removed while we listed
                    continue
                out.append(Entry(e.name, e.is_dir(), st.st_mtime_ns, st.st_size))
        return out

    def walk_files(self, rel: str, *, starting: str = "") -> Iterator[str]:
        """Store-relative paths of all files below a folder (its entries ``starting`` so)."""
        base = self.root / check_rel(rel)
        for dirpath, dirs, files in os.walk(base):
            if starting and dirpath == str(base):
                dirs[:] = [d for d in dirs if d.startswith(starting)]
                files = [f for f in files if f.startswith(starting)]  # noqa: PLW2901
            for f in files:
                yield str((Path(dirpath) / f).relative_to(self.root).as_posix())

    # -- removal ---------------------------------------------------------------------
    def delete(self, rel: str) -> None:
        """Remove a file; a missing file is fine (another process removed it first)."""
        with contextlib.suppress(FileNotFoundError):
            (self.root / check_rel(rel, file=True)).unlink()

    def delete_tree(self, rel: str) -> None:
        """Remove a folder and everything below it, if it exists."""
        shutil.rmtree(self.path(check_rel(rel, file=True)), ignore_errors=True)

    def move_aside(self, rel: str, quarantine_dir: str) -> str | None:
        """Move a bad file into the quarantine folder; returns its new relative path."""
        source = self.root / check_rel(rel, file=True)
        dest_rel = (
            f"{check_rel(quarantine_dir, file=True)}/{time.time_ns()}-{rel.replace('/', '__')}"
        )
        dest = self.root / dest_rel
        self._make_folder(dest.parent)
        try:
            source.replace(dest)
        except FileNotFoundError:
            return None
        return dest_rel


def _write_file(path: Path, data: memoryview) -> None:
    """Create ``path`` (it must not exist) and write all of ``data``; raise on any failure."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
