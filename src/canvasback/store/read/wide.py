"""One row per run, one column per metric, param and tag key: the table searches read.

Joining the long params and metrics tables per query costs a scan of every value in the
store (a million params at 100,000 runs); a wide row per run makes a search one scan of
one table. The catalog keeps it up to date incrementally: after each refresh, only the
runs whose rows changed are rebuilt, and a key seen for the first time adds a column.
Each key column stands for a name as in ``search_runs``' frame (``metrics.acc``,
``params.lr``, ``tags.team``) but is stored under a numbered name (``k0``, ``k1``, ...):
keys are case-sensitive, DuckDB's column names are not, so ``tags.Owner`` and
``tags.owner`` must not meet as column names. Metric columns keep NaN as stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from canvasback.store import schema
from canvasback.store.read.relations import FACTS, LATEST, WIDE, rows

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    import duckdb

ATTRIBUTES: Final = schema.RUN_ATTRIBUTES
BUILT_FROM: Final = frozenset({schema.RUNS.name, schema.PARAMS.name})
"""The keyed tables the wide rows are built from: merging them marks their runs."""
READ_FROM: Final = frozenset({*BUILT_FROM, schema.METRICS.name, schema.EVENTS.name})
"""Every table the wide rows hold something of (latest metrics; facts: status, tags...)."""

# Run attributes with their mutable facts resolved last-writer-wins; a run's name is its
# latest ``mlflow.runName`` tag (a rename), else the name it started with.
# ``last_seen`` is the last sign of life of the writer that set the status: the status
# event itself or that writer's latest heartbeat; ``heartbeat_ms`` is the interval that
# writer recorded between its heartbeats (NULL if none: the default applies; see
# ``liveness.py``). Intervals past a billion seconds are taken as none.
RESOLVED_RUNS: Final = f"""
    SELECT r.run_id, r.experiment_id, coalesce(n.value, r.run_name) AS run_name,
           s.value AS status, r.start_time,
           TRY_CAST(t.value AS BIGINT) AS end_time,
           coalesce(l.value, 'active') AS lifecycle_stage,
           r.parent_run_id, r.user_id, r.artifact_uri,
           greatest(s.timestamp, TRY_CAST(h.value AS BIGINT)) AS last_seen,
           CASE WHEN TRY_CAST(i.value AS DOUBLE) > 0 AND TRY_CAST(i.value AS DOUBLE) < 1e9
                THEN CAST(TRY_CAST(i.value AS DOUBLE) * 1000 AS BIGINT) END AS heartbeat_ms
    FROM {rows("runs")} r
    LEFT JOIN {FACTS} s ON s.entity_id = r.run_id
         AND s.kind = '{schema.EVENT_STATUS}' AND s.key = ''
    LEFT JOIN {FACTS} h ON h.entity_id = s.writer
         AND h.kind = '{schema.EVENT_HEARTBEAT}' AND h.key = ''
    LEFT JOIN {FACTS} i ON i.entity_id = s.writer
         AND i.kind = '{schema.EVENT_HEARTBEAT_INTERVAL}' AND i.key = ''
    LEFT JOIN {FACTS} t ON t.entity_id = r.run_id
         AND t.kind = '{schema.EVENT_END_TIME}' AND t.key = ''
    LEFT JOIN {FACTS} l ON l.entity_id = r.run_id
         AND l.kind = '{schema.EVENT_LIFECYCLE}' AND l.key = ''
    LEFT JOIN {FACTS} n ON n.entity_id = r.run_id
         AND n.kind = '{schema.EVENT_TAG}' AND n.key = '{schema.RUN_NAME_TAG}'
"""

# entity prefix -> (source of run_id/key/value rows, column type)
_SOURCES: Final = {
    "metrics": (f"SELECT run_id, key, value FROM {LATEST}", "DOUBLE"),
    "params": (f"SELECT run_id, key, value FROM {rows('params')}", "VARCHAR"),
    "tags": (
        (
            f"SELECT entity_id AS run_id, key, value FROM {FACTS} "
            f"WHERE kind = '{schema.EVENT_TAG}' AND value IS NOT NULL"
        ),
        "VARCHAR",
    ),
}


def key_name(prefix: str, key: str) -> str:
    """The name a key's column stands for: ``tags.team`` (prefix ``tags``, key ``team``)."""
    return f"{prefix}.{key}"


# Past this many changed runs, rebuilding every row is cheaper than a run-id filter.
_FULL_REBUILD: Final = 20_000


class WideRuns:
    """Maintains the wide run table in a catalog's DuckDB connection."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, columns: Sequence[tuple[str, str, str]] = ()
    ) -> None:
        """``columns``: (key name, physical column, SQL type) a snapshot's rows already use."""
        self.con = con
        con.execute(f"CREATE OR REPLACE TABLE {WIDE} AS {RESOLVED_RUNS} WHERE false")
        self.columns: dict[str, str] = {}  # "metrics.acc" -> SQL type
        self.physical: dict[str, str] = {}  # "metrics.acc" -> its column, "k0", "k1", ...
        for name, column, sql_type in columns:
            self._add(name, column, sql_type)
        self.added = False  # a column came since the last look: views over it are stale

    def described(self) -> list[tuple[str, str, str]]:
        """Every key column as (key name, physical column, SQL type), for a snapshot."""
        return [(n, self.physical[n], t) for n, t in self.columns.items()]

    def _add(self, name: str, column: str, sql_type: str) -> None:
        self.con.execute(f"ALTER TABLE {WIDE} ADD COLUMN {column} {sql_type}")
        self.columns[name] = sql_type
        self.physical[name] = column
        self.added = True

    def key_columns(self, prefix: str) -> list[str]:
        """Column names of one entity ("metrics", "params", "tags"), sorted."""
        return sorted(c for c in self.columns if c.startswith(prefix + "."))

    def update(self, run_ids: set[str], keys: Collection[str]) -> None:
        """Rebuild the rows of runs whose attributes, metrics, params or tags changed.

        ``keys``: the key columns (``tags.team``) the merged rows hold a value of, as
        the merges found them: those new here are added, with no look at the tables.
        """
        self._add_columns(keys)
        if not run_ids:
            return
        ids: list[str] | None = sorted(run_ids) if len(run_ids) <= _FULL_REBUILD else None
        scope = "" if ids is None else " WHERE run_id IN (SELECT unnest($ids))"
        params: dict[str, object] = {} if ids is None else {"ids": ids}
        pieces = []
        for prefix, (source, _type) in _SOURCES.items():
            names = self.key_columns(prefix)
            if not names:
                continue
            aggregates = ", ".join(
                f"any_value(value) FILTER (WHERE key = $k{prefix}{i}) AS {self.physical[n]}"
                for i, n in enumerate(names)
            )
            params.update({f"k{prefix}{i}": n.split(".", 1)[1] for i, n in enumerate(names)})
            pieces.append(
                f"LEFT JOIN (SELECT run_id, {aggregates} FROM ({source}){scope} "
                f"GROUP BY run_id) {prefix} USING (run_id)"
            )
        only = {"ids": ids} if ids is not None else {}
        self.con.execute(f"DELETE FROM {WIDE}{scope}", only)
        where = "" if ids is None else " WHERE r.run_id IN (SELECT unnest($ids))"
        self.con.execute(
            f"INSERT INTO {WIDE} BY NAME SELECT * FROM ({RESOLVED_RUNS}) r "
            f"{' '.join(pieces)}{where}",
            params,
        )

    def _add_columns(self, keys: Collection[str]) -> None:
        for name in sorted(set(keys).difference(self.columns)):
            _source, sql_type = _SOURCES[name.split(".", 1)[0]]
            self._add(name, f"k{len(self.physical)}", sql_type)

    def forget(self, run_ids: list[str]) -> None:
        """Drop the rows of purged runs."""
        self.con.execute(f"DELETE FROM {WIDE} WHERE list_contains(?, run_id)", [run_ids])
