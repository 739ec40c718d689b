"""Sweeps: a notebook, entry point or function per point, each a child run of one sweep run.

The points run on this machine (see :mod:`sweep_pools`: a thread pool for notebooks
and commands, which are processes of their own; a process pool for a Python function),
or on the executor of an existing engine, such as
``dask.distributed.Client.get_executor()`` for a cluster. Each point is one task,
:func:`run_point`, which logs into the same store (a folder every worker can reach)
and flushes it before it returns. A failing point fails its own run only. Every point
is checked before the first one starts.
"""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING

from canvasback.projects import search, sweep_launch, sweep_pools, sweep_watch
from canvasback.projects.params import ParamError
from canvasback.projects.sweep_launch import MODES, check_options
from canvasback.projects.sweep_points import PointResult, PointTask, run_point
from canvasback.projects.sweep_results import SweepResult
from canvasback.query.metric_goal import SWEEP_METRIC_TAG

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from concurrent.futures import Executor
    from pathlib import Path

__all__ = ["MODES", "PointResult", "PointTask", "SweepResult", "expand", "run_point", "sweep"]


def expand(
    grid: Mapping[str, Sequence[object]] | None, points: Sequence[Mapping[str, object]] | None
) -> list[dict[str, object]]:
    """The points of a sweep: the product of a grid's values, or the points given."""
    if (grid is None) == (points is None):
        msg = (
            "sweep takes grid= (values per parameter) or points= (a list of dicts), "
            "not both nor neither"
        )
        raise ParamError(msg)
    if grid is not None:
        for key, values in grid.items():
            if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
                msg = f"Invalid grid values {values!r} for {key!r}: give a list of values"
                raise ParamError(msg)
        keys = list(grid)
        out = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]
    else:
        out = []
        for i, point in enumerate(points or []):
            if not isinstance(point, dict):
                msg = f"Invalid point #{i} {point!r}: each point is a dict of parameter values"
                raise ParamError(msg)
            out.append(dict(point))
    if not out:
        msg = "The sweep has no points (an empty grid or list)"
        raise ParamError(msg)
    return out


def sweep(
    target: str | Path | Callable[..., object],
    grid: Mapping[str, Sequence[object]] | None = None,
    points: Sequence[Mapping[str, object]] | None = None,
    *,
    space: Mapping[str, object] | None = None,
    n_trials: int | None = None,
    sampler: str | None = None,
    pruner: str | None = None,
    seed: int | None = None,
    study: str | None = None,
    resume: str | None = None,
    entry_point: str | None = None,
    params: Mapping[str, object] | None = None,
    max_workers: int | None = None,
    executor: Executor | None = None,
    metric: str | None = None,
    mode: str | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    store: str | Path | None = None,
    progress: bool = True,
    live: bool | None = None,
    timeout: float | None = None,
    capture_parts: object = None,
) -> SweepResult:
    """Run ``target`` (a notebook, a project's entry point, or a function) once per point.

    ``grid={"lr": [0.1, 0.01], "depth": [2, 4]}`` runs the 4 combinations;
    ``points=[{...}, ...]`` runs the points given. ``params`` are common to all points.
    Each point is a child run of a parent sweep run; a failing point does not stop the
    others. ``metric`` and ``mode`` choose the best point of the summary.

    ``space={"lr": cb.search.loguniform(1e-4, 1e-1), "depth": (2, 8)}`` searches
    instead, through Optuna: ``n_trials`` trials, each a point whose params the
    ``sampler`` chooses ("tpe", "random", "grid", "cmaes"; ``seed`` makes it
    repeatable), stopped early by the ``pruner`` ("median", "halving") from the points
    of ``metric`` the target logs. ``metric`` and ``mode`` are then required.
    ``resume=`` (the sweep's run id or its study's name) finishes a search that was
    stopped. See :mod:`canvasback.projects.search`.

    A function is called as ``target(**point)`` in a worker process, inside a run made
    for the point (its ``canvasback.log_metric`` calls log there); it is sent to the
    worker with cloudpickle, so one defined in a notebook works. As with any process
    pool, a script that sweeps a function calls ``sweep`` under
    ``if __name__ == "__main__":``.

    In a notebook the cell shows the sweep live (a row per point, the best so far, the
    finished points' parallel coordinates) instead of the progress bar; ``live=False``
    (or ``progress=False``) turns it off, ``live=True`` outside a notebook is an error.
    """
    if space is not None or resume is not None:
        if grid is not None or points is not None:
            msg = (
                "sweep takes grid= or points= (the points to run), or space= (to search), not both"
            )
            raise ParamError(msg)
        return search.search(
            target,
            space,
            search.Options(n_trials, sampler, pruner, seed, study, resume, metric, mode),
            entry_point=entry_point,
            params=params,
            max_workers=max_workers,
            executor=executor,
            experiment=experiment,
            run_name=run_name,
            store=store,
            progress=progress,
            live=live,
            timeout=timeout,
            capture_parts=capture_parts,
        )
    mode = mode or "min"
    check_options(mode, max_workers, executor)
    chosen = expand(grid, points)
    function = sweep_launch.function_of(target, entry_point)
    for point in chosen:  # every point is checked before the first one runs
        sweep_launch.check_point(target, function, entry_point, {**(params or {}), **point})
    show = sweep_watch.prepare(live) if progress else None  # a refusal writes nothing
    started = sweep_launch.start(
        target,
        function,
        entry_point=entry_point,
        experiment=experiment,
        run_name=run_name,
        store=store,
        capture_parts=capture_parts,
        tags={
            "canvasback.sweep.points": str(len(chosen)),
            **({SWEEP_METRIC_TAG: f"{mode} {metric}"} if metric else {}),
        },
    )
    tasks = [
        started.task(i, {**(params or {}), **point}, metric=metric, timeout=timeout)
        for i, point in enumerate(chosen)
    ]
    workers = max_workers or min(len(tasks), os.cpu_count() or 1)
    watch = sweep_watch.start(
        show,
        sweep_watch.SweepStart(
            started.parent.run_id,
            started.name,
            metric,
            mode,
            tuple(tasks),
            workers,
            searching=False,
        ),
    )
    results = sweep_pools.run_points(
        tasks,
        started.client,
        executor=executor,
        workers=workers,
        name=started.name,
        progress=progress,
        watch=watch,
    )
    result = SweepResult(
        started.parent.run_id, results, metric, mode, [r.run_id for r in results if r.run_id]
    )
    sweep_launch.finish_parent(started.parent, result)
    started.client.flush()
    sweep_watch.done(watch, result)
    return result
