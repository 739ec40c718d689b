"""A run's metric history across segments and compacted files: which files, what order.

A compacted file holds every run of its experiment, so its range of run ids spans
nearly all of them; a history still reads its own experiment's files alone, and comes
back by step then time whatever order the files hold the points in.
"""

from __future__ import annotations

import logging
import re

import pyarrow.parquet as pq

import canvasback
from canvasback.query.downsample import downsample
from canvasback.store import schema
from canvasback.store.read.cursors import STATEMENTS

T0 = 1_750_000_000_000
MINE, OTHER = "1", "2"


def log_points(client: canvasback.Client, run_id: str, points: list[tuple[int, int]]) -> None:
    """Log ``loss`` at (step, time offset) in this order, then flush: one file of them."""
    for step, offset in points:
        client.log_metric(run_id, "loss", float(step * 100 + offset), T0 + offset, step)
    client.store.flush()


def files_read(caplog, read) -> list[str]:
    """The store-relative metric files that ``read()`` queried."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=STATEMENTS.name):
        read()
    said = " ".join(repr(r.args) for r in caplog.records if r.name == STATEMENTS.name)
    return sorted(set(re.findall(r"(metrics/exp=[^/']+/[^/']+\.parquet)", said)))


def test_a_history_reads_its_own_experiments_files_alone(store, caplog):
    client = canvasback.Client(store)
    client.create_experiment("mine", experiment_id=MINE)
    client.create_experiment("other", experiment_id=OTHER)
    # Ids chosen so that the other experiment's files span this run's id.
    for run_id, experiment in (("run-m", MINE), ("run-a", OTHER), ("run-z", OTHER)):
        client.create_run(experiment, run_id=run_id, start_time=T0)
        log_points(client, run_id, [(0, 0)])
        log_points(client, run_id, [(1, 10)])  # two files: each partition is compacted
    client.compact(grace_seconds=0)
    log_points(client, "run-m", [(2, 20)])  # a segment beside the compacted file

    read = files_read(caplog, lambda: client.metric_history("run-m", "loss"))
    assert read, "the history's statement names its files"
    assert all(rel.startswith(f"metrics/exp={MINE}/") for rel in read), read
    assert {rel.rsplit("/", 1)[1][:4] for rel in read} == {"cmp-", "seg-"}
    assert client.metric_history("run-m", "loss")["step"].to_pylist() == [0, 1, 2]
    assert client.metric_history("run-a", "loss")["step"].to_pylist() == [0, 1]

    # Charts' downsampled histories, of runs of both experiments, read the same way.
    catalog = client.store.read()
    assert files_read(caplog, lambda: downsample(catalog, ["run-m"], ["loss"])) == read
    both = files_read(caplog, lambda: downsample(catalog, ["run-m", "run-z"], ["loss"]))
    assert {rel.split("/")[1] for rel in both} == {f"exp={MINE}", f"exp={OTHER}"}
    points = downsample(catalog, ["run-m", "run-z"], ["loss"]).to_pydict()
    assert list(zip(points["run_id"], points["x"], strict=True)) == [
        ("run-m", 0),
        ("run-m", 1),
        ("run-m", 2),
        ("run-z", 0),
        ("run-z", 1),
    ]


def test_a_history_is_the_same_before_and_after_compaction_in_step_order(store):
    client = canvasback.Client(store)
    client.create_experiment("mine", experiment_id=MINE)
    client.create_run(MINE, run_id="run-m", start_time=T0)
    client.create_run(MINE, run_id="run-n", start_time=T0)
    # Logged out of order, within a file and across files; step 3 twice, at two times.
    log_points(client, "run-m", [(5, 50), (3, 31), (4, 40), (3, 30)])
    log_points(client, "run-n", [(0, 0)])
    log_points(client, "run-m", [(2, 20), (6, 60)])
    expected = {
        "step": [2, 3, 3, 4, 5, 6],
        "timestamp": [T0 + o for o in (20, 30, 31, 40, 50, 60)],
        "value": [220.0, 330.0, 331.0, 440.0, 550.0, 660.0],
    }
    assert client.metric_history("run-m", "loss").to_pydict() == expected

    client.compact(grace_seconds=0)
    assert client.metric_history("run-m", "loss").to_pydict() == expected

    # New points after the compacted file, earlier in steps than the ones it holds.
    log_points(client, "run-m", [(1, 10), (0, 0)])
    history = client.metric_history("run-m", "loss").to_pydict()
    assert history["step"] == [0, 1, *expected["step"]]
    assert history["timestamp"] == [T0, T0 + 10, *expected["timestamp"]]
    assert client.metric_history("run-n", "loss")["step"].to_pylist() == [0]
    points = client.metric_points("run-m").to_pydict()
    assert points["step"] == history["step"]
    assert points["key"] == ["loss"] * 8


def test_a_compacted_metrics_file_has_small_sorted_row_groups_a_history_can_skip(store):
    client = canvasback.Client(store)
    client.create_experiment("mine", experiment_id=MINE)
    steps = 3 * schema.METRICS.compacted_row_group // 2
    for run_id in ("run-a", "run-m", "run-z"):
        run = client.create_run(MINE, run_id=run_id, start_time=T0)
        run.log_history({"loss": [float(s) for s in range(steps)]})
        client.store.flush()
    client.compact(grace_seconds=0)

    (compacted,) = (store / f"metrics/exp={MINE}").glob("cmp-*.parquet")
    meta = pq.ParquetFile(compacted).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(sizes) == 3 * steps
    assert len(sizes) > 1
    assert max(sizes) <= schema.METRICS.compacted_row_group < 131_072
    # Sorted by run, then step: each row group's run ids are one run or two neighbours.
    rows = pq.read_table(compacted).select(["run_id", "step"]).to_pylist()
    assert rows == sorted(rows, key=lambda r: (r["run_id"], r["step"]))
    run_column = meta.schema.names.index("run_id")
    spans = [
        (
            meta.row_group(i).column(run_column).statistics.min,
            meta.row_group(i).column(run_column).statistics.max,
        )
        for i in range(meta.num_row_groups)
    ]
    assert sum(lo <= "run-m" <= hi for lo, hi in spans) < meta.num_row_groups - 1
    history = client.metric_history("run-m", "loss")
    assert history["step"].to_pylist() == list(range(steps))
