"""Logged models' ids (``models:/m-<id>``, as MLflow 3 returns from ``log_model``).

A logged model is a folder of a run's artifacts; its id is claimed by exclusive create
with the run and path as content, so any process resolves it with one file read.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from canvasback.store import Store

NAMESPACE: Final = "logged-models"
PREFIX: Final = "m-"


def new_model_id() -> str:
    """A new logged model id, in MLflow 3's form (``m-`` and 32 hex digits)."""
    return PREFIX + uuid.uuid4().hex


def record(store: Store, model_id: str, run_id: str, artifact_path: str) -> None:
    """Remember where a logged model lives."""
    data = json.dumps({"run_id": run_id, "artifact_path": artifact_path}).encode()
    store.claim(NAMESPACE, model_id, data)


def resolve(store: Store, model_id: str) -> tuple[str, str] | None:
    """(run id, artifact path) of a logged model, None if the id is unknown."""
    if not model_id.startswith(PREFIX) or not model_id[len(PREFIX) :].isalnum():
        return None
    data = store.read_claim(NAMESPACE, model_id)
    if data is None:
        return None
    where = json.loads(data)
    return str(where["run_id"]), str(where["artifact_path"])
