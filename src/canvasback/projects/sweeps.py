"""Sweeps: one notebook or entry point per point, each a child run of one sweep run.

The points run on any ``concurrent.futures.Executor``: by default a process pool on
this machine (started with ``spawn``: the store's writer thread makes ``fork`` unsafe),
or the executor of an existing engine, such as ``dask.distributed.Client.get_executor()``
for a cluster. Each point is one task, :func:`run_point`, which runs in the worker,
logs into the same store (a folder every worker can reach) and flushes it before it
returns. A failing point fails its own run only. Every point is checked before the
first one starts.
"""

from __future__ import annotations

import html
import itertools
import math
import os
import warnings
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from canvasback.projects import capture, launch, runner
from canvasback.projects.notebooks import NotebookRunWarning
from canvasback.projects.params import ParamError, param_text
from canvasback.projects.runner import ProjectRunWarning

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from concurrent.futures import Executor, Future

MODES: Final = ("min", "max")
_ERROR_TAGS: Final = ("canvasback.notebook.error", "canvasback.project.error")


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


@dataclass(frozen=True)
class PointResult:
    """How one point ended: its run, status, metric value and error, if any."""

    index: int
    params: dict[str, object]
    run_id: str | None
    status: str
    metric: float | None = None
    error: str | None = None


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
            text += f"; best {self.metric} = {best.metric:g} at {_point_text(best.params)}"
            text += f" (run {best.run_id})"
        return text

    def __repr__(self) -> str:
        lines = [self.summary()]
        for p in sorted(self.points, key=lambda p: p.index):
            value = "" if p.metric is None else f" {self.metric}={p.metric:g}"
            error = f"  {p.error}" if p.error else ""
            lines.append(f"  #{p.index} {p.status:<8} {_point_text(p.params)}{value}{error}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    p.index,
                    p.status,
                    _point_text(p.params),
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


def _point_text(params: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={param_text(v)}" for k, v in params.items()) or "(defaults)"


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
    target: str | Path,
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
    """Run ``target`` (a notebook, or a project's entry point) once per point.

    ``grid={"lr": [0.1, 0.01], "depth": [2, 4]}`` runs the 4 combinations;
    ``points=[{...}, ...]`` runs the points given. ``params`` are common to all points.
    Each point is a child run of a parent sweep run; a failing point does not stop the
    others. ``metric`` and ``mode`` choose the best point of the summary.
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
    for point in chosen:  # every point is checked before the first one runs
        runner.check_target(target, entry_point, {**(params or {}), **point})
    parts = capture.current_parts() if capture_parts is None else capture.parse_parts(capture_parts)
    c = runner._client(store)  # noqa: SLF001  # the module's own way to the store
    experiment_id = launch.experiment_id(c, experiment)
    name = run_name or f"sweep {Path(target).name}"
    parent = c.create_run(
        experiment_id,
        run_name=name,
        tags={
            "canvasback.sweep.target": str(Path(target).absolute()),
            "canvasback.sweep.points": str(len(chosen)),
            **({"canvasback.sweep.entry_point": entry_point} if entry_point else {}),
            **({"canvasback.sweep.metric": f"{mode} {metric}"} if metric else {}),
        },
    )
    kind = "notebook" if str(target).endswith(".ipynb") else "project"
    capture.capture_run(parent, parts, source=capture.Source(kind, str(Path(target).absolute())))
    c.flush()  # workers in other processes name the parent: its row must be on disk
    tasks = [
        PointTask(
            index=i,
            target=str(Path(target).absolute()),
            entry_point=entry_point,
            params={**(params or {}), **point},
            store=str(c.store.root),
            experiment=c.get_experiment(experiment_id).name,
            parent_run_id=parent.run_id,
            run_name=f"{name} #{i} · {_point_text(point)}"[:250],
            capture_parts=tuple(sorted(parts)),
            metric=metric,
            timeout=timeout,
        )
        for i, point in enumerate(chosen)
    ]
    owned = executor is None
    if executor is None:
        import multiprocessing  # noqa: PLC0415  # a pool only when a sweep runs
        from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
    pool = executor or ProcessPoolExecutor(
        max_workers=max_workers or min(len(tasks), os.cpu_count() or 1),
        mp_context=multiprocessing.get_context("spawn"),
    )
    try:
        results = _gather(pool, tasks, name, progress=progress)
    finally:
        if owned:
            pool.shutdown(wait=True)
    result = SweepResult(
        parent.run_id, results, metric, mode, [r.run_id for r in results if r.run_id]
    )
    _finish_parent(parent, result)
    c.flush()
    return result


def _gather(
    pool: Executor, tasks: list[PointTask], name: str, *, progress: bool
) -> list[PointResult]:
    from tqdm.auto import tqdm  # noqa: PLC0415  # notebook-aware bar, loaded when a sweep runs

    futures: dict[Future[PointResult], PointTask] = {pool.submit(run_point, t): t for t in tasks}
    results: list[PointResult] = []
    failed = 0
    with tqdm(total=len(tasks), desc=name, unit="run", disable=not progress) as bar:
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001  # a worker lost: that point fails, not the sweep
                result = PointResult(task.index, task.params, None, "FAILED", error=repr(exc))
            results.append(result)
            failed += result.status != "FINISHED"
            bar.set_postfix(finished=len(results) - failed, failed=failed, refresh=False)
            bar.update(1)
    return sorted(results, key=lambda r: r.index)


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


def run_point(task: PointTask) -> PointResult:
    """Run one point in this (worker) process and flush the store before returning."""
    from canvasback.tracking.client import Client  # noqa: PLC0415

    client = Client(task.store)
    try:
        with warnings.catch_warnings():
            # The point's failure is in its result; a warning per worker would repeat it.
            warnings.simplefilter("ignore", NotebookRunWarning)
            warnings.simplefilter("ignore", ProjectRunWarning)
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
            )
        tags = run.data.tags
        error = next((tags[k] for k in _ERROR_TAGS if k in tags), None)
        value = run.data.metrics.get(task.metric) if task.metric else None
        return PointResult(task.index, task.params, run.run_id, run.info.status, value, error)
    except Exception as exc:  # noqa: BLE001  # reported as the point's failure
        return PointResult(
            task.index, task.params, None, "FAILED", error=f"{type(exc).__name__}: {exc}"
        )
    finally:
        client.flush()
