"""Logged models read back: one by id, a search, and tags set on one (MLflow 3's calls).

A logged model is its creation claim and its log of changes (``logged_models.py``);
reading one replays the log over the claim. canvasback's API (``get_logged_model``,
``search_logged_models``, ``set_logged_model_tags``) and MLflow's plugin read them
through this module alike. A model canvasback's own ``log_model`` made knows only its
run and folder: its experiment and time are its run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from canvasback.exceptions import RESOURCE_DOES_NOT_EXIST, MlflowException
from canvasback.query import record_filter
from canvasback.query.filter import Grammar, parse_filter, parse_order_by
from canvasback.store import layout
from canvasback.tracking import logged_models, validation
from canvasback.tracking.client import RunNotFoundError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from canvasback.query.filter import Entity
    from canvasback.tracking.client import Client

GRAMMAR: Final = Grammar(
    (
        "model_id",
        "name",
        "status",
        "model_type",
        "source_run_id",
        "experiment_id",
        "creation_timestamp",
        "last_updated_timestamp",
    ),
    frozenset(("creation_timestamp", "last_updated_timestamp")),
    {"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"},
    frozenset(("metric", "param", "tag")),
)
"""What a logged-model filter may name: its attributes, ``metrics.``, ``params.``, ``tags.``."""

_DEFAULT_ORDER: Final = ["creation_timestamp DESC"]


class LoggedModelNotFoundError(MlflowException, LookupError):
    """A logged model id the store does not hold (or a deleted one)."""

    error_code = RESOURCE_DOES_NOT_EXIST


@dataclass
class ModelState:
    """A logged model as its creation record and its log make it."""

    experiment_id: str
    name: str
    run_id: str
    artifact_path: str
    created: int
    updated: int
    model_type: str | None = None
    source_run_id: str | None = None
    status: str = "READY"
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    # [key, value, timestamp, step, run_id, dataset_name, dataset_digest], as logged
    metrics: list[list[Any]] = field(default_factory=list)
    deleted: bool = False

    def apply(self, change: Mapping[str, Any]) -> None:
        """One change of the model's log, in order."""
        self.updated = max(self.updated, int(change.get("time", 0)))
        if "status" in change:
            self.status, self.status_message = change["status"], change.get("status_message")
        for key, value in change.get("tags", {}).items():
            if value is None:
                self.tags.pop(key, None)
            else:
                self.tags[key] = value
        self.params.update(change.get("params", {}))
        self.metrics.extend(change.get("metrics", []))
        self.deleted = self.deleted or bool(change.get("deleted"))


def state(client: Client, model_id: str) -> ModelState | None:
    """A logged model's state; None if the id is unknown or its run was purged."""
    store = client.store
    details = logged_models.read(store, model_id)
    if details is None:
        return None
    run_id, path = str(details["run_id"]), str(details["artifact_path"])
    created = details.get("time")
    experiment_id = details.get("experiment_id")
    if experiment_id is None or created is None:  # logged by canvasback's own log_model
        try:
            run = client.get_run(run_id).info
        except RunNotFoundError:  # its run was purged, and its folder with it
            return None
        experiment_id, created = experiment_id or run.experiment_id, created or run.start_time
    found = ModelState(
        experiment_id=str(experiment_id),
        name=str(details.get("name") or path.rsplit("/", 1)[-1]),
        run_id=run_id,
        artifact_path=path,
        created=int(created),
        updated=int(created),
        model_type=details.get("model_type"),
        source_run_id=details.get("source_run_id", run_id),
        status=str(details.get("status", "READY")),
        tags=dict(details.get("tags", {})),
        params=dict(details.get("params", {})),
    )
    for change in logged_models.changes(store, model_id):
        found.apply(change)
    return found


@dataclass(frozen=True)
class LoggedModel:
    """A logged model (MLflow 3's ``LoggedModel``): ``models:/<model_id>`` loads it."""

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    model_type: str | None
    source_run_id: str | None
    status: str
    status_message: str | None
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]
    """Each metric's latest value (the highest step, then the latest time)."""

    @property
    def model_uri(self) -> str:
        """``models:/<model_id>``."""
        return f"models:/{self.model_id}"

    def value(self, entity: Entity, key: str) -> str | float | int | None:
        """What a search filter compares (``record_filter.Record``)."""
        if entity == "metric":
            return self.metrics.get(key)
        if entity == "param":
            return self.params.get(key)
        if entity == "tag":
            return self.tags.get(key)
        value: str | int | None = getattr(self, key)
        return value

    def to_dictionary(self) -> dict[str, Any]:
        """The model's fields, as a row of ``search_logged_models``' frame."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _latest(metrics: list[list[Any]]) -> dict[str, float]:
    latest: dict[str, tuple[int, int, float]] = {}
    for key, value, timestamp, step, *_ in metrics:
        point = (int(step), int(timestamp), float(value))
        if key not in latest or point[:2] >= latest[key][:2]:
            latest[key] = point
    return {key: point[2] for key, point in sorted(latest.items())}


def entity(client: Client, model_id: str, found: ModelState) -> LoggedModel:
    """A model's state as canvasback's ``LoggedModel``."""
    folder = client.store.fs.inside(f"{layout.ARTIFACTS_DIR}/{found.run_id}/{found.artifact_path}")
    return LoggedModel(
        model_id=model_id,
        experiment_id=found.experiment_id,
        name=found.name,
        artifact_location=client.store.location_uri(folder),
        creation_timestamp=found.created,
        last_updated_timestamp=found.updated,
        model_type=found.model_type,
        source_run_id=found.source_run_id,
        status=found.status,
        status_message=found.status_message,
        tags=dict(found.tags),
        params=dict(found.params),
        metrics=_latest(found.metrics),
    )


def live_state(client: Client, model_id: str) -> ModelState:
    """A model's state; :class:`LoggedModelNotFoundError` if unknown or deleted."""
    found = state(client, model_id)
    if found is None or found.deleted:
        msg = f"No logged model {model_id!r} in store {client.store.url!r}"
        raise LoggedModelNotFoundError(msg)
    return found


def get(client: Client, model_id: str) -> LoggedModel:
    """One logged model by id."""
    return entity(client, model_id, live_state(client, model_id))


def set_tags(client: Client, model_id: str, tags: Mapping[str, object]) -> None:
    """Set tags on a logged model (each key checked, as a run's tags are)."""
    checked = {
        validation.validate_key("tag", k): validation.tag_value(k, v) for k, v in tags.items()
    }
    live_state(client, model_id)
    if checked:
        logged_models.add_change(client.store, model_id, {"tags": checked})


def search(
    client: Client,
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = None,
) -> list[LoggedModel]:
    """The live logged models of the experiments (all, if None) that match, in order.

    ``filter_string`` is canvasback's search grammar over the models' attributes
    (``name``, ``status``, ``model_type``, ``source_run_id``, ``creation_timestamp``,
    ...), ``metrics.`` (latest values), ``params.`` and ``tags.``; ``order_by`` the same
    keys (newest first by default).
    """
    expr = parse_filter(filter_string, GRAMMAR)
    order = parse_order_by(list(order_by or _DEFAULT_ORDER), GRAMMAR)
    wanted = None if experiment_ids is None else {str(e) for e in experiment_ids}
    models = []
    for model_id in logged_models.model_ids(client.store):
        found = state(client, model_id)
        if found is None or found.deleted:
            continue
        if wanted is not None and found.experiment_id not in wanted:
            continue
        model = entity(client, model_id, found)
        if record_filter.matches(expr, model):
            models.append(model)
    models.sort(key=lambda m: m.model_id)  # a fixed order under ties, whatever the listing
    ordered: list[LoggedModel] = record_filter.sort(models, order)  # type: ignore[assignment]
    return ordered if max_results is None else ordered[:max_results]
