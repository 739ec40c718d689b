"""Where everything of the store lies: folders and file names.

A store is a folder (or an object-store prefix) laid out as::

    <table>/exp=<experiment_id>/seg-<time_ns>-<writer>-<seq>.parquet  immutable segments
    <table>/exp=<experiment_id>/cmp-<time_ns>-<writer>-<seq>.parquet  compacted segments
    <table>/exp=<experiment_id>/cmp-<...>.inputs.json                 what a compacted file replaces
    claims/<namespace>/<name>                                          exclusive-create claims
    artifacts/<run_id>/<path>                                          run artifacts
    blobs/sha256/<hex digest>                                          content stored once
    _snapshots/snap-<generation>.json, snap-<generation>-<...>/        snapshot manifest, its files
    _leases/, _quarantine/                                             leases, bad files

Every table (``schema.py``, ``declarations.py``) is a folder of segments, partitioned by
experiment (or by a reserved partition that starts with ``_``: the writers' heartbeats,
a declared layer's rows). Every mutable fact (run status, end time, tags, deletion) is
an append-only row of the ``events`` table, resolved last-writer-wins by (timestamp,
writer, seq).
"""

from __future__ import annotations

from typing import Final

SEGMENT_PREFIX: Final = "seg-"
COMPACTED_PREFIX: Final = "cmp-"
PARQUET_SUFFIX: Final = ".parquet"
INPUTS_SUFFIX: Final = ".inputs.json"
PARTITION_KEY: Final = "exp"

CLAIMS_DIR: Final = "claims"
ARTIFACTS_DIR: Final = "artifacts"
BLOBS_DIR: Final = "blobs"
LEASES_DIR: Final = "_leases"
QUARANTINE_DIR: Final = "_quarantine"

# Writers' heartbeats are events of a partition of their own, not an experiment's.
HEARTBEAT_PARTITION: Final = "_writers"


def partition_dir(table: str, experiment_id: str) -> str:
    """Relative folder of one table's partition."""
    return f"{table}/{PARTITION_KEY}={experiment_id}"


def blob_path(hex_digest: str) -> str:
    """Relative path of the content whose SHA-256 is ``hex_digest`` (64 lowercase hex digits)."""
    return f"{BLOBS_DIR}/sha256/{hex_digest}"


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
