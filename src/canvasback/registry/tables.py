"""The model registry's tables, events and views, declared to the store.

Registered models and their versions are rows written once (``registered_models``,
``model_versions``); renames, descriptions, tags, stages and deletions are events of the
registry's partition, resolved last-writer-wins like every other fact (a rename's event
is keyed by its slot in the model's log, and the greatest slot names the model); alias
moves are rows of ``model_aliases``, all kept, so the current alias and its history
come from one table. An alias's protection and its gates are facts of its model; a
forced move is a fact keyed by the move's own stamp, written before the move's row.
Hooks are rows written once (``registry_hooks``; a deletion is an event of the hook),
and every attempt to deliver an event to one is a row of ``hook_deliveries``, all kept.
Deleted models and versions are left out of every view, and a purge of deleted runs
keeps the runs that live versions come from.

Importing this module declares all of it to the store (``store/declarations.py``); the
registry package imports it first, and the package root imports the registry, so every
process that opens a store reads the registry's files alike.
"""

from __future__ import annotations

from typing import Final

from canvasback.store.declarations import Declaration, declare
from canvasback.store.read.relations import FACTS, rows
from canvasback.store.schema import Table

PARTITION: Final = "_registry"
"""The registry's rows and events are written to this partition, not an experiment's."""

# Events: entity_id is a registered model's id, or "<model id>/<version>".
# A rename; the row keeps the first name. Key: the rename's slot in the model's log
# (zero-padded), so the greatest key is the current name however late it is written.
EVENT_MODEL_NAME: Final = "model_name"
EVENT_MODEL_DESCRIPTION: Final = "model_description"
EVENT_MODEL_TAG: Final = "model_tag"
EVENT_MODEL_LIFECYCLE: Final = "model_lifecycle"  # "deleted"
EVENT_VERSION_DESCRIPTION: Final = "version_description"
EVENT_VERSION_TAG: Final = "version_tag"
EVENT_VERSION_STAGE: Final = "version_stage"
EVENT_VERSION_LIFECYCLE: Final = "version_lifecycle"  # "deleted"
# Of a model; key: the alias. Value: JSON (user, host, reason); null unprotects.
EVENT_ALIAS_PROTECTION: Final = "alias_protection"
# Of a model; key: "<alias>/<gate>". Value: JSON (filter, allow_force, user, host); null
# removes the gate.
EVENT_ALIAS_GATE: Final = "alias_gate"
# Of a model; key: its move's "<alias>/<timestamp>/<writer>/<seq>" (one fact per move).
# Value: what the force overrode, as a sentence.
EVENT_ALIAS_FORCED: Final = "alias_forced"
# Of a hook (entity_id: its id); value "deleted".
EVENT_HOOK_LIFECYCLE: Final = "hook_lifecycle"
# Of a hook; key: "label" (MLflow's webhook name), "description" or "status" ("active"
# or "disabled": a disabled hook fires nothing). Null clears a label or description.
EVENT_HOOK_SETTING: Final = "hook_setting"
HOOK_LABEL: Final = "label"
HOOK_DESCRIPTION: Final = "description"
HOOK_STATUS: Final = "status"
HOOK_DISABLED: Final = "disabled"

# A registered model as created; renames, descriptions, tags are events.
REGISTERED_MODELS: Final = Table(
    "registered_models",
    (
        ("model_id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("creation_time", "BIGINT"),
        ("user_id", "VARCHAR"),
    ),
    sort=("model_id",),
    keys=("model_id",),
)
MODEL_VERSIONS: Final = Table(
    "model_versions",
    (
        ("model_id", "VARCHAR"),
        ("version", "BIGINT"),
        ("source", "VARCHAR"),
        ("run_id", "VARCHAR"),
        ("creation_time", "BIGINT"),
        ("user_id", "VARCHAR"),
    ),
    sort=("model_id", "version"),
    keys=("model_id", "version"),
)
# Every alias move, kept: the current alias is the latest row by (timestamp, writer,
# seq); version None removes it.
MODEL_ALIASES: Final = Table(
    "model_aliases",
    (
        ("model_id", "VARCHAR"),
        ("alias", "VARCHAR"),
        ("version", "BIGINT"),
        ("timestamp", "BIGINT"),
        ("user_id", "VARCHAR"),
        ("host", "VARCHAR"),
        ("writer", "VARCHAR"),
        ("seq", "BIGINT"),
    ),
    sort=("model_id", "alias", "timestamp", "writer", "seq"),
    keys=("model_id", "alias", "timestamp", "writer", "seq"),
)

# A hook as added (its deletion is an event): the events it follows (a JSON list), its
# model (None: every model), its target (a URL, or a command: JSON, an argv list or a
# shell string) and how it signs (a secret kept here, or the name of an environment
# variable that holds it in the delivering process).
REGISTRY_HOOKS: Final = Table(
    "registry_hooks",
    (
        ("hook_id", "VARCHAR"),
        ("model_id", "VARCHAR"),
        ("events", "VARCHAR"),
        ("target_type", "VARCHAR"),
        ("target", "VARCHAR"),
        ("secret", "VARCHAR"),
        ("secret_env", "VARCHAR"),
        ("timeout", "DOUBLE"),
        ("max_attempts", "BIGINT"),
        ("creation_time", "BIGINT"),
        ("user_id", "VARCHAR"),
    ),
    sort=("hook_id",),
    keys=("hook_id",),
)
# Every attempt to deliver an event to a hook, kept: a delivery's first row (attempt 0,
# status "pending", written as the event is fired) holds its body; each attempt's row
# its outcome, and when its process tries again (retry_at; None: it will not). The
# latest row by (timestamp, writer, seq) is the delivery's state.
HOOK_DELIVERIES: Final = Table(
    "hook_deliveries",
    (
        ("delivery_id", "VARCHAR"),
        ("hook_id", "VARCHAR"),
        ("event", "VARCHAR"),
        ("model_id", "VARCHAR"),
        ("version", "BIGINT"),
        ("attempt", "BIGINT"),
        ("status", "VARCHAR"),
        ("http_status", "BIGINT"),
        ("exit_code", "BIGINT"),
        ("error", "VARCHAR"),
        ("retry_at", "BIGINT"),
        ("payload", "VARCHAR"),
        ("timestamp", "BIGINT"),
        ("writer", "VARCHAR"),
        ("seq", "BIGINT"),
    ),
    sort=("delivery_id", "timestamp", "writer", "seq"),
    keys=("delivery_id", "timestamp", "writer", "seq"),
)

_MODELS: Final = rows(REGISTERED_MODELS.name)
_VERSIONS: Final = rows(MODEL_VERSIONS.name)
_ALIASES: Final = rows(MODEL_ALIASES.name)
_HOOKS: Final = rows(REGISTRY_HOOKS.name)
_DELIVERIES: Final = rows(HOOK_DELIVERIES.name)

# One row per registry entity (a model id, or "<model id>/<version>") with its facts.
_FACTS: Final = f"""
    SELECT entity_id,
           arg_max(value, key) FILTER (kind = '{EVENT_MODEL_NAME}') AS new_name,
           any_value(value) FILTER (kind IN ('{EVENT_MODEL_DESCRIPTION}',
                                             '{EVENT_VERSION_DESCRIPTION}')) AS description,
           any_value(value) FILTER (kind = '{EVENT_VERSION_STAGE}') AS stage,
           bool_or(value = 'deleted') FILTER (kind IN ('{EVENT_MODEL_LIFECYCLE}',
                                                       '{EVENT_VERSION_LIFECYCLE}'))
               AS deleted,
           max(timestamp) AS updated
    FROM {FACTS}
    WHERE experiment_id = '{PARTITION}'
    GROUP BY entity_id
"""

# Each (model, alias)'s latest move (its version None if the alias was removed).
_LATEST_ALIAS: Final = f"""
    SELECT * FROM {_ALIASES}
    QUALIFY row_number() OVER (
        PARTITION BY model_id, alias ORDER BY timestamp DESC, writer DESC, seq DESC) = 1
"""


# What a run records of its code and environment (projects/capture.py's tag prefixes).
CODE_PREFIX: Final = "canvasback.source."
ENVIRONMENT_PREFIX: Final = "canvasback.env."
_MLFLOW_COMMIT: Final = "mlflow.source.git.commit"

# The code and environment tags of the runs the versions ``v`` come from, one per run.
_CAPTURED: Final = f"""
    SELECT t.run_id,
           map_from_entries(list(struct_pack(k := substr(t.key, {len(CODE_PREFIX) + 1}),
                                             v := t.value))
                            FILTER (WHERE starts_with(t.key, '{CODE_PREFIX}'))) AS code,
           map_from_entries(list(struct_pack(k := substr(t.key, {len(ENVIRONMENT_PREFIX) + 1}),
                                             v := t.value))
                            FILTER (WHERE starts_with(t.key, '{ENVIRONMENT_PREFIX}')))
               AS environment,
           any_value(t.value) FILTER (WHERE t.key = '{_MLFLOW_COMMIT}') AS mlflow_commit
    FROM tags t
    WHERE t.run_id IN (SELECT run_id FROM v)
      AND (starts_with(t.key, '{CODE_PREFIX}') OR starts_with(t.key, '{ENVIRONMENT_PREFIX}')
           OR t.key = '{_MLFLOW_COMMIT}')
    GROUP BY t.run_id
"""
_NO_TAGS: Final = "MAP {}::MAP(VARCHAR, VARCHAR)"

# A version's lineage: one row per dataset its source run logged (one row, its dataset
# columns null, if none), with the run's code and environment and the aliases that
# point at it now and pointed at it before (from the alias rows themselves: the joined
# version is live already, and each registry view read again costs a pass over the facts).
_LINEAGE: Final = f"""
    WITH v AS MATERIALIZED (SELECT * FROM model_versions)
    SELECT v.name, v.version, v.model_id, v.run_id, v.source,
           CASE WHEN starts_with(v.source, 'runs:/')
                THEN nullif(regexp_extract(v.source, '^runs:/+[^/]*/?(.*)$', 1), '')
           END AS artifact_path,
           r.run_name, r.experiment_id,
           d.name AS dataset_name, d.digest AS dataset_digest, d.context AS dataset_context,
           d.source_type AS dataset_source_type, d.source AS dataset_source,
           coalesce(c.code['git.commit'], c.mlflow_commit) AS git_commit,
           coalesce(c.code, {_NO_TAGS}) AS code,
           coalesce(c.environment, {_NO_TAGS}) AS environment,
           coalesce(a.aliases, []::VARCHAR[]) AS aliases,
           coalesce(h.aliases, []::VARCHAR[]) AS past_aliases
    FROM v
    LEFT JOIN runs r ON r.run_id = v.run_id
    LEFT JOIN datasets d ON d.run_id = v.run_id
    LEFT JOIN ({_CAPTURED}) c ON c.run_id = v.run_id
    LEFT JOIN (SELECT model_id, version, list(alias ORDER BY alias) AS aliases
               FROM ({_LATEST_ALIAS}) GROUP BY model_id, version) a
           ON a.model_id = v.model_id AND a.version = v.version
    LEFT JOIN (SELECT h.model_id, h.version, list(DISTINCT h.alias ORDER BY h.alias) AS aliases
               FROM {_ALIASES} h
               ANTI JOIN ({_LATEST_ALIAS}) now
                    ON now.model_id = h.model_id AND now.alias = h.alias
                   AND now.version = h.version
               GROUP BY h.model_id, h.version) h
           ON h.model_id = v.model_id AND h.version = v.version
"""


def _json_text(column: str, field: str) -> str:
    """A field of a fact's JSON value, as text; null where the value is not JSON."""
    return f"CASE WHEN json_valid({column}) THEN json_extract_string({column}, '$.{field}') END"


def _facts_of(kind: str) -> str:
    """The registry's facts of one kind that hold a value (null deletes one)."""
    return (
        f"SELECT entity_id, key, value, timestamp FROM {FACTS} "
        f"WHERE experiment_id = '{PARTITION}' AND kind = '{kind}' AND value IS NOT NULL"
    )


HOOK_SETTINGS: Final = f"""
    SELECT entity_id AS hook_id,
           any_value(value) FILTER (WHERE key = '{HOOK_LABEL}') AS label,
           any_value(value) FILTER (WHERE key = '{HOOK_DESCRIPTION}') AS description,
           coalesce(any_value(value) FILTER (WHERE key = '{HOOK_STATUS}'), 'active')
               <> '{HOOK_DISABLED}' AS enabled,
           max(timestamp) AS update_time
    FROM {FACTS}
    WHERE experiment_id = '{PARTITION}' AND kind = '{EVENT_HOOK_SETTING}'
    GROUP BY entity_id
"""
"""Each hook's settings that were ever changed: label, description, enabled, when last."""


VIEWS: Final = (
    ("_registry_facts", _FACTS),
    (
        "_live_models",
        f"""
        SELECT m.model_id, coalesce(f.new_name, m.name) AS name, f.description,
               m.creation_time, m.user_id, f.updated
        FROM {_MODELS} m
        LEFT JOIN _registry_facts f ON f.entity_id = m.model_id
        WHERE f.deleted IS NOT TRUE
        """,
    ),
    (
        "registered_models",
        f"""
        SELECT m.model_id, m.name, m.description, m.creation_time,
               greatest(m.creation_time, m.updated,
                        (SELECT max(greatest(v.creation_time, vf.updated))
                         FROM {_VERSIONS} v
                         LEFT JOIN _registry_facts vf
                              ON vf.entity_id = v.model_id || '/' || v.version
                         WHERE v.model_id = m.model_id),
                        (SELECT max(a.timestamp) FROM {_ALIASES} a
                         WHERE a.model_id = m.model_id)) AS last_updated_time,
               m.user_id
        FROM _live_models m
        """,
    ),
    (
        "model_versions",
        f"""
        SELECT m.name, v.version, v.model_id, v.creation_time,
               greatest(v.creation_time, f.updated) AS last_updated_time,
               f.description, v.user_id, coalesce(f.stage, 'None') AS current_stage,
               v.source, v.run_id, 'READY' AS status
        FROM {_VERSIONS} v
        JOIN _live_models m ON m.model_id = v.model_id
        LEFT JOIN _registry_facts f ON f.entity_id = v.model_id || '/' || v.version
        WHERE f.deleted IS NOT TRUE
        """,
    ),
    (
        "aliases",
        f"""
        SELECT v.name, a.alias, a.version, a.model_id, a.timestamp, a.user_id
        FROM ({_LATEST_ALIAS}) a
        JOIN model_versions v ON v.model_id = a.model_id AND v.version = a.version
        """,
    ),
    (
        "alias_history",
        f"""
        SELECT m.name, a.alias,
               lag(a.version) OVER w AS from_version, a.version AS to_version,
               a.timestamp, a.user_id, a.host, a.model_id,
               f.value IS NOT NULL AS forced, f.value AS overrode
        FROM {_ALIASES} a
        JOIN _live_models m ON m.model_id = a.model_id
        LEFT JOIN ({_facts_of(EVENT_ALIAS_FORCED)}) f
             ON f.entity_id = a.model_id
            AND f.key = a.alias || '/' || a.timestamp || '/' || a.writer || '/' || a.seq
        WINDOW w AS (PARTITION BY a.model_id, a.alias ORDER BY a.timestamp, a.writer, a.seq)
        """,
    ),
    (
        "protected_aliases",
        f"""
        SELECT m.name, p.key AS alias, {_json_text("p.value", "user")} AS user_id,
               {_json_text("p.value", "host")} AS host,
               {_json_text("p.value", "reason")} AS reason, p.timestamp, m.model_id
        FROM ({_facts_of(EVENT_ALIAS_PROTECTION)}) p
        JOIN _live_models m ON m.model_id = p.entity_id
        """,
    ),
    (
        "alias_gates",
        f"""
        SELECT m.name, split_part(g.key, '/', 1) AS alias, split_part(g.key, '/', 2) AS gate,
               {_json_text("g.value", "filter")} AS filter,
               coalesce(CASE WHEN json_valid(g.value)
                             THEN json_type(g.value, '$.allow_force') = 'BOOLEAN'
                                  AND json_extract_string(g.value, '$.allow_force') = 'true'
                        END, false) AS allow_force,
               {_json_text("g.value", "user")} AS user_id,
               {_json_text("g.value", "host")} AS host, g.timestamp, m.model_id
        FROM ({_facts_of(EVENT_ALIAS_GATE)}) g
        JOIN _live_models m ON m.model_id = g.entity_id
        """,
    ),
    (
        "registered_model_tags",
        f"""
        SELECT m.name, t.key, t.value, m.model_id
        FROM ({_facts_of(EVENT_MODEL_TAG)}) t
        JOIN _live_models m ON m.model_id = t.entity_id
        """,
    ),
    (
        "model_version_tags",
        f"""
        SELECT v.name, v.version, t.key, t.value, v.model_id
        FROM ({_facts_of(EVENT_VERSION_TAG)}) t
        JOIN model_versions v ON t.entity_id = v.model_id || '/' || v.version
        """,
    ),
    ("lineage", _LINEAGE),
    (
        "hooks",
        f"""
        SELECT h.hook_id, m.name, h.model_id, h.events, h.target_type, h.target,
               h.secret IS NOT NULL OR h.secret_env IS NOT NULL AS signed, h.secret_env,
               h.timeout, h.max_attempts, h.creation_time, h.user_id, s.label,
               s.description, coalesce(s.enabled, true) AS enabled,
               greatest(h.creation_time, s.update_time) AS update_time
        FROM {_HOOKS} h
        LEFT JOIN _live_models m ON m.model_id = h.model_id
        LEFT JOIN ({HOOK_SETTINGS}) s ON s.hook_id = h.hook_id
        WHERE (h.model_id IS NULL OR m.model_id IS NOT NULL)
          AND h.hook_id NOT IN (SELECT entity_id FROM ({_facts_of(EVENT_HOOK_LIFECYCLE)}))
        """,
    ),
    (
        "hook_deliveries",
        f"""
        SELECT d.delivery_id, d.hook_id, d.event, m.name, d.version, d.attempt, d.status,
               d.http_status, d.exit_code, d.error, d.retry_at, d.timestamp, d.model_id,
               d.payload
        FROM {_DELIVERIES} d
        LEFT JOIN _live_models m ON m.model_id = d.model_id
        """,
    ),
)
"""The registry's views, in creation order (later ones read earlier ones)."""

DECLARATION: Final = Declaration(
    name="registry",
    partition=PARTITION,
    tables=(REGISTERED_MODELS, MODEL_VERSIONS, MODEL_ALIASES, REGISTRY_HOOKS, HOOK_DELIVERIES),
    event_kinds=frozenset(
        {
            EVENT_MODEL_NAME,
            EVENT_MODEL_DESCRIPTION,
            EVENT_MODEL_TAG,
            EVENT_MODEL_LIFECYCLE,
            EVENT_VERSION_DESCRIPTION,
            EVENT_VERSION_TAG,
            EVENT_VERSION_STAGE,
            EVENT_VERSION_LIFECYCLE,
            EVENT_ALIAS_PROTECTION,
            EVENT_ALIAS_GATE,
            EVENT_ALIAS_FORCED,
            EVENT_HOOK_LIFECYCLE,
            EVENT_HOOK_SETTING,
        }
    ),
    views=VIEWS,
    # A registered model version keeps its source run's files (a deleted one does not).
    keep_runs="SELECT run_id FROM model_versions WHERE run_id IS NOT NULL",
)

declare(DECLARATION)
