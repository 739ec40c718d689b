"""Leases: exclusive and expiring, so that one process at a time does a maintenance job.

A lease is a file created exclusively (as a claim is) under ``_leases/``, naming its
holder and when it expires. A holder that dies leaves it behind; once it has expired,
the next taker breaks it (once) and takes it. Compaction leases each partition; a
reader leases the writing of a snapshot.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from typing import TYPE_CHECKING, Final

from canvasback.store import layout

if TYPE_CHECKING:
    from collections.abc import Iterator

    from canvasback.store.fs import FileSystem

LEASE_TTL_SECONDS: Final = 600.0


@contextlib.contextmanager
def lease(fs: FileSystem, name: str, ttl: float = LEASE_TTL_SECONDS) -> Iterator[bool]:
    """Hold an exclusive, expiring lease; yields False if another process holds it."""
    rel = f"{layout.LEASES_DIR}/{name}.lease"
    token = secrets.token_hex(8)
    body = json.dumps({"token": token, "expires": time.time() + ttl, "pid": os.getpid()})
    got = fs.create_exclusive(rel, body.encode())
    if not got:
        try:
            held = json.loads(fs.read_bytes(rel))
        except (FileNotFoundError, ValueError):
            held = {"expires": 0}
        if held["expires"] < time.time():  # its holder died; break it once
            fs.delete(rel)
            got = fs.create_exclusive(rel, body.encode())
    try:
        yield got
    finally:
        if got:
            with contextlib.suppress(FileNotFoundError, ValueError):
                if json.loads(fs.read_bytes(rel)).get("token") == token:
                    fs.delete(rel)
