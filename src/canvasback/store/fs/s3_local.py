"""A store on object storage, read through local copies: what DuckDB and pyarrow open.

The copies are the machine's :class:`~canvasback.store.fs.object_cache.ObjectCache`,
keyed by name and ETag. :class:`LocalCopies` knows each object's ETag as this process
last listed, wrote or read it; a copy of that version is used as it is, with no request
(segments and snapshot files never change once written, and the reader lists them
anyway). An object whose ETag it does not know is asked for with the ETag of the copy
kept (``If-None-Match``): a 304 costs one small request and no download. Copies that
are not there are fetched in parallel, streamed to disk.

Artifacts and models change and have names of their own, so they are read as a
*view*: a folder of hard links to the current copies, laid out as in the store, made
whole before it is used (:meth:`LocalCopies.view`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final

import obstore
from obstore.exceptions import NotModifiedError

from canvasback.store.fs.object_cache import HOLD_SECONDS, ObjectCache
from canvasback.store.fs.protocol import check_rel
from canvasback.store.fs.s3_errors import translated

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from obstore import GetOptions
    from obstore.store import S3Store

FETCHERS: Final = 8
"""Objects fetched at once when several are missing (a cold reader's segments)."""
CHUNK: Final = 8 << 20
VIEWS_DIR: Final = "views"


class LocalCopies:
    """One store's objects as local files (see the module)."""

    def __init__(
        self, client: Callable[[], S3Store], cache: ObjectCache, url_of: Callable[[str], str]
    ) -> None:
        self._client = client
        self.cache = cache
        self._url_of = url_of
        self.etags: dict[str, str] = {}
        """Store path -> ETag, as this process last listed, wrote or read the object."""

    def learn(self, rel: str, etag: str | None) -> None:
        """Note an object's ETag (from a listing, a write or a read)."""
        if etag:
            self.etags[rel] = etag
        else:
            self.etags.pop(rel, None)

    # -- files -----------------------------------------------------------------------
    def local_path(self, rel: str) -> str:
        """A copy of the version last seen here, with no request; else the server's."""
        etag = self.etags.get(rel)
        if etag is not None:
            kept = self.cache.get(rel, etag)
            if kept is not None:
                return str(kept)
        return str(self.fetch(rel))

    def local_paths(self, rels: Sequence[str]) -> list[str]:
        """:meth:`local_path` of each; the missing ones fetched in parallel."""
        found: dict[str, str] = {}
        missing: list[str] = []
        for rel in dict.fromkeys(rels):
            etag = self.etags.get(rel)
            kept = None if etag is None else self.cache.get(rel, etag)
            if kept is None:
                missing.append(rel)
            else:
                found[rel] = str(kept)
        if len(missing) == 1:
            found[missing[0]] = str(self.fetch(missing[0]))
        elif missing:
            with ThreadPoolExecutor(min(FETCHERS, len(missing))) as pool:
                for rel, path in zip(missing, pool.map(self.fetch, missing), strict=True):
                    found[rel] = str(path)
        return [found[rel] for rel in rels]

    def fetch(self, rel: str) -> Path:
        """The server's current version: the copy kept if it is that one (one request)."""
        kept = self.cache.newest(rel)
        options: GetOptions = {} if kept is None else {"if_none_match": kept[0]}
        try:
            with translated(self._url_of(rel), keep=(NotModifiedError,)):
                result = obstore.get(self._client(), rel, options=options)
                etag = result.meta["e_tag"]
                path = self.cache.put_chunks(rel, _key_of(etag), result.stream(CHUNK))
        except NotModifiedError:
            assert kept is not None  # noqa: S101  # only a conditional request is answered so
            again = self.cache.get(rel, kept[0])
            if again is None:  # swept meanwhile by another process: fetch it whole
                self.cache.path_of(rel, kept[0]).parent.mkdir(parents=True, exist_ok=True)
                with translated(self._url_of(rel)):
                    result = obstore.get(self._client(), rel)
                    etag = result.meta["e_tag"]
                    path = self.cache.put_chunks(rel, _key_of(etag), result.stream(CHUNK))
            else:
                etag, path = kept[0], again
        self.learn(rel, etag)
        return path

    # -- folders ---------------------------------------------------------------------
    def view(self, rel: str, objects: Sequence[tuple[str, str | None]]) -> Path:
        """A local folder laid out as ``rel`` in the store, of its current ``objects``.

        ``objects`` (not empty) are (store path, ETag) of every object below ``rel``, or
        of ``rel`` itself (a file: the view is then that file, under its own name). The
        view is made once per set of versions, of hard links to the copies (copies where
        links fail), in a temp folder renamed into place: it is seen whole or not at all.
        A name below ``rel`` that is no store path (``..``, an empty part) is refused.
        """
        for path, etag in objects:
            self.learn(path, etag)
        listed = sorted(f"{p}\0{e}" for p, e in objects)
        digest = hashlib.sha256("\0".join([rel, *listed]).encode()).hexdigest()[:24]
        name = rel.rsplit("/", 1)[-1]
        home = self.cache.root / VIEWS_DIR / digest
        if (home / name).exists():
            with contextlib.suppress(OSError):
                now = time.time()
                os.utime(home, (now, now))
            return home / name
        below = [path.removeprefix(rel).lstrip("/") for path, _ in objects]
        for part in below:
            if part:
                check_rel(part, file=True)
        copies = self.local_paths([p for p, _ in objects])
        self.sweep_views()
        build = self.cache.root / VIEWS_DIR / f".{digest}-{os.getpid()}-{secrets.token_hex(3)}"
        try:
            for part, copy in zip(below, copies, strict=True):
                _place(Path(copy), build / name / part if part else build / name)
            with contextlib.suppress(OSError):  # another process made it first: the same
                build.rename(home)
        finally:
            shutil.rmtree(build, ignore_errors=True)
        return home / name

    def sweep_views(self) -> None:
        """Remove views not used in :data:`HOLD_SECONDS` (their copies stay, if kept)."""
        now = time.time()
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.cache.root / VIEWS_DIR):
                with contextlib.suppress(OSError):
                    if now - entry.stat().st_mtime > HOLD_SECONDS:
                        shutil.rmtree(entry.path)


def _key_of(etag: str | None) -> str:
    """The ETag a copy is kept under; one of its own if the server gave none (used once)."""
    return etag or f"unknown-{secrets.token_hex(8)}"


def _place(copy: Path, target: Path) -> None:
    """A hard link to ``copy`` at ``target`` (a copy of it where links cannot be made)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(copy, target)
    except OSError:
        shutil.copyfile(copy, target)
