"""A search's study in its journal beside the store, and a stopped search taken up again.

The study (its trials, and the sweep's settings as a user attribute) lives in a journal
file under the store (:func:`journal_path`). ``sweep(..., resume=<run id or study name>)``
finds the sweep's run, checks the call against the study's settings, fails the trials
its dead workers left RUNNING (their runs end KILLED, tagged lost) and asks them again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from canvasback.projects import search_space, search_trials, sweep_launch, sweep_pools
from canvasback.projects.params import ParamError
from canvasback.projects.search_space import StudySpec
from canvasback.projects.search_trials import STUDY_TAG, TRIAL_TAG
from canvasback.projects.sweep_points import POINT_TAG

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    import pandas as pd

    from canvasback.projects.sweep_launch import Launch
    from canvasback.store import Store

SWEEPS_DIR: Final = "sweeps"
SETTINGS_ATTR: Final = "canvasback.settings"
"""The study's user attribute: the sweep's space, metric, mode, sampler, pruner, seed."""
STUDY_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


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


def resume(
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
    parent_id = parent_of(c, str(options.resume))
    tags = c.get_run(parent_id).data.tags
    journal = journal_path(c.store, parent_id)
    name = tags.get(STUDY_TAG, "")
    if not journal.exists() or not name:
        msg = f"Cannot resume sweep {parent_id}: it is not a search (no study journal at {journal})"
        raise ParamError(msg)
    stored = settings(str(journal), name)
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
    end_lost_runs(launched, failed)
    n_trials = options.n_trials if options.n_trials is not None else int(stored["n_trials"])
    return launched, spec, n_trials


def parent_of(c: Any, resume: str) -> str:  # noqa: ANN401  # a Client
    """The sweep run that ``resume`` names: its run id, or its study's name."""
    from canvasback.tracking.client import RunNotFoundError  # noqa: PLC0415

    try:
        return str(c.get_run(resume).run_id)
    except RunNotFoundError:
        pass
    if STUDY_NAME.fullmatch(resume):
        experiments = [e.experiment_id for e in c.search_experiments()]
        frame = c.search_runs_frame(experiments, filter_string=f"tags.{STUDY_TAG} = '{resume}'")
        if "tags.mlflow.parentRunId" in frame:  # its trials' runs carry the study's name too
            frame = frame[frame["tags.mlflow.parentRunId"].isna()]
        if len(frame):
            return str(frame["run_id"].iloc[0])
    msg = f"Cannot resume {resume!r}: no sweep run with that id, and no sweep's study of that name"
    raise ParamError(msg)


def settings(journal: str, name: str) -> dict[str, Any]:
    """The settings a study was made with (its user attribute)."""
    import optuna  # noqa: PLC0415

    study = optuna.load_study(study_name=name, storage=search_trials.open_storage(journal))
    settings: dict[str, Any] = study.user_attrs[SETTINGS_ATTR]
    return settings


def children(launched: Launch) -> pd.DataFrame:
    """The sweep's child runs as the store has them now."""
    parent = launched.parent
    return launched.client.search_runs_frame(
        [parent.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.run_id}'"
    )


def next_index(launched: Launch) -> int:
    """The first point index no run of this sweep has (a resumed sweep goes on from it)."""
    column = f"tags.{POINT_TAG}"
    frame = children(launched)
    if column not in frame or not frame[column].notna().any():
        return 0
    return int(frame[column].dropna().astype(int).max()) + 1


def end_lost_runs(launched: Launch, trials: list[Any]) -> None:
    """The runs of lost trials, left RUNNING by their dead workers, end KILLED."""
    if not trials:
        return
    numbers = {str(t.number) for t in trials}
    frame = children(launched)
    column = f"tags.{TRIAL_TAG}"
    if column not in frame:
        return
    c = launched.client
    for run_id, number in zip(frame["run_id"], frame[column], strict=True):
        if number in numbers and c.get_run(run_id).info.status not in {"FINISHED", "FAILED"}:
            c.set_tag(run_id, sweep_pools.LOST_TAG, "its worker died while it ran (trial lost)")
            c.set_terminated(run_id, "KILLED")
    c.flush()
