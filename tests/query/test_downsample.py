"""Min/max-preserving downsampling of metric histories in DuckDB (query.downsample)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

import canvasback
from canvasback import charts
from canvasback.query import downsample as _history
from canvasback.tracking.entities import Metric

T0 = 1_700_000_000_000


def log_series(run_id, key, values, *, steps=None, t0=T0, dt=10):
    steps = range(len(values)) if steps is None else steps
    metrics = [
        Metric(key, float(v), t0 + int(s) * dt, int(s)) for s, v in zip(steps, values, strict=True)
    ]
    canvasback.client().log_batch(run_id, metrics)


def new_run(name="run"):
    run = canvasback.start_run(run_name=name)
    canvasback.end_run()
    return run.info.run_id


def catalog():
    return canvasback.client().store.read()


def series(table, run_id, key):
    rows = [r for r in table.to_pylist() if r["run_id"] == run_id and r["key"] == key]
    return [r["x"] for r in rows], [r["value"] for r in rows], rows


@pytest.fixture
def spiky(store):  # noqa: ARG001 - the fresh store is what it needs
    """One run, 100,000 noisy points of "loss" with a single spike up and one down."""
    rng = np.random.default_rng(7)
    values = 1.0 + rng.normal(0, 0.01, 100_000)
    values[61_803] = 25.0
    values[31_415] = -9.0
    run_id = new_run("spiky")
    log_series(run_id, "loss", values)
    return run_id, values


def test_a_single_spike_survives(spiky):
    run_id, values = spiky
    table = _history.downsample(catalog(), [run_id], ["loss"], max_points=400)
    xs, ys, _ = series(table, run_id, "loss")
    assert table.num_rows <= 400
    assert 25.0 in ys
    assert xs[ys.index(25.0)] == 61_803
    assert -9.0 in ys
    assert xs[ys.index(-9.0)] == 31_415
    assert max(ys) == values.max()
    assert min(ys) == values.min()


def test_endpoints_are_kept(spiky):
    run_id, values = spiky
    table = _history.downsample(catalog(), [run_id], ["loss"], max_points=256)
    xs, ys, _ = series(table, run_id, "loss")
    assert (xs[0], ys[0]) == (0.0, values[0])
    assert (xs[-1], ys[-1]) == (99_999.0, values[-1])
    assert xs == sorted(xs)


def test_each_bucket_keeps_first_last_min_max(spiky):
    run_id, values = spiky
    max_points = 400
    table = _history.downsample(catalog(), [run_id], ["loss"], max_points=max_points)
    xs, ys, rows = series(table, run_id, "loss")
    buckets = max_points // 4
    width = 99_999 / buckets
    for b in (0, 17, buckets - 1):
        lo, hi = math.ceil(b * width), math.ceil((b + 1) * width) if b < buckets - 1 else 100_000
        chunk = values[lo:hi]
        kept = {y for x, y in zip(xs, ys, strict=True) if lo <= x < hi}
        assert {chunk[0], chunk[-1], chunk.min(), chunk.max()} <= kept
    # Bucket sizes and means ride on each bucket's last row: together, every point once.
    assert _history.raw_point_count(table) == 100_000
    last = next(r for r in rows if r["n"] is not None)
    assert last["mean"] == pytest.approx(values[: last["n"]].mean())


@pytest.mark.usefixtures("store")
def test_point_count_is_bounded_for_many_series():
    ids = [new_run(f"r{i}") for i in range(3)]
    for i, run_id in enumerate(ids):
        for key in ("loss", "acc"):
            log_series(run_id, key, np.sin(np.arange(5_000) / (50 + i)))
    table = _history.downsample(catalog(), ids, ["loss", "acc"], max_points=200)
    counts = {}
    for row in table.to_pylist():
        counts[(row["run_id"], row["key"])] = counts.get((row["run_id"], row["key"]), 0) + 1
    assert len(counts) == 6
    assert all(0 < n <= 200 for n in counts.values()), counts
    assert table.column("run_id").type == pa.dictionary(pa.int32(), pa.string())


@pytest.mark.usefixtures("store")
def test_exact_when_under_max_points():
    run_id = new_run()
    values = [0.5, 0.25, float("nan"), 0.125, 3.0, -1.0, 0.0]
    log_series(run_id, "loss", values, steps=[0, 1, 2, 5, 6, 10, 11])
    table = _history.downsample(catalog(), [run_id], ["loss"], max_points=1000)
    xs, ys, rows = series(table, run_id, "loss")
    # Every finite point, as stored; NaN cannot be drawn and is left out.
    assert xs == [0, 1, 5, 6, 10, 11]
    assert ys == [0.5, 0.25, 0.125, 3.0, -1.0, 0.0]
    assert [r["n"] for r in rows] == [1] * 6
    history = canvasback.client().metric_history(run_id, "loss").to_pylist()
    finite = [r for r in history if math.isfinite(r["value"])]
    assert [r["value"] for r in finite] == ys


@pytest.mark.usefixtures("store")
def test_x_axes():
    run_id = new_run()
    log_series(run_id, "loss", [3.0, 2.0, 1.0], t0=T0 + 5_000, dt=1_500)
    log_series(run_id, "acc", [0.1], t0=T0, dt=1)
    cat = catalog()
    wall = _history.downsample(cat, [run_id], ["loss"], x="wall_time")
    assert wall.column("x").to_pylist() == [T0 + 5_000, T0 + 6_500, T0 + 8_000]
    # Relative to the run's first fetched point, in seconds.
    rel = _history.downsample(cat, [run_id], ["loss", "acc"], x="relative_time")
    _, _, rows = series(rel, run_id, "loss")
    assert [r["x"] for r in rows] == [5.0, 6.5, 8.0]
    with pytest.raises(ValueError, match="x must be one of"):
        _history.downsample(cat, [run_id], ["loss"], x="epoch")


def test_x_range_zooms_before_bucketing(spiky):
    run_id, _ = spiky
    table = _history.downsample(
        catalog(), [run_id], ["loss"], max_points=256, x_range=(61_000, 62_000)
    )
    xs, ys, _ = series(table, run_id, "loss")
    assert min(xs) >= 61_000
    assert max(xs) <= 62_000
    assert 25.0 in ys
    assert _history.raw_point_count(table) == 1_001


@pytest.mark.usefixtures("store")
def test_keys_and_ids_are_bound_parameters():
    run_id = new_run()
    log_series(run_id, "loss", [1.0, 2.0])
    hostile = "it's'); DROP TABLE _runs; --"
    table = _history.downsample(catalog(), [run_id, hostile], [hostile, "loss"])
    assert table.column("key").to_pylist() == ["loss", "loss"]
    assert canvasback.search_runs().shape[0] == 1  # the runs table is still there


@pytest.mark.usefixtures("store")
def test_nothing_to_fetch_gives_an_empty_table():
    cat = catalog()
    assert _history.downsample(cat, [], ["loss"]).num_rows == 0
    assert _history.downsample(cat, ["nope"], ["loss"]).num_rows == 0
    empty = _history.downsample(cat, ["nope"], [])
    assert empty.column_names == ["run_id", "key", "x", "value", "n", "mean"]
    with pytest.raises(ValueError, match="max_points"):
        _history.downsample(cat, ["nope"], ["loss"], max_points=10)


def test_same_result_after_compaction(spiky):
    run_id, _ = spiky
    other = new_run("other")
    log_series(other, "loss", np.linspace(1, 0, 3_000))
    before = _history.downsample(catalog(), [run_id, other], ["loss"], max_points=300)
    canvasback.compact(grace_seconds=0)
    after = _history.downsample(catalog(), [run_id, other], ["loss"], max_points=300)
    # Means may differ in the last bit: the sum runs in another order over other files.
    exact = ["run_id", "key", "x", "value", "n"]
    assert before.select(exact).to_pylist() == after.select(exact).to_pylist()
    assert after["mean"].to_pylist() == pytest.approx(before["mean"].to_pylist(), nan_ok=True)


def test_points_per_series_budget():
    assert _history.points_per_series(1, budget=24_000) == _history.DEFAULT_MAX_POINTS
    assert _history.points_per_series(100, budget=24_000) == 240
    assert _history.points_per_series(10_000, budget=24_000) == 64  # never below the floor
    assert _history.points_per_series(0, budget=10) == _history.DEFAULT_MAX_POINTS


def tensorboard_ema(values, weight):
    """TensorBoard's smoothing, transcribed from its front end."""
    last, out = 0.0, []
    for i, value in enumerate(values, start=1):
        last = last * weight + (1 - weight) * value
        out.append(last / (1 - weight**i))
    return out


def test_ema_matches_tensorboard():
    values = [1.0, 0.5, 0.8, 0.2, 0.3, 0.1]
    assert charts.ema(values, 0.6).tolist() == pytest.approx(tensorboard_ema(values, 0.6))
    assert charts.ema(values, 0.0).tolist() == values
    with pytest.raises(ValueError, match="smoothing"):
        charts.ema(values, 1.0)


def test_ema_over_buckets_matches_the_full_series():
    # Constant within buckets: a bucket's mean and size stand exactly for its points.
    full = np.repeat([4.0, 2.0, 3.0, 1.0], 25)
    means, counts = [4.0, 2.0, 3.0, 1.0], [25, 25, 25, 25]
    bucketed = charts.ema(means, 0.9, counts)
    reference = tensorboard_ema(full, 0.9)
    assert bucketed.tolist() == pytest.approx(
        [reference[24], reference[49], reference[74], reference[99]]
    )


@pytest.mark.slow
@pytest.mark.usefixtures("store")
def test_ten_runs_of_100k_points_stand_for_every_point():
    # How fast this is, is measured by benchmarks/bench_browser.py, not asserted here.
    rng = np.random.default_rng(1)
    ids = [new_run(f"r{i}") for i in range(10)]
    for run_id in ids:
        log_series(run_id, "loss", np.cumsum(rng.normal(0, 0.01, 100_000)))
    cat = catalog()
    table = _history.downsample(cat, ids, ["loss"], max_points=400)
    assert table.num_rows <= 4_000
    assert _history.raw_point_count(table) == 1_000_000
    assert set(table.column("run_id").to_pylist()) == set(ids)
