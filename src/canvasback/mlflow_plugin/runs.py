"""The tracking store's run methods: create, read, log, end, delete, search.

Every call goes through canvasback's client, so a run logged through MLflow is a run of
the store like any other: one run table, one search, the same write-once params and
refusals. A run MLflow reads comes back whole, as MLflow's ``Run``: its latest metrics
(with their steps and times), params, tags, the datasets and models it used and the
models it produced.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from mlflow.entities import (
    LoggedModelInput,
    LoggedModelOutput,
    Run,
    RunInputs,
    RunOutputs,
    RunStatus,
)
from mlflow.entities.dataset_summary import _DatasetSummary
from mlflow.store.entities.paged_list import PagedList
from mlflow.utils.mlflow_tags import (
    MLFLOW_DATASET_CONTEXT,
    MLFLOW_LOGGED_MODELS,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_RUN_NAME,
)
from mlflow.utils.search_utils import SearchUtils

from canvasback.exceptions import RESOURCE_DOES_NOT_EXIST
from canvasback.mlflow_plugin import entities, run_reads
from canvasback.mlflow_plugin.errors import mlflow_error, translate_errors
from canvasback.mlflow_plugin.experiments import page
from canvasback.tracking import entities as cb
from canvasback.tracking import logged_models
from canvasback.tracking.client import system_tags
from canvasback.tracking.datasets import Dataset

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlflow.entities import DatasetInput, Metric, Param, RunInfo, RunTag
    from mlflow.models import Model

    from canvasback._config import StoreAddress
    from canvasback.mlflow_plugin.uris import StoreArtifacts
    from canvasback.registry import Client

TERMINAL = frozenset({"FINISHED", "FAILED", "KILLED"})


def _tags(tags: object) -> dict[str, str]:
    """Tags MLflow gives as a list of ``RunTag`` (or, from some callers, a dict)."""
    if isinstance(tags, dict):
        return {str(k): v for k, v in tags.items()}
    return {t.key: t.value for t in tags or []}  # type: ignore[attr-defined]


def _point(m: cb.Metric) -> tuple[str, int, int, str]:
    # NaN equals nothing, not even itself: points are compared by their text.
    return m.key, int(m.step), int(m.timestamp), repr(float(m.value))


@translate_errors
class RunStoreMethods:
    """Runs: created, read, logged to, ended, deleted, searched."""

    root: StoreAddress
    artifacts: StoreArtifacts

    if TYPE_CHECKING:

        @property
        def client(self) -> Client: ...  # noqa: D102

    # -- lifecycle -------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag] | None,
        run_name: str | None,
    ) -> Run:
        """Start a run (RUNNING, kept alive by this process until it ends).

        MLflow names a nested run's parent by its ``mlflow.parentRunId`` tag; canvasback
        keeps it as the run's ``parent_run_id`` too.
        """
        given = _tags(tags)
        run = self.client.create_run(
            str(experiment_id),
            start_time=start_time,
            tags=given,
            run_name=run_name or given.get(MLFLOW_RUN_NAME),
            parent_run_id=given.get(MLFLOW_PARENT_RUN_ID),
            user_id=user_id or None,
        )
        # The new run as the client made it, not read back: a read costs a catalog
        # refresh (tens of ms), and MLflow creates a run per start_run.
        made = {MLFLOW_RUN_NAME: run.info.run_name, **given}
        if run.info.parent_run_id:
            made.setdefault(MLFLOW_PARENT_RUN_ID, run.info.parent_run_id)
        made = {**system_tags(run.info.user_id), **made}
        data = entities.run_data([], {}, made)
        return Run(
            entities.run_info(run.info, self.artifacts), data, RunInputs([], []), RunOutputs([])
        )

    def get_run(self, run_id: str) -> Run:
        """A run with its latest metrics, params, tags, inputs and outputs."""
        return run_reads.one_run(self.client, self.artifacts, run_id)

    def update_run_info(
        self, run_id: str, run_status: int | str, end_time: int | None, run_name: str | None
    ) -> RunInfo:
        """End a run (a terminal status), make it RUNNING again, or rename it."""
        status = RunStatus.to_string(run_status) if isinstance(run_status, int) else run_status
        if status in TERMINAL:
            handle = self.client.handle(run_id)
            self.client.set_terminated(run_id, status, end_time)  # ends that handle
            if not run_name:  # its attributes are the run's now: no read back
                return entities.run_info(handle.info, self.artifacts)
        elif status == "RUNNING" and self.client.get_run(run_id).info.status != "RUNNING":
            self.client.resume_run(run_id)
        elif status is not None:
            self.client.update_run(run_id, status=status)
        if run_name:
            self.client.update_run(run_id, name=run_name)
        return self.get_run(run_id).info

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted."""
        self.client.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Undo ``delete_run``."""
        self.client.restore_run(run_id)

    # -- logging ---------------------------------------------------------------------
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Sequence[Param],
        tags: Sequence[RunTag],
    ) -> None:
        """Log metrics, params and tags; all are checked before any is logged.

        A metric that names a logged model (``model_id``) is also recorded on that
        model. MLflow links the points a run has already logged to the model it logs
        by sending them again: those are not logged to the run a second time.
        """
        by_model: dict[str, list[Metric]] = {}
        for metric in metrics:
            if metric.model_id:
                by_model.setdefault(metric.model_id, []).append(metric)
        for model_id in by_model:
            if logged_models.read(self.client.store, model_id) is None:
                msg = f"No logged model {model_id!r} in store {str(self.root)!r}"
                raise mlflow_error(msg, RESOURCE_DOES_NOT_EXIST)
        points = [cb.Metric(m.key, m.value, m.timestamp, m.step) for m in metrics]
        if by_model:
            logged = {
                _point(m)
                for key in {m.key for ms in by_model.values() for m in ms}
                for m in self.client.get_metric_history(run_id, key)
            }
            points = [p for p in points if _point(p) not in logged]
        self.client.log_batch(
            run_id,
            points,
            [cb.Param(p.key, p.value) for p in params],
            [cb.RunTag(t.key, t.value) for t in tags],
        )
        for model_id, linked in by_model.items():
            rows = [
                [m.key, m.value, m.timestamp, m.step, run_id, m.dataset_name, m.dataset_digest]
                for m in linked
            ]
            logged_models.add_change(self.client.store, model_id, {"metrics": rows})

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a tag of a run."""
        self.client.delete_tag(run_id, key)

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        """Record the datasets (with their context) and logged models a run used."""
        run = self.client.handle(run_id)
        for model in models or []:
            if logged_models.read(self.client.store, model.model_id) is None:
                msg = f"No logged model {model.model_id!r} in store {str(self.root)!r}"
                raise mlflow_error(msg, RESOURCE_DOES_NOT_EXIST)
        for given in datasets or []:
            tags = {t.key: t.value for t in given.tags}
            context = tags.pop(MLFLOW_DATASET_CONTEXT, None)
            found = given.dataset
            dataset = Dataset(
                name=found.name,
                digest=found.digest,
                source=found.source,
                source_type=found.source_type,
                schema=entities.json_object(found.schema),
                profile=entities.json_object(found.profile),
            )
            run.log_input(dataset, context=context, tags=tags or None)
        for model in models or []:
            logged_models.add_input(self.client.store, run_id, model.model_id)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record the logged models a run produced, each at a step."""
        self.client.handle(run_id)  # the run exists and is not deleted
        for model in models:
            if logged_models.read(self.client.store, model.model_id) is None:
                msg = f"No logged model {model.model_id!r} in store {str(self.root)!r}"
                raise mlflow_error(msg, RESOURCE_DOES_NOT_EXIST)
        for model in models:
            logged_models.add_output(self.client.store, run_id, model.model_id, model.step)

    def record_logged_model(self, run_id: str, mlflow_model: Model) -> None:
        """Add a model to the run's ``mlflow.log-model.history`` tag (MLflow 2's record)."""
        run = self.client.get_run(run_id)
        history = json.loads(run.data.tags.get(MLFLOW_LOGGED_MODELS, "[]"))
        history.append(mlflow_model.get_tags_dict())
        self.client.set_tag(run_id, MLFLOW_LOGGED_MODELS, json.dumps(history))

    # -- reads -----------------------------------------------------------------------
    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[Metric]:
        """Every point of a metric (by step, then time), all at once or a page at a time."""
        from mlflow.entities import Metric  # noqa: PLC0415  # MLflow's, not canvasback's

        history = [
            Metric(m.key, m.value, m.timestamp, m.step, run_id=run_id)
            for m in self.client.get_metric_history(run_id, metric_key)
        ]
        offset = SearchUtils.parse_start_offset_from_page_token(page_token)
        if max_results is None:
            return PagedList(history[offset:], None)
        items, token = page(history, offset, max_results)
        return PagedList(items, token)

    def _search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        run_view_type: int,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> tuple[list[Run], str | None]:
        """A page of the runs that match (canvasback's search: MLflow's grammar and more)."""
        offset = SearchUtils.parse_start_offset_from_page_token(page_token)
        frame = self.client.search_runs_frame(
            experiment_ids=[str(e) for e in experiment_ids],
            filter_string=filter_string,
            run_view_type=run_view_type,
            max_results=offset + max_results + 1,
            order_by=list(order_by) if order_by else None,
        )
        run_ids, token = page(list(frame["run_id"]), offset, max_results)
        return run_reads.page_of_runs(self.client, self.artifacts, run_ids), token

    def _search_datasets(self, experiment_ids: Sequence[str]) -> list[_DatasetSummary]:
        """The datasets the experiments' runs used (the runs page's dataset filter).

        MLflow's server calls it when its store has it (and answers 500 when not): each
        (experiment, name, digest, context) once, at most 1,000, as MLflow's stores do.
        """
        return [
            _DatasetSummary(experiment_id, name, digest, context)
            for experiment_id, name, digest, context in run_reads.dataset_summaries(
                self.client, [str(e) for e in experiment_ids]
            )
        ]
