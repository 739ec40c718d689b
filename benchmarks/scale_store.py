# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""Stores of 100,000 and 1,000,000 W3-shaped runs, made faster than the API can.

The API makes about a thousand runs a second, so a million would take a quarter of an
hour. This writes the same rows directly: one run is made through the public API as a
template, then every run ``i`` gets the template's rows in every table with its own id,
name, times and W3 values (``common.run_params(i)``, ``run_metrics(i)``,
``run_tags(i)``), written as ordinary segment files of 100,000 runs each, as writers
would have flushed them. :func:`check_same_as_api` makes a sample both ways and compares
what ``search_runs`` returns for it, column by column.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa

import canvasback as cb
import common as c
from canvasback.store import declarations, layout, open_store, schema

if TYPE_CHECKING:
    from pathlib import Path

EXPERIMENT = "w7"
CHUNK = 100_000
# Runs are a millisecond apart, so the newest-first order is the generator's order.
START_MS = 1_780_000_000_000


def _template(root: Path) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """One W3 run made through the API: its experiment id and its rows, per table."""
    cb.set_store(root)
    cb.set_experiment(EXPERIMENT)
    with cb.start_run(run_name=c.run_name(0)) as run:
        cb.log_params(c.run_params(0))
        cb.log_metrics(c.run_metrics(0))
        cb.set_tags(c.run_tags(0))
    cb.flush()
    rows: dict[str, list[dict[str, Any]]] = {}
    con = duckdb.connect()
    for table in ("runs", "params", "metrics", "events"):
        files = sorted(str(p) for p in (root / table).glob("exp=*/seg-*.parquet"))
        column = "entity_id" if table == "events" else "run_id"
        found = con.sql(
            f"SELECT *, exp FROM read_parquet(?, hive_partitioning = true, "
            f"hive_types = {{'exp': VARCHAR}}) WHERE {column} = ?",
            params=[files, run.run_id],
        ).to_arrow_table()
        rows[table] = found.to_pylist()
    con.close()
    return run.info.experiment_id, rows


def _columns(
    table: str, template: list[dict[str, Any]], runs: range, ids: list[str], shifts: np.ndarray
) -> pa.Table:
    """The template's rows of one table for every run of ``runs``, built column-wise."""
    k, n = len(template), len(runs)
    arrow_schema = declarations.table(table).arrow_schema()
    cols: dict[str, Any] = {}
    for field in arrow_schema:
        values = [row[field.name] for row in template]
        cols[field.name] = np.tile(np.array(values, dtype=object), n)
    id_column = "entity_id" if table == "events" else "run_id"
    cols[id_column] = np.repeat(np.array(ids, dtype=object), k)
    for name in ("timestamp", "start_time"):
        if name in cols:
            base = np.array([row[name] for row in template], dtype=np.int64)
            cols[name] = (base[None, :] + shifts[:, None]).ravel()
    if table == "runs":
        cols["run_name"] = np.array([c.run_name(i) for i in runs], dtype=object)
        cols["artifact_uri"] = np.array(
            [template[0]["artifact_uri"].replace(template[0]["run_id"], r) for r in ids],
            dtype=object,
        )
    elif table in ("params", "metrics"):
        source = c.run_params if table == "params" else c.run_metrics
        keys = [row["key"] for row in template]
        fallback = [row["value"] for row in template]
        cols["value"] = np.array(
            [v for i in runs for v in _values(source(i), keys, fallback)],
            dtype=object if table == "params" else np.float64,
        )
    elif table == "events":
        cols["value"] = np.array(_event_values(template, runs, shifts), dtype=object)
    return pa.table({f.name: pa.array(cols[f.name], type=f.type) for f in arrow_schema})


def _event_values(template: list[dict[str, Any]], runs: range, shifts: np.ndarray) -> list[Any]:
    values: list[Any] = []
    for j, i in enumerate(runs):
        tags = c.run_tags(i)
        for row in template:
            value = row["value"]
            if row["kind"] == schema.EVENT_TAG and row["key"] == "mlflow.runName":
                value = c.run_name(i)
            elif row["kind"] == schema.EVENT_TAG:
                value = tags.get(row["key"], value)
            elif row["kind"] == schema.EVENT_END_TIME:
                value = str(int(value) + int(shifts[j]))
            values.append(value)
    return values


def _values(source: dict[str, Any], keys: list[str], fallback: list[Any]) -> list[Any]:
    return [source.get(key, other) for key, other in zip(keys, fallback, strict=True)]


def build(root: Path | str, n_runs: int, *, first: int = 0) -> str:
    """Runs ``first..n_runs-1`` of W3 in ``root`` (made if need be); returns the experiment id.

    ``root`` is a folder or an ``s3://bucket/prefix`` store: the segments are written
    through the store's own file system, as its writer would.
    """
    os.environ["CANVASBACK_CAPTURE"] = "none"
    _experiment, template = _template(c.fresh_dir("canvasback-template"))
    base_start = template["runs"][0]["start_time"]
    cb.set_store(root)
    experiment_id = cb.set_experiment(EXPERIMENT).experiment_id  # its row, through the API
    cb.flush()
    fs = open_store(cb.get_store()).fs
    writer = f"bulk{os.getpid():x}"
    for seq, lo in enumerate(range(first, n_runs, CHUNK)):
        runs = range(lo, min(lo + CHUNK, n_runs))
        ids = [uuid.uuid4().hex for _ in runs]
        shifts = np.array([START_MS + i - base_start for i in runs], dtype=np.int64)
        for table, rows in template.items():
            data = _columns(table, rows, runs, ids, shifts)
            keys = [(k, "ascending") for k in declarations.table(table).sort]
            name = layout.segment_name(time.time_ns(), writer, seq)
            fs.write_parquet(
                f"{layout.partition_dir(table, experiment_id)}/{name}", data.sort_by(keys)
            )
    return experiment_id


_COMPARED = ["run_name", "status", "lifecycle_stage"]


def check_same_as_api(n_runs: int = 200) -> str:
    """Runs 0..n-1 made by :func:`build` and by the API: the same ``search_runs`` frames."""
    api_root = c.fresh_dir("canvasback-api-sample")
    os.environ["CANVASBACK_CAPTURE"] = "none"
    cb.set_store(api_root)
    cb.set_experiment(EXPERIMENT)
    for i in range(n_runs):
        with cb.start_run(run_name=c.run_name(i)):
            cb.log_params(c.run_params(i))
            cb.log_metrics(c.run_metrics(i))
            cb.set_tags(c.run_tags(i))
    made_root = c.fresh_dir("canvasback-bulk-sample")
    build(made_root, n_runs)
    frames = []
    for root in (api_root, made_root):
        cb.set_store(root)
        frame = cb.search_runs(experiment_names=[EXPERIMENT], max_results=n_runs)
        keys = sorted(k for k in frame.columns if k.startswith(("params.", "metrics.", "tags.")))
        frames.append(frame.sort_values("run_name")[_COMPARED + keys].reset_index(drop=True))
    api, made = frames
    if list(api.columns) != list(made.columns):
        return f"FAIL: columns differ: {sorted(set(api.columns) ^ set(made.columns))}"
    if not api.equals(made):
        diff = (api != made).any()
        return f"FAIL: values differ in {list(diff[diff].index)}"
    return "ok"
