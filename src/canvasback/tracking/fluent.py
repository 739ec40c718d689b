"""The module-level API (``canvasback.start_run``, ``log_metric``, ...), MLflow's fluent form.

A process has a current store and a current experiment; each thread has a stack of
active runs (see ``run_stack.py``), all held by the process's context (``context.py``).
A ``log_*`` call with no active run starts one, as MLflow's do.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from canvasback.exceptions import MlflowException
from canvasback.tracking import current, output_formats, system_metrics, uris, validation
from canvasback.tracking import launched as launched_record
from canvasback.tracking.context import current_context
from canvasback.tracking.current import client

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import duckdb
    import pandas as pd

    from canvasback.store.compaction import CompactionReport
    from canvasback.tracking.client import Client
    from canvasback.tracking.datasets import Dataset
    from canvasback.tracking.run import Run


class ActiveRunError(MlflowException, RuntimeError):
    """A run is already active where a new top-level run was asked for."""


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The URI of the active run's artifacts (or of a path below them).

    A ``file:`` URI, or the ``s3://`` URL of a store on object storage.
    """
    run = _run()
    below = validation.artifact_path(artifact_path) if artifact_path else ""
    if not isinstance(run.store.address, Path):
        return f"{run.info.artifact_uri}/{below}" if below else run.info.artifact_uri
    root = Path(run.info.artifact_uri)
    return uris.file_uri(root / below if below else root)


def get_parent_run(run_id: str) -> Run | None:
    """The parent of a nested run, or None for a top-level run."""
    parent = client().get_run(run_id).info.parent_run_id
    return client().get_run(parent) if parent else None


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
    *,
    experiment: str | None = None,
    params: Mapping[str, Any] | None = None,
    live: bool | None = None,
    capture: object = None,
) -> Run:
    """Start (or resume, with ``run_id``) a run and make it active; a context manager.

    In a notebook the run's live view (status, latest metrics, charts) shows in the cell's
    output. ``live=None`` shows it only inside a Jupyter kernel, ``live=False`` never,
    ``live=True`` always (an error outside a notebook).

    A nested run's parent is the run active in this thread, else the one active in the
    main thread; ``parent_run_id`` names another (it must exist in the store).

    With no ``run_id`` and no active run, a run id in ``CANVASBACK_RUN_ID`` (or MLflow's
    ``MLFLOW_RUN_ID``) is resumed once, as MLflow does: a notebook or script launched
    by ``canvasback.run_notebook`` / ``run_project`` logs into the run made for it.

    ``capture`` says what a new run records to be reproducible (code version,
    environment; see ``canvasback.projects.capture``): None follows the
    ``CANVASBACK_CAPTURE`` setting, False records nothing, True everything, or a list
    of parts such as ``["git", "environment"]``.

    ``log_system_metrics=True`` samples the machine while the run goes on (CPU, memory,
    disk, network, this process, NVIDIA GPUs) under MLflow's ``system/*`` keys; None
    follows ``enable_system_metrics_logging()`` or ``CANVASBACK_SYSTEM_METRICS`` (or
    MLflow's ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``). See ``system_metrics.py``.
    """
    ctx = current_context()
    sampling = system_metrics.sampling_for(log_system_metrics)  # a refusal leaves no run
    stacks = ctx.stacks
    active = stacks.current()
    launched = _env_run_id() if run_id is None and not active else None
    # A launched run (run_notebook, run_project) has nobody watching its cells: no live view.
    attach = ctx.hooks.prepare_run_start(False if launched and live is None else live)
    run_id = run_id or launched
    if run_id is None:  # before the run exists: a refusal leaves no run
        attach = [*ctx.hooks.prepare_run_create(capture), *attach]
    c = current.client()
    with ctx.lock:
        if active and not nested:
            msg = (
                f"Run {active[-1].run_id} is already active. End it with end_run() first, "
                "or start a nested run with start_run(nested=True)."
            )
            raise ActiveRunError(msg)
        parent = None if parent_run_id is None else c.get_run(str(parent_run_id)).run_id
        if parent is None and nested:
            outer = active or stacks.main()
            parent = outer[-1].run_id if outer else None
        if run_id is not None:
            run = c.handle(run_id, launched_record.take_record(run_id) if launched else None)
            checked_tags = {
                validation.validate_key("tag", k): validation.tag_value(k, x)
                for k, x in (tags or {}).items()
            }
            run.check_params(params or {})  # a refusal leaves the run as it was
            run.resume()
            run.set_tags(checked_tags)
            if params:
                run.log_params(params)
        else:
            eid = _experiment_for(c, experiment, experiment_id)
            all_tags = dict(tags or {})
            if description is not None:
                all_tags["mlflow.note.content"] = description
            run = c.create_run(
                eid, tags=all_tags, run_name=run_name, parent_run_id=parent, params=params
            )
        run.on_end(stacks.forget)  # the fluent stack follows the handle
        active.append(run)
        stacks.last = run
    if sampling is not None:
        system_metrics.start(run, sampling, resumed=run_id is not None)
    for attach_to in attach:
        attach_to(run)
    return run


def _experiment_for(c: Client, experiment: str | None, experiment_id: str | None) -> str:
    """A new run's experiment: by name (made if new), by id (it must exist), or current."""
    if experiment is not None:
        found = c.experiment_id_for(validation.experiment_name(experiment), create=True)
        assert found is not None  # noqa: S101  # create=True always yields an id
        return found
    if experiment_id is not None:
        c.get_experiment(str(experiment_id))
        return str(experiment_id)
    return current.current_experiment_id(c)


# The run a launcher made for this process (MLflow's MLFLOW_RUN_ID), canvasback's first.
RUN_ID_ENV: Final = ("CANVASBACK_RUN_ID", "MLFLOW_RUN_ID")


def _env_run_id() -> str | None:
    """The launcher's run id, taken once: later runs of the process are new runs."""
    found = None
    for name in RUN_ID_ENV:
        value = os.environ.pop(name, None)
        found = found or value or None
    return found


def end_run(status: str = "FINISHED") -> None:
    """End the active run (if any)."""
    active = current_context().stacks.current()
    run = active[-1] if active else None
    if run is not None:
        run.end(status)


def active_run() -> Run | None:
    """The active run, or None."""
    active = current_context().stacks.current()
    return active[-1] if active else None


def last_active_run() -> Run | None:
    """The most recently started run of this process, active or ended."""
    return current_context().stacks.last


def _run() -> Run:
    active = current_context().stacks.current()
    if active:
        return active[-1]
    return start_run()


# -- logging -----------------------------------------------------------------------------
def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    *,
    synchronous: bool | None = None,
) -> None:
    """Log a metric point to the active run (or to ``run_id``).

    Logging is asynchronous: the point is buffered and written within a second.
    ``synchronous=True`` returns only once it is on disk (as every row logged before it).
    """
    if run_id is None:
        active = current_context().stacks.current()
        run = active[-1] if active else _run()
    else:
        run = client().handle(run_id)
    run.log_metric(key, value, step, timestamp)
    if synchronous:  # inline: this is the hot path of every training loop
        run.store.flush()


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    *,
    synchronous: bool | None = None,
) -> None:
    """Log several metrics at one step (``synchronous=True``: on disk when it returns)."""
    run = _run() if run_id is None else client().handle(run_id)
    run.log_metrics(metrics, step=step, timestamp=timestamp)
    _sync(run, synchronous=synchronous)


def _sync(run: Run, *, synchronous: bool | None) -> None:
    if synchronous:
        run.store.flush()


def log_history(
    metrics: Mapping[str, Sequence[float]],
    steps: Sequence[int] | None = None,
    timestamps: Sequence[int] | None = None,
) -> None:
    """Log whole metric series to the active run at once (the fastest way to log)."""
    _run().log_history(metrics, steps=steps, timestamps=timestamps)


def log(data: Mapping[str, float], step: int | None = None) -> None:
    """Log a dict of metrics; without a step, each call is the next step."""
    _run().log(data, step=step)


def log_param(key: str, value: object, *, synchronous: bool | None = None) -> object:
    """Log a param of the active run (``synchronous=True``: on disk when it returns)."""
    run = _run()
    logged = run.log_param(key, value)
    _sync(run, synchronous=synchronous)
    return logged


def log_params(
    params: Mapping[str, object], *, synchronous: bool | None = None, run_id: str | None = None
) -> None:
    """Log params of the active run (or of ``run_id``)."""
    run = _run() if run_id is None else client().handle(run_id)
    run.log_params(params)
    _sync(run, synchronous=synchronous)


def set_tag(key: str, value: object, *, synchronous: bool | None = None) -> None:
    """Set a tag of the active run (``synchronous=True``: on disk when it returns)."""
    run = _run()
    run.set_tag(key, value)
    _sync(run, synchronous=synchronous)


def set_tags(tags: Mapping[str, object], *, synchronous: bool | None = None) -> None:
    """Set tags of the active run."""
    run = _run()
    run.set_tags(tags)
    _sync(run, synchronous=synchronous)


def delete_tag(key: str) -> None:
    """Delete a tag of the active run."""
    _run().delete_tag(key)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy a file into the active run's artifacts."""
    _run().log_artifact(local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy a folder's files into the active run's artifacts."""
    _run().log_artifacts(local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    """Save text as an artifact of the active run."""
    _run().log_text(text, artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> None:
    """Save a dict as a JSON/YAML artifact of the active run."""
    _run().log_dict(dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:  # noqa: ANN401  # matplotlib/plotly
    """Save a figure as an artifact of the active run."""
    _run().log_figure(figure, artifact_file)


def log_image(
    image: Any,  # noqa: ANN401  # PIL or array
    artifact_file: str | None = None,
    *,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
) -> str:
    """Save an image of the active run, by file name or as ``key`` at ``step``."""
    return _run().log_image(image, artifact_file, key=key, step=step, timestamp=timestamp)


def log_table(data: Any, artifact_file: str) -> None:  # noqa: ANN401  # DataFrame or dict
    """Save a table as an artifact of the active run."""
    _run().log_table(data, artifact_file)


def log_input(
    dataset: Dataset, context: str | None = None, tags: Mapping[str, Any] | None = None
) -> None:
    """Record that the active run used a dataset (``canvasback.data.from_pandas``, ...)."""
    _run().log_input(dataset, context=context, tags=tags)


# -- reading -----------------------------------------------------------------------------
def load_table(
    artifact_file: str,
    run_ids: Sequence[str] | None = None,
    extra_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The tables logged with ``log_table`` under one name, across runs, as one frame.

    ``run_ids`` default to every run of the current experiment that logged the file;
    ``extra_columns`` (such as ``run_id``) add each row's run attribute.
    """
    import pandas as pd  # noqa: PLC0415  # pandas loads on first read

    c = client()
    if run_ids is None:
        frame = c.search_runs_frame([current.current_experiment_id(c)])
        run_ids = list(frame["run_id"])
    parts = []
    for run_id in run_ids:
        table = c.load_table(run_id, artifact_file)
        if table is None:
            continue
        for column in extra_columns or ():
            value = run_id if column == "run_id" else getattr(c.get_run(run_id).info, column)
            table[column] = value
        parts.append(table)
    if not parts:
        msg = f"No run among {len(run_ids)} has a table artifact {artifact_file!r}"
        raise FileNotFoundError(msg)
    return pd.concat(parts, ignore_index=True)


def get_run(run_id: str) -> Run:
    """A run with its attributes and latest data."""
    return client().get_run(run_id)


def get_metric_history(run_id: str, key: str, *, output_format: str = "pandas") -> Any:  # noqa: ANN401
    """One metric's history (step, timestamp, value), by step then time.

    ``output_format``: ``"pandas"`` (a DataFrame), ``"polars"`` (a Polars DataFrame, made
    from Arrow without pandas; needs ``polars``), ``"arrow"`` (a ``pyarrow.Table``) or
    ``"list"`` (``Metric`` objects, as ``MlflowClient.get_metric_history``).
    """
    fmt = output_formats.check_output_format(output_format)
    if fmt == "list":
        return client().get_metric_history(run_id, key)
    return output_formats.table_as(client().metric_history(run_id, key), fmt)


def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str | None = None,
    run_view_type: object = "ACTIVE_ONLY",
    max_results: int = 100_000,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> Any:  # noqa: ANN401  # the output format's table, or a list of runs
    """Runs matching a filter, with MLflow's columns (``metrics.acc``, ``params.lr``, ...).

    ``output_format``: ``"pandas"`` (MLflow's DataFrame), ``"polars"`` (a Polars
    DataFrame, made from Arrow without pandas; needs ``polars``), ``"arrow"`` (a
    ``pyarrow.Table`` with the same columns) or ``"list"`` (``Run`` objects).
    """
    fmt = output_formats.check_output_format(output_format)
    c = client()
    ids = [str(e) for e in experiment_ids or []]
    for name in experiment_names or []:
        found = c.experiment_id_for(name)
        if found is None:  # as MLflow: said, skipped, and no match is an empty frame
            warnings.warn(
                f"No experiment named {name!r} in store {c.store.url!r}; search_runs leaves it out",
                UserWarning,
                stacklevel=2,
            )
            continue
        ids.append(found)
    if search_all_experiments:
        ids = [e.experiment_id for e in c.search_experiments(view_type="ALL")]
    elif not ids and not experiment_names:
        ids = [current.current_experiment_id(c)]
    table = c.search_runs_table(
        ids,
        filter_string=filter_string,
        run_view_type=run_view_type,
        max_results=max_results,
        order_by=order_by,
    )
    if fmt == "list":
        return [c.get_run(r) for r in table.column("run_id").to_pylist()]
    return output_formats.table_as(table, fmt)


def delete_run(run_id: str) -> None:
    """Mark a run deleted."""
    client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    """Undo ``delete_run``."""
    client().restore_run(run_id)


def sql(query: str, params: list[Any] | None = None) -> duckdb.DuckDBPyRelation:
    """A DuckDB relation over the views runs, params, metrics, latest_metrics, tags, ..."""
    return client().sql(query, params)


def flush() -> None:
    """Block until everything logged so far is on disk."""
    client().flush()


def compact(
    *, purge_deleted: bool = False, grace_seconds: float | None = None, snapshot: bool = True
) -> CompactionReport:
    """Merge small files (``purge_deleted``: drop deleted runs), then snapshot the state."""
    c = client()
    return c.compact(purge_deleted=purge_deleted, grace_seconds=grace_seconds, snapshot=snapshot)
