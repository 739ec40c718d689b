"""Shared helpers for the store's tests: segment files on disk, the views' content, a
fresh reader, and stores filled with runs flushed apart."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

import canvasback
from canvasback.store import Store, declarations

if TYPE_CHECKING:
    from pathlib import Path

SEGMENT = re.compile(
    r"^(?P<table>experiments|runs|params|metrics|events|artifacts)/exp=(?P<exp>[^/]+)/"
    r"(?P<kind>seg|cmp)-\d{20}-[0-9a-f]{12}-\d{8}\.parquet$"
)

VIEW_QUERIES = {
    "experiments": "SELECT experiment_id, name, lifecycle_stage FROM experiments",
    "runs": "SELECT run_id, experiment_id, run_name, status, start_time, end_time, "
    "lifecycle_stage, parent_run_id FROM runs",
    "params": "SELECT run_id, key, value FROM params",
    "tags": "SELECT run_id, key, value FROM tags",
    "metrics": "SELECT experiment_id, run_id, key, step, timestamp, value FROM metrics",
    "latest_metrics": "SELECT run_id, key, step, timestamp, value FROM latest_metrics",
    "artifacts": "SELECT run_id, path, size FROM artifacts",
}


def data_files(root: Path) -> list[str]:
    """Store-relative paths of every segment file (run artifacts excluded)."""
    out = []
    for table in declarations.table_names():
        base = root / table
        if base.is_dir():
            out.extend(
                p.relative_to(root).as_posix()
                for p in base.glob("exp=*/*.parquet")
                if not p.name.startswith(".")
            )
    return sorted(out)


def raw_rows(root: Path) -> dict[str, Counter]:
    """Every row of every segment file on disk, per table, as a multiset."""
    rows: dict[str, Counter] = {t: Counter() for t in declarations.table_names()}
    for rel in data_files(root):
        table = rel.split("/", 1)[0]
        exp = rel.split("/")[1]
        for row in pq.read_table(root / rel).to_pylist():
            rows[table][(exp, *sorted(row.items()))] += 1
    return rows


def fresh_reader(root: Path):
    """``sql`` of a new Store object: a reader that shares nothing with this process's."""
    con = Store(root).read().con

    def sql(query: str, params: list | None = None):
        return con.sql(query, params=params)

    return sql


def snapshot(query) -> dict[str, list[tuple]]:
    """The content of every view, sorted (NaN-free data only)."""
    return {
        name: sorted(query(sql).fetchall(), key=lambda r: tuple(map(str, r)))
        for name, sql in VIEW_QUERIES.items()
    }


def fill(runs: int = 6, steps: int = 30, experiment: str = "fill") -> list[str]:
    """Log several runs, flushing after each so that every table gets many files."""
    ids = []
    canvasback.set_experiment(experiment)
    for i in range(runs):
        with canvasback.start_run(run_name=f"run-{i}", params={"i": i}, tags={"n": str(i)}) as r:
            for step in range(steps):
                canvasback.log_metric("loss", 1.0 / (step + 1) + i, step=step)
                canvasback.log_metric("acc", step / steps, step=step)
            canvasback.log_text(f"text {i}", f"notes/{i}.txt")
            canvasback.set_tag("phase", "done")
        canvasback.flush()
        ids.append(r.run_id)
    return ids


def two_runs_two_files() -> tuple[str, str]:
    """Two runs with a metric history each, flushed apart: two files in each table they touch."""
    with canvasback.start_run(run_name="first", params={"a": 1}) as first:
        for step in range(20):
            canvasback.log_metric("m", float(step), step=step)
    canvasback.flush()
    with canvasback.start_run(run_name="second", params={"b": 2}) as second:
        for step in range(20):
            canvasback.log_metric("m", float(step), step=step)
    canvasback.flush()
    return first.run_id, second.run_id


def run_ids(path: Path) -> set[str]:
    """The run ids in one segment file."""
    return set(pq.read_table(path, columns=["run_id"])["run_id"].to_pylist())
