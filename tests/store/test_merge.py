"""Merging new files into the catalog: a file loaded twice changes nothing."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.store.test_snapshots import log_runs, read, state

import canvasback
from canvasback.store import Store, layout, schema
from canvasback.store.read.catalog import Catalog

if TYPE_CHECKING:
    from pathlib import Path

    from canvasback.store.schema import Table


def test_a_compacted_file_partly_in_the_snapshot_adds_only_the_rows_it_lacks(store):
    log_runs(3)
    canvasback.compact(grace_seconds=0)
    catalog = read(store)
    epoch = catalog.wide_epoch
    log_runs(2, start=3)
    # Compacted with the snapshot's files; the new runs' files stay for the grace period.
    canvasback.compact(grace_seconds=300, snapshot=False)
    catalog.refresh()
    # The snapshot's runs were not touched: no row of theirs was merged again.
    assert catalog.wide_epoch == epoch
    assert state(catalog) == state(read(store, use_snapshots=False))
    assert len(state(catalog)["runs"]) == 5


# The rules themselves, on hand-written segments: whatever order the files reach a
# reader in (one refresh, or one file per refresh either way round), the answer is one.

_WRITER_A = "aaaaaaaaaaaa"
_WRITER_B = "bbbbbbbbbbbb"


def _one_run(root: Path) -> tuple[str, str]:
    """A run logged through the API; returns (experiment_id, run_id)."""
    canvasback.set_store(root)
    with canvasback.start_run() as run:
        pass
    canvasback.flush()
    return run.info.experiment_id, run.info.run_id


def _write_segment(
    root: Path, table: Table, exp: str, rows: list[dict[str, object]], writer: str, seq: int
) -> None:
    folder = root / layout.partition_dir(table.name, exp)
    folder.mkdir(parents=True, exist_ok=True)
    name = layout.segment_name(time.time_ns(), writer, seq)
    pq.write_table(pa.Table.from_pylist(rows, schema=table.arrow_schema()), folder / name)


def _resolved(root: Path, files: list[tuple[Table, list[dict[str, object]]]], order: str, sql):
    """Write ``files`` (each its own segment) in ``order`` and return what a reader says."""
    exp, run_id = _one_run(root)
    rows = [(t, [{**r, str(t.run_column): run_id} for r in rs]) for t, rs in files]
    catalog = Catalog(Store(root).fs)
    catalog.refresh()
    sequence = list(range(len(rows))) if order != "reversed" else list(reversed(range(len(rows))))
    for seq, i in enumerate(sequence):
        table, these = rows[i]
        writer = _WRITER_A if i % 2 == 0 else _WRITER_B
        _write_segment(root, table, exp, these, writer, seq + 1)
        if order != "together":
            catalog.refresh()
    catalog.refresh()
    answer = catalog.rows(sql, [run_id])
    catalog.close()
    return answer


ORDERS = ("together", "in_order", "reversed")


@pytest.mark.parametrize("order", ORDERS)
def test_the_first_param_by_timestamp_wins_whatever_file_comes_first(tmp_path, order):
    files = [
        (schema.PARAMS, [{"key": "lr", "value": "0.2", "timestamp": 2_000}]),
        (schema.PARAMS, [{"key": "lr", "value": "0.1", "timestamp": 1_000}]),
        (schema.PARAMS, [{"key": "lr", "value": "0.3", "timestamp": 3_000}]),
    ]
    sql = "SELECT value FROM params WHERE run_id = ? AND key = 'lr'"
    assert _resolved(tmp_path / "s", files, order, sql) == [("0.1",)]


@pytest.mark.parametrize("order", ORDERS)
def test_two_params_of_one_timestamp_resolve_by_value(tmp_path, order):
    files = [
        (schema.PARAMS, [{"key": "lr", "value": "b", "timestamp": 1_000}]),
        (schema.PARAMS, [{"key": "lr", "value": "a", "timestamp": 1_000}]),
    ]
    sql = "SELECT value FROM params WHERE run_id = ? AND key = 'lr'"
    assert _resolved(tmp_path / "s", files, order, sql) == [("a",)]


def _points(*points: tuple[int, int, float]) -> list[dict[str, object]]:
    return [{"key": "loss", "step": s, "timestamp": t, "value": v} for s, t, v in points]


@pytest.mark.parametrize("order", ORDERS)
def test_the_latest_metric_is_the_greatest_step_then_timestamp_then_value(tmp_path, order):
    files = [
        # The greatest step wins over a later timestamp...
        (schema.METRICS, _points((5, 1_000, 0.5), (1, 9_000, 0.9))),
        # ...then, at one step, the later timestamp; then, at one time, the greater value.
        (schema.METRICS, _points((5, 2_000, 0.2), (3, 9_500, 0.95))),
        (schema.METRICS, _points((5, 2_000, 0.7), (5, 2_000, 0.1))),
    ]
    sql = "SELECT step, timestamp, value FROM latest_metrics WHERE run_id = ? AND key = 'loss'"
    assert _resolved(tmp_path / "s", files, order, sql) == [(5, 2_000, 0.7)]


@pytest.mark.parametrize("order", ORDERS)
def test_every_point_of_the_history_stays_whatever_the_latest(tmp_path, order):
    files = [
        (schema.METRICS, _points((2, 1_000, 0.5))),
        (schema.METRICS, _points((1, 2_000, 0.9), (2, 1_000, 0.4))),
    ]
    sql = "SELECT step, value FROM metrics WHERE run_id = ? AND key = 'loss' ORDER BY ALL"
    assert _resolved(tmp_path / "s", files, order, sql) == [(1, 0.9), (2, 0.4), (2, 0.5)]


def _tag(value: str | None, timestamp: int, writer: str, seq: int) -> dict[str, object]:
    return {
        "kind": schema.EVENT_TAG,
        "key": "stage",
        "value": value,
        "timestamp": timestamp,
        "writer": writer,
        "seq": seq,
    }


@pytest.mark.parametrize("order", ORDERS)
def test_the_latest_event_by_timestamp_writer_seq_is_the_fact(tmp_path, order):
    files = [
        (schema.EVENTS, [_tag("late", 3_000, _WRITER_A, 1)]),
        (schema.EVENTS, [_tag("early", 1_000, _WRITER_B, 9)]),
        # At one timestamp the greater writer wins, then the greater seq.
        (
            schema.EVENTS,
            [_tag("b-seq-1", 3_000, _WRITER_B, 1), _tag("b-seq-2", 3_000, _WRITER_B, 2)],
        ),
    ]
    sql = "SELECT value FROM tags WHERE run_id = ? AND key = 'stage'"
    assert _resolved(tmp_path / "s", files, order, sql) == [("b-seq-2",)]


@pytest.mark.parametrize("order", ORDERS)
def test_a_tag_deleted_by_the_latest_event_is_gone(tmp_path, order):
    files = [
        (schema.EVENTS, [_tag(None, 2_000, _WRITER_A, 1)]),
        (schema.EVENTS, [_tag("kept?", 1_000, _WRITER_B, 1)]),
    ]
    sql = "SELECT value FROM tags WHERE run_id = ? AND key = 'stage'"
    assert _resolved(tmp_path / "s", files, order, sql) == []
