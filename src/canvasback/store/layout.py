"""Paths and Arrow schemas of every table of the run store, in one place.

A store is a folder (or an object-store prefix) laid out as::

    <table>/exp=<experiment_id>/seg-<time_ns>-<writer>-<seq>.parquet  immutable segments
    <table>/exp=<experiment_id>/cmp-<time_ns>-<writer>-<seq>.parquet  compacted segments
    <table>/exp=<experiment_id>/cmp-<...>.inputs.json                 what a compacted file replaces
    claims/<namespace>/<name>                                          exclusive-create claims
    artifacts/<run_id>/<path>                                          run artifacts
    _snapshots/snap-<generation>.json, snap-<generation>-<...>/        snapshot manifest, its files
    _leases/, _quarantine/                                             leases, bad files

Every mutable fact (run status, end time, tags, deletion) is an append-only row of the
``events`` table, resolved last-writer-wins by (timestamp, writer, seq).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pyarrow as pa

TABLES: Final = (
    "experiments",
    "runs",
    "params",
    "metrics",
    "events",
    "artifacts",
    "inputs",
    "registered_models",
    "model_versions",
    "model_aliases",
)
# The order a reader lists the tables in, all before it loads any: rows that name a run
# (an experiment, a model) before the table of the runs (experiments, models) they name.
# A run's row goes out in its first flush, so a reader that sees a run's params, tags or
# metrics sees the run too, unless that flush wrote them before the run's row (a
# snapshot then lists the run as one it holds rows of but no row).
LISTING_ORDER: Final = (
    "params",
    "metrics",
    "events",
    "artifacts",
    "inputs",
    "model_aliases",
    "model_versions",
    "runs",
    "registered_models",
    "experiments",
)
# The registry's tables (and its events) live in a partition of their own.
REGISTRY_TABLES: Final = frozenset({"registered_models", "model_versions", "model_aliases"})
REGISTRY_PARTITION: Final = "_registry"

SEGMENT_PREFIX: Final = "seg-"
COMPACTED_PREFIX: Final = "cmp-"
PARQUET_SUFFIX: Final = ".parquet"
INPUTS_SUFFIX: Final = ".inputs.json"
PARTITION_KEY: Final = "exp"

CLAIMS_DIR: Final = "claims"
ARTIFACTS_DIR: Final = "artifacts"
LEASES_DIR: Final = "_leases"
QUARANTINE_DIR: Final = "_quarantine"

# Event kinds of the events table. ``key`` is "" where a kind has no key.
EVENT_STATUS: Final = "status"
EVENT_END_TIME: Final = "end_time"
EVENT_TAG: Final = "tag"  # value None deletes the tag
EVENT_LIFECYCLE: Final = "lifecycle"  # "active" or "deleted"
EVENT_EXPERIMENT_LIFECYCLE: Final = "experiment_lifecycle"
EVENT_EXPERIMENT_TAG: Final = "experiment_tag"
EVENT_EXPERIMENT_NAME: Final = "experiment_name"  # a rename; the row keeps the first name
# A writer's sign of life while its process has runs going: entity_id is the writer's
# id, value its clock in ms. Kept in a partition of its own, not an experiment's.
EVENT_HEARTBEAT: Final = "heartbeat"
# The seconds between a writer's heartbeats, as it recorded them with its heartbeats:
# a reader judges the writer's runs stale by that interval, not by its own setting.
EVENT_HEARTBEAT_INTERVAL: Final = "heartbeat_interval"
# Registry facts: entity_id is a registered model's id, or "<model id>/<version>".
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
HEARTBEAT_PARTITION: Final = "_writers"


# Every attribute of a run, in the order a run table shows them. The one list: the wide
# run table's columns, the filter grammar's ``attributes.`` names and the run table's
# attribute columns all come from it.
RUN_ATTRIBUTES: Final = (
    "run_name",
    "status",
    "start_time",
    "end_time",
    "user_id",
    "experiment_id",
    "run_id",
    "parent_run_id",
    "lifecycle_stage",
    "artifact_uri",
)
TIME_ATTRIBUTES: Final = frozenset({"start_time", "end_time"})
"""Attributes held as milliseconds since the epoch; every other attribute is a string."""


def partition_dir(table: str, experiment_id: str) -> str:
    """Relative folder of one table's partition."""
    return f"{table}/{PARTITION_KEY}={experiment_id}"


def segment_name(time_ns: int, writer: str, seq: int, *, compacted: bool = False) -> str:
    """File name of a segment; unique per writer, so a retried write is idempotent."""
    prefix = COMPACTED_PREFIX if compacted else SEGMENT_PREFIX
    return f"{prefix}{time_ns:020d}-{writer}-{seq:08d}{PARQUET_SUFFIX}"


def is_data_file(name: str) -> bool:
    """Whether a file name is a finished segment (not a temp file or a sidecar)."""
    return (
        name.endswith(PARQUET_SUFFIX)
        and not name.startswith(".")
        and (name.startswith((SEGMENT_PREFIX, COMPACTED_PREFIX)))
    )


@functools.cache
def schema(table: str) -> pa.Schema:
    """Arrow schema of a table as written to Parquet (the partition column is not stored)."""
    import pyarrow as pa  # noqa: PLC0415  # pyarrow loads on first write, not at import

    string, int64, f64 = pa.string(), pa.int64(), pa.float64()
    fields: dict[str, list[tuple[str, pa.DataType]]] = {
        "experiments": [
            ("experiment_id", string),
            ("name", string),
            ("artifact_location", string),
            ("creation_time", int64),
        ],
        "runs": [
            ("run_id", string),
            ("run_name", string),
            ("start_time", int64),
            ("parent_run_id", string),
            ("user_id", string),
            ("artifact_uri", string),
        ],
        "params": [
            ("run_id", string),
            ("key", string),
            ("value", string),
            ("timestamp", int64),
        ],
        "metrics": [
            ("run_id", string),
            ("key", string),
            ("step", int64),
            ("timestamp", int64),
            ("value", f64),
        ],
        "events": [
            ("entity_id", string),
            ("kind", string),
            ("key", string),
            ("value", string),
            ("timestamp", int64),
            ("writer", string),
            ("seq", int64),
        ],
        "artifacts": [
            ("run_id", string),
            ("path", string),
            ("size", int64),
            ("timestamp", int64),
        ],
        # Datasets a run used (log_input): schema and profile are JSON text.
        "inputs": [
            ("run_id", string),
            ("name", string),
            ("digest", string),
            ("context", string),
            ("source_type", string),
            ("source", string),
            ("schema", string),
            ("profile", string),
            ("timestamp", int64),
        ],
        # A registered model as created; renames, descriptions, tags are events.
        "registered_models": [
            ("model_id", string),
            ("name", string),
            ("creation_time", int64),
            ("user_id", string),
        ],
        "model_versions": [
            ("model_id", string),
            ("version", int64),
            ("source", string),
            ("run_id", string),
            ("creation_time", int64),
            ("user_id", string),
        ],
        # Every alias move, kept: the current alias is the latest row by (timestamp,
        # writer, seq); version None removes it.
        "model_aliases": [
            ("model_id", string),
            ("alias", string),
            ("version", int64),
            ("timestamp", int64),
            ("user_id", string),
            ("host", string),
            ("writer", string),
            ("seq", int64),
        ],
    }
    return pa.schema(fields[table])


# Sort order of rows inside a segment: lets a one-run query skip row groups.
SORT_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "experiments": ("experiment_id",),
    "runs": ("run_id",),
    "params": ("run_id", "key"),
    "metrics": ("run_id", "key", "step", "timestamp"),
    "events": ("entity_id", "kind", "key", "timestamp"),
    "artifacts": ("run_id", "path"),
    "inputs": ("run_id", "name", "digest"),
    "registered_models": ("model_id",),
    "model_versions": ("model_id", "version"),
    "model_aliases": ("model_id", "alias", "timestamp", "writer", "seq"),
}

# A flush sorts by fewer keys: Arrow's sort is stable and rows arrive in step order.
FLUSH_SORT_KEYS: Final[dict[str, tuple[str, ...]]] = {"metrics": ("run_id", "key")}
