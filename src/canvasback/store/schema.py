"""Every table's columns, once: Parquet schemas and DuckDB tables are both derived here.

A :class:`Table` names its columns with their DuckDB types, the order rows are sorted
in inside a segment, and how the catalog merges its files: by a natural key (one row
per key; ``first_by`` says which row wins), or, for ``metrics`` and ``events``, by
their own rules (the latest value by step, the latest fact). ``run_column`` makes a
table run-scoped: its rows go with their run (a snapshot keeps them on disk, a purge of
deleted runs drops them). The segment's Arrow schema (:meth:`Table.arrow_schema`) and
the catalog's table (:meth:`Table.catalog_columns`: the columns, with the partition as
``experiment_id``) come from the one list.

The store's own tables are here, with the kinds of its events and the one list of run
attributes; a layer above declares its own tables the same way (``declarations.py``).
Times are milliseconds since the epoch.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pyarrow as pa

SQL_TYPES: Final = ("VARCHAR", "BIGINT", "DOUBLE")
"""The column types a table may have (Arrow: string, int64, float64)."""
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
"""A BIGINT's range: steps and timestamps past it would fail every later flush."""
PARTITION_COLUMN: Final = "experiment_id"
"""The partition a row was written to, as the catalog's tables have it."""
_NAME: Final = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Table:
    """One table of the store: a folder of segments, and how the catalog merges them.

    Parameters
    ----------
    name
        The table (its folder of segments; ``rows(name)`` in the catalog).
    columns
        ``(name, type)`` in the order segments store them; types from ``SQL_TYPES``.
    sort
        The order of rows in a segment: lets a one-run query skip row groups.
    keys
        The natural key: the catalog keeps one row per key. Every table but ``metrics``
        and ``events`` (merged by their own rules) has one.
    first_by
        When two rows share a key, the first by these columns wins (else the one
        merged first stays).
    run_column
        The column naming the run a row belongs to; None for a table of other things.
    flush_sort
        A shorter sort for a flush, when rows arrive in order of the rest (Arrow's
        sort is stable); ``sort`` if empty.
    compacted_row_group
        Rows per row group of a compacted file. Smaller for a table whose files one
        run's rows are read from where they lie (``metrics``: histories), so that a
        one-run read decodes little more than the run's rows.

    """

    name: str
    columns: tuple[tuple[str, str], ...]
    sort: tuple[str, ...]
    keys: tuple[str, ...] = ()
    first_by: tuple[str, ...] = ()
    run_column: str | None = None
    flush_sort: tuple[str, ...] = ()
    compacted_row_group: int = 131_072

    def __post_init__(self) -> None:
        problems = [] if _NAME.fullmatch(self.name) else ["its name must be lowercase a-z, 0-9, _"]
        names = [c for c, _ in self.columns]
        problems += [f"column {c!r} has type {t!r}" for c, t in self.columns if t not in SQL_TYPES]
        problems += [f"column name {c!r}" for c in names if not _NAME.fullmatch(c)]
        for what in ("sort", "keys", "first_by", "flush_sort"):
            problems += [
                f"{what} names no column {c!r}" for c in getattr(self, what) if c not in names
            ]
        if self.run_column is not None and self.run_column not in names:
            problems.append(f"run_column names no column {self.run_column!r}")
        if self.compacted_row_group < 1:
            problems.append(f"compacted_row_group is {self.compacted_row_group!r}, not >= 1")
        if problems or not names or len(set(names)) != len(names):
            msg = f"table {self.name!r} is not a table: {'; '.join(problems) or 'its columns'}"
            raise ValueError(msg)

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns' names, in order."""
        return tuple(c for c, _ in self.columns)

    @property
    def run_scoped(self) -> bool:
        """Whether its rows belong to runs (see ``run_column``)."""
        return self.run_column is not None

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of its segments (the partition is the folder, not a column)."""
        return _arrow_schema(self.columns)

    def catalog_columns(self) -> str:
        """DuckDB column definitions of its rows in the catalog, partition first."""
        columns = list(self.columns)
        if PARTITION_COLUMN not in self.column_names:
            columns.insert(0, (PARTITION_COLUMN, "VARCHAR"))
        return ", ".join(f"{name} {sql_type}" for name, sql_type in columns)


@functools.cache
def _arrow_schema(columns: tuple[tuple[str, str], ...]) -> pa.Schema:
    import pyarrow as pa  # noqa: PLC0415  # pyarrow loads on first write, not at import

    types = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64()}
    return pa.schema([(name, types[sql_type]) for name, sql_type in columns])


_V, _B, _D = "VARCHAR", "BIGINT", "DOUBLE"

EXPERIMENTS: Final = Table(
    "experiments",
    (("experiment_id", _V), ("name", _V), ("artifact_location", _V), ("creation_time", _B)),
    sort=("experiment_id",),
    keys=("experiment_id",),
)
RUNS: Final = Table(
    "runs",
    (
        ("run_id", _V),
        ("run_name", _V),
        ("start_time", _B),
        ("parent_run_id", _V),
        ("user_id", _V),
        ("artifact_uri", _V),
    ),
    sort=("run_id",),
    keys=("run_id",),
    run_column="run_id",
)
# A param is write-once: when two processes logged one key with different values, the
# first by (timestamp, value) wins, in every reader alike.
PARAMS: Final = Table(
    "params",
    (("run_id", _V), ("key", _V), ("value", _V), ("timestamp", _B)),
    sort=("run_id", "key"),
    keys=("run_id", "key"),
    first_by=("timestamp", "value"),
    run_column="run_id",
)
# Long: one row per point. The catalog keeps each key's latest value; histories are
# read from the files, a run's from the row groups its rows lie in.
METRICS: Final = Table(
    "metrics",
    (("run_id", _V), ("key", _V), ("step", _B), ("timestamp", _B), ("value", _D)),
    sort=("run_id", "key", "step", "timestamp"),
    run_column="run_id",
    flush_sort=("run_id", "key"),
    compacted_row_group=32_768,
)
# Every mutable fact, appended: resolved last-writer-wins by (timestamp, writer, seq).
EVENTS: Final = Table(
    "events",
    (
        ("entity_id", _V),
        ("kind", _V),
        ("key", _V),
        ("value", _V),
        ("timestamp", _B),
        ("writer", _V),
        ("seq", _B),
    ),
    sort=("entity_id", "kind", "key", "timestamp"),
    run_column="entity_id",
)
ARTIFACTS: Final = Table(
    "artifacts",
    (("run_id", _V), ("path", _V), ("size", _B), ("timestamp", _B)),
    sort=("run_id", "path"),
    keys=("run_id", "path", "timestamp"),
    run_column="run_id",
)
# Datasets a run used (log_input): schema and profile are JSON text.
INPUTS: Final = Table(
    "inputs",
    (
        ("run_id", _V),
        ("name", _V),
        ("digest", _V),
        ("context", _V),
        ("source_type", _V),
        ("source", _V),
        ("schema", _V),
        ("profile", _V),
        ("timestamp", _B),
    ),
    sort=("run_id", "name", "digest"),
    keys=("run_id", "name", "digest", "context"),
    run_column="run_id",
)

CORE: Final = (EXPERIMENTS, RUNS, PARAMS, METRICS, EVENTS, ARTIFACTS, INPUTS)
"""The store's own tables, in the order a refresh loads them."""

# Event kinds of the events table. ``key`` is "" where a kind has no key.
EVENT_STATUS: Final = "status"
EVENT_END_TIME: Final = "end_time"
EVENT_TAG: Final = "tag"  # value None deletes the tag
EVENT_LIFECYCLE: Final = "lifecycle"  # "active" or "deleted"
EVENT_EXPERIMENT_LIFECYCLE: Final = "experiment_lifecycle"
EVENT_EXPERIMENT_TAG: Final = "experiment_tag"
EVENT_EXPERIMENT_NAME: Final = "experiment_name"  # a rename; the row keeps the first name
# The tag that renames a run (MLflow's): the latest one is the run's name, the runs row
# keeps the name it started with.
RUN_NAME_TAG: Final = "mlflow.runName"
# A writer's sign of life while its process has runs going: entity_id is the writer's
# id, value its clock in ms. Kept in a partition of its own, not an experiment's.
EVENT_HEARTBEAT: Final = "heartbeat"
# The seconds between a writer's heartbeats, as it recorded them with its heartbeats:
# a reader judges the writer's runs stale by that interval, not by its own setting.
EVENT_HEARTBEAT_INTERVAL: Final = "heartbeat_interval"
EVENT_KINDS: Final = frozenset(
    {
        EVENT_STATUS,
        EVENT_END_TIME,
        EVENT_TAG,
        EVENT_LIFECYCLE,
        EVENT_EXPERIMENT_LIFECYCLE,
        EVENT_EXPERIMENT_TAG,
        EVENT_EXPERIMENT_NAME,
        EVENT_HEARTBEAT,
        EVENT_HEARTBEAT_INTERVAL,
    }
)
"""The store's own event kinds; a declared layer's are its own (``declarations.py``)."""

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
