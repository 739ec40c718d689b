"""Content stored once per store, named by its SHA-256: ``blobs/sha256/<hex digest>``.

What many runs record alike (the installed packages, the script a process runs, the
diff of its checkout) is written once and named by its digest; each run points at it
(``tracking/artifacts.py``). A blob is created only if absent, by the file system's
exclusive create (``link(2)`` of a written temp file locally, a conditional PUT on
object storage), so any number of writers racing for one digest leave one whole file.
A blob never changes, and nothing deletes it: the store does not know who points at it,
so no compaction or purge touches the folder.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Final

from canvasback.store import layout

if TYPE_CHECKING:
    from pathlib import Path

    from canvasback.store.fs import FileSystem

HEX_DIGEST: Final = re.compile(r"[0-9a-f]{64}")


class BlobError(ValueError):
    """A digest that names no blob, or content that does not match its digest."""


def check_digest(hex_digest: str) -> str:
    """``hex_digest`` if it is 64 lowercase hexadecimal digits, else :class:`BlobError`."""
    if not isinstance(hex_digest, str) or not HEX_DIGEST.fullmatch(hex_digest):
        msg = f"Invalid blob digest {hex_digest!r}: 64 lowercase hexadecimal digits are required"
        raise BlobError(msg)
    return hex_digest


class Blobs:
    """The blobs of one store, and the digests this process knows are there."""

    def __init__(self, fs: FileSystem) -> None:
        self.fs = fs
        # Digests written or found here: a blob is never removed, so a second put of
        # the same content (every run after a process's first) costs no file operation.
        self._present: set[str] = set()

    def put(self, data: bytes, hex_digest: str | None = None) -> str:
        """Store ``data`` unless the store has it; its hex SHA-256.

        ``hex_digest``, the caller's digest of ``data`` (kept from an earlier put), spares
        hashing it again once this process knows the blob; it is checked before a write.
        """
        if hex_digest is not None and hex_digest in self._present:
            return hex_digest
        digest = hashlib.sha256(data).hexdigest()
        if hex_digest is not None and hex_digest != digest:
            msg = f"Blob content does not match its digest {hex_digest!r} (it is {digest!r})"
            raise BlobError(msg)
        if digest not in self._present:
            rel = layout.blob_path(digest)
            # A look first: another process most often wrote it already, and a look
            # costs less than writing the content to be refused (a temp file, a PUT).
            if not self.fs.exists(rel):
                self.fs.create_exclusive(rel, data)
            self._present.add(digest)
        return digest

    def path(self, hex_digest: str) -> str:
        """The store-relative path of a blob (the digest checked)."""
        return layout.blob_path(check_digest(hex_digest))

    def size(self, hex_digest: str) -> int | None:
        """A blob's size in bytes, None if the store does not hold it."""
        entry = self.fs.stat(self.path(hex_digest))
        return None if entry is None or entry.is_dir else entry.size

    def local_copy(self, hex_digest: str) -> Path:
        """A local file with a blob's content; ``FileNotFoundError`` if the store lacks it.

        In a local store, the blob itself: never to be written to (copy it first).
        """
        return self.fs.local_copy(self.path(hex_digest))
