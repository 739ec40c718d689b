"""One trial of a searching sweep, as a worker runs it: ask the study, run, tell.

Every worker (a thread, a process of a pool, a Dask worker) opens the sweep's study in
its journal file (Optuna's ``JournalStorage`` over a ``JournalFileBackend``, whose lock
is an exclusive create, ``JournalFileOpenLock``), asks it for a trial, runs the target
with the trial's params as one point of the sweep (a child run of the sweep's run,
tagged with the trial's number and the study's name), and tells the study how it
ended. Optuna gives each ask a trial of its own, so no trial runs twice.

A trial whose worker died stays RUNNING in the journal: :func:`fail_lost` fails it
(the journal has no heartbeats to tell a stale trial from a live one, so it is called
only when no worker of the sweep can be running: a broken pool, the end of a sweep, a
resume), marks it lost, and may ask for it again (Optuna's retry of a stale trial: the
same params, enqueued as a new trial).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from canvasback.projects.notebooks import NotebookRunWarning
from canvasback.projects.runner import ProjectRunWarning
from canvasback.projects.search_space import distributions, grid_values
from canvasback.projects.sweep_points import (
    PointResult,
    PointTask,
    point_text,
    run_point_quietly,
)
from canvasback.projects.sweep_pools import MAX_ATTEMPTS
from canvasback.projects.trial_env import PRUNED_TAG

if TYPE_CHECKING:
    import optuna

    from canvasback.projects.search_space import StudySpec
    from canvasback.tracking.run import Run

JOURNAL_NAME: Final = "journal.log"
TRIAL_TAG: Final = "canvasback.sweep.trial"
STUDY_TAG: Final = "canvasback.sweep.study"
RUN_ATTR: Final = "canvasback.run_id"
"""A trial's user attribute: its run in the store."""
LOST_ATTR: Final = "canvasback.lost"
"""A trial's system attribute: its own number, when it was RUNNING as its worker died (it
is not counted). A retry copies the attributes of the trial it retries, hence the number."""
STOP_ATTR: Final = "canvasback.stop"
"""The study's user attribute: why the sweep stops (trials not yet asked are skipped)."""
SKIPPED: Final = "SKIPPED"


@functools.lru_cache(maxsize=8)
def open_storage(journal: str) -> optuna.storages.JournalStorage:
    """Optuna's storage over a journal file, locked by an exclusive create of its own.

    One per journal and process (a worker's trials share it): a new one replays the
    whole journal, which grows with every trial. Optuna's storage is thread-safe, and
    reads the lines other processes appended before each of its reads.
    """
    from optuna.storages import JournalStorage  # noqa: PLC0415  # only a search needs Optuna
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock  # noqa: PLC0415

    return JournalStorage(JournalFileBackend(journal, lock_obj=JournalFileOpenLock(journal)))


def open_study(spec: StudySpec, offset: int = 0) -> optuna.Study:
    """The sweep's study, with its sampler (seeded ``seed + offset``) and pruner."""
    import optuna  # noqa: PLC0415  # only a search needs Optuna

    return optuna.load_study(
        study_name=spec.name,
        storage=open_storage(spec.journal),
        sampler=make_sampler(spec, offset),
        pruner=make_pruner(spec),
    )


def make_sampler(spec: StudySpec, offset: int = 0) -> optuna.samplers.BaseSampler:
    """The sampler a worker asks with, seeded with the sweep's seed plus the point's index.

    Samplers of one seed in parallel workers would propose the same params.
    """
    from optuna import samplers  # noqa: PLC0415

    seed = None if spec.seed is None else spec.seed + offset
    if spec.sampler == "random":
        return samplers.RandomSampler(seed=seed)
    if spec.sampler == "grid":
        return _grid_sampler(grid_values(spec.space), seed)
    if spec.sampler == "cmaes":
        return samplers.CmaEsSampler(seed=seed)
    return samplers.TPESampler(seed=seed)


def _grid_sampler(values: dict[str, list[Any]], seed: int | None) -> optuna.samplers.BaseSampler:
    from optuna import samplers  # noqa: PLC0415

    class SweepGridSampler(samplers.GridSampler):
        """Optuna's grid sampler, without its stop once the grid is done.

        That stop is for ``study.optimize`` (outside it, it raises); a sweep counts its
        own trials.
        """

        def after_trial(self, *_: object) -> None:
            return

    return SweepGridSampler(values, seed=seed)


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    """The study's pruner (Optuna's NopPruner when the sweep prunes nothing)."""
    return pruner_named(spec.pruner)


def pruner_named(name: object) -> optuna.pruners.BasePruner:
    """Optuna's pruner of that name (one of ``PRUNERS``), else its NopPruner."""
    from optuna import pruners  # noqa: PLC0415

    if name == "median":
        return pruners.MedianPruner()
    if name == "halving":
        return pruners.SuccessiveHalvingPruner()
    return pruners.NopPruner()


class TrialWatch:
    """Reports a run's points of the sweep's metric to its trial; prunes when told to."""

    def __init__(self, trial: optuna.Trial, metric: str) -> None:
        self.trial = trial
        self.metric = metric
        self.pruned_at: int | None = None
        self._steps: set[int] = set()
        self._run: Run | None = None

    def attach(self, run: Run) -> None:
        """Follow the run's points of the metric (in the process that logs them)."""
        self._run = run
        run.watch_metric(self.metric, self.report)

    def report(self, value: float, step: int, _timestamp: int = 0) -> None:
        """Tell the trial a point; raise ``TrialPruned`` once its pruner says to stop."""
        import optuna  # noqa: PLC0415

        if step in self._steps or self.pruned_at is not None:
            return  # Optuna keeps a step's first report
        self._steps.add(step)
        self.trial.report(value, step)
        if self.trial.should_prune():
            self.pruned_at = step
            if self._run is not None:
                self._run.set_tag(PRUNED_TAG, str(step))
            msg = f"trial {self.trial.number} pruned at step {step}: {self.metric}={value:g}"
            raise optuna.TrialPruned(msg)

    def stopped(self, exc: BaseException) -> bool:
        """Whether ``exc`` is this watch's ``TrialPruned``."""
        import optuna  # noqa: PLC0415

        return self.pruned_at is not None and isinstance(exc, optuna.TrialPruned)


def run_trial(task: PointTask) -> PointResult:
    """Ask, run and tell one trial in this (worker) process."""
    with warnings.catch_warnings():
        # The trial's failure is in its result; a warning per worker would repeat it.
        warnings.simplefilter("ignore", NotebookRunWarning)
        warnings.simplefilter("ignore", ProjectRunWarning)
        return run_trial_quietly(task)


def run_trial_quietly(task: PointTask) -> PointResult:
    """:func:`run_trial` for a thread of the sweep's own process (it filters warnings)."""
    from optuna.trial import TrialState  # noqa: PLC0415

    spec = task.search
    assert spec is not None  # noqa: S101  # the sweep made it
    study = open_study(spec, task.index)
    stop = study.user_attrs.get(STOP_ATTR)
    if stop:
        return PointResult(task.index, task.params, None, SKIPPED, error=str(stop))
    trial = study.ask(distributions(spec.space))
    point = replace(
        task,
        params={**task.params, **trial.params},
        run_name=f"{task.run_name} #{trial.number} · {point_text(trial.params)}"[:250],
        search=None,
        tags={TRIAL_TAG: str(trial.number), STUDY_TAG: spec.name},
        trial=_told(spec, trial) if spec.pruner and task.function is None else None,
    )
    # A function runs here and reports here; a notebook or command reports from its process.
    watch = TrialWatch(trial, spec.metric) if spec.pruner and task.function is not None else None
    try:
        result = run_point_quietly(point, watch)
    except BaseException:
        study.tell(trial, state=TrialState.FAIL)
        raise
    result = replace(
        result,
        trial=trial.number,
        pruned=result.pruned or (watch is not None and watch.pruned_at is not None),
    )
    if result.run_id is not None:
        trial.set_user_attr(RUN_ATTR, result.run_id)
    if result.pruned:
        study.tell(trial, state=TrialState.PRUNED)
    elif (
        result.status == "FINISHED" and result.metric is not None and not math.isnan(result.metric)
    ):
        study.tell(trial, result.metric)
    else:
        if result.status == "FINISHED":  # it ran, but did not log the sweep's metric
            result = replace(result, status="FAILED", error=_no_metric(spec, task, result))
            study.set_user_attr(STOP_ATTR, result.error)
        study.tell(trial, state=TrialState.FAIL)
    return result


def _told(spec: StudySpec, trial: optuna.Trial) -> dict[str, object]:
    """What a launched notebook or command is told of its trial, to report to its pruner."""
    return {
        "journal": spec.journal,
        "study": spec.name,
        "trial_id": trial._trial_id,  # noqa: SLF001  # the id a Trial of another process needs
        "number": trial.number,
        "metric": spec.metric,
        "pruner": spec.pruner,
    }


def _no_metric(spec: StudySpec, task: PointTask, result: PointResult) -> str:
    from canvasback.tracking.client import Client  # noqa: PLC0415

    assert result.run_id is not None  # noqa: S101  # a FINISHED point has its run
    logged = sorted(Client(task.store).get_run(result.run_id).data.metrics)
    found = ", ".join(map(repr, logged)) if logged else "none"
    return (
        f"The sweep's metric {spec.metric!r} was not logged by trial {result.trial} (run "
        f"{result.run_id}), which logged these metrics: {found}; the sweep stopped. Give "
        "metric= one the target logs (log_metric)."
    )


def fail_lost(spec: StudySpec, *, retry: bool) -> list[Any]:
    """Fail the study's RUNNING trials (their workers are gone), marked lost; those failed.

    With ``retry``, each is asked again: the same params, in a new trial.
    """
    import optuna  # noqa: PLC0415
    from optuna.trial import TrialState  # noqa: PLC0415

    study = open_study(spec)
    storage = study._storage  # noqa: SLF001  # a trial's state is set through its storage
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        try:
            storage.set_trial_system_attr(trial._trial_id, LOST_ATTR, trial.number)  # noqa: SLF001
            if storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):  # noqa: SLF001
                failed.append(storage.get_trial(trial._trial_id))  # noqa: SLF001
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # it ended meanwhile
    if retry:
        callback = _retry_callback()
        for trial in failed:
            callback(study, trial)
    return failed


def _retry_callback() -> Any:  # noqa: ANN401  # Optuna's callback class, by version
    from optuna import storages  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental (4.x) or renamed (4.9) in Optuna
        kind = getattr(storages, "RetryHeartbeatStaleTrialCallback", None)
        kind = kind or storages.RetryFailedTrialCallback
        return kind(max_retry=MAX_ATTEMPTS - 1)


def counted(study: optuna.Study) -> list[Any]:
    """The trials that count towards the sweep's ``n_trials``: ended, and not lost."""
    from optuna.trial import TrialState  # noqa: PLC0415

    ended = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    trials = study.get_trials(deepcopy=False, states=ended)
    return [t for t in trials if t.system_attrs.get(LOST_ATTR) != t.number]
