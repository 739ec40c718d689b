"""Whether a store's exclusive creates hold: a race, run once per store, its verdict kept.

Claims (experiment and model names, version numbers, leases) are exclusive creates, and
on object storage an exclusive create is a conditional PUT (``If-None-Match: *``). A
server that ignores the condition, or a proxy or gateway in between that drops it,
makes every create succeed: two writers would then hold one name. So before a store on
object storage is used, several writers (threads, each with its own request) race to
create one probe key, and exactly one must win; a late create of the same key must lose
and leave the winner's content. The verdict is kept in the store
(``_probe/conditional-writes-<endpoint hash>.json``: per endpoint, since a proxy is
another way in), so it is probed once per store and way in. A store that fails is
refused for use by several writers; ``single_writer=True`` allows one writer, which
then checks a name is free before creating it (correct only while it is alone).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Final, Protocol

from canvasback.exceptions import INVALID_STATE, MlflowException
from canvasback.store.fs.protocol import StoreMissingError

PROBE_DIR: Final = "_probe"
RACERS: Final = 4


class ConditionalWriteError(MlflowException, RuntimeError):
    """A store whose exclusive creates do not hold: refused for use by several writers."""

    error_code: str = INVALID_STATE


class ProbeTarget(Protocol):
    """What the probe needs of a backend: its raw conditional create, reads, removal."""

    url: str

    def put_if_absent(self, rel: str, data: bytes) -> bool:
        """The backend's conditional create, unchecked by any probe; True if it created."""
        ...

    def read_bytes(self, rel: str) -> bytes:
        """The content of a file."""
        ...

    def delete(self, rel: str) -> None:
        """Remove a file, if it exists."""
        ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a probe found: whether creates were exclusive, and what it saw."""

    exclusive: bool
    racers: int
    winners: int
    detail: str
    endpoint: str
    checked_at: str
    checked_by: str


def verdict_rel(endpoint: str) -> str:
    """Where a store keeps the verdict for the way in ``endpoint`` names."""
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:16]
    return f"{PROBE_DIR}/conditional-writes-{digest}.json"


def probe(fs: ProbeTarget, endpoint: str, *, racers: int = RACERS) -> Verdict:
    """Race ``racers`` writers for one new key; exactly one must win, a late one lose."""
    token = secrets.token_hex(8)
    key = f"{PROBE_DIR}/race-{token}"
    start = threading.Barrier(racers)

    def race(i: int) -> bool:
        start.wait(timeout=60)  # all at once, as far as threads can be
        return fs.put_if_absent(key, f"{token}:{i}".encode())

    try:
        with ThreadPoolExecutor(racers, thread_name_prefix="canvasback-probe") as pool:
            won = list(pool.map(race, range(racers)))
        content = fs.read_bytes(key)
        late = fs.put_if_absent(key, f"{token}:late".encode())
        after = fs.read_bytes(key)
    except PermissionError as exc:  # not kept: it may be the credentials, for now
        msg = (
            f"Store {fs.url!r}: a conditional create was refused ({exc}); a proxy or "
            "gateway that drops or alters the If-None-Match header breaks the request's "
            "signature. Exclusive creates cannot be checked, so the store is not used."
        )
        raise ConditionalWriteError(msg) from exc
    finally:
        with contextlib.suppress(OSError):  # the race's key: left behind only if unreachable
            fs.delete(key)
    winners = won.count(True)
    expected = f"{token}:{won.index(True)}".encode() if winners == 1 else None
    if winners == 1 and content == expected and not late and after == content:
        detail = f"{racers} writers raced for one key: one won, and a late create lost"
        exclusive = True
    elif winners != 1:
        detail = (
            f"{racers} writers raced for one key and {winners} won: the server, or a proxy "
            "or gateway in between, does not honour If-None-Match: *"
        )
        exclusive = False
    else:
        detail = (
            "a create of a key that exists succeeded and replaced its content: the server, "
            "or a proxy or gateway in between, does not honour If-None-Match: *"
        )
        exclusive = False
    return Verdict(
        exclusive=exclusive,
        racers=racers,
        winners=winners,
        detail=detail,
        endpoint=endpoint,
        checked_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        checked_by=f"{socket.gethostname()}:{os.getpid()}",
    )


def check(fs: ProbeTarget, endpoint: str, *, single_writer: bool = False) -> Verdict:
    """The store's verdict for this way in: kept, else probed and kept; raise if it failed.

    Of processes probing one store at once, the first verdict kept is everyone's. A
    failed verdict raises :class:`ConditionalWriteError` unless ``single_writer``.
    """
    rel = verdict_rel(endpoint)
    try:
        verdict = Verdict(**json.loads(fs.read_bytes(rel)))
    except StoreMissingError:
        raise  # nothing to probe: the store's bucket does not exist
    except FileNotFoundError:
        verdict = probe(fs, endpoint)
        record = json.dumps(asdict(verdict), indent=1).encode()
        if not fs.put_if_absent(rel, record):  # another process kept its verdict first
            verdict = Verdict(**json.loads(fs.read_bytes(rel)))
    if not verdict.exclusive and not single_writer:
        msg = (
            f"Store {fs.url!r} is refused for use by several writers: its exclusive creates "
            f"do not hold through {endpoint} ({verdict.detail}; probed {verdict.checked_at} "
            f"by {verdict.checked_by}). Names and numbers that must be unique (experiments, "
            "models, versions) could be given twice. Reach the server without whatever drops "
            "the header, or open the store with single_writer=True if only one process "
            f"ever writes to it. The verdict is kept at {fs.url}/{rel}: remove it to probe again."
        )
        raise ConditionalWriteError(msg)
    return verdict
