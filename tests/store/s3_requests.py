"""The requests this process makes to object storage: how many, and how many in a row.

:class:`Requests` wraps obstore's request functions (the store's S3 client calls them
by module attribute) while it is installed, and keeps each request's kind, key and
when it was out: from the call to its answer (a listing's page: from asking for the
page to getting it). :meth:`Requests.in_a_row` is the longest chain of requests each
sent after the one before it was answered: the round trips a caller waited for one
after the other, whatever ran beside them.

``gate`` holds requests until a number of them are out together (or a timeout passes,
which it then reports): a test's proof that they are sent at once, with no timing.
Used by the store's tests and by ``benchmarks/bench_s3.py`` (which loads it by its path).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import obstore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

CALLS = ("get", "head", "put", "delete", "copy", "list_with_delimiter")
"""obstore's functions that make one request and answer when it is answered."""


@dataclass(frozen=True)
class Request:
    """One request: its function, the key (or prefix) it named, when it was out."""

    kind: str
    key: str
    start: float
    end: float


@dataclass
class Gate:
    """Requests of some kinds (and a key part) held until ``together`` of them are out."""

    kinds: frozenset[str]
    within: str
    together: int
    timeout: float = 30.0

    def __post_init__(self) -> None:
        self.barrier = threading.Barrier(self.together)
        self.broken = 0  # requests that waited the whole timeout: not sent together

    def holds(self, kind: str, key: str) -> bool:
        return kind in self.kinds and self.within in key

    def wait(self) -> None:
        try:
            self.barrier.wait(self.timeout)
        except threading.BrokenBarrierError:
            self.broken += 1


class Requests:
    """A record of this process's requests to object storage (see the module)."""

    def __init__(self) -> None:
        self.log: list[Request] = []
        self.gates: list[Gate] = []
        self._lock = threading.Lock()
        self._originals: dict[str, Any] = {}

    # -- recording -------------------------------------------------------------------
    def install(self) -> None:
        """Wrap obstore's functions (undone by :meth:`uninstall`)."""
        for name in CALLS:
            self._originals[name] = getattr(obstore, name)
            setattr(obstore, name, self._timed(name, self._originals[name]))
        self._originals["list"] = obstore.list
        setattr(obstore, "list", self._listing)  # noqa: B010  # the module's own name

    def uninstall(self) -> None:
        for name, original in self._originals.items():
            setattr(obstore, name, original)
        self._originals.clear()

    def __enter__(self) -> Self:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def _record(self, kind: str, key: str, start: float) -> None:
        with self._lock:
            self.log.append(Request(kind, key, start, time.perf_counter()))

    def _hold(self, kind: str, key: str) -> None:
        for gate in self.gates:
            if gate.holds(kind, key):
                gate.wait()

    def _timed(self, kind: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(store: Any, *args: Any, **kwargs: Any) -> Any:
            key = str(args[0]) if args else str(kwargs.get("prefix") or kwargs.get("path") or "")
            self._hold(kind, key)
            start = time.perf_counter()
            try:
                return call(store, *args, **kwargs)
            finally:
                self._record(kind, key, start)

        return timed

    def _listing(self, store: Any, prefix: str | None = None, **kwargs: Any) -> Iterator[Any]:
        stream = self._originals["list"](store, prefix, **kwargs)

        def pages() -> Iterator[Any]:
            pulled = iter(stream)
            first = True
            while True:
                if first:
                    self._hold("list", prefix or "")
                start = time.perf_counter()
                try:
                    page = next(pulled)
                except StopIteration:
                    if first:  # an empty listing is a request too
                        self._record("list", prefix or "", start)
                    return
                self._record("list", prefix or "", start)
                first = False
                yield page

        return pages()

    # -- reading ---------------------------------------------------------------------
    def since(self, mark: int) -> list[Request]:
        """The requests made after :meth:`mark` said ``mark``."""
        with self._lock:
            return self.log[mark:]

    def mark(self) -> int:
        with self._lock:
            return len(self.log)


def in_a_row(requests: list[Request]) -> int:
    """The longest chain of requests each sent after the one before it was answered."""
    ordered = sorted(requests, key=lambda r: r.start)
    chain: list[int] = []
    for i, request in enumerate(ordered):
        before = [chain[j] for j in range(i) if ordered[j].end <= request.start]
        chain.append(1 + max(before, default=0))
    return max(chain, default=0)
