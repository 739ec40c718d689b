"""Aggregates over a run set (query/run_stats.py) on a real store: header summaries,
groups, one run's detail; and the round bin edges its histograms use."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canvasback.query import run_stats as stats
from canvasback.query.filter import parse_filter
from canvasback.query.run_set import RunSet, parse_column


@pytest.fixture
def runs(logged):
    run_set = RunSet(logged.store)
    run_set.refresh()
    run_set.load([logged.EXPERIMENT])
    run_set.rebuild(None, [])
    yield run_set
    run_set.close()


def kinds(*names: str) -> list[tuple[object, str]]:
    out = []
    for name in names:
        column = parse_column(name)
        kind = "histogram" if column.entity == "metric" or name == "start_time" else "top"
        out.append((column, kind))
    return out


def test_a_summary_per_column_over_the_filtered_runs(runs):
    summary = stats.summaries(runs, kinds("metrics.acc", "params.opt", "tags.team"))
    acc = summary["metrics.acc"]
    assert acc["kind"] == "histogram"
    assert (acc["min"], acc["max"], acc["missing"]) == (0.55, 0.91, 1)  # run-d's NaN
    assert sum(acc["counts"]) == 3
    assert acc["edges"][0] <= acc["min"]
    assert acc["max"] < acc["edges"][-1]
    assert summary["params.opt"] == {
        "kind": "top",
        "values": [{"value": "adam", "count": 3}, {"value": "sgd", "count": 1}],
        "distinct": 2,
        "total": 4,
    }
    assert summary["tags.team"]["values"] == [  # the most first, a missing value last
        {"value": "vision", "count": 2},
        {"value": "nlp", "count": 1},
        {"value": None, "count": 1},
    ]
    runs.rebuild(parse_filter("params.opt = 'sgd'"), [])
    assert stats.summaries(runs, kinds("params.opt"))["params.opt"]["total"] == 1


def test_a_numeric_param_with_few_values_is_summarised_by_its_values(runs):
    column = parse_column("params.lr")
    summary = stats.summaries(runs, [(column, "histogram")])["params.lr"]
    assert summary["kind"] == "top"  # four values: fewer than FEW_VALUES
    assert summary["distinct"] == 4


def test_a_bar_counts_the_runs_its_filter_clause_selects(runs):
    (column, kind) = kinds("start_time")[0]
    histogram = stats.summaries(runs, [(column, kind)])["start_time"]
    for i, count in enumerate(histogram["counts"]):
        lo, hi = histogram["edges"][i], histogram["edges"][i + 1]
        expr = parse_filter(f"start_time >= {lo!r} and start_time < {hi!r}")
        assert runs.rebuild(expr, []) == count


def test_nothing_to_summarise_for_run_ids_and_names():
    assert stats.summary_kind(parse_column("run_id"), "text") == "none"
    assert stats.summary_kind(parse_column("run_name"), "text") == "none"
    assert stats.summary_kind(parse_column("end_time"), "time") == "histogram"
    assert stats.summary_kind(parse_column("tags.team"), "text") == "top"


def test_groups_count_runs_and_summarise_metrics(runs):
    table, count = stats.groups(
        runs, parse_column("params.opt"), [parse_column("metrics.acc"), parse_column("metrics.x")]
    )
    assert count == 2
    rows = table.to_pylist()
    assert [(r["group"], r["runs"]) for r in rows] == [("adam", 3), ("sgd", 1)]
    adam = rows[0]
    assert adam["metrics.acc:min"] == pytest.approx(0.55)
    assert adam["metrics.acc:mean"] == pytest.approx((0.91 + 0.55) / 2)  # NaN skipped
    assert adam["metrics.acc:max"] == pytest.approx(0.91)
    assert adam["metrics.x:mean"] is None  # no run has it
    table, count = stats.groups(runs, parse_column("status"), [], limit=1)
    assert (count, table.num_rows, table.column("group")[0].as_py()) == (3, 1, "FINISHED")


def test_a_run_s_detail(runs, logged):
    detail, histories = stats.run_detail(runs, "run-a")
    assert {k: detail[k] for k in ("run_id", "run_name", "status", "experiment_name")} == {
        "run_id": "run-a",
        "run_name": "alpha",
        "status": "FINISHED",
        "experiment_name": "queries",
    }
    assert (detail["start_time"], detail["end_time"]) == (logged.T0, logged.T0 + 500)
    assert detail["params"] == [{"key": "lr", "value": "0.1"}, {"key": "opt", "value": "adam"}]
    assert {"key": "team", "value": "vision"} in detail["tags"]
    assert detail["metrics"] == [
        {"key": "acc", "value": 0.91, "step": 2},
        {"key": "loss", "value": 0.4, "step": 1},
    ]
    assert [(d["name"], d["context"], d["digest"]) for d in detail["datasets"]] == [
        ("digits", "train", "d1g35t")
    ]
    assert histories.to_pydict() == {
        "key": ["acc", "acc", "acc", "loss", "loss"],
        "step": [0, 1, 2, 0, 1],
        "value": [0.5, 0.7, 0.91, 0.9, 0.4],
    }
    nan_detail, _ = stats.run_detail(runs, "run-d")
    assert nan_detail["metrics"] == [{"key": "acc", "value": "NaN", "step": 1}]
    with pytest.raises(LookupError, match="'nope' is not in the store"):
        stats.run_detail(runs, "nope")


def test_json_numbers():
    assert [stats.json_number(v) for v in (1.5, None, math.nan, math.inf, -math.inf)] == [
        1.5,
        None,
        "NaN",
        "Infinity",
        "-Infinity",
    ]


def test_nice_edges():
    assert stats.nice_edges(0.067, 0.999) == pytest.approx([0.05 * i for i in range(1, 21)])
    assert stats.nice_edges(3.0, 3.0) == [3.0, 3.5]
    assert stats.nice_edges(0.0, 0.0) == [0.0, 1.0]
    edges = stats.nice_edges(1_750_000_000_000, 1_750_099_999_000)
    assert edges[0] == 1_750_000_000_000
    assert edges[-1] > 1_750_099_999_000
    assert len(edges) <= stats.HISTOGRAM_BINS + 2
    # Millisecond timestamps a few ms apart keep distinct edges.
    assert stats.nice_edges(1_795_764_459_953, 1_795_764_459_958) == [
        1_795_764_459_952 + 2 * i for i in range(5)
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-1e13, 1e13, allow_nan=False, allow_infinity=False),
    st.floats(0, 1e13, allow_nan=False, allow_infinity=False),
)
def test_nice_edges_cover_the_range_in_increasing_order(lo, span):
    hi = lo + span
    edges = stats.nice_edges(lo, hi)
    assert edges[0] <= lo
    assert edges[-1] > hi
    assert all(a < b for a, b in itertools.pairwise(edges))
    assert len(edges) <= stats.HISTOGRAM_BINS + 4
