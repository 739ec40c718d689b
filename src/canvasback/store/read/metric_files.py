"""Metric histories stay in their segment files: which files hold a run, and a view of all.

The catalog merges only the latest value of each metric into memory; every point of a
history is read from the Parquet files where it lies. A run's rows lie in its
experiment's partition alone, so a one-run history opens only that partition's files;
of those, only the ones whose range of run ids (kept from their footer statistics)
holds the run. A compacted file holds every run of its experiment, so its range
spans nearly all of them: the partition is what keeps other experiments' compacted
files out. :class:`MetricFiles` also makes the ``metrics`` view over every file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback.store import layout, schema
from canvasback.store.read.catalog_tables import EMPTY_METRICS, PARQUET_ARGS, sql_list

if TYPE_CHECKING:
    from collections.abc import Collection

    import duckdb

    from canvasback.store.fs import FileSystem


class MetricFiles:
    """The metric segment files a catalog reads histories from."""

    def __init__(self, fs: FileSystem, con: duckdb.DuckDBPyConnection) -> None:
        self.fs = fs
        self.con = con
        self._ranges: dict[str, tuple[str, str]] = {}  # rel -> (min run_id, max run_id)

    def forget(self, rel: str) -> None:
        """A file replaced or removed: it holds no run any more."""
        self._ranges.pop(rel, None)

    def paths_for_run(
        self, run_id: str, live: Collection[str], experiment_id: str | None = None
    ) -> list[str]:
        """Local paths of the files (of the ``live`` ones) that may hold rows of one run.

        ``experiment_id``: the run's experiment, whose partition alone holds its rows
        (None: the run's experiment is not known, and every partition may).
        """
        if experiment_id is not None:
            partition = layout.partition_dir(schema.METRICS.name, experiment_id) + "/"
            live = [rel for rel in live if rel.startswith(partition)]
        self._record_ranges([r for r in live if r not in self._ranges])
        ranges = self._ranges
        held = [rel for rel in live if ranges[rel][0] <= run_id <= ranges[rel][1]]
        return self.fs.local_paths(sorted(held))

    def source_for_run(
        self, run_id: str, live: Collection[str], experiment_id: str | None = None
    ) -> str | None:
        """A read_parquet() source over the files that may hold a run's metric rows."""
        paths = self.paths_for_run(run_id, live, experiment_id)
        if not paths:
            return None
        return f"read_parquet({sql_list(paths)}, {PARQUET_ARGS})"

    def _record_ranges(self, rels: list[str]) -> None:
        # Footer statistics only: lets a one-run history open just the files that hold it.
        if not rels:
            return
        paths = self.fs.local_paths(rels)
        ranges = self.con.execute(
            "SELECT file_name, min(stats_min_value), max(stats_max_value) "
            "FROM parquet_metadata(?) WHERE path_in_schema = 'run_id' GROUP BY file_name",
            [paths],
        ).fetchall()
        by_path = dict(zip(paths, rels, strict=True))
        for file_name, lo, hi in ranges:
            self._ranges[by_path[file_name]] = (lo or "", hi or "\uffff")
        for rel in rels:  # an empty file has no row groups, hence no statistics
            self._ranges.setdefault(rel, ("", "\uffff"))

    def create_view(self, live: list[str]) -> list[str]:
        """(Re)create the ``metrics`` view over these files.

        Returns the files deleted since they were listed (compacted with a grace period
        of 0), for the caller to list again; none if the view was made.
        """
        import duckdb  # noqa: PLC0415  # loaded with the catalog

        body = EMPTY_METRICS
        if live:
            body = (
                "SELECT exp AS experiment_id, run_id, key, step, timestamp, value "
                f"FROM read_parquet({sql_list(self.fs.local_paths(live))}, "
                f"{PARQUET_ARGS})"
            )
        try:
            self.con.execute(f"CREATE OR REPLACE VIEW metrics AS {body}")
        except duckdb.IOException:
            gone = [r for r in live if not self.fs.exists(r)]
            if not gone:
                raise
            return gone
        return []
