"""Who watches a sweep while it runs: the notebook's live view, through a hook.

The sweep's own process learns how each point ended as its task completes (a
``PointResult``, from a thread, a worker process or an executor's worker): it tells the
sweep's watch, which needs no poll of the store. ``canvasback.projects`` never imports
the widgets; the package root registers the notebook side's hook
(``_notebook.sweep_view_hook``), as it does the run-start hook of the live run view.

A hook is asked before anything of the sweep is written, with ``sweep``'s ``live``
argument: it may refuse (raise), or return a function that makes the watch once the
sweep's points are known (or None: no view, and the progress bar shows instead).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable

    from canvasback.projects.sweep_points import PointResult, PointTask
    from canvasback.projects.sweep_results import SweepResult


@dataclass(frozen=True)
class SweepStart:
    """A sweep about to run its points: what its view shows before the first one ends."""

    parent_run_id: str
    name: str
    metric: str | None
    mode: str
    tasks: tuple[PointTask, ...]
    workers: int
    """How many points run at once (the first ones start, the next as one ends)."""
    searching: bool
    """Whether the points' params are the sampler's (known once each trial is asked)."""


class SweepWatch(Protocol):
    """What follows a sweep in the sweep's own process."""

    def point_done(self, result: PointResult) -> None:
        """A point ended (its task completed)."""

    def sweep_done(self, result: SweepResult) -> None:
        """The sweep ended: its result, as ``sweep`` returns it."""


MakeWatch: TypeAlias = "Callable[[SweepStart], SweepWatch | None]"
SweepViewHook: TypeAlias = "Callable[[bool | None], MakeWatch | None]"

_LOG = logging.getLogger(__name__)
_HOOKS: list[SweepViewHook] = []
_LOCK = threading.Lock()


def add_sweep_view_hook(hook: SweepViewHook) -> None:
    """Ask ``hook(live)`` before every sweep (once per hook; the package root's wiring)."""
    with _LOCK:
        if hook not in _HOOKS:
            _HOOKS.append(hook)


def remove_sweep_view_hook(hook: SweepViewHook) -> None:
    """Stop asking ``hook``."""
    with _LOCK:
        if hook in _HOOKS:
            _HOOKS.remove(hook)


def prepare(live: bool | None) -> MakeWatch | None:
    """The first hook's maker of the sweep's watch; a refusal propagates, writing nothing."""
    with _LOCK:
        hooks = list(_HOOKS)
    for hook in hooks:
        make = hook(live)
        if make is not None:
            return make
    return None


def start(make: MakeWatch | None, sweep: SweepStart) -> SweepWatch | None:
    """The sweep's watch, or None (no maker, or a view that could not be shown)."""
    if make is None:
        return None
    try:
        return make(sweep)
    except Exception:  # noqa: BLE001  # a view that fails must not stop the sweep: the bar shows instead
        _LOG.warning("canvasback: could not show the sweep's live view", exc_info=True)
        return None


def done(watch: SweepWatch | None, result: SweepResult) -> None:
    """Tell the watch the sweep's result."""
    if watch is None:
        return
    try:
        watch.sweep_done(result)
    except Exception:  # noqa: BLE001  # the sweep has ended well: its view's trouble is only logged
        _LOG.warning("canvasback: could not show the sweep's result", exc_info=True)
