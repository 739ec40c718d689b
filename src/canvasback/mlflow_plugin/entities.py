"""canvasback's records as MLflow's entities (``mlflow.entities``), and back.

Runs' and experiments' artifact locations become ``canvasback:`` URIs, so MLflow sends
every artifact call to the plugin's repository.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlflow.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    InputTag,
    Metric,
    Param,
    RunData,
    RunInfo,
    RunTag,
)
from mlflow.entities.model_registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from canvasback.mlflow_plugin import uris
from canvasback.tracking import logged_models
from canvasback.tracking import uris as tracking_uris

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from canvasback._config import StoreAddress
    from canvasback.registry import entities as registry_entities
    from canvasback.store import Store
    from canvasback.tracking import entities as cb


def experiment(found: cb.Experiment, root: StoreAddress) -> Experiment:
    """An MLflow experiment; its artifact location is the store's artifacts folder."""
    return Experiment(
        experiment_id=found.experiment_id,
        name=found.name,
        artifact_location=uris.artifacts_uri(root),
        lifecycle_stage=found.lifecycle_stage,
        tags=[ExperimentTag(k, v) for k, v in found.tags.items()],
        creation_time=found.creation_time,
        last_update_time=found.last_update_time,
    )


def run_info(info: cb.RunInfo, root: StoreAddress) -> RunInfo:
    """MLflow's run attributes; the artifact URI is the run's ``canvasback:`` folder."""
    return RunInfo(
        run_id=info.run_id,
        experiment_id=info.experiment_id,
        user_id=info.user_id,
        status=info.status,
        start_time=info.start_time,
        end_time=info.end_time,
        lifecycle_stage=info.lifecycle_stage,
        artifact_uri=uris.artifacts_uri(root, info.run_id),
        run_name=info.run_name,
    )


def run_data(
    metrics: Iterable[tuple[str, int, int, float]],
    params: Mapping[str, str],
    tags: Mapping[str, str],
) -> RunData:
    """MLflow's run data from latest metric points ``(key, step, timestamp, value)``."""
    return RunData(
        metrics=[Metric(k, value, timestamp, step) for k, step, timestamp, value in metrics],
        params=[Param(k, v) for k, v in params.items()],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )


def dataset_input(row: Mapping[str, Any]) -> DatasetInput:
    """A dataset a run used, from a row of the ``datasets`` view."""
    dataset = Dataset(
        name=row["name"],
        digest=row["digest"],
        source_type=row["source_type"],
        source=row["source"],
        schema=row["schema"],
        profile=row["profile"],
    )
    tags = [InputTag(MLFLOW_DATASET_CONTEXT, row["context"])] if row["context"] else []
    return DatasetInput(dataset, tags)


def json_object(text: str | None) -> dict[str, Any]:
    """A JSON object MLflow sends as text (a dataset's schema, profile); {} if none."""
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}


def model_id_of(store: Store, source: str | None) -> str | None:
    """The logged model a registered version's source names, if any."""
    if not source:
        return None
    if source.startswith("models:/"):
        body = source.removeprefix("models:/").strip("/")
        return body if logged_models.is_model_id(body) else None
    if source.startswith("runs:/"):
        run_id, path = tracking_uris.parse_runs_uri(source, store.address)
        return logged_models.model_at(store, run_id, path)
    return None


def model_version(version: registry_entities.ModelVersion, store: Store) -> ModelVersion:
    """An MLflow model version, with the logged model it came from."""
    return ModelVersion(
        name=version.name,
        version=version.version,
        creation_timestamp=version.creation_timestamp,
        last_updated_timestamp=version.last_updated_timestamp,
        description=version.description,
        user_id=version.user_id,
        current_stage=version.current_stage,
        source=version.source,
        run_id=version.run_id,
        status=version.status,
        status_message=version.status_message,
        tags=[ModelVersionTag(k, v) for k, v in version.tags.items()],
        run_link=version.run_link,
        aliases=list(version.aliases),
        model_id=model_id_of(store, version.source),
    )


def registered_model(model: registry_entities.RegisteredModel, store: Store) -> RegisteredModel:
    """An MLflow registered model, with its latest versions and aliases."""
    return RegisteredModel(
        name=model.name,
        creation_timestamp=model.creation_timestamp,
        last_updated_timestamp=model.last_updated_timestamp,
        description=model.description,
        latest_versions=[model_version(v, store) for v in model.latest_versions],
        tags=[RegisteredModelTag(k, v) for k, v in model.tags.items()],
        aliases=[RegisteredModelAlias(a, v) for a, v in model.aliases.items()],
    )
