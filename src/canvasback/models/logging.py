"""``log_model``: a saved model folder becomes a run's artifacts and a logged model.

The folder is written to a temporary place, then copied under the run's artifacts as
one artifact folder, its ``MLmodel`` last: a folder without one is no model, so a copy
cut short never loads or registers. Its ``models:/m-<id>`` id is claimed at once, so
any process can load or register it by that URI. ``registered_model_name`` registers
it in the same call.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canvasback.models.mlmodel import MLMODEL, ModelInfo
from canvasback.registry.client import Client
from canvasback.store import layout
from canvasback.tracking import fluent, logged_models, validation

if TYPE_CHECKING:
    from collections.abc import Callable

    from canvasback.models.mlmodel import Model


def save_to_new_folder(path: str | os.PathLike[str], save: Callable[[Path], Model]) -> Model:
    """Save a model with ``save(folder)`` into ``path``, which must be new or empty."""
    folder = Path(path)
    if folder.exists() and any(folder.iterdir()):
        msg = f"Cannot save a model into {os.fspath(path)!r}: the folder exists and is not empty"
        raise validation.InvalidInputError(msg)
    folder.mkdir(parents=True, exist_ok=True)
    model = save(folder)
    model.save(folder)
    return model


def log_model(
    save: Callable[[Path], Model],
    name: str | None,
    *,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    tags: dict[str, Any] | None = None,
) -> ModelInfo:
    """Save a model with ``save(folder)`` and log it into the active run (or a new one)."""
    path = validation.artifact_path(name or artifact_path or "model", what="model name")
    if not path:
        msg = f"Invalid model name {name!r}: a relative folder name such as 'model' is required"
        raise validation.InvalidInputError(msg)
    run = fluent.active_run() or fluent.start_run()
    run.check_open("log a model")
    store = run.store
    target = store.fs.inside(f"{layout.ARTIFACTS_DIR}/{run.info.run_id}/{path}")
    if store.fs.exists(target):
        msg = (
            f"Run {run.info.run_id!r} already has an artifact {path!r}; log the model under "
            "another name"
        )
        raise validation.InvalidInputError(msg)
    model_id = logged_models.new_model_id()
    with tempfile.TemporaryDirectory(prefix="canvasback-model-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        model = save(folder)
        model.run_id, model.artifact_path, model.model_id = run.info.run_id, path, model_id
        # MLmodel last: a folder is a model once it has one, so a copy cut short is none.
        run.log_artifacts(folder, path)
        model.save(folder)
        run.log_artifact(folder / MLMODEL, path)
    logged_models.record(store, model_id, run.info.run_id, path)
    # The run's output, as MLflow's log_model records it (its UI lists a run's models so).
    logged_models.add_output(store, run.info.run_id, model_id, 0)
    if tags:
        run.set_tags({f"model.{path}.{k}": v for k, v in tags.items()})
    version = None
    if registered_model_name is not None:
        client = Client(store.address)
        version = int(client.register_model(f"models:/{model_id}", registered_model_name).version)
    return ModelInfo(
        model_uri=f"models:/{model_id}",
        model_id=model_id,
        run_id=run.info.run_id,
        artifact_path=path,
        name=path,
        flavors=model.flavors,
        signature=model.signature,
        model_uuid=model.model_uuid,
        utc_time_created=model.utc_time_created,
        saved_input_example_info=model.saved_input_example_info,
        registered_model_version=version,
    )
