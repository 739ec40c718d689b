"""Logged models (``models:/m-<id>``, as MLflow 3 returns from ``log_model``).

A logged model is a folder of a run's artifacts; its id is claimed by exclusive create
with the run and path as content (and what else its maker knew: its name, experiment,
type, params and first tags), so any process resolves it with one file read. The rest
is claims too, never changed once written:

- ``logged-model-paths/<run_id>/<digest of path>``: which model holds a run's folder
  (the first to claim it), so two models never share a folder;
- ``logged-model-logs/<model id>/1, 2, ...``: the model's changes in order (a status,
  tags set or deleted, params, metrics, its deletion), one numbered claim each;
- ``logged-model-outputs/<run_id>/1, 2, ...`` and ``logged-model-inputs/<run_id>/...``:
  the models a run produced (at a step) or used.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import TYPE_CHECKING, Any, Final

from canvasback.store import layout

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.store import Store

NAMESPACE: Final = "logged-models"
PATHS: Final = "logged-model-paths"
LOGS: Final = "logged-model-logs"
OUTPUTS: Final = "logged-model-outputs"
INPUTS: Final = "logged-model-inputs"
PREFIX: Final = "m-"


def new_model_id() -> str:
    """A new logged model id, in MLflow 3's form (``m-`` and 32 hex digits)."""
    return PREFIX + uuid.uuid4().hex


def is_model_id(text: str) -> bool:
    """Whether a string has the form of a logged model id (``m-`` and letters or digits)."""
    return text.startswith(PREFIX) and text[len(PREFIX) :].isalnum() and text.isascii()


def _path_digest(artifact_path: str) -> str:
    return hashlib.sha256(artifact_path.encode()).hexdigest()[:32]


def claim_path(store: Store, run_id: str, artifact_path: str, model_id: str) -> bool:
    """Claim a run's artifact folder for a model; False if another model holds it."""
    name = f"{run_id}/{_path_digest(artifact_path)}"
    if store.claim(PATHS, name, model_id.encode()):
        return True
    return store.read_claim(PATHS, name) == model_id.encode()


def model_at(store: Store, run_id: str, artifact_path: str) -> str | None:
    """The id of the model that holds a run's artifact folder, None if none claimed it."""
    data = store.read_claim(PATHS, f"{run_id}/{_path_digest(artifact_path)}")
    return None if data is None else data.decode()


def record(
    store: Store,
    model_id: str,
    run_id: str,
    artifact_path: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Remember where a logged model lives, when it was made, and ``details`` of it."""
    content = {
        **(details or {}),
        "run_id": run_id,
        "artifact_path": artifact_path,
        "time": time.time_ns() // 1_000_000,
    }
    store.claim(NAMESPACE, model_id, json.dumps(content).encode())
    claim_path(store, run_id, artifact_path, model_id)


def read(store: Store, model_id: str) -> dict[str, Any] | None:
    """Everything recorded of a logged model when it was made, None if the id is unknown."""
    if not is_model_id(model_id):
        return None
    data = store.read_claim(NAMESPACE, model_id)
    if data is None:
        return None
    content: dict[str, Any] = json.loads(data)
    return content


def resolve(store: Store, model_id: str) -> tuple[str, str] | None:
    """(run id, artifact path) of a logged model, None if the id is unknown."""
    where = read(store, model_id)
    if where is None:
        return None
    return str(where["run_id"]), str(where["artifact_path"])


def model_ids(store: Store) -> list[str]:
    """The ids of every logged model of the store, in no particular order."""
    return [n for n in store.fs.names(f"{layout.CLAIMS_DIR}/{NAMESPACE}") if is_model_id(n)]


def _append(store: Store, namespace: str, entry: Mapping[str, Any]) -> None:
    store.claim_next_number(namespace, json.dumps(entry).encode())


def _entries(store: Store, namespace: str) -> list[dict[str, Any]]:
    numbers = sorted(
        int(n) for n in store.fs.names(f"{layout.CLAIMS_DIR}/{namespace}") if n.isdigit()
    )
    found = (store.read_claim(namespace, str(n)) for n in numbers)
    return [json.loads(data) for data in found if data is not None]


def add_change(store: Store, model_id: str, change: Mapping[str, Any]) -> None:
    """Append a change to a logged model's log (stamped with the time)."""
    _append(store, f"{LOGS}/{model_id}", {**change, "time": time.time_ns() // 1_000_000})


def changes(store: Store, model_id: str) -> list[dict[str, Any]]:
    """A logged model's changes, oldest first."""
    return _entries(store, f"{LOGS}/{model_id}")


def add_output(store: Store, run_id: str, model_id: str, step: int) -> None:
    """Record that a run produced a logged model at a step."""
    _append(store, f"{OUTPUTS}/{run_id}", {"model_id": model_id, "step": step})


def outputs(store: Store, run_id: str) -> list[tuple[str, int]]:
    """(model id, step) of the models a run produced, in the order recorded."""
    return [(e["model_id"], int(e["step"])) for e in _entries(store, f"{OUTPUTS}/{run_id}")]


def runs_with(store: Store, kind: str) -> set[str]:
    """Ids of the runs that recorded a logged model as ``kind``.

    ``kind`` is :data:`INPUTS` or :data:`OUTPUTS`. One listing, so a page of runs
    needs no listing per run.
    """
    return set(store.fs.names(f"{layout.CLAIMS_DIR}/{kind}"))


def add_input(store: Store, run_id: str, model_id: str) -> None:
    """Record that a run used a logged model."""
    _append(store, f"{INPUTS}/{run_id}", {"model_id": model_id})


def inputs(store: Store, run_id: str) -> list[str]:
    """The ids of the models a run used, in the order recorded."""
    return [str(e["model_id"]) for e in _entries(store, f"{INPUTS}/{run_id}")]
