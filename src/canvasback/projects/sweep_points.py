"""One point of a sweep: what a worker is sent, what it runs, and how the point ended.

A point is a notebook, a project's entry point, or a Python function called with the
point's parameters inside a run made for it. Every point's run carries the tag
:data:`POINT_TAG` (its index in the sweep), so the sweep can read how a point ended
from the store when its worker could not say it (the worker died).
"""

from __future__ import annotations

import math
import pickle
import traceback
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol

from canvasback.projects import capture, launch, runner
from canvasback.projects.notebooks import NotebookRunWarning
from canvasback.projects.params import param_text
from canvasback.projects.runner import ProjectRunWarning
from canvasback.projects.trial_env import PRUNED_TAG

if TYPE_CHECKING:
    from canvasback.projects.search_space import StudySpec
    from canvasback.tracking.run import Run

POINT_TAG: Final = "canvasback.sweep.point"
FUNCTION_ERROR_TAG: Final = "canvasback.sweep.error"
FUNCTION_TRACEBACK: Final = "sweep/error.txt"
ERROR_TAGS: Final = ("canvasback.notebook.error", "canvasback.project.error", FUNCTION_ERROR_TAG)
# A point's run that ended with one of these says how the point itself ended; a run left
# RUNNING (or KILLED) says only that the process running it died.
OWN_ENDINGS: Final = frozenset({"FINISHED", "FAILED"})


@dataclass(frozen=True)
class PointTask:
    """One point of a sweep, as sent to a worker (plain data: it is pickled)."""

    index: int
    target: str
    entry_point: str | None
    params: dict[str, object]
    store: str
    experiment: str
    parent_run_id: str
    run_name: str
    capture_parts: tuple[str, ...]
    metric: str | None
    timeout: float | None
    function: bytes | None = None
    """A Python function target, pickled by cloudpickle (``target`` is then its name)."""
    source: capture.Source | None = None
    """Where a function target's code comes from (the caller's script or notebook)."""
    search: StudySpec | None = None
    """The study a searching sweep's worker asks for this point's params (a trial)."""
    tags: dict[str, str] = field(default_factory=dict)
    """More tags of the point's run (a trial's number and study)."""
    trial: dict[str, object] | None = None
    """A notebook or command trial's study and trial, told to its process to prune it."""

    @property
    def label(self) -> str:
        """``#index (k=v, ...)``: the point, as an error names it."""
        return f"#{self.index} ({point_text(self.params)})"


@dataclass(frozen=True)
class PointResult:
    """How one point ended: its run, status, metric value and error, if any."""

    index: int
    params: dict[str, object]
    run_id: str | None
    status: str
    metric: float | None = None
    error: str | None = None
    trial: int | None = None
    """The Optuna trial's number, in a searching sweep."""
    pruned: bool = False
    lost: bool = False
    """The point was lost with its worker (and not run again, or not to its end)."""
    start_time: int | None = None
    """When the point's run started and ended (ms since the epoch), when known."""
    end_time: int | None = None


class RunWatch(Protocol):
    """What follows a point's run while it runs (a trial's pruning), and may stop it."""

    def attach(self, run: Run) -> None:
        """Start following the run (its handle in the worker)."""

    def stopped(self, exc: BaseException) -> bool:
        """Whether ``exc`` is this watch stopping the run (not the target failing)."""


def point_text(params: dict[str, object]) -> str:
    """A point's parameters as ``k=v, ...``."""
    return ", ".join(f"{k}={param_text(v)}" for k, v in params.items()) or "(defaults)"


def result_of(task: PointTask, run: Run) -> PointResult:
    """A point's result as its run in the store tells it."""
    tags = run.data.tags
    error = next((tags[k] for k in ERROR_TAGS if k in tags), None)
    value = run.data.metrics.get(task.metric) if task.metric else None
    return PointResult(
        task.index,
        task.params,
        run.run_id,
        run.info.status,
        value,
        error,
        pruned=PRUNED_TAG in tags and run.info.status == "KILLED",
        start_time=run.info.start_time,
        end_time=run.info.end_time,
    )


def run_point(task: PointTask) -> PointResult:
    """Run one point in this (worker) process and flush the store before returning."""
    with warnings.catch_warnings():
        # The point's failure is in its result; a warning per worker would repeat it.
        warnings.simplefilter("ignore", NotebookRunWarning)
        warnings.simplefilter("ignore", ProjectRunWarning)
        return run_point_quietly(task)


def run_point_quietly(task: PointTask, watch: RunWatch | None = None) -> PointResult:
    """:func:`run_point` for a thread of the sweep's own process, whose caller filters warnings.

    ``warnings.catch_warnings`` changes the process's filters: threads must not each
    set and restore them.
    """
    from canvasback.tracking.client import Client  # noqa: PLC0415

    client = Client(task.store)
    try:
        if task.function is not None:
            return _call_function(task, watch)
        run = runner.run_target(
            task.target,
            task.entry_point,
            task.params,
            task.experiment,
            task.run_name,
            parent_run_id=task.parent_run_id,
            store=task.store,
            capture_parts=list(task.capture_parts),
            timeout=task.timeout,
            tags={POINT_TAG: str(task.index), **task.tags},
            **({"trial": task.trial} if task.trial else {}),
        )
        return result_of(task, run)
    except Exception as exc:  # noqa: BLE001  # reported as the point's failure
        return PointResult(
            task.index, task.params, None, "FAILED", error=f"{type(exc).__name__}: {exc}"
        )
    finally:
        client.flush()


class LatestPoint:
    """The latest point of the sweep's metric a run's handle logs, as the store resolves it.

    The store's latest value of a metric is the one of the greatest (step, timestamp,
    value), NaN above every number; the worker keeps it as it is logged, so that the
    point's result needs no read of the store.
    """

    def __init__(self) -> None:
        self.best: tuple[int, int, tuple[bool, float]] | None = None
        self.value: float | None = None

    def record(self, value: float, step: int, timestamp: int) -> None:
        """A point of the metric, as the run's handle logged it."""
        nan = math.isnan(value)
        key = (step, timestamp, (nan, 0.0 if nan else value))
        if self.best is None or key > self.best:
            self.best, self.value = key, value


def _call_function(task: PointTask, watch: RunWatch | None = None) -> PointResult:
    """Call a function target inside a run of its own, active while it runs; how it ended.

    The result is made from what this worker logged (its run's handle and the metric's
    latest point as logged), not read back from the store: a read refreshes the store's
    whole catalog, the most of a trial's own cost. A run the function ended itself, or a
    metric it logged through another handle, is read back.
    """
    from canvasback.tracking import current, fluent  # noqa: PLC0415
    from canvasback.tracking.context import current_context  # noqa: PLC0415

    assert task.function is not None  # noqa: S101  # the caller checked
    # The function logs through the fluent API, into the current store: the sweep's.
    if current_context().store_address() != current_context().store_address(task.store):
        current.set_store(task.store)
    c = current.client()
    run = c.create_run(
        launch.experiment_id(c, task.experiment),
        run_name=task.run_name,
        parent_run_id=task.parent_run_id,
        tags={
            POINT_TAG: str(task.index),
            "canvasback.sweep.function": task.target,
            **task.tags,
        },
        params={k: param_text(v) for k, v in task.params.items()},
    )
    capture.capture_run(run, task.capture_parts, source=task.source)
    function = pickle.loads(task.function)  # noqa: S301  # pickled by this sweep's caller
    latest = LatestPoint()
    if task.metric is not None:
        run.watch_metric(task.metric, latest.record)
    if watch is not None:
        watch.attach(run)
    fluent.start_run(run_id=run.run_id)
    error: str | None = None
    ended_by_us = True
    try:
        function(**task.params)
    except Exception as exc:  # noqa: BLE001  # the point's failure, in its run
        if watch is not None and watch.stopped(exc):
            ended_by_us = not run.ended
            run.end("KILLED")
        elif not run.ended:  # a run the function ended itself keeps its own ending
            error = f"{type(exc).__name__}: {exc}"[:8000]
            run.set_tag(FUNCTION_ERROR_TAG, error)
            run.log_text(traceback.format_exc(), FUNCTION_TRACEBACK)
            run.end("FAILED")
        else:
            ended_by_us = False
    except BaseException:
        run.end("KILLED")
        raise
    else:
        ended_by_us = not run.ended
        run.end("FINISHED")
    c.flush()
    if not ended_by_us or (task.metric is not None and latest.value is None):
        return result_of(task, c.get_run(run.run_id))
    return PointResult(
        task.index,
        task.params,
        run.run_id,
        run.info.status,
        latest.value,
        error,
        start_time=run.info.start_time,
        end_time=run.info.end_time,
    )
