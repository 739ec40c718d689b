"""Leases: exclusive and expiring, so that one process at a time does a maintenance job.

A lease has numbered *epochs* (fencing tokens), each an exclusive create under
``_leases/<name>/``: ``<epoch>`` names its holder and when it expires, and
``<epoch>.end`` ends it, also by exclusive create, by one of two writers:

- the holder, when it commits its work (:meth:`Lease.commit`) or lets the lease go;
- a taker who finds the epoch expired, which *fences* it before it takes the next one.

So of a holder that was paused past its lease (a stopped process, a machine asleep)
and its successor, exactly one ends the old epoch: the paused holder's commit then
fails, and it publishes nothing, however late it wakes. Taking never deletes a lease
(two breakers of a time-based lock file could each delete the other's), and two takers
of one epoch race for one name, which one wins: this holds on object storage as on a
local disk. Compaction leases each partition; a reader leases the writing of a snapshot.
The epochs before the last two are removed as new ones are taken.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from canvasback.store import layout

if TYPE_CHECKING:
    from collections.abc import Iterator

    from canvasback.store.fs import FileSystem

LEASE_TTL_SECONDS: Final = 600.0
END_SUFFIX: Final = ".end"
_DIGITS: Final = 12
_KEPT: Final = 2  # epochs whose files stay: the last one and the one it followed


@dataclass
class Lease:
    """One epoch of a lease, held by this process until it ends."""

    fs: FileSystem
    name: str
    epoch: int
    token: str
    expires: float
    ended: bool = False

    @property
    def folder(self) -> str:
        """Where the lease's epochs are, in the store."""
        return f"{layout.LEASES_DIR}/{self.name}"

    def commit(self) -> bool:
        """End this epoch as its holder, before publishing its work; False if fenced.

        False means the lease expired and a successor took the next epoch: the work must
        not be published. Once committed, the lease is free for the next taker.
        """
        if self.ended:
            return False
        self.ended = True
        return _end(self.fs, self.folder, self.epoch, "committed", self.token)

    def release(self) -> None:
        """Let the lease go without committing (nothing to publish); no-op once ended."""
        if not self.ended:
            self.ended = True
            with contextlib.suppress(OSError):  # unreachable: it expires in its time
                _end(self.fs, self.folder, self.epoch, "released", self.token)


def take(fs: FileSystem, name: str, ttl: float = LEASE_TTL_SECONDS) -> Lease | None:
    """The next epoch of the lease ``name``, or None if another process holds it."""
    folder = f"{layout.LEASES_DIR}/{name}"
    epochs, ended = _listed(fs, folder)
    latest = max(epochs, default=0)
    if latest and latest not in ended:
        try:
            held = json.loads(fs.read_bytes(f"{folder}/{_epoch_name(latest)}"))
        except (FileNotFoundError, ValueError):
            held = {}
        if float(held.get("expires", 0)) >= time.time():
            return None
        _end(fs, folder, latest, "fenced", "")  # expired: its holder may wake; fence it
    token = secrets.token_hex(8)
    expires = time.time() + ttl
    body = {
        "token": token,
        "expires": expires,
        "holder": f"{socket.gethostname()}:{os.getpid()}",
        "epoch": latest + 1,
    }
    if not fs.create_exclusive(f"{folder}/{_epoch_name(latest + 1)}", json.dumps(body).encode()):
        return None  # another taker won this epoch
    for old in (e for e in epochs if e <= latest + 1 - _KEPT):
        with contextlib.suppress(OSError):
            fs.delete(f"{folder}/{_epoch_name(old)}")
            fs.delete(f"{folder}/{_epoch_name(old)}{END_SUFFIX}")
    return Lease(fs, name, latest + 1, token, expires)


@contextlib.contextmanager
def lease(fs: FileSystem, name: str, ttl: float = LEASE_TTL_SECONDS) -> Iterator[Lease | None]:
    """Hold the lease ``name`` for a block: the epoch held, or None if another holds it.

    The block commits what it publishes with :meth:`Lease.commit`; the lease is let go
    when the block ends, if the block did not end it.
    """
    held = take(fs, name, ttl)
    try:
        yield held
    finally:
        if held is not None:
            held.release()


def _listed(fs: FileSystem, folder: str) -> tuple[list[int], set[int]]:
    """The epochs taken and the epochs ended, from one listing of the lease's folder."""
    epochs: list[int] = []
    ended: set[int] = set()
    for entry in fs.names(folder):
        stem = entry.removesuffix(END_SUFFIX)
        if not stem.isdigit():
            continue
        if entry.endswith(END_SUFFIX):
            ended.add(int(stem))
        else:
            epochs.append(int(stem))
    return epochs, ended


def _end(fs: FileSystem, folder: str, epoch: int, how: str, token: str) -> bool:
    """End an epoch (exclusive create); True if this call ended it."""
    body = json.dumps({"how": how, "token": token, "at": time.time()}).encode()
    return fs.create_exclusive(f"{folder}/{_epoch_name(epoch)}{END_SUFFIX}", body)


def _epoch_name(epoch: int) -> str:
    return f"{epoch:0{_DIGITS}d}"
