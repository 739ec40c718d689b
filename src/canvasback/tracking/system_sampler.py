"""The one background thread per process that samples the machine for the runs that ask.

``start_run(log_system_metrics=True)`` hands its run to :data:`SAMPLER`. The thread starts
with the first run that asks and ends when the last one has ended, whatever the number
of runs in between: every run is served by the same thread and the same reading of the
machine, each on its own schedule (its interval, and how many samples make a point).

For each run the thread takes a first reading when the run starts (the start of its
network totals), then one every interval; every ``samples`` readings it logs one point
per metric through the run's handle (step 0, 1, 2, ...; after the last step already
logged when a run is resumed): the gauges' mean, the network totals since the run
started and the throughputs since its last point. Logging appends to the writer's
buffer, as any ``log_metrics`` call does; the training loop never waits for the thread,
and reading the machine (about half a millisecond) happens outside every lock the run's
own calls take.

A run stops being sampled when it ends (``end_run``, the ``with`` block's exit, an
exception, the process's exit, :func:`canvasback.reset`): once its end has returned, no
point of it is logged any more. At interpreter exit the thread is stopped and joined
before the runs are ended. A forked child starts with no thread and no runs to sample
(its parent goes on sampling them): a run it starts with system metrics gets a thread
of its own.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from canvasback.exceptions import MlflowException
from canvasback.tracking import system_readings
from canvasback.tracking.system_readings import MachineProbe, Reading

if TYPE_CHECKING:
    from collections.abc import Callable

    from canvasback.tracking.run import Run

_LOG = logging.getLogger(__name__)

THREAD_NAME: Final = "canvasback-system-metrics"
# How long exit waits for a reading under way (NVML can be slow to answer).
_JOIN_AT_EXIT_S: Final = 5.0


@dataclass(frozen=True)
class Sampling:
    """How a run is sampled: every ``interval`` s, a point of ``samples`` readings' mean."""

    interval: float
    samples: int = 1
    prefix: str = system_readings.PREFIX
    """What every key starts with: ``system/``, or ``system/<node id>/``."""


@dataclass
class _Followed:
    """One run being sampled: its schedule, its readings since its last point, its step."""

    run: Run
    sampling: Sampling
    step: int
    due: float = 0.0  # time.monotonic() of its next reading
    start: Reading | None = None  # the reading taken when the run started
    previous: Reading | None = None  # the last reading of its last point (or its start)
    pending: list[Reading] = field(default_factory=list)

    def take(self, reading: Reading) -> dict[str, float] | None:
        """Add a reading; the point to log once ``samples`` readings are in."""
        if self.start is None:
            self.start = self.previous = reading
            self.due = reading.at + self.sampling.interval
            return None
        self.pending.append(reading)
        self.due += self.sampling.interval
        if self.due <= reading.at:  # the thread fell behind: no burst of readings to catch up
            self.due = reading.at + self.sampling.interval
        if len(self.pending) < self.sampling.samples:
            return None
        assert self.previous is not None  # noqa: S101  # set with start, just above
        values = system_readings.average(self.pending)
        values.update(system_readings.counter_values(self.start, self.previous, reading))
        self.previous = reading
        self.pending = []
        return {self.sampling.prefix + key: value for key, value in values.items()}


class SystemSampler:
    """Samples the machine for every run that asked, in one thread; see the module.

    Parameters
    ----------
    probe
        Makes the probe that reads the machine, in the thread, when it first needs
        one: a :class:`MachineProbe` by default (psutil, and NVML for GPUs). A test
        gives a probe over stand-in NVML bindings here.

    """

    def __init__(self, probe: Callable[[], MachineProbe] | None = None) -> None:
        self._make_probe = probe or MachineProbe
        self._probe: MachineProbe | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._followed: dict[str, _Followed] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._hooked: weakref.WeakSet[Run] = weakref.WeakSet()  # handles whose end we follow

    def __repr__(self) -> str:
        return f"<SystemSampler of {len(self._followed)} runs>"

    @property
    def thread(self) -> threading.Thread | None:
        """The sampling thread, while there is one."""
        return self._thread

    def following(self) -> list[str]:
        """The ids of the runs sampled now."""
        with self._lock:
            return list(self._followed)

    def follow(self, run: Run, sampling: Sampling, first_step: int = 0) -> None:
        """Sample ``run`` until it ends; its first point is logged at ``first_step``."""
        with self._lock:
            if run.ended or run.run_id in self._followed:
                return
            self._followed[run.run_id] = _Followed(run, sampling, first_step)
            if run not in self._hooked:
                self._hooked.add(run)
                run.on_end(self._run_ended)
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._loop, name=THREAD_NAME, daemon=True)
                self._thread.start()
        self._wake.set()

    def _run_ended(self, run: Run, _status: str) -> None:
        # Under the lock that logging points holds: once this returns, no point of the
        # run is being logged, and none will be.
        with self._lock:
            self._followed.pop(run.run_id, None)
        self._wake.set()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop sampling every run and wait for the thread; True once it has ended."""
        with self._lock:
            self._stopping = True
            self._followed.clear()
            thread = self._thread
        self._wake.set()
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- the thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        warned = False
        while True:
            self._wake.clear()  # a follow() after this line wakes the wait below
            with self._lock:
                if self._stopping or not self._followed:
                    self._thread = None
                    return
                due = min(
                    (f.due for f in self._followed.values() if f.start is not None),
                    default=None,
                )
                waiting = any(f.start is None for f in self._followed.values())
            if not waiting and due is not None and due > time.monotonic():
                self._wake.wait(due - time.monotonic())
                continue
            try:
                reading = self._read()
            except Exception:  # noqa: BLE001  # the run goes on without this reading
                _LOG.log(
                    logging.DEBUG if warned else logging.WARNING,
                    "canvasback: reading the system metrics failed",
                    exc_info=True,
                )
                warned = True
                self._wake.wait(1.0)  # not a hot loop while the machine cannot be read
                continue
            self._log(reading)

    def _read(self) -> Reading:
        if self._probe is None:
            self._probe = self._make_probe()
        return self._probe.read()

    def _log(self, reading: Reading) -> None:
        with self._lock:
            for run_id, followed in list(self._followed.items()):
                if followed.start is not None and followed.due > reading.at:
                    continue  # not this run's turn
                point = followed.take(reading)
                if point is None:
                    continue
                try:
                    followed.run.log_metrics(point, step=followed.step)
                except MlflowException:  # ended or deleted behind our back: done with it
                    _LOG.debug("canvasback: run %s no longer takes system metrics", run_id)
                    del self._followed[run_id]
                    continue
                followed.step += 1

    def _after_fork_in_child(self) -> None:
        # The thread did not come along, and the parent goes on sampling its runs.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._followed = {}
        self._thread = None
        self._stopping = False
        self._probe = None  # this process's own psutil.Process, NVML started again


SAMPLER: Final = SystemSampler()
"""The process's sampler."""


def _stop_at_exit() -> None:
    # Registered after the exit hook that ends the runs, so it runs before it (atexit is
    # last in, first out): no reading is under way while the interpreter winds down.
    if not SAMPLER.stop(_JOIN_AT_EXIT_S):
        _LOG.warning("canvasback: the system metrics thread did not stop at exit")


atexit.register(_stop_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=SAMPLER._after_fork_in_child)  # noqa: SLF001
