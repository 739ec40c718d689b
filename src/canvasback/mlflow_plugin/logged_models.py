"""The tracking store's logged models (MLflow 3's ``LoggedModel``), kept as canvasback's.

A logged model is a folder of a run's artifacts (``artifacts/<run_id>/<name>``, or
``<name>-<model id>`` when another model holds that folder), its id claimed with what
MLflow gave at creation; every later change (status, tags, params, metrics, deletion)
is appended to the model's log (:mod:`canvasback.tracking.logged_models`). So
``canvasback.load_model("models:/m-...")`` and ``runs:/<run_id>/<name>`` load a model
MLflow logged, and MLflow sees the models canvasback's own ``log_model`` logged.

canvasback keeps every model in a run, as its own ``log_model`` does: a model MLflow
creates outside a run gets a run of its own, named after the model and ended at once,
which is its ``source_run_id``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlflow.entities import LoggedModel, LoggedModelStatus, Metric
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT
from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS
from mlflow.utils.search_utils import SearchLoggedModelsUtils
from mlflow.utils.validation import _validate_logged_model_name

from canvasback.exceptions import INVALID_STATE, RESOURCE_DOES_NOT_EXIST
from canvasback.mlflow_plugin import entities
from canvasback.mlflow_plugin.errors import mlflow_error, translate_errors
from canvasback.store import layout
from canvasback.tracking import logged_model_reads, logged_models, validation
from canvasback.tracking.experiments import DEFAULT_EXPERIMENT_ID
from canvasback.tracking.names import random_run_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlflow.entities import LoggedModelParameter, LoggedModelTag

    from canvasback._config import StoreAddress
    from canvasback.mlflow_plugin.uris import StoreArtifacts
    from canvasback.registry import Client
    from canvasback.tracking.logged_model_reads import ModelState

HOLDER_TAG = "canvasback.logged_model"
"""The tag of a run made to hold a model MLflow created outside a run: the model's id."""


@translate_errors
class LoggedModelStoreMethods:
    """Create, read, finalize, tag, search and delete logged models."""

    root: StoreAddress
    artifacts: StoreArtifacts

    if TYPE_CHECKING:

        @property
        def client(self) -> Client: ...  # noqa: D102

    def create_logged_model(
        self,
        experiment_id: str | None = None,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[LoggedModelTag] | None = None,
        params: Sequence[LoggedModelParameter] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """A new logged model (PENDING), with a folder of its own in its run's artifacts."""
        _validate_logged_model_name(name)
        name = name or random_run_name()
        validation.artifact_path(name, what="model name")
        experiment_id = str(experiment_id or DEFAULT_EXPERIMENT_ID)
        experiment = self.client.get_experiment(experiment_id)
        if experiment.lifecycle_stage != "active":
            msg = f"Cannot create a logged model in the deleted experiment {experiment_id!r}"
            raise mlflow_error(msg, INVALID_STATE)
        given_params = {p.key: validation.param_value(p.key, p.value) for p in params or []}
        given_tags = {t.key: validation.tag_value(t.key, t.value) for t in tags or []}
        model_id = logged_models.new_model_id()
        run_id = source_run_id
        if run_id is None:
            holder = self.client.create_run(
                experiment_id, run_name=name, tags={HOLDER_TAG: model_id}
            )
            run_id = holder.info.run_id
            self.client.set_terminated(run_id, "FINISHED")
        else:
            self.client.handle(run_id)  # the run exists and takes data
        path = self._free_folder(run_id, name, model_id)
        details = {
            "experiment_id": experiment_id,
            "name": name,
            "model_type": model_type,
            "source_run_id": run_id,
            "params": given_params,
            "tags": given_tags,
            "status": str(LoggedModelStatus.PENDING),
        }
        logged_models.record(self.client.store, model_id, run_id, path, details)
        return self.get_logged_model(model_id)

    def _free_folder(self, run_id: str, name: str, model_id: str) -> str:
        """``name`` if no model holds that folder of the run, else a folder of the model's."""
        store = self.client.store
        taken = store.fs.exists(f"{layout.ARTIFACTS_DIR}/{run_id}/{name}")
        if not taken and logged_models.claim_path(store, run_id, name, model_id):
            return name
        path = f"{name}-{model_id}"
        logged_models.claim_path(store, run_id, path, model_id)
        return path

    def _state(self, model_id: str) -> ModelState | None:
        return logged_model_reads.state(self.client, model_id)

    def _registered(self, run_id: str | None = None) -> dict[str, list[dict[str, str]]]:
        """The registered versions of each logged model (of one run's, if given).

        MLflow's ``register_model`` tags the model it registers with its versions
        (``mlflow.modelVersions``), and MLflow's UI reads that tag to show a run's models
        as registered; canvasback's registry knows the versions of every model, however
        they were registered, so the tag is made from it.
        """
        where = None if run_id is None else f"run_id = '{validation.given_run_id(run_id)}'"
        found: dict[str, list[dict[str, str]]] = {}
        versions = self.client.search_model_versions(where, order_by=["name", "version_number"])
        for version in versions:
            model_id = entities.model_id_of(self.client.store, version.source)
            if model_id is not None:
                found.setdefault(model_id, []).append(
                    {"name": version.name, "version": str(version.version)}
                )
        return found

    def _entity(
        self, model_id: str, state: ModelState, registered: dict[str, list[dict[str, str]]]
    ) -> LoggedModel:
        tags = dict(state.tags)
        tags.pop(MLFLOW_MODEL_VERSIONS, None)
        if model_id in registered:
            tags[MLFLOW_MODEL_VERSIONS] = json.dumps(registered[model_id])
        metrics = [
            Metric(k, v, ts, step, model_id=model_id, run_id=run, dataset_name=d, dataset_digest=g)
            for k, v, ts, step, run, d, g in state.metrics
        ]
        metrics.sort(key=lambda m: (m.key, -m.step, -m.timestamp))  # the latest first
        return LoggedModel(
            experiment_id=state.experiment_id,
            model_id=model_id,
            name=state.name,
            artifact_location=self.artifacts.uri(state.run_id, state.artifact_path),
            creation_timestamp=state.created,
            last_updated_timestamp=state.updated,
            model_type=state.model_type,
            source_run_id=state.source_run_id,
            status=LoggedModelStatus(state.status),
            status_message=state.status_message,
            tags=tags,
            params=state.params,
            metrics=metrics,
        )

    def _live(self, model_id: str, *, allow_deleted: bool = False) -> ModelState:
        state = self._state(model_id)
        if state is None or (state.deleted and not allow_deleted):
            msg = f"No logged model {model_id!r} in store {str(self.root)!r}"
            raise mlflow_error(msg, RESOURCE_DOES_NOT_EXIST)
        return state

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """A logged model (RESOURCE_DOES_NOT_EXIST if unknown or deleted)."""
        state = self._live(model_id, allow_deleted=allow_deleted)
        return self._entity(model_id, state, self._registered(state.run_id))

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set a logged model's final status (READY or FAILED)."""
        self._live(model_id)
        final = LoggedModelStatus(status)
        if final not in (LoggedModelStatus.READY, LoggedModelStatus.FAILED):
            msg = (
                f"Invalid final status {str(final)!r} of logged model {model_id!r}: READY or FAILED"
            )
            raise validation.InvalidInputError(msg)
        logged_models.add_change(self.client.store, model_id, {"status": str(final)})
        return self.get_logged_model(model_id)

    def set_logged_model_tags(self, model_id: str, tags: Sequence[LoggedModelTag]) -> None:
        """Set tags on a logged model."""
        logged_model_reads.set_tags(self.client, model_id, {t.key: t.value for t in tags})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a logged model (RESOURCE_DOES_NOT_EXIST if it has none)."""
        if key not in self._live(model_id).tags:
            msg = f"Logged model {model_id!r} has no tag {key!r}"
            raise mlflow_error(msg, RESOURCE_DOES_NOT_EXIST)
        logged_models.add_change(self.client.store, model_id, {"tags": {key: None}})

    def log_logged_model_params(
        self, model_id: str, params: Sequence[LoggedModelParameter]
    ) -> None:
        """Log params of a logged model."""
        checked = {
            validation.validate_key("param", p.key): validation.param_value(p.key, p.value)
            for p in params
        }
        self._live(model_id)
        if checked:
            logged_models.add_change(self.client.store, model_id, {"params": checked})

    def delete_logged_model(self, model_id: str) -> None:
        """Mark a logged model deleted (its folder stays with its run)."""
        self._live(model_id)
        logged_models.add_change(self.client.store, model_id, {"deleted": True})

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """Logged models of the experiments that match, a page at a time.

        MLflow's own filter, order and page of logged models run over the models the
        store holds (``metrics.``, ``params.``, ``tags.`` and the attributes).
        """
        if datasets and not all(d.get("dataset_name") for d in datasets):
            msg = "Invalid datasets: each needs a dataset_name"
            raise validation.InvalidInputError(msg)
        wanted = {str(e) for e in experiment_ids}
        registered = self._registered()
        models = []
        for model_id in logged_models.model_ids(self.client.store):
            state = self._state(model_id)
            if state is not None and not state.deleted and state.experiment_id in wanted:
                models.append(self._entity(model_id, state, registered))
        found = SearchLoggedModelsUtils.filter_logged_models(models, filter_string, datasets)
        ordered = SearchLoggedModelsUtils.sort(found, order_by)
        page, token = SearchLoggedModelsUtils.paginate(
            ordered, page_token, max_results or SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT
        )
        return PagedList(page, token)
