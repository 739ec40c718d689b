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
import re
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from canvasback.projects import search_space, search_trials, sweep_launch, sweep_pools
from canvasback.projects.params import ParamError
from canvasback.projects.search_space import PRUNERS, SAMPLERS, StudySpec
from canvasback.projects.search_trials import STUDY_TAG, TRIAL_TAG
from canvasback.projects.sweep_points import ERROR_TAGS, POINT_TAG, PointResult
from canvasback.projects.sweep_results import SweepResult
from canvasback.query.metric_goal import SWEEP_METRIC_TAG

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from concurrent.futures import Executor
    from pathlib import Path

    import optuna
    import pandas as pd

    from canvasback.projects.sweep_launch import Launch
    from canvasback.store import Store

SWEEPS_DIR: Final = "sweeps"
SETTINGS_ATTR: Final = "canvasback.settings"
"""The study's user attribute: the sweep's space, metric, mode, sampler, pruner, seed."""
TRIALS_TAG: Final = "canvasback.sweep.trials"
_STUDY_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Options:
    """What a search is asked for (None: the default, or what the resumed sweep had)."""

    n_trials: int | None = None
    sampler: str | None = None
    pruner: str | None = None
    seed: int | None = None
    study: str | None = None
    resume: str | None = None
    metric: str | None = None
    mode: str | None = None


def journal_path(store: Store, parent_run_id: str) -> Path:
    """``<store>/sweeps/<parent run id>/journal.log``, or in an object store's local cache.

    The journal's lock is a file system's exclusive create, which object storage has not.
    """
    return store.root / SWEEPS_DIR / parent_run_id / search_trials.JOURNAL_NAME


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
    timeout: float | None,
    capture_parts: object,
) -> SweepResult:
    """Run (or finish) a searching sweep; see :func:`canvasback.projects.sweeps.sweep`."""
    sweep_launch.check_options(options.mode or "min", max_workers, executor)
    function = sweep_launch.function_of(target, entry_point)
    common = dict(params or {})
    if options.resume is not None:
        launched, spec, n_trials = _resume(
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
    base = _next_index(launched)
    tasks = [
        launched.task(base + i, common, metric=spec.metric, timeout=timeout, search=spec)
        for i in range(max(remaining, 0))
    ]
    results: list[PointResult] = []
    if tasks:
        results = sweep_pools.run_points(
            tasks,
            launched.client,
            executor=executor,
            workers=max_workers or min(len(tasks), os.cpu_count() or 1),
            name=launched.name,
            progress=progress,
            work=sweep_pools.Workers(
                search_trials.run_trial,
                search_trials.run_trial_quietly,
                partial(search_trials.fail_lost, spec, retry=True),
            ),
        )
    _end_lost_runs(launched, search_trials.fail_lost(spec, retry=False))
    study = search_trials.open_study(spec)
    result = _result(launched, spec, study, results)
    stop = study.user_attrs.get(search_trials.STOP_ATTR)
    sweep_launch.finish_parent(
        launched.parent, result, {"canvasback.sweep.pruned": str(result.pruned)}
    )
    launched.client.flush()
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
    if options.study is not None and not _STUDY_NAME.fullmatch(str(options.study)):
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
    journal = journal_path(launched.client.store, launched.parent.run_id)
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
        SETTINGS_ATTR,
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


def _resume(
    target: object,
    function: Callable[..., object] | None,
    space: Mapping[str, object] | None,
    options: Options,
    entry_point: str | None,
    store: str | Path | None,
    capture_parts: object,
) -> tuple[Launch, StudySpec, int]:
    """A stopped sweep taken up again: its study's settings, checked against the call's."""
    from canvasback.projects import runner  # noqa: PLC0415

    c = runner._client(store)  # noqa: SLF001  # the module's own way to the store
    parent_id = _parent_of(c, str(options.resume))
    tags = c.get_run(parent_id).data.tags
    journal = journal_path(c.store, parent_id)
    name = tags.get(STUDY_TAG, "")
    if not journal.exists() or not name:
        msg = f"Cannot resume sweep {parent_id}: it is not a search (no study journal at {journal})"
        raise ParamError(msg)
    stored = _settings(str(journal), name)
    given = {
        "space": None
        if space is None
        else search_space.space_to_json(search_space.parse_space(space)),
        "metric": options.metric,
        "mode": options.mode,
        "sampler": options.sampler,
        "pruner": options.pruner,
        "seed": options.seed,
    }
    for key, value in given.items():
        if value is not None and value != stored[key]:
            msg = (
                f"Cannot resume sweep {parent_id} with {key}={value!r}: it searches with "
                f"{key}={stored[key]!r} (leave {key} out, or give the same)"
            )
            raise ParamError(msg)
    launched = sweep_launch.take_up(
        c, parent_id, target, function, entry_point=entry_point, capture_parts=capture_parts
    )
    spec = StudySpec(
        str(journal),
        name,
        search_space.space_from_json(stored["space"]),
        stored["metric"],
        stored["mode"],
        stored["sampler"],
        stored["pruner"],
        stored["seed"],
    )
    failed = search_trials.fail_lost(spec, retry=True)  # its workers died with it
    _end_lost_runs(launched, failed)
    n_trials = options.n_trials if options.n_trials is not None else int(stored["n_trials"])
    return launched, spec, n_trials


def _parent_of(c: Any, resume: str) -> str:  # noqa: ANN401  # a Client
    """The sweep run that ``resume`` names: its run id, or its study's name."""
    from canvasback.tracking.client import RunNotFoundError  # noqa: PLC0415

    try:
        return str(c.get_run(resume).run_id)
    except RunNotFoundError:
        pass
    if _STUDY_NAME.fullmatch(resume):
        experiments = [e.experiment_id for e in c.search_experiments()]
        frame = c.search_runs_frame(experiments, filter_string=f"tags.{STUDY_TAG} = '{resume}'")
        if "tags.mlflow.parentRunId" in frame:  # its trials' runs carry the study's name too
            frame = frame[frame["tags.mlflow.parentRunId"].isna()]
        if len(frame):
            return str(frame["run_id"].iloc[0])
    msg = f"Cannot resume {resume!r}: no sweep run with that id, and no sweep's study of that name"
    raise ParamError(msg)


def _settings(journal: str, name: str) -> dict[str, Any]:
    import optuna  # noqa: PLC0415

    study = optuna.load_study(study_name=name, storage=search_trials.open_storage(journal))
    settings: dict[str, Any] = study.user_attrs[SETTINGS_ATTR]
    return settings


def _children(launched: Launch) -> pd.DataFrame:
    parent = launched.parent
    return launched.client.search_runs_frame(
        [parent.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.run_id}'"
    )


def _next_index(launched: Launch) -> int:
    """The first point index no run of this sweep has (a resumed sweep goes on from it)."""
    column = f"tags.{POINT_TAG}"
    frame = _children(launched)
    if column not in frame or not frame[column].notna().any():
        return 0
    return int(frame[column].dropna().astype(int).max()) + 1


def _end_lost_runs(launched: Launch, trials: list[Any]) -> None:
    """The runs of lost trials, left RUNNING by their dead workers, end KILLED."""
    if not trials:
        return
    numbers = {str(t.number) for t in trials}
    frame = _children(launched)
    column = f"tags.{TRIAL_TAG}"
    if column not in frame:
        return
    c = launched.client
    for run_id, number in zip(frame["run_id"], frame[column], strict=True):
        if number in numbers and c.get_run(run_id).info.status not in {"FINISHED", "FAILED"}:
            c.set_tag(run_id, sweep_pools.LOST_TAG, "its worker died while it ran (trial lost)")
            c.set_terminated(run_id, "KILLED")
    c.flush()


def _result(
    launched: Launch, spec: StudySpec, study: optuna.Study, results: list[PointResult]
) -> SweepResult:
    """The sweep's result as its study and store tell it: one point per counted trial."""
    from optuna.trial import TrialState  # noqa: PLC0415

    by_run = {r.run_id: r for r in results if r.run_id}
    frame = _children(launched)
    runs: dict[str, dict[str, Any]] = {}
    column = f"tags.{TRIAL_TAG}"
    if column in frame:
        for record in frame.to_dict("records"):
            row = {str(k): v for k, v in record.items()}
            if isinstance(row.get(column), str):
                runs[row[column]] = row
    points = []
    for trial in search_trials.counted(study):
        row = runs.get(str(trial.number), {})
        run_id = trial.user_attrs.get(search_trials.RUN_ATTR) or row.get("run_id")
        done = by_run.get(run_id) if run_id else None
        error = done.error if done is not None else _error_of(row)
        status = str(row.get("status") or "FAILED")
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
