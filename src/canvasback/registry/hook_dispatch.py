"""Firing hooks: a registry event's deliveries logged, then sent off the caller's thread.

After a registry write is on disk, the call that made it calls :func:`fire`: for each
hook that follows the event, a delivery (a new id, the body) is logged as pending and
flushed, then handed to :data:`DISPATCHER`, whose threads send it. So the call waits
for one small write, never for a target; a target that fails, hangs or is down never
undoes nor blocks the change, and :func:`fire` raises nothing.

At least once: each attempt is logged (``hook_log``); a failure that may go otherwise
(a refused connection, a timeout, a 5xx or 429, a command's non-zero exit) is tried
again by the same process after 1, 2, 4, ... s (``CANVASBACK_HOOK_BACKOFF`` sets the
first wait; at most 60 s), up to the hook's ``max_attempts``. At interpreter exit the
deliveries still queued get one last attempt, all within 5 s; what is left is logged
as failed. :func:`redeliver` (``canvasback hooks retry``, ``Client.retry_hooks``) sends
again every delivery whose latest attempt failed, with its id and body, except those
whose process means to try again itself (and is not 10 minutes late doing so).
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from canvasback.registry import hook_delivery, hook_events, hook_log, hooks, writes

if TYPE_CHECKING:
    from canvasback.registry.hook_delivery import Outcome
    from canvasback.registry.hook_log import HookDelivery
    from canvasback.registry.hooks import Hook
    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog

_LOG = logging.getLogger(__name__)

BACKOFF_VARIABLE: Final = "CANVASBACK_HOOK_BACKOFF"
_BACKOFF_S: Final = 1.0
_MAX_BACKOFF_S: Final = 60.0
_WORKERS: Final = 4
_EXIT_WAIT_S: Final = 5.0
GRACE_MS: Final = 10 * 60 * 1000
"""How late past its ``retry_at`` a delivery is left to the process that made it."""
EXITED: Final = "not sent: the process exited first"
DELETED: Final = "not sent: its hook was deleted"
WAITING: Final = "waiting"
DROPPED: Final = "dropped"


@dataclass
class _Job:
    """A delivery on its way: where it goes, what it sends, how often it was tried."""

    store: Store
    hook: Hook
    delivery_id: str
    event: str
    model_id: str
    version: int | None
    body: str
    trusted: bool
    attempts: int = 0

    @property
    def key(self) -> tuple[str, str, str, str, int | None]:
        return (self.delivery_id, self.hook.hook_id, self.event, self.model_id, self.version)


@dataclass(frozen=True)
class Redelivery:
    """What ``retry`` did with one undelivered delivery."""

    delivery: HookDelivery
    outcome: str
    """``delivered``, ``failed``, ``waiting`` (its process tries it again itself) or
    ``dropped`` (its hook was deleted: it is sent no more)."""
    detail: str | None = None


def fire(
    store: Store,
    catalog: Catalog | None,
    model_id: str,
    event: str,
    version: int | None,
    data: dict[str, object],
) -> None:
    """Deliver an event to every hook that follows it; never raises.

    The hooks are those of ``catalog`` (a read of the store just made), or of a fresh
    read if None; a store where no hook was ever added is not read at all.
    """
    try:
        if not hooks.present(store):
            return
        catalog = store.read() if catalog is None else catalog
        found = hooks.matching(catalog, model_id, str(data["name"]), event)
        if not found:
            return
        now, jobs = time.time_ns() // 1_000_000, []
        for hook in found:
            delivery_id = str(uuid.uuid4())
            body = hook_events.body(event, data, delivery_id, now)
            trusted = hooks.trusted(hook)
            job = _Job(store, hook, delivery_id, event, model_id, version, body, trusted)
            pending = (hook_log.PENDING, None, None, None)
            writes.delivery_row(store, job.key, 0, pending, now, body)
            jobs.append(job)
        store.flush()
        for job in jobs:
            DISPATCHER.submit(job)
    except Exception:  # noqa: BLE001  # the change is made: a hook's trouble must not say otherwise
        _LOG.exception("canvasback: hooks of %s (model %s) not fired", event, model_id)


def redeliver(
    store: Store, model_id: str | None = None, version: int | None = None
) -> list[Redelivery]:
    """Send again every delivery whose latest attempt failed, once each, in this thread.

    Every one in the store, or only a model's (``model_id``), or one version's.
    """
    catalog = store.read()
    known = hooks.live(catalog)
    now, done = time.time_ns() // 1_000_000, []
    for delivery in hook_log.undelivered(catalog, model_id, version):
        hook = known.get(delivery.hook_id)
        if hook is None or delivery.payload is None:
            why = "its hook was deleted" if hook is None else "its body was not logged"
            done.append(Redelivery(delivery, DROPPED, why))
        elif delivery.retry_at is not None and delivery.retry_at >= now - GRACE_MS:
            detail = "its process tries it again (this waits until 10 minutes past its time)"
            done.append(Redelivery(delivery, WAITING, detail))
        else:
            version = None if delivery.version is None else int(delivery.version)
            job = _Job(
                store,
                hook,
                delivery.delivery_id,
                delivery.event,
                delivery.model_id,
                version,
                delivery.payload,
                hooks.trusted(hook),
                delivery.attempts,
            )
            outcome, _ = attempt(job, again=False)
            state = hook_log.DELIVERED if outcome.delivered else hook_log.FAILED
            done.append(Redelivery(delivery, state, outcome.error))
    return done


def attempt(job: _Job, *, again: bool) -> tuple[Outcome, float | None]:
    """Send once and log the attempt; returns it, and in how many s to try again (or None)."""
    hook, body = job.hook, job.body
    outcome = hook_delivery.send(hook, job.event, job.delivery_id, body, trusted=job.trusted)
    job.attempts += 1
    delay = None
    if again and not outcome.delivered and outcome.transient:
        delay = _backoff(job.attempts) if job.attempts < job.hook.max_attempts else None
    now = time.time_ns() // 1_000_000
    retry_at = None if delay is None else now + math.ceil(delay * 1000)
    state = hook_log.DELIVERED if outcome.delivered else hook_log.FAILED
    result = (state, outcome.http_status, outcome.exit_code, outcome.error)
    writes.delivery_row(job.store, job.key, job.attempts, result, retry_at)
    job.store.flush()
    return outcome, delay


def _deleted(job: _Job) -> bool:
    """Whether the job's hook was deleted since it fired (read before each retry)."""
    return job.hook.hook_id not in hooks.live(job.store.read())


def _log_final(job: _Job, why: str, *, flush: bool = True) -> None:
    """Log that the job is not sent (no attempt: its number stays), nor tried again here."""
    writes.delivery_row(job.store, job.key, job.attempts, (hook_log.FAILED, None, None, why), None)
    if flush:
        job.store.flush()


def _backoff(attempts: int) -> float:
    """The wait before attempt ``attempts + 1``: the first wait, doubled each time."""
    raw = os.environ.get(BACKOFF_VARIABLE)
    first = _BACKOFF_S
    if raw:
        try:
            first = float(raw)
        except ValueError:
            first = math.nan
        if not (math.isfinite(first) and first >= 0):
            _LOG.warning("canvasback: %s=%r is no number of seconds: 1 s", BACKOFF_VARIABLE, raw)
            first = _BACKOFF_S
    return float(min(first * 2 ** (attempts - 1), _MAX_BACKOFF_S))


class Dispatcher:
    """The threads of a process that send its deliveries, and their queue by due time."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, _Job]] = []  # (due, order, job), a heap
        self._order = itertools.count()
        self._busy = 0
        self._closing = False
        self._threads: list[threading.Thread] = []

    def submit(self, job: _Job, delay: float = 0.0) -> None:
        """Send ``job`` in ``delay`` s, in a thread of the dispatcher."""
        with self._cond:
            due = time.monotonic() + delay
            heapq.heappush(self._queue, (due, next(self._order), job))
            if not self._threads:
                self._start()
            self._cond.notify()

    def _start(self) -> None:
        for n in range(_WORKERS):
            thread = threading.Thread(target=self._work, name=f"canvasback-hooks-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        while True:
            job = self._next()
            delay = None
            try:
                if job.attempts and not self._closing and _deleted(job):
                    _log_final(job, DELETED)
                else:
                    _, delay = attempt(job, again=not self._closing)
            except Exception:  # noqa: BLE001  # a write refused (store gone, full): logged
                _LOG.exception("canvasback: delivery %s to hook %s", job.delivery_id, job.hook)
            with self._cond:
                self._busy -= 1
                if delay is not None:  # at exit (closing): one last attempt, now
                    due = 0.0 if self._closing else time.monotonic() + delay
                    heapq.heappush(self._queue, (due, next(self._order), job))
                self._cond.notify_all()

    def _next(self) -> _Job:
        with self._cond:
            while True:
                if self._queue:
                    wait = self._queue[0][0] - time.monotonic()
                    if wait <= 0:
                        _, _, job = heapq.heappop(self._queue)
                        self._busy += 1
                        return job
                    self._cond.wait(wait)
                else:
                    self._cond.wait()

    def drain(self, timeout: float) -> int:
        """Try every queued delivery once now, for at most ``timeout`` s; log the rest.

        Returns the number of deliveries left unsent (logged as failed, for ``retry``).
        """
        with self._cond:
            self._closing = True
            self._queue = [(0.0, order, job) for _, order, job in self._queue]
            heapq.heapify(self._queue)
            self._cond.notify_all()
            deadline = time.monotonic() + timeout
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            left_over = [job for _, _, job in self._queue]
            self._queue.clear()
        stores = {}
        for job in left_over:
            _log_final(job, EXITED, flush=False)
            stores[id(job.store)] = job.store
        for store in stores.values():
            try:
                store.flush()
            except Exception:  # noqa: BLE001  # at exit: said, and nothing more to do
                _LOG.exception("canvasback: the log of deliveries left at exit to %s", store)
        return len(left_over)

    def _after_fork_in_child(self) -> None:
        # The parent goes on delivering its own: a child starts with none, and no thread.
        self._reset()


DISPATCHER: Final = Dispatcher()


def _drain_at_exit() -> None:
    # Registered after the store's exit hook (the store is imported first), so it runs
    # before it: the rows it logs are flushed by that hook at the latest.
    DISPATCHER.drain(_EXIT_WAIT_S)


atexit.register(_drain_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=DISPATCHER._after_fork_in_child)  # noqa: SLF001
