"""The model registry's DuckDB tables and views, as ``canvasback.sql`` sees them.

Registered models and their versions are rows written once (``registered_models``,
``model_versions``); renames, descriptions, tags, stages and deletions are events of the
registry's partition, resolved last-writer-wins like every other fact (a rename's event
is keyed by its slot in the model's log, and the greatest slot names the model); alias
moves are rows of ``model_aliases``, all kept, so the current alias and its history
come from one table. Deleted models and versions are left out of every view.
"""

from __future__ import annotations

from typing import Final

from canvasback.store import layout
from canvasback.store.read.relations import FACTS

MATERIALIZED: Final = {
    "registered_models": (
        "_registered_models",
        (
            "experiment_id VARCHAR, model_id VARCHAR, name VARCHAR, creation_time BIGINT, "
            "user_id VARCHAR"
        ),
        ("model_id",),
    ),
    "model_versions": (
        "_model_versions",
        (
            "experiment_id VARCHAR, model_id VARCHAR, version BIGINT, source VARCHAR, "
            "run_id VARCHAR, creation_time BIGINT, user_id VARCHAR"
        ),
        ("model_id", "version"),
    ),
    "model_aliases": (
        "_model_aliases",
        (
            "experiment_id VARCHAR, model_id VARCHAR, alias VARCHAR, version BIGINT, "
            "timestamp BIGINT, user_id VARCHAR, host VARCHAR, writer VARCHAR, seq BIGINT"
        ),
        ("model_id", "alias", "timestamp", "writer", "seq"),
    ),
}

# One row per registry entity (a model id, or "<model id>/<version>") with its facts.
_FACTS: Final = f"""
    SELECT entity_id,
           arg_max(value, key) FILTER (kind = '{layout.EVENT_MODEL_NAME}') AS new_name,
           any_value(value) FILTER (kind IN ('{layout.EVENT_MODEL_DESCRIPTION}',
                                             '{layout.EVENT_VERSION_DESCRIPTION}')) AS description,
           any_value(value) FILTER (kind = '{layout.EVENT_VERSION_STAGE}') AS stage,
           bool_or(value = 'deleted') FILTER (kind IN ('{layout.EVENT_MODEL_LIFECYCLE}',
                                                       '{layout.EVENT_VERSION_LIFECYCLE}'))
               AS deleted,
           max(timestamp) AS updated
    FROM {FACTS}
    WHERE experiment_id = '{layout.REGISTRY_PARTITION}'
    GROUP BY entity_id
"""

_LATEST_ALIAS: Final = """
    SELECT * FROM _model_aliases
    QUALIFY row_number() OVER (
        PARTITION BY model_id, alias ORDER BY timestamp DESC, writer DESC, seq DESC) = 1
"""


def _tags(kind: str) -> str:
    return (
        f"SELECT entity_id, key, value FROM {FACTS} "
        f"WHERE experiment_id = '{layout.REGISTRY_PARTITION}' AND kind = '{kind}' "
        "AND value IS NOT NULL"
    )


VIEWS: Final = {
    "_registry_facts": _FACTS,
    "_live_models": """
        SELECT m.model_id, coalesce(f.new_name, m.name) AS name, f.description,
               m.creation_time, m.user_id, f.updated
        FROM _registered_models m
        LEFT JOIN _registry_facts f ON f.entity_id = m.model_id
        WHERE f.deleted IS NOT TRUE
    """,
    "registered_models": """
        SELECT m.model_id, m.name, m.description, m.creation_time,
               greatest(m.creation_time, m.updated,
                        (SELECT max(greatest(v.creation_time, vf.updated))
                         FROM _model_versions v
                         LEFT JOIN _registry_facts vf
                              ON vf.entity_id = v.model_id || '/' || v.version
                         WHERE v.model_id = m.model_id),
                        (SELECT max(a.timestamp) FROM _model_aliases a
                         WHERE a.model_id = m.model_id)) AS last_updated_time,
               m.user_id
        FROM _live_models m
    """,
    "model_versions": """
        SELECT m.name, v.version, v.model_id, v.creation_time,
               greatest(v.creation_time, f.updated) AS last_updated_time,
               f.description, v.user_id, coalesce(f.stage, 'None') AS current_stage,
               v.source, v.run_id, 'READY' AS status
        FROM _model_versions v
        JOIN _live_models m ON m.model_id = v.model_id
        LEFT JOIN _registry_facts f ON f.entity_id = v.model_id || '/' || v.version
        WHERE f.deleted IS NOT TRUE
    """,
    "aliases": f"""
        SELECT v.name, a.alias, a.version, a.model_id, a.timestamp, a.user_id
        FROM ({_LATEST_ALIAS}) a
        JOIN model_versions v ON v.model_id = a.model_id AND v.version = a.version
    """,
    "alias_history": """
        SELECT m.name, a.alias,
               lag(a.version) OVER w AS from_version, a.version AS to_version,
               a.timestamp, a.user_id, a.host, a.model_id
        FROM _model_aliases a
        JOIN _live_models m ON m.model_id = a.model_id
        WINDOW w AS (PARTITION BY a.model_id, a.alias ORDER BY a.timestamp, a.writer, a.seq)
    """,
    "registered_model_tags": f"""
        SELECT m.name, t.key, t.value, m.model_id
        FROM ({_tags(layout.EVENT_MODEL_TAG)}) t
        JOIN _live_models m ON m.model_id = t.entity_id
    """,
    "model_version_tags": f"""
        SELECT v.name, v.version, t.key, t.value, v.model_id
        FROM ({_tags(layout.EVENT_VERSION_TAG)}) t
        JOIN model_versions v ON t.entity_id = v.model_id || '/' || v.version
    """,
}
"""The registry's views, in creation order (later ones read earlier ones)."""
