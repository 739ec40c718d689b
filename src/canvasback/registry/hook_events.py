"""The registry events a hook can follow, and the JSON body each delivery carries.

Five events, under canvasback's names; MLflow's event strings name the four MLflow has
(MLflow 3's webhooks, ``mlflow/webhooks/types.py``) and are taken as synonyms:

==================  =================================  ======================================
event               MLflow's                           ``data``
==================  =================================  ======================================
``version_created``  ``model_version.created``          name, version, source, run_id, tags,
                                                        description
``alias_moved``      ``model_version_alias.created``    name, alias, version
``alias_removed``    ``model_version_alias.deleted``    name, alias
``tag_set``          ``model_version_tag.set``          name, version, key, value
``stage_changed``    (none: ``model_version_stage``     name, version, from_stage, to_stage
                     ``.transitioned``)
==================  =================================  ======================================

A body is MLflow's envelope, ``{"entity", "action", "timestamp", "data"}``, plus the
delivery's id (``delivery_id``), its idempotency key, which every attempt repeats. The
timestamp is the event's (ISO 8601, UTC), so every attempt sends the same bytes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Final

from canvasback.tracking import validation

# canvasback's name -> MLflow's (entity, action).
EVENTS: Final = {
    "version_created": ("model_version", "created"),
    "alias_moved": ("model_version_alias", "created"),
    "alias_removed": ("model_version_alias", "deleted"),
    "tag_set": ("model_version_tag", "set"),
    # MLflow has no stage event: named as its others are, entity and action.
    "stage_changed": ("model_version_stage", "transitioned"),
}
_SYNONYMS: Final = {f"{entity}.{action}": event for event, (entity, action) in EVENTS.items()}

# An example of each event's data (test_hook sends it), MLflow's fields in its order.
_EXAMPLES: Final[dict[str, dict[str, object]]] = {
    "version_created": {
        "version": "1",
        "source": "runs:/abcd1234abcd5678/model",
        "run_id": "abcd1234abcd5678",
        "tags": {"example_key": "example_value"},
        "description": "An example model version",
    },
    "alias_moved": {"alias": "example_alias", "version": "1"},
    "alias_removed": {"alias": "example_alias"},
    "tag_set": {"version": "1", "key": "example_key", "value": "example_value"},
    "stage_changed": {"version": "1", "from_stage": "None", "to_stage": "Staging"},
}


def allowed() -> str:
    """The events a hook may follow, as an error message lists them."""
    ours = ", ".join(EVENTS)
    theirs = ", ".join(_SYNONYMS)
    return f"one of {ours} (or MLflow's {theirs})"


def event_names(value: object) -> tuple[str, ...]:
    """One event or several, each checked and given canvasback's name, in order, once."""
    given = [value] if isinstance(value, str) else value
    if not isinstance(given, list | tuple) or not given:
        msg = f"Invalid hook event {value!r}: {allowed()}, or a list of them"
        raise validation.InvalidInputError(msg)
    found: list[str] = []
    for item in given:
        event = _SYNONYMS.get(item, item) if isinstance(item, str) else None
        if event not in EVENTS:
            msg = f"Invalid hook event {item!r}: {allowed()}"
            raise validation.InvalidInputError(msg)
        if event not in found:
            found.append(event)
    return tuple(found)


def body(event: str, data: dict[str, object], delivery_id: str, time_ms: int) -> str:
    """The JSON a delivery sends, every attempt alike (``data`` in MLflow's fields)."""
    entity, action = EVENTS[event]
    timestamp = datetime.fromtimestamp(time_ms / 1000, UTC).isoformat()
    envelope = {
        "entity": entity,
        "action": action,
        "timestamp": timestamp,
        "data": data,
        "delivery_id": delivery_id,
    }
    return json.dumps(envelope)


def example(event: str, name: str | None) -> dict[str, object]:
    """An example of an event's data, for a model (or MLflow's example name)."""
    return {"name": name or "example_model", **_EXAMPLES[event]}


def mlflow_name(event: str) -> str:
    """MLflow's spelling of an event: ``model_version_alias.created``."""
    entity, action = EVENTS[event]
    return f"{entity}.{action}"
