"""What every sweep does around its points: checks, the parent run, the tasks, the end.

A grid sweep and a searching one share it: the target is checked (a notebook or entry
point against its declared parameters, a function against its signature) before
anything runs, the parent run is made (or, for a resumed search, taken up again), each
point becomes a :class:`PointTask` naming it, and the parent ends with the counts and
the best point.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from canvasback.projects import capture, launch, runner
from canvasback.projects.params import ParamError
from canvasback.projects.sweep_points import PointTask, point_text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from concurrent.futures import Executor

    from canvasback.projects.search_space import StudySpec
    from canvasback.projects.sweep_results import SweepResult
    from canvasback.tracking.client import Client
    from canvasback.tracking.run import Run

MODES: Final = ("min", "max")
TARGET_TAG: Final = "canvasback.sweep.target"


@dataclass
class Launch:
    """A sweep under way: its store, parent run, target and what every point shares."""

    client: Client
    parent: Run
    where: str
    """The target: a notebook's or project's absolute path, or a function's name."""
    name: str
    experiment: str
    entry_point: str | None
    parts: tuple[str, ...]
    function: bytes | None
    source: capture.Source | None

    def task(
        self,
        index: int,
        params: dict[str, object],
        *,
        metric: str | None,
        timeout: float | None,
        search: StudySpec | None = None,
    ) -> PointTask:
        """Point ``index`` with ``params`` (a searching sweep's worker adds the trial's)."""
        shown = "" if search is not None else f" #{index} · {point_text(params)}"
        return PointTask(
            index=index,
            target=self.where,
            entry_point=self.entry_point,
            params=params,
            store=self.client.store.url,
            experiment=self.experiment,
            parent_run_id=self.parent.run_id,
            run_name=f"{self.name}{shown}"[:250],
            capture_parts=self.parts,
            metric=metric,
            timeout=timeout,
            function=self.function,
            source=self.source,
            search=search,
        )


def check_options(mode: str, max_workers: int | None, executor: Executor | None) -> None:
    """Refuse a mode, worker count or executor a sweep cannot use."""
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


def function_of(target: object, entry_point: str | None) -> Callable[..., object] | None:
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


def check_point(
    target: object,
    function: Callable[..., object] | None,
    entry_point: str | None,
    values: dict[str, object],
) -> None:
    """Refuse a point the target cannot run with, before any point runs."""
    if function is None:
        runner.check_target(str(target), entry_point, values)
        return
    try:
        inspect.signature(function).bind(**values)
    except TypeError as exc:
        msg = f"Invalid point {point_text(values)} for {function.__qualname__}: {exc}"
        raise ParamError(msg) from None
    except ValueError:  # no signature to read (a builtin): the call itself will say
        return


def start(
    target: object,
    function: Callable[..., object] | None,
    *,
    entry_point: str | None,
    experiment: str | None,
    run_name: str | None,
    store: str | Path | None,
    capture_parts: object,
    tags: Mapping[str, str],
) -> Launch:
    """Make the sweep's parent run (its code captured) and what its points share."""
    parts = capture.current_parts() if capture_parts is None else capture.parse_parts(capture_parts)
    c = runner._client(store)  # noqa: SLF001  # the module's own way to the store
    experiment_id = launch.experiment_id(c, experiment)
    where, source = _source(target, function)
    name = run_name or f"sweep {Path(where).name if function is None else function.__name__}"
    parent = c.create_run(
        experiment_id,
        run_name=name,
        tags={
            TARGET_TAG: where,
            **({"canvasback.sweep.entry_point": entry_point} if entry_point else {}),
            **tags,
        },
    )
    capture.capture_run(parent, parts, source=source)
    c.flush()  # workers in other processes name the parent: its row must be on disk
    return Launch(
        c,
        parent,
        where,
        name,
        c.get_experiment(experiment_id).name,
        entry_point,
        tuple(sorted(parts)),
        None if function is None else _pickle(function),
        None if function is None else source,
    )


def take_up(
    c: Client,
    parent_run_id: str,
    target: object,
    function: Callable[..., object] | None,
    *,
    entry_point: str | None,
    capture_parts: object,
) -> Launch:
    """A stopped sweep's parent run, RUNNING again, with what its points share."""
    parts = capture.current_parts() if capture_parts is None else capture.parse_parts(capture_parts)
    where, source = _source(target, function)
    found = c.get_run(parent_run_id)
    if found.data.tags.get(TARGET_TAG) != where:
        msg = (
            f"Cannot resume sweep {parent_run_id}: it ran {found.data.tags.get(TARGET_TAG)!r}, "
            f"not {where!r}"
        )
        raise ParamError(msg)
    parent = c.resume_run(parent_run_id)
    return Launch(
        c,
        parent,
        where,
        found.info.run_name,
        c.get_experiment(found.info.experiment_id).name,
        entry_point,
        tuple(sorted(parts)),
        None if function is None else _pickle(function),
        None if function is None else source,
    )


def _source(target: object, function: Callable[..., object] | None) -> tuple[str, capture.Source]:
    if function is None:
        where = str(Path(str(target)).absolute())
        kind = "notebook" if where.endswith(".ipynb") else "project"
        return where, capture.Source(kind, where)
    where = f"{function.__module__}.{function.__qualname__}"
    caller = capture.process_source()
    return where, capture.Source(caller.kind, caller.path, f"sweep of {where}")


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


def finish_parent(parent: Any, result: SweepResult, tags: Mapping[str, str] | None = None) -> None:  # noqa: ANN401  # a Run
    """End the parent run with the counts, the best point and its metric."""
    all_tags = {
        "canvasback.sweep.finished": str(result.finished),
        "canvasback.sweep.failed": str(result.failed),
        **(tags or {}),
    }
    best = result.best
    if best is not None and best.run_id is not None and result.metric:
        all_tags["canvasback.sweep.best_run_id"] = best.run_id
        parent.log_metric(f"best_{result.metric}", best.metric)
    parent.set_tags(all_tags)
    parent.end("FINISHED" if result.finished else "FAILED")
