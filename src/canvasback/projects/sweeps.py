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

import html
import inspect
import itertools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from canvasback.projects import capture, launch, runner, sweep_pools
from canvasback.projects.params import ParamError
from canvasback.projects.sweep_points import PointResult, PointTask, point_text, run_point
from canvasback.query.metric_goal import SWEEP_METRIC_TAG

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from concurrent.futures import Executor

__all__ = ["PointResult", "PointTask", "SweepResult", "expand", "run_point", "sweep"]

MODES: Final = ("min", "max")


@dataclass
class SweepResult:
    """The summary of a sweep: its parent run, each point, and the best one."""

    parent_run_id: str
    points: list[PointResult]
    metric: str | None = None
    mode: str = "min"
    run_ids: list[str] = field(default_factory=list)

    @property
    def finished(self) -> int:
        """Points whose run FINISHED."""
        return sum(p.status == "FINISHED" for p in self.points)

    @property
    def failed(self) -> int:
        """Points whose run did not finish (FAILED, KILLED, or never started)."""
        return len(self.points) - self.finished

    @property
    def best(self) -> PointResult | None:
        """The finished point with the lowest (``mode="min"``) or highest metric."""
        scored = [
            p
            for p in self.points
            if p.status == "FINISHED" and p.metric is not None and not math.isnan(p.metric)
        ]
        if not scored:
            return None
        pick = min if self.mode == "min" else max
        return pick(scored, key=lambda p: p.metric if p.metric is not None else math.nan)

    def summary(self) -> str:
        """One line: counts, and the best point."""
        text = f"sweep {self.parent_run_id}: {self.finished} finished, {self.failed} failed"
        best = self.best
        if best is not None and self.metric:
            text += f"; best {self.metric} = {best.metric:g} at {point_text(best.params)}"
            text += f" (run {best.run_id})"
        return text

    def __repr__(self) -> str:
        lines = [self.summary()]
        for p in sorted(self.points, key=lambda p: p.index):
            value = "" if p.metric is None else f" {self.metric}={p.metric:g}"
            error = f"  {p.error}" if p.error else ""
            lines.append(f"  #{p.index} {p.status:<8} {point_text(p.params)}{value}{error}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    p.index,
                    p.status,
                    point_text(p.params),
                    "" if p.metric is None else f"{p.metric:g}",
                    p.run_id or "",
                    p.error or "",
                )
            )
            + "</tr>"
            for p in sorted(self.points, key=lambda p: p.index)
        )
        head = "".join(
            f"<th>{html.escape(h)}</th>"
            for h in ("#", "status", "params", self.metric or "metric", "run", "error")
        )
        return (
            f"<div><p>{html.escape(self.summary())}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
        )


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
    entry_point: str | None = None,
    params: Mapping[str, object] | None = None,
    max_workers: int | None = None,
    executor: Executor | None = None,
    metric: str | None = None,
    mode: str = "min",
    experiment: str | None = None,
    run_name: str | None = None,
    store: str | Path | None = None,
    progress: bool = True,
    timeout: float | None = None,
    capture_parts: object = None,
) -> SweepResult:
    """Run ``target`` (a notebook, a project's entry point, or a function) once per point.

    ``grid={"lr": [0.1, 0.01], "depth": [2, 4]}`` runs the 4 combinations;
    ``points=[{...}, ...]`` runs the points given. ``params`` are common to all points.
    Each point is a child run of a parent sweep run; a failing point does not stop the
    others. ``metric`` and ``mode`` choose the best point of the summary.

    A function is called as ``target(**point)`` in a worker process, inside a run made
    for the point (its ``canvasback.log_metric`` calls log there); it is sent to the
    worker with cloudpickle, so one defined in a notebook works. As with any process
    pool, a script that sweeps a function calls ``sweep`` under
    ``if __name__ == "__main__":``.
    """
    if mode not in MODES:
        msg = f"Invalid mode {mode!r}: allowed are 'min' and 'max'"
        raise ParamError(msg)
    if max_workers is not None and (type(max_workers) is not int or max_workers < 1):
        msg = f"Invalid max_workers {max_workers!r}: a whole number of at least 1"
        raise ParamError(msg)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        msg = (
            f"Invalid executor {executor!r}: a concurrent.futures.Executor (with submit), "
            "such as a dask.distributed Client's get_executor()"
        )
        raise ParamError(msg)
    chosen = expand(grid, points)
    function = _function_of(target, entry_point)
    for point in chosen:  # every point is checked before the first one runs
        values = {**(params or {}), **point}
        if function is None:
            runner.check_target(str(target), entry_point, values)
        else:
            _check_call(function, values)
    parts = capture.current_parts() if capture_parts is None else capture.parse_parts(capture_parts)
    c = runner._client(store)  # noqa: SLF001  # the module's own way to the store
    experiment_id = launch.experiment_id(c, experiment)
    if function is None:
        where = str(Path(str(target)).absolute())
        kind = "notebook" if where.endswith(".ipynb") else "project"
        source = capture.Source(kind, where)
    else:
        where = f"{function.__module__}.{function.__qualname__}"
        caller = capture.process_source()
        source = capture.Source(caller.kind, caller.path, f"sweep of {where}")
    name = run_name or f"sweep {Path(where).name if function is None else function.__name__}"
    parent = c.create_run(
        experiment_id,
        run_name=name,
        tags={
            "canvasback.sweep.target": where,
            "canvasback.sweep.points": str(len(chosen)),
            **({"canvasback.sweep.entry_point": entry_point} if entry_point else {}),
            **({SWEEP_METRIC_TAG: f"{mode} {metric}"} if metric else {}),
        },
    )
    capture.capture_run(parent, parts, source=source)
    c.flush()  # workers in other processes name the parent: its row must be on disk
    pickled = None if function is None else _pickle(function)
    tasks = [
        PointTask(
            index=i,
            target=where,
            entry_point=entry_point,
            params={**(params or {}), **point},
            store=c.store.url,
            experiment=c.get_experiment(experiment_id).name,
            parent_run_id=parent.run_id,
            run_name=f"{name} #{i} · {point_text(point)}"[:250],
            capture_parts=tuple(sorted(parts)),
            metric=metric,
            timeout=timeout,
            function=pickled,
            source=None if function is None else source,
        )
        for i, point in enumerate(chosen)
    ]
    results = sweep_pools.run_points(
        tasks,
        c,
        executor=executor,
        workers=max_workers or min(len(tasks), os.cpu_count() or 1),
        name=name,
        progress=progress,
    )
    result = SweepResult(
        parent.run_id, results, metric, mode, [r.run_id for r in results if r.run_id]
    )
    _finish_parent(parent, result)
    c.flush()
    return result


def _function_of(target: object, entry_point: str | None) -> Callable[..., object] | None:
    """The function a sweep calls, or None for a notebook or project path."""
    if isinstance(target, str | os.PathLike):
        return None
    if not callable(target):
        msg = (
            f"Invalid sweep target {target!r}: a notebook (.ipynb), a project folder or "
            "file, or a Python function"
        )
        raise ParamError(msg)
    if entry_point is not None:
        msg = f"A function ({target!r}) has no entry points; entry_point={entry_point!r} names one"
        raise ParamError(msg)
    return target


def _check_call(function: Callable[..., object], values: dict[str, object]) -> None:
    """Refuse a point the function cannot be called with, before any point runs."""
    try:
        inspect.signature(function).bind(**values)
    except TypeError as exc:
        msg = f"Invalid point {point_text(values)} for {function.__qualname__}: {exc}"
        raise ParamError(msg) from None
    except ValueError:  # no signature to read (a builtin): the call itself will say
        return


def _pickle(function: Callable[..., object]) -> bytes:
    """The function as a worker loads it: by value when it lives in ``__main__``."""
    try:
        import cloudpickle  # noqa: PLC0415  # only a function sweep needs it
    except ImportError:
        msg = (
            "A sweep of a Python function sends it to worker processes with cloudpickle: "
            "pip install 'canvasback[projects]'"
        )
        raise ParamError(msg) from None
    data: bytes = cloudpickle.dumps(function)
    return data


def _finish_parent(parent: Any, result: SweepResult) -> None:  # noqa: ANN401  # a Run
    tags = {
        "canvasback.sweep.finished": str(result.finished),
        "canvasback.sweep.failed": str(result.failed),
    }
    best = result.best
    if best is not None and best.run_id is not None and result.metric:
        tags["canvasback.sweep.best_run_id"] = best.run_id
        parent.log_metric(f"best_{result.metric}", best.metric)
    parent.set_tags(tags)
    parent.end("FINISHED" if result.finished else "FAILED")
