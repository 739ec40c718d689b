"""``Client``: MlflowClient's tracking methods over one store, by explicit run id."""

from __future__ import annotations

import functools
import getpass
import os
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from canvasback import query
from canvasback.exceptions import MlflowException
from canvasback.store import layout, open_store, schema
from canvasback.tracking import artifact_links, validation
from canvasback.tracking.artifacts import ArtifactStore
from canvasback.tracking.context import current_context
from canvasback.tracking.entities import Metric, Param, RunData, RunInfo, RunTag
from canvasback.tracking.experiments import (
    ExperimentMethods,
)
from canvasback.tracking.names import random_run_name
from canvasback.tracking.run import Run, RunEndedError
from canvasback.tracking.run_handles import RunHandles, handles_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import duckdb
    import pandas as pd
    import pyarrow as pa

    from canvasback._config import StoreAddress
    from canvasback.store import Store
    from canvasback.store.compaction import CompactionReport
    from canvasback.store.read.catalog import Catalog
    from canvasback.tracking.entities import FileInfo
    from canvasback.tracking.launched import RunRecord


RUN_ID_CLAIMS = "run-ids"
"""The claims of run ids given to ``create_run`` (ids canvasback makes are random)."""


class RunNotFoundError(MlflowException, LookupError):
    """A run id that the store does not hold."""


class Client(ExperimentMethods):
    """Tracking operations on one store, addressed by run and experiment ids.

    Parameters
    ----------
    store
        The store: a folder, ``s3://bucket/prefix`` or its ``S3Address``; defaults to
        the current store (``set_store``, else ``CANVASBACK_STORE``, else
        ``MLFLOW_TRACKING_URI``'s, else ``./canvasback-store``).

    """

    def __init__(self, store: str | os.PathLike[str] | StoreAddress | None = None) -> None:
        opened = open_store(current_context().store_address(store))
        self._attach(opened, handles_of(opened), {})

    @classmethod
    def sharing(cls, other: Client) -> Self:
        """A client of ``other``'s store that shares its run handles and experiment names.

        A run ended through either client is ended for both: the registry's client of
        the current store shares the fluent API's runs this way.
        """
        client = cls.__new__(cls)
        client._attach(other.store, other._handles, other._experiment_ids)  # noqa: SLF001
        return client

    def _attach(self, store: Store, handles: RunHandles, experiment_ids: dict[str, str]) -> None:
        self.store = store
        self.artifacts = ArtifactStore(store)
        self._experiment_ids = experiment_ids
        self._handles = handles
        self._user: str | None = None

    def __repr__(self) -> str:
        return f"Client(store={self.store.url!r})"

    # -- runs ------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
        *,
        parent_run_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        user_id: str | None = None,
    ) -> Run:
        """Start a new run (status RUNNING) and return its handle.

        ``run_id`` and ``user_id`` copy a run recorded elsewhere (an importer's): the run
        takes that id (MLflow's form: a letter or digit, then up to 255 letters, digits,
        ``_`` or ``-``), claimed in this store so that no other run is given it, and that
        user. Such a run gets no tags but the ones given (and its name's), and no
        heartbeat: no process here runs it.
        """
        experiment_id = str(experiment_id or self._ensure_default_experiment())
        checked_tags = {
            validation.validate_key("tag", k): validation.tag_value(k, x)
            for k, x in (tags or {}).items()
        }
        # Everything is checked before anything is written: a call that raises leaves no run.
        checked_params = {
            validation.validate_key("param", k): validation.param_value(k, x)
            for k, x in (params or {}).items()
        }
        name = validation.run_name(run_name) if run_name else random_run_name()
        if self._user is None:
            self._user = user_name()
        user = self._user if user_id is None else validation.tag_value("user_id", user_id)
        start = (
            time.time_ns() // 1_000_000
            if start_time is None
            else validation.timestamp_ms("start_time", start_time)
        )
        copied = run_id is not None
        if run_id is None:
            run_id = uuid.uuid4().hex
        else:
            self._claim_run_id(validation.given_run_id(run_id), experiment_id, start)
        artifact_rel = f"{layout.ARTIFACTS_DIR}/{run_id}"
        info = RunInfo(
            run_id=run_id,
            run_name=name,
            experiment_id=experiment_id,
            status="RUNNING",
            start_time=start,
            end_time=None,
            lifecycle_stage="active",
            artifact_uri=self.store.location(artifact_rel),
            user_id=user,
            parent_run_id=parent_run_id,
        )
        writer = self.store.writer
        writer.append(
            "runs", experiment_id, (run_id, name, start, parent_run_id, user, artifact_rel)
        )
        writer.event(experiment_id, run_id, schema.EVENT_STATUS, "", "RUNNING")
        run = Run(self.store, info)
        if parent_run_id:
            checked_tags.setdefault("mlflow.parentRunId", parent_run_id)
        checked_tags.setdefault("mlflow.runName", name)
        if not copied:
            run.keep_alive()
            for key, value in system_tags(user).items():
                checked_tags.setdefault(key, value)
        run.set_tags(checked_tags)
        if checked_params:
            run.log_params(checked_params)
        self._handles.keep(run)
        # Another process may be handed this id at once (a pool worker resuming it): the
        # background thread writes the run's row now, in the next flush of this writer.
        writer.request_flush()
        return run

    def _claim_run_id(self, run_id: str, experiment_id: str, start: int) -> None:
        """Claim a given run id, or raise: no two runs of a store share an id.

        The claim names the run's experiment and start time, so that a copy started again
        after its process was killed (before the run's rows reached the store) goes on.
        """
        content = f"{experiment_id}\n{start}".encode()
        if self.store.claim(RUN_ID_CLAIMS, run_id, content):
            return
        if self.store.read_claim(RUN_ID_CLAIMS, run_id) == content and not (
            query.existing_run_ids(self.store.read(), [run_id])
        ):
            return
        msg = f"Run id {run_id!r} is taken in store {self.store.url!r}: give another id"
        raise validation.InvalidInputError(msg)

    def get_run(self, run_id: str) -> Run:
        """A handle of a run, with fresh attributes, metrics, params and tags."""
        catalog = self.store.read()
        info = self._run_info(catalog, run_id)
        if info is None:
            raise RunNotFoundError(self._no_run(run_id))
        data = RunData(**query.run_data(catalog, run_id))
        live = self._handles.get(info.run_id)
        ended = info.status != "RUNNING" if live is None else live.ended
        return Run(self.store, info, data.params, ended=ended, data=data)

    def _run_info(self, catalog: Catalog, run_id: str) -> RunInfo | None:
        attributes = query.run_info(catalog, run_id, self.store.address)
        return None if attributes is None else RunInfo(**attributes)

    def _no_run(self, run_id: str) -> str:
        return f"Run {run_id!r} not found in store {self.store.url!r}"

    def handle(self, run_id: str, record: RunRecord | None = None) -> Run:
        """The live handle of a run (resumed from the store if this process has none).

        ``record``: the run as the process that launched this one made it (no read).
        """
        run = self._handles.get(run_id)
        if run is not None and not run.ended:
            return run
        if record is not None and record.info.run_id == run_id:
            run = Run(self.store, record.info, record.params, ended=False, resumed=True)
            self._handles.keep(run)
            return run
        catalog = self.store.read()
        info = self._run_info(catalog, run_id) or self._wait_for_run(run_id)
        if info.lifecycle_stage == "deleted":
            msg = (
                f"Run {run_id!r} was deleted; MLflow's rule: a deleted run takes no more "
                f"data. Restore it first with restore_run({run_id!r})."
            )
            raise RunEndedError(msg)
        params = query.run_data(catalog, run_id)["params"]
        run = Run(self.store, info, params, ended=False, resumed=True)
        self._handles.keep(run)
        return run

    def _wait_for_run(self, run_id: str) -> RunInfo:
        """A run another process has just started: its row is on its way to disk.

        ``create_run`` has that process's writer flush the row at once, so it shows up
        within milliseconds; a run nobody started is refused after a flush interval (by
        then any writer has flushed what it held).
        """
        deadline = time.monotonic() + self.store.writer.flush_interval + 0.25
        pause = 0.005
        while time.monotonic() < deadline:
            # Another process's files, nothing to wait on here: look again, less often.
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
            info = self._run_info(self.store.read(), run_id)
            if info is not None:
                return info
        raise RunNotFoundError(self._no_run(run_id))

    def resume_run(self, run_id: str) -> Run:
        """Set an existing run RUNNING again and return its live handle."""
        run = self.handle(run_id)
        run.resume()
        return run

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> None:
        """End a run with a status (FINISHED by default)."""
        self.handle(run_id).end(validation.run_status(status or "FINISHED"), end_time=end_time)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Change a run's status or name."""
        run = self.handle(run_id)
        if status is not None:
            run.set_status(status)
        if name is not None:
            run.set_tag("mlflow.runName", validation.run_name(name))

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted (hidden from searches; ``compact(purge_deleted=True)`` drops it)."""
        info = self.get_run(run_id).info
        self.store.writer.event(info.experiment_id, run_id, schema.EVENT_LIFECYCLE, "", "deleted")
        live = self._handles.get(run_id)
        if live is not None:
            live.mark_deleted()

    def restore_run(self, run_id: str) -> None:
        """Undo ``delete_run``."""
        info = self.get_run(run_id).info
        self.store.writer.event(info.experiment_id, run_id, schema.EVENT_LIFECYCLE, "", "active")
        live = self._handles.get(run_id)
        if live is not None:
            live.mark_deleted(deleted=False)

    # -- logging by id ---------------------------------------------------------------
    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
    ) -> None:
        """Log one metric point of a run."""
        self.handle(run_id).log_metric(key, value, step=step, timestamp=timestamp)

    def log_param(self, run_id: str, key: str, value: object) -> object:
        """Log a param of a run."""
        return self.handle(run_id).log_param(key, value)

    def set_tag(self, run_id: str, key: str, value: object) -> None:
        """Set a tag of a run."""
        self.handle(run_id).set_tag(key, value)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a tag of a run."""
        self.handle(run_id).delete_tag(key)

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Metric] = (),
        params: Iterable[Param] = (),
        tags: Iterable[RunTag] = (),
    ) -> None:
        """Log many metrics, params and tags; everything is checked before anything is logged."""
        self.handle(run_id).log_batch(metrics, params, tags)

    # -- reads -----------------------------------------------------------------------
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of one metric of a run, by step then time."""
        table = self.metric_history(run_id, key)
        cols = table.to_pydict()
        return [
            Metric(key, value, ts, step)
            for step, ts, value in zip(cols["step"], cols["timestamp"], cols["value"], strict=True)
        ]

    def latest_metrics(self, run_id: str) -> list[Metric]:
        """A run's latest point of every metric (by step, then time), by key."""
        catalog = self.store.read()
        if query.run_info(catalog, run_id, self.store.address) is None:
            raise RunNotFoundError(self._no_run(run_id))
        return [
            Metric(key, value, timestamp, step)
            for key, step, timestamp, value in query.latest_metric_rows(catalog, run_id)
        ]

    def metric_history(self, run_id: str, key: str) -> pa.Table:
        """One metric's history as an Arrow table (step, timestamp, value)."""
        catalog = self.store.read()
        experiment_id = query.run_experiment(catalog, run_id)
        if experiment_id is None:
            raise RunNotFoundError(self._no_run(run_id))
        return query.metric_history(catalog, run_id, key, experiment_id)

    def metric_points(self, run_id: str) -> pa.Table:
        """Every point of every metric of a run as an Arrow table (key, step, timestamp, value)."""
        catalog = self.store.read()
        experiment_id = query.run_experiment(catalog, run_id)
        if experiment_id is None:
            raise RunNotFoundError(self._no_run(run_id))
        return query.metric_points(catalog, run_id, experiment_id)

    def search_runs(
        self,
        experiment_ids: str | list[str] | None = None,
        filter_string: str = "",
        run_view_type: object = "ACTIVE_ONLY",
        max_results: int = 1000,
        order_by: list[str] | None = None,
    ) -> list[Run]:
        """Runs matching a filter, as handles with their data (MLflow's client form)."""
        ids = [experiment_ids] if isinstance(experiment_ids, str) else experiment_ids
        table = self.search_runs_table(
            experiment_ids=ids or [self._ensure_default_experiment()],
            filter_string=filter_string,
            run_view_type=run_view_type,
            max_results=max_results,
            order_by=order_by,
        )
        return [self.get_run(run_id) for run_id in table.column("run_id").to_pylist()]

    def search_runs_frame(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        run_view_type: object = "ACTIVE_ONLY",
        max_results: int = 100_000,
        order_by: list[str] | None = None,
    ) -> pd.DataFrame:
        """Runs matching a filter as a DataFrame with MLflow's columns."""
        return query.search_runs(
            self.store.read(query.SEARCHED_TABLES),
            self.store.address,
            experiment_ids=[str(e) for e in experiment_ids],
            filter_string=filter_string,
            run_view_type=run_view_type,
            max_results=max_results,
            order_by=order_by,
        )

    def search_runs_table(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        run_view_type: object = "ACTIVE_ONLY",
        max_results: int = 100_000,
        order_by: list[str] | None = None,
    ) -> pa.Table:
        """Runs matching a filter as an Arrow table, with the DataFrame's columns."""
        return query.search_runs_table(
            self.store.read(query.SEARCHED_TABLES),
            self.store.address,
            experiment_ids=[str(e) for e in experiment_ids],
            filter_string=filter_string,
            run_view_type=run_view_type,
            max_results=max_results,
            order_by=order_by,
        )

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copy a local file into a run's artifacts."""
        self.handle(run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copy a local folder's files into a run's artifacts."""
        self.handle(run_id).log_artifacts(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Save text as an artifact file of a run."""
        self.handle(run_id).log_text(text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        """Save a dict as a JSON/YAML artifact of a run."""
        self.handle(run_id).log_dict(dictionary, artifact_file)

    def load_table(self, run_id: str, artifact_file: str) -> pd.DataFrame | None:
        """A table artifact of a run (``log_table``'s JSON or Parquet), None if absent."""
        self.get_run(run_id)
        table: pd.DataFrame | None = self.artifacts.load_table(run_id, artifact_file)
        return table

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """Files and folders directly under a path of a run's artifacts."""
        links = artifact_links.linked_files(self.get_run(run_id).data.tags)
        return self.artifacts.list(run_id, path, links)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | None = None) -> str:
        """Local path of a run's artifact (copied to ``dst_path`` if given)."""
        links = artifact_links.linked_files(self.get_run(run_id).data.tags)
        return self.artifacts.download(run_id, path, dst_path, links)

    def sql(self, query: str, params: list[Any] | None = None) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation over the store's views (runs, params, metrics, ...)."""
        return self.store.read().relation(query, params)

    def flush(self) -> None:
        """Block until everything logged in this process is on disk."""
        self.store.flush()

    def compact(
        self,
        *,
        purge_deleted: bool = False,
        grace_seconds: float | None = None,
        snapshot: bool = True,
    ) -> CompactionReport:
        """Merge small files and snapshot the resolved state (see :meth:`Store.compact`)."""
        return self.store.compact(
            purge_deleted=purge_deleted, grace_seconds=grace_seconds, snapshot=snapshot
        )


@functools.cache
def _source() -> tuple[str, str]:
    """(``mlflow.source.name``, ``mlflow.source.type``) of this process, found once."""
    if "ipykernel" in sys.modules:
        notebook = os.environ.get("JPY_SESSION_NAME", "")  # set by Jupyter Server 2
        return notebook or "notebook", "NOTEBOOK"
    main = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-m") else ""
    return (str(Path(main).absolute()) if main else "<console>"), "LOCAL"


def system_tags(user: str) -> dict[str, str]:
    """The tags MLflow sets on every run: who ran it and from what."""
    name, kind = _source()
    return {"mlflow.user": user, "mlflow.source.name": name, "mlflow.source.type": kind}


@functools.cache
def user_name() -> str:
    """Who runs this process (MLflow's ``mlflow.user``); found once."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
