"""Where a sweep's points run, and what happens when a worker dies.

Notebooks and commands are processes of their own already: their points run on a
thread pool of the caller's process (no ``if __name__ == "__main__":`` needed in a
script). A Python function runs in a worker process: a process pool started with
``spawn`` (the store's writer thread makes ``fork`` unsafe). A point that kills its
worker (a crash, ``os._exit``, a signal, the out-of-memory killer) breaks that pool,
and every point not yet done fails with ``BrokenProcessPool``; the sweep then reads
from the store how each of them ended:

* a run that ended FINISHED or FAILED ended on its own: that is the point's result;
* no run: the point never started, and goes to a fresh pool;
* a run left RUNNING: the point was running when the pool broke. Its run is ended
  KILLED, and the point runs again, alone in a pool of one worker, so that a point
  that kills its worker is told from the ones that died with it. After
  :data:`MAX_ATTEMPTS` such losses the point is FAILED, with a reason naming it.

On an executor of the caller's (a Dask cluster, which retries lost tasks itself), a
point whose task failed is reported from its run in the store, or FAILED.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from canvasback.projects.notebooks import NotebookRunWarning
from canvasback.projects.runner import ProjectRunWarning
from canvasback.projects.sweep_points import (
    OWN_ENDINGS,
    POINT_TAG,
    PointResult,
    PointTask,
    result_of,
    run_point,
    run_point_quietly,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from concurrent.futures import Executor, Future

    from canvasback.projects.sweep_watch import SweepWatch
    from canvasback.tracking.client import Client
    from canvasback.tracking.run import Run

_LOG = logging.getLogger(__name__)

MAX_ATTEMPTS: Final = 3
"""How often a point may be lost with its worker before it is FAILED."""
LOST_TAG: Final = "canvasback.sweep.lost"
Lost = tuple[PointTask, BaseException]
"""A point whose task raised (its worker died), and what it raised."""


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Workers:
    """What runs a point, in a worker or in a thread of this process; what settles a loss.

    ``after_loss`` runs once a broken process pool's workers are gone (a searching sweep
    fails the trials they were running).
    """

    run: Callable[[PointTask], PointResult] = run_point
    run_quietly: Callable[[PointTask], PointResult] = run_point_quietly
    after_loss: Callable[[], object] = _nothing


class _Progress:
    """Counts points as they end, on a tqdm bar (notebook-aware), or tells the sweep's watch."""

    def __init__(self, total: int, name: str, *, enabled: bool, watch: SweepWatch | None) -> None:
        from tqdm.auto import tqdm  # noqa: PLC0415  # loaded when a sweep runs

        self.bar = tqdm(
            total=total, desc=name, unit="run", disable=not enabled or watch is not None
        )
        self.watch = watch
        self.done: dict[int, PointResult] = {}

    def add(self, result: PointResult) -> None:
        self.done[result.index] = result
        pruned = sum(r.pruned for r in self.done.values())  # stopped early, not failed
        failed = sum(r.status != "FINISHED" and not r.pruned for r in self.done.values())
        counts = {"finished": len(self.done) - failed - pruned, "failed": failed}
        self.bar.set_postfix(**counts, **({"pruned": pruned} if pruned else {}), refresh=False)
        self.bar.update(1)
        if self.watch is not None:
            try:
                self.watch.point_done(result)
            except Exception:  # noqa: BLE001  # a view that fails must not stop the sweep
                _LOG.warning("canvasback: the sweep's view could not show a point", exc_info=True)


def run_points(
    tasks: list[PointTask],
    client: Client,
    *,
    executor: Executor | None,
    workers: int,
    name: str,
    progress: bool,
    work: Workers | None = None,
    watch: SweepWatch | None = None,
) -> list[PointResult]:
    """Run every point; their results in the order of the points.

    ``watch`` is told each point as it ends (the notebook's live view), in place of the
    progress bar.
    """
    bar = _Progress(len(tasks), name, enabled=progress, watch=watch)
    work = work or Workers()
    try:
        if executor is not None:
            _on_given(executor, tasks, client, bar, work)
        elif any(t.function is not None for t in tasks):
            _on_process_pools(tasks, client, workers, bar, work)
        else:
            _on_threads(tasks, workers, bar, work)
    finally:
        bar.bar.close()
    return [bar.done[t.index] for t in tasks]


def _on_threads(tasks: list[PointTask], workers: int, bar: _Progress, work: Workers) -> None:
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="canvasback-sweep")
    with warnings.catch_warnings():
        # The point's failure is in its result; a warning per point would repeat it.
        warnings.simplefilter("ignore", NotebookRunWarning)
        warnings.simplefilter("ignore", ProjectRunWarning)
        try:
            lost = _submit(pool, tasks, work.run_quietly, bar)
        finally:  # on Ctrl-C the points not yet started are dropped
            pool.shutdown(wait=True, cancel_futures=True)
    for task, exc in lost:  # run_point_quietly reports its own errors: a bug if any
        bar.add(_failed(task, f"{type(exc).__name__}: {exc}"))


def _on_given(
    executor: Executor, tasks: list[PointTask], client: Client, bar: _Progress, work: Workers
) -> None:
    lost = _submit(executor, tasks, work.run, bar)
    runs = _runs_of_points(client, tasks[0].parent_run_id, lost) if lost else {}
    for task, exc in lost:
        run = _latest(runs, task.index)
        if run is not None and run.info.status in OWN_ENDINGS:
            bar.add(result_of(task, run))
        else:
            error = f"point {task.label} was lost: {type(exc).__name__}: {exc}"
            bar.add(_failed(task, error, lost=True))


def _on_process_pools(
    tasks: list[PointTask], client: Client, workers: int, bar: _Progress, work: Workers
) -> None:
    import multiprocessing  # noqa: PLC0415  # a process pool only when one is needed
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    waiting = list(tasks)  # for a pool of `workers`
    alone: list[PointTask] = []  # lost while running: each runs again in a pool of one
    losses: Counter[int] = Counter()
    settled: set[str] = set()  # runs of earlier attempts
    while waiting or alone:
        batch = [alone.pop(0)] if alone else waiting
        if batch is waiting:
            waiting = []
        pool = ProcessPoolExecutor(
            max_workers=min(len(batch), workers),
            mp_context=multiprocessing.get_context("spawn"),
        )
        try:
            lost = _submit(pool, batch, work.run, bar)
        finally:  # a broken pool's workers are gone once this returns
            pool.shutdown(wait=True, cancel_futures=True)
        if not lost:
            continue
        runs = _runs_of_points(client, batch[0].parent_run_id, lost)
        fresh = {i: [r for r in found if r.run_id not in settled] for i, found in runs.items()}
        settled.update(r.run_id for found in runs.values() for r in found)
        started = any(fresh.get(task.index) for task, _ in lost)
        for task, exc in lost:
            run = _latest(fresh, task.index)
            if run is not None and run.info.status in OWN_ENDINGS:
                bar.add(result_of(task, run))  # it ended before its worker died
            elif run is None and started and len(batch) > 1:
                waiting.append(task)  # it never started: another point broke the pool
            else:
                if run is not None:
                    _end_lost(client, run, exc)
                    losses[task.index] += 1
                elif len(batch) == 1:
                    losses[task.index] += 1  # alone, it died before its run began
                if losses[task.index] >= MAX_ATTEMPTS:
                    bar.add(_gave_up(task, run, losses[task.index], exc))
                else:
                    alone.append(task)
        work.after_loss()  # the pool's workers are gone: so is their work


def _submit(
    pool: Executor,
    tasks: Iterable[PointTask],
    work: Callable[[PointTask], PointResult],
    bar: _Progress,
) -> list[Lost]:
    """Run the tasks on a pool; the results go to the bar, the tasks lost are returned."""
    futures: dict[Future[PointResult], PointTask] = {pool.submit(work, t): t for t in tasks}
    lost: list[Lost] = []
    for future in as_completed(futures):
        try:
            bar.add(future.result())
        except (Exception, BrokenProcessPool) as exc:  # noqa: BLE001  # a worker lost
            lost.append((futures[future], exc))
    return sorted(lost, key=lambda pair: pair[0].index)


def _runs_of_points(client: Client, parent_run_id: str, lost: list[Lost]) -> dict[int, list[Run]]:
    """The runs of the lost points of a sweep, oldest first, as the store has them now."""
    parent = client.get_run(parent_run_id)
    frame = client.search_runs_frame(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
        order_by=["attributes.start_time ASC"],
    )
    column = f"tags.{POINT_TAG}"
    if column not in frame:
        return {}
    wanted = {str(task.index) for task, _ in lost}
    out: dict[int, list[Run]] = {}
    for run_id, point in zip(frame["run_id"], frame[column], strict=True):
        if point in wanted:
            out.setdefault(int(point), []).append(client.get_run(run_id))
    return out


def _latest(runs: dict[int, list[Run]], index: int) -> Run | None:
    found = runs.get(index)
    return found[-1] if found else None


def _end_lost(client: Client, run: Run, exc: BaseException) -> None:
    """End the run of a point whose worker died: nobody else will."""
    if run.info.status == "RUNNING":
        client.set_tag(run.run_id, LOST_TAG, f"its worker process died: {exc}"[:8000])
        client.set_terminated(run.run_id, "KILLED")
        client.flush()


def _failed(
    task: PointTask, error: str, run_id: str | None = None, *, lost: bool = False
) -> PointResult:
    return PointResult(task.index, task.params, run_id, "FAILED", error=error, lost=lost)


def _gave_up(task: PointTask, run: Run | None, losses: int, exc: BaseException) -> PointResult:
    error = (
        f"point {task.label} was lost {losses} times with its worker process, the last "
        f"time running alone: it kills the process that runs it (a crash, os._exit, a "
        f"signal, or out of memory); {type(exc).__name__}: {exc}"
    )
    return _failed(task, error, run.run_id if run is not None else None, lost=True)
