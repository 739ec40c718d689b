"""A machine's local copies of a store's objects, for DuckDB and pyarrow to read.

DuckDB and pyarrow read files where they lie, so a store on object storage is read
through local copies. A copy is keyed by the object's name and its ETag: the file
``objects/<name>/<ETag, base64url><suffix>`` under the store's cache folder, so a
rewritten object is another copy and a copy, once written, never changes. Segments and
snapshot files never change once written, so a copy of one serves every later read, in
every process of the machine: the folder is shared (one per store and server, in the
user's cache), and a copy appears whole or not at all (a temp file renamed into place).

The folder is bounded by a byte budget (``CANVASBACK_S3_CACHE_BYTES``, default
:data:`DEFAULT_BUDGET`): once this process has added an eighth of it, the least recently
used copies are removed until a tenth is free. A copy used in the last
:data:`HOLD_SECONDS` is never removed, even over budget: a reader's views name the
copies they read, and it marks them used at every refresh.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import threading
import time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Final

from canvasback.exceptions import MlflowException

if TYPE_CHECKING:
    from collections.abc import Iterable

    from typing_extensions import Buffer

BUDGET_ENV: Final = "CANVASBACK_S3_CACHE_BYTES"
DEFAULT_BUDGET: Final = 4 << 30
"""4 GiB: a store's segments and snapshot for some thousands of runs, many times over."""
HOLD_SECONDS: Final = 3600.0
"""A copy used this recently is never removed: a reader may still read it."""
TOUCH_SECONDS: Final = 60.0
"""A copy's use is recorded (its time set to now) at most this often."""
STALE_TEMP_SECONDS: Final = 3600.0
OBJECTS_DIR: Final = "objects"


class CacheSettingError(MlflowException, ValueError):
    """A cache budget that is not a number of bytes."""


def budget_from_env() -> int:
    """The byte budget from ``CANVASBACK_S3_CACHE_BYTES`` (plain bytes, or 500M, 8G...)."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    if not raw:
        return DEFAULT_BUDGET
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    number, unit = (raw[:-1], units[raw[-1].upper()]) if raw[-1].upper() in units else (raw, 1)
    try:
        value = int(float(number) * unit)
    except ValueError:
        value = -1
    if value <= 0:
        msg = (
            f"{BUDGET_ENV}={raw!r} is not a cache size: give bytes, or a number with K, M, G "
            "or T (such as 8G)"
        )
        raise CacheSettingError(msg)
    return value


def etag_key(etag: str) -> str:
    """An ETag as a file name (reversible: :func:`etag_of`); its quotes are not part of it."""
    raw = etag.strip().removeprefix("W/").strip('"')
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def etag_of(key: str) -> str:
    """The ETag a copy's file name holds, quoted as a request sends it."""
    padded = key + "=" * (-len(key) % 4)
    return '"' + base64.urlsafe_b64decode(padded.encode()).decode() + '"'


class ObjectCache:
    """The copies of one store's objects in a local folder (see the module)."""

    def __init__(self, root: Path, *, budget: int | None = None) -> None:
        self.root = root
        self.budget = budget_from_env() if budget is None else budget
        self._added = 0  # bytes this process added since its last sweep
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ObjectCache({str(self.root)!r}, budget={self.budget})"

    # -- copies ----------------------------------------------------------------------
    def path_of(self, rel: str, etag: str) -> Path:
        """Where the copy of ``rel`` at ``etag`` lies (whether or not it is there)."""
        suffix = PurePosixPath(rel).suffix
        return self.root / OBJECTS_DIR / rel / f"{etag_key(etag)}{suffix}"

    def get(self, rel: str, etag: str) -> Path | None:
        """The copy of ``rel`` at ``etag``, marked used; None if there is none."""
        path = self.path_of(rel, etag)
        try:
            mtime = path.stat().st_mtime
        except (FileNotFoundError, NotADirectoryError):
            return None
        now = time.time()
        if now - mtime > TOUCH_SECONDS:
            with contextlib.suppress(OSError):  # removed meanwhile: the caller reads it now
                os.utime(path, (now, now))
        return path

    def newest(self, rel: str) -> tuple[str, Path] | None:
        """The ETag and path of the most recently used copy of ``rel``, if any."""
        folder = self.root / OBJECTS_DIR / rel
        try:
            entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not entries:
            return None
        best = max(entries, key=lambda e: e.stat().st_mtime)
        key = best.name[: -len(PurePosixPath(rel).suffix) or None]
        try:
            return etag_of(key), Path(best.path)
        except (ValueError, UnicodeDecodeError):  # not a name this cache writes
            return None

    def put_bytes(self, rel: str, etag: str, data: bytes | memoryview) -> Path:
        """Keep ``data`` as the copy of ``rel`` at ``etag``; appears whole or not at all."""
        return self.put_chunks(rel, etag, [data])

    def put_chunks(self, rel: str, etag: str, chunks: Iterable[Buffer]) -> Path:
        """Keep the bytes of ``chunks`` (a download's stream) as the copy of ``rel``."""
        target = self.path_of(rel, etag)
        tmp = self._temp_beside(target)
        size = 0
        try:
            with tmp.open("wb") as out:
                for chunk in chunks:
                    size += out.write(chunk)
            tmp.replace(target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._added_bytes(size)
        return target

    def put_file(self, rel: str, etag: str, source: Path) -> Path:
        """Keep a local file (moved in, not copied) as the copy of ``rel`` at ``etag``."""
        target = self.path_of(rel, etag)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = source.stat().st_size
        try:
            source.replace(target)
        except OSError:  # another file system: copy, then rename into place
            tmp = self._temp_beside(target)
            shutil.copyfile(source, tmp)
            tmp.replace(target)
        self._added_bytes(size)
        return target

    def _temp_beside(self, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.with_name(f".{os.getpid()}-{secrets.token_hex(4)}.tmp")

    # -- the budget ------------------------------------------------------------------
    def _added_bytes(self, size: int) -> None:
        with self._lock:
            self._added += size
            due = self._added > self.budget // 8
            if due:
                self._added = 0
        if due:
            self.sweep()

    def sweep(self) -> int:
        """Remove the least recently used copies until a tenth of the budget is free.

        Copies used in the last :data:`HOLD_SECONDS` stay; so does everything while the
        folder is within budget. Leftover temp files of killed processes go once old.
        Returns the bytes removed. Other processes may sweep at the same time: a copy
        removed twice is fine, and a reader re-fetches a copy it finds gone.
        """
        now = time.time()
        copies: list[tuple[float, int, str]] = []
        total = 0
        for dirpath, _dirs, files in os.walk(self.root / OBJECTS_DIR):
            for name in files:
                path = os.path.join(dirpath, name)  # noqa: PTH118  # os.walk's strings
                try:
                    st = os.stat(path)  # noqa: PTH116
                except FileNotFoundError:
                    continue
                if name.startswith("."):
                    if now - st.st_mtime > STALE_TEMP_SECONDS:
                        with contextlib.suppress(OSError):
                            os.unlink(path)  # noqa: PTH108
                    continue
                total += st.st_size
                copies.append((st.st_mtime, st.st_size, path))
        if total <= self.budget:
            return 0
        goal = self.budget - self.budget // 10
        removed = 0
        for mtime, size, path in sorted(copies):
            if total - removed <= goal or now - mtime < HOLD_SECONDS:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)  # noqa: PTH108
                removed += size
                with contextlib.suppress(OSError):  # its object's folder, if now empty
                    os.rmdir(os.path.dirname(path))  # noqa: PTH106, PTH120
        return removed
