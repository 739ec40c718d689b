"""The process's current store and experiment: what the fluent API logs into.

The store is chosen by ``set_store`` / ``set_tracking_uri`` (else ``CANVASBACK_STORE``,
else the store ``MLFLOW_TRACKING_URI`` names, else ``./canvasback-store``); the
experiment by ``set_experiment``, else by MLflow's environment variables, else the
``Default`` experiment. Both choices, and the fluent
API's client, are the process's context's (``context.py``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

from canvasback import _config
from canvasback._config import S3Address
from canvasback.tracking import uris, validation
from canvasback.tracking.client import Client
from canvasback.tracking.context import Slot, current_context

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback._config import StoreAddress
    from canvasback.tracking.entities import Experiment

# The experiment a process starts in, as MLflow reads it; canvasback's names come first.
EXPERIMENT_NAME_ENV: Final = ("CANVASBACK_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")
EXPERIMENT_ID_ENV: Final = ("CANVASBACK_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID")

# The fluent API's client: of the context's store, made on first use, dropped by set_store.
_CLIENT: Final[Slot[Client]] = Slot(
    "the fluent API's client", lambda ctx: Client(ctx.store_address())
)


def client() -> Client:
    """The client of the current store."""
    return current_context().get(_CLIENT)


def set_store(root: str | os.PathLike[str] | S3Address | None = None) -> StoreAddress:
    """Use ``root`` as the store of this process (None: ``CANVASBACK_STORE`` or the default).

    ``root`` is a folder (a path or a ``file:`` URI) or ``s3://bucket/prefix``; returns
    the store's folder, or its :class:`~canvasback._config.S3Address`.
    """
    ctx = current_context()
    with ctx.lock:
        ctx.chosen_store = None if root is None else ctx.store_address(root)
        ctx.experiment_id = None
        ctx.discard(_CLIENT)
    return client().store.address


def get_store() -> StoreAddress:
    """The current store: its folder, or its :class:`~canvasback._config.S3Address`."""
    return client().store.address


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Use a store: a path, a ``file:`` URI or ``s3://bucket/prefix`` (``set_store``).

    An ``http:``, ``databricks`` or database URI is refused with an error that says
    canvasback reads its own store, and how to move runs over from an MLflow server.
    """
    set_store(_config.parse_store(os.fspath(uri), given_as="Tracking URI"))


def get_tracking_uri() -> str:
    """The current store as a ``file:`` URI, or its ``s3://`` URL (MLflow's name)."""
    store = get_store()
    return store.url if isinstance(store, S3Address) else uris.file_uri(store)


def set_experiment_tag(key: str, value: object) -> None:
    """Set a tag on the current experiment."""
    c = client()
    c.set_experiment_tag(current_experiment_id(c), key, value)


def set_experiment_tags(tags: Mapping[str, object]) -> None:
    """Set tags on the current experiment (all checked before any is set)."""
    c = client()
    experiment_id = current_experiment_id(c)
    c.get_experiment(experiment_id)
    for key, value in validation.checked_tags(tags).items():
        c.set_experiment_tag(experiment_id, key, value)


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment current, creating it by name if needed."""
    c = client()
    if experiment_id is not None:
        experiment = c.get_experiment(str(experiment_id))
    elif experiment_name is not None:
        experiment = c.experiment_to_use(validation.experiment_name(experiment_name))
    else:
        msg = "set_experiment needs experiment_name or experiment_id"
        raise ValueError(msg)
    if experiment.lifecycle_stage == "deleted":
        msg = (
            f"Cannot set the deleted experiment {experiment.name!r} "
            f"(id {experiment.experiment_id}) as the active experiment. Restore it with "
            f"Client().restore_experiment({experiment.experiment_id!r}), or use another name."
        )
        raise validation.InvalidInputError(msg)
    current_context().experiment_id = experiment.experiment_id
    return experiment


def current_experiment_id(c: Client) -> str:
    """The id of the experiment new runs go to."""
    chosen = current_context().experiment_id
    if chosen is not None:
        return chosen
    for name_var in EXPERIMENT_NAME_ENV:
        name = os.environ.get(name_var)
        if name:
            return set_experiment(name).experiment_id
    for id_var in EXPERIMENT_ID_ENV:
        experiment_id = os.environ.get(id_var)
        if experiment_id:
            return set_experiment(experiment_id=experiment_id).experiment_id
    return c.experiment_id_for("Default") or "0"


def create_experiment(
    name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
) -> str:
    """Create an experiment; returns its id (MLflow's signature).

    Artifacts always live in the store (``artifacts/<run_id>/``); an
    ``artifact_location`` is accepted for compatibility and not used.
    """
    return client().create_experiment(name, artifact_location=artifact_location, tags=tags)


def get_experiment(experiment_id: str) -> Experiment:
    """An experiment by id."""
    return client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """An experiment by name, or None."""
    return client().get_experiment_by_name(name)


def search_experiments(
    view_type: object = "ACTIVE_ONLY",
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """Experiments of the store that match a filter, in order (MLflow's signature)."""
    return client().search_experiments(view_type, max_results, filter_string, order_by)
