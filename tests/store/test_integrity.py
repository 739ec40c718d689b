"""Corrupt segments: a reader quarantines a damaged file and reads everything else."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest
from tests.store.segment_files import data_files, run_ids, two_runs_two_files

import canvasback
from canvasback import CorruptSegmentWarning
from canvasback.store import layout

if TYPE_CHECKING:
    from pathlib import Path


def _assert_quarantined(store: Path, rel: str, record) -> None:
    assert rel in str(record[0].message)
    assert not (store / rel).exists()
    quarantined = list((store / layout.QUARANTINE_DIR).iterdir())
    assert len(quarantined) == 1
    assert quarantined[0].name.endswith(rel.replace("/", "__"))


def test_truncated_segment_is_quarantined(store, run_python):
    first, second = two_runs_two_files()
    metric_files = [rel for rel in data_files(store) if rel.startswith("metrics/")]
    assert len(metric_files) == 2
    victim = next(rel for rel in metric_files if first in run_ids(store / rel))
    data = (store / victim).read_bytes()
    (store / victim).write_bytes(data[: len(data) // 2])

    with pytest.warns(CorruptSegmentWarning) as record:
        frame = canvasback.search_runs()
    assert len(record) == 1
    _assert_quarantined(store, victim, record)
    assert set(frame["run_id"]) == {first, second}
    assert canvasback.get_metric_history(second, "m")["step"].tolist() == list(range(20))
    assert canvasback.get_metric_history(first, "m").empty
    assert canvasback.get_run(first).data.params == {"a": "1"}
    assert canvasback.get_run(second).data.params == {"b": "2"}
    # No second warning: the file is gone from the live set.
    assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(20,)]
    out = _fresh_counts(run_python, store)
    assert out == {"metrics": 20, "runs": 2, "params": 2}


def test_garbage_segment_is_quarantined(store, run_python):
    first, second = two_runs_two_files()
    rel = f"params/exp=0/{layout.segment_name(1, 'feedfacecafe', 0)}"
    (store / rel).write_bytes(b"this is not parquet at all" * 10)

    with pytest.warns(CorruptSegmentWarning) as record:
        assert canvasback.get_run(first).data.params == {"a": "1"}
    assert len(record) == 1
    _assert_quarantined(store, rel, record)
    assert canvasback.get_run(second).data.params == {"b": "2"}
    assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(40,)]
    assert _fresh_counts(run_python, store) == {"metrics": 40, "runs": 2, "params": 2}


def test_corrupt_file_seen_by_a_reader_that_loaded_earlier_files(store):
    first, _second = two_runs_two_files()
    assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(40,)]
    rel = f"metrics/exp=0/{layout.segment_name(2**62, 'feedfacecafe', 0)}"
    (store / rel).write_bytes(b"PAR1" + b"\x00" * 100 + b"PAR1")
    with pytest.warns(CorruptSegmentWarning, match=re.escape(rel)):
        assert canvasback.sql("SELECT count(*) FROM metrics").fetchall() == [(40,)]
    assert not (store / rel).exists()
    assert canvasback.get_metric_history(first, "m")["value"].tolist() == [
        float(s) for s in range(20)
    ]
    assert canvasback.search_runs(order_by=["metrics.m DESC"])["metrics.m"].tolist() == [19.0, 19.0]


def _fresh_counts(run_python, store: Path) -> dict[str, int]:
    result = run_python(
        """
        import json, sys, warnings
        import canvasback as cb

        warnings.simplefilter("error")
        cb.set_store(sys.argv[1])
        print(json.dumps({
            view: cb.sql(f"SELECT count(*) FROM {view}").fetchall()[0][0]
            for view in ("metrics", "runs", "params")
        }))
        """,
        store,
    )
    return json.loads(result.stdout)
