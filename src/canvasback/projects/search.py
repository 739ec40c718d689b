"""Sweeps that search: Optuna chooses each trial's params; every trial is a child run.

``sweep(target, space=..., n_trials=, metric=, mode=, sampler=, pruner=, seed=)``
makes the sweep's parent run and an Optuna study named after it (``study=`` names it
otherwise), kept in a journal file beside the store (:func:`journal_path`). Then
``n_trials`` points run on the sweep's workers (threads, process pools or an
Executor: :mod:`sweep_pools`), each asking the study for a trial, running the target
with its params and telling the study the run's metric (:mod:`search_trials`).

A sweep stopped on the way (its process killed) is finished by ``sweep(...,
resume=<its run id or study name>)``: trials left RUNNING are failed (their runs end
KILLED, tagged lost) and asked again with the same params, as Optuna's retry of a
stale trial does, and only the trials still missing run.
"""

from __future__ import annotations

import os
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from canvasback.projects import (
    search_space,
    search_study,
    search_trials,
    sweep_launch,
    sweep_pools,
    sweep_watch,
)
from canvasback.projects.params import ParamError
from canvasback.projects.search_space import PRUNERS, SAMPLERS, StudySpec
from canvasback.projects.search_study import Options, journal_path
from canvasback.projects.search_trials import STUDY_TAG, TRIAL_TAG
from canvasback.projects.sweep_points import ERROR_TAGS, PointResult
from canvasback.projects.sweep_results import SweepResult
from canvasback.query.metric_goal import SWEEP_METRIC_TAG

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from concurrent.futures import Executor
    from pathlib import Path

    import optuna

    from canvasback.projects.sweep_launch import Launch

__all__ = ["Options", "journal_path", "search"]

TRIALS_TAG: Final = "canvasback.sweep.trials"


def search(
    target: object,
    space: Mapping[str, object] | None,
    options: Options,
    *,
    entry_point: str | None,
    params: Mapping[str, object] | None,
    max_workers: int | None,
    executor: Executor | None,
    experiment: str | None,
    run_name: str | None,
    store: str | Path | None,
    progress: bool,
    live: bool | None,
    timeout: float | None,
    capture_parts: object,
) -> SweepResult:
    """Run (or finish) a searching sweep; see :func:`canvasback.projects.sweeps.sweep`."""
    sweep_launch.check_options(options.mode or "min", max_workers, executor)
    function = sweep_launch.function_of(target, entry_point)
    common = dict(params or {})
    show = sweep_watch.prepare(live) if progress else None  # a refusal writes nothing
    if options.resume is not None:
        launched, spec, n_trials = search_study.resume(
            target, function, space, options, entry_point, store, capture_parts
        )
    else:
        spec_space, n_trials = _check_new(space, options)
        _check_points(target, function, entry_point, common, spec_space)
        launched, spec = _start(
            target,
            function,
            spec_space,
            n_trials,
            options,
            entry_point,
            experiment,
            run_name,
            store,
            capture_parts,
        )
    study = search_trials.open_study(spec)
    remaining = n_trials - len(search_trials.counted(study))
    base = search_study.next_index(launched) if options.resume is not None else 0
    tasks = [
        launched.task(base + i, common, metric=spec.metric, timeout=timeout, search=spec)
        for i in range(max(remaining, 0))
    ]
    results: list[PointResult] = []
    workers = max_workers or min(len(tasks), os.cpu_count() or 1)
    watch = sweep_watch.start(
        show,
        sweep_watch.SweepStart(
            launched.parent.run_id,
            launched.name,
            spec.metric,
            spec.mode,
            tuple(tasks),
            workers,
            searching=True,
        ),
    )
    if tasks:
        results = sweep_pools.run_points(
            tasks,
            launched.client,
            executor=executor,
            workers=workers,
            name=launched.name,
            progress=progress,
            watch=watch,
            work=sweep_pools.Workers(
                search_trials.run_trial,
                search_trials.run_trial_quietly,
                partial(search_trials.fail_lost, spec, retry=True),
            ),
        )
    search_study.end_lost_runs(launched, search_trials.fail_lost(spec, retry=False))
    study = search_trials.open_study(spec)
    result = _result(launched, spec, study, results)
    stop = study.user_attrs.get(search_trials.STOP_ATTR)
    sweep_launch.finish_parent(
        launched.parent, result, {"canvasback.sweep.pruned": str(result.pruned)}
    )
    launched.client.flush()
    sweep_watch.done(watch, result)
    if stop:
        raise ParamError(str(stop))
    return result


def _check_new(space: object, options: Options) -> tuple[dict[str, search_space.Spec], int]:
    """The space and trial count of a new search, every option checked."""
    if options.metric is None or not isinstance(options.metric, str):
        msg = (
            f"A search needs metric= (the metric each trial logs, that the sampler "
            f"optimizes) and mode= ('min' or 'max'); got metric={options.metric!r}"
        )
        raise ParamError(msg)
    if options.mode is None:
        msg = f"A search needs mode= ('min' or 'max'): which way {options.metric!r} is better"
        raise ParamError(msg)
    sampler = _check_choices(options)
    parsed = search_space.parse_space(space)
    n_trials = options.n_trials
    if sampler == "grid":
        grid = search_space.grid_values(parsed)
        if n_trials is None:
            n_trials = 1
            for values in grid.values():
                n_trials *= len(values)
    if n_trials is None or type(n_trials) is not int or n_trials < 1:
        msg = f"Invalid n_trials {n_trials!r}: a search needs a whole number of trials, at least 1"
        raise ParamError(msg)
    _require_optuna()
    return parsed, n_trials


def _check_choices(options: Options) -> str:
    """The sampler, pruner, seed and study name checked; the sampler's name."""
    sampler = options.sampler or "tpe"
    if sampler not in SAMPLERS:
        msg = f"Invalid sampler {sampler!r}: allowed are {', '.join(map(repr, SAMPLERS))}"
        raise ParamError(msg)
    if options.pruner is not None and options.pruner not in PRUNERS:
        msg = (
            f"Invalid pruner {options.pruner!r}: allowed are "
            f"{', '.join(map(repr, PRUNERS))}, or None"
        )
        raise ParamError(msg)
    if options.seed is not None and type(options.seed) is not int:
        msg = f"Invalid seed {options.seed!r}: a whole number (int), or None"
        raise ParamError(msg)
    if options.study is not None and not search_study.STUDY_NAME.fullmatch(str(options.study)):
        msg = (
            f"Invalid study name {options.study!r}: letters, digits, '_', '.' and '-' "
            "(up to 128), starting with a letter or digit"
        )
        raise ParamError(msg)
    return sampler


def _require_optuna() -> None:
    try:
        import optuna  # noqa: F401, PLC0415  # only a search needs it
    except ImportError:
        msg = "A sweep with space= searches through Optuna: pip install 'optuna>=4'"
        raise ParamError(msg) from None


def _check_points(
    target: object,
    function: Callable[..., object] | None,
    entry_point: str | None,
    common: dict[str, object],
    space: Mapping[str, search_space.Spec],
) -> None:
    """Check each choice, low and high of every parameter against the target.

    Before any trial runs: a notebook or entry point refuses a value of the wrong type.
    """
    ends = {
        k: list(v) if isinstance(v, tuple) else [_end(v, v.low), _end(v, v.high)]
        for k, v in space.items()
    }
    first = {k: values[0] for k, values in ends.items()}
    for key, values in ends.items():
        for value in values:
            point = {**common, **first, key: value}
            sweep_launch.check_point(target, function, entry_point, point)


def _end(spec: search_space.Range, value: float) -> object:
    return int(value) if spec.integer else float(value)


def _start(
    target: object,
    function: Callable[..., object] | None,
    space: dict[str, search_space.Spec],
    n_trials: int,
    options: Options,
    entry_point: str | None,
    experiment: str | None,
    run_name: str | None,
    store: str | Path | None,
    capture_parts: object,
) -> tuple[Launch, StudySpec]:
    import optuna  # noqa: PLC0415

    assert options.metric is not None  # noqa: S101  # checked
    assert options.mode is not None  # noqa: S101
    sampler = options.sampler or "tpe"
    launched = sweep_launch.start(
        target,
        function,
        entry_point=entry_point,
        experiment=experiment,
        run_name=run_name,
        store=store,
        capture_parts=capture_parts,
        tags={
            TRIALS_TAG: str(n_trials),
            SWEEP_METRIC_TAG: f"{options.mode} {options.metric}",
            "canvasback.sweep.sampler": sampler,
            **({"canvasback.sweep.pruner": options.pruner} if options.pruner else {}),
        },
    )
    name = options.study or f"sweep-{launched.parent.run_id}"
    journal = search_study.journal_path(launched.client.store, launched.parent.run_id)
    journal.parent.mkdir(parents=True, exist_ok=True)
    spec = StudySpec(
        str(journal),
        name,
        space,
        options.metric,
        options.mode,
        sampler,
        options.pruner,
        options.seed,
    )
    storage = search_trials.open_storage(spec.journal)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # its "study created" line: ours to say
    try:
        created = optuna.create_study(
            storage=storage,
            study_name=name,
            direction="minimize" if options.mode == "min" else "maximize",
        )
    finally:
        optuna.logging.set_verbosity(verbosity)
    created.set_user_attr(
        search_study.SETTINGS_ATTR,
        {
            "space": search_space.space_to_json(space),
            "metric": options.metric,
            "mode": options.mode,
            "sampler": sampler,
            "pruner": options.pruner,
            "seed": options.seed,
            "n_trials": n_trials,
        },
    )
    launched.parent.set_tags({STUDY_TAG: name, "canvasback.sweep.journal": str(journal)})
    launched.client.flush()
    return launched, spec


def _result(
    launched: Launch, spec: StudySpec, study: optuna.Study, results: list[PointResult]
) -> SweepResult:
    """The sweep's result as its study tells it: one point per counted trial.

    Each trial's run and ending come from the point this call ran for it; only the
    trials of an earlier call (a resumed sweep's) are read from the store.
    """
    from optuna.trial import TrialState  # noqa: PLC0415

    by_run = {r.run_id: r for r in results if r.run_id}
    trials = search_trials.counted(study)
    runs: dict[str, dict[str, Any]] = {}
    if any(by_run.get(t.user_attrs.get(search_trials.RUN_ATTR)) is None for t in trials):
        frame = search_study.children(launched)
        column = f"tags.{TRIAL_TAG}"
        if column in frame:
            for record in frame.to_dict("records"):
                row = {str(k): v for k, v in record.items()}
                if isinstance(row.get(column), str):
                    runs[row[column]] = row
    points = []
    for trial in trials:
        row = runs.get(str(trial.number), {})
        run_id = trial.user_attrs.get(search_trials.RUN_ATTR) or row.get("run_id")
        done = by_run.get(run_id) if run_id else None
        error = done.error if done is not None else _error_of(row)
        status = done.status if done is not None else str(row.get("status") or "FAILED")
        if trial.state == TrialState.FAIL and status == "FINISHED":  # its metric is missing
            status = "FAILED"
            error = error or study.user_attrs.get(search_trials.STOP_ATTR)
        points.append(
            PointResult(
                trial.number,
                dict(trial.params),
                run_id,
                status,
                trial.value if trial.state == TrialState.COMPLETE else None,
                error,
                trial=trial.number,
                pruned=trial.state == TrialState.PRUNED,
                start_time=None if done is None else done.start_time,
                end_time=None if done is None else done.end_time,
            )
        )
    return SweepResult(
        launched.parent.run_id,
        points,
        spec.metric,
        spec.mode,
        [p.run_id for p in points if p.run_id],
        study=spec.name,
    )


def _error_of(row: Mapping[str, Any]) -> str | None:
    for key in ERROR_TAGS:
        value = row.get(f"tags.{key}")
        if isinstance(value, str) and value:
            return value
    return None
