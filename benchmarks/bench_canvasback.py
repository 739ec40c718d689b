# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""canvasback's side of the workload (W1-W6), through its public, MLflow-named API.

``cb.end_run()`` returns at once and a background thread writes the files, so every
logging timer here stops only after ``cb.end_run()`` *and* ``cb.flush()``: the data
is on disk when the clock stops, as it is for MLflow's committed sqlite rows.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import canvasback as cb
import common as c

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

REPEATS = 5
W3_EXPERIMENT = "w3"
W4_POPULATE_BUDGET_S = 150.0  # untimed run creation for the 100k search, at most
W5_FETCHES = 5
# Off by default in canvasback (the page cache is the "on disk" of the main rows);
# the -fsync rows repeat W1-W3 with it on, the closest match to sqlite's commits.
FSYNC_ENV = "CANVASBACK_FSYNC"
# Every new run records its code and environment by default: W1, W3 and W6 run so, as a
# user gets them, and their -nocapture rows repeat them with capture off. W2, W4 and W5
# measure the store alone (capture off), as the peers record no code or environment.
CAPTURE_ENV = "CANVASBACK_CAPTURE"
# W1-sysmetrics reads the machine 500 times as often as the default (every 10 s), so
# that readings fall inside W1's loop (20,000 calls take tens of milliseconds).
SYSTEM_METRICS_INTERVAL_S = 0.02
SYSTEM_METRICS_KEY = "system/cpu_utilization_percentage"

EMPTY_RUN = """
import json, sys, time
t0 = time.perf_counter()
import canvasback as cb
t1 = time.perf_counter()
cb.set_store(sys.argv[1])
cb.set_experiment("w6")
cb.start_run()
cb.end_run()
cb.flush()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "run_s": t2 - t1}))
"""


@contextlib.contextmanager
def capture_default() -> Iterator[None]:
    """Capture as a user gets it (``CANVASBACK_CAPTURE`` unset), then off again."""
    os.environ.pop(CAPTURE_ENV, None)
    try:
        yield
    finally:
        os.environ[CAPTURE_ENV] = "none"


def w1(rec: c.Recorder, row_id: str, note: str = "") -> None:
    n = rec.sizes["w1_calls"]
    cb.set_experiment("w1")
    samples = []
    for _ in range(REPEATS):
        cb.start_run()
        with rec.timed() as sample:
            for i in range(n):
                key, value, step = c.w1_point(i)
                cb.log_metric(key, value, step=step)
            cb.end_run()
            cb.flush()
        samples.append(sample)
    rec.add(
        row_id,
        "log_metric µs/call incl. end_run + flush",
        "µs",
        samples,
        n,
        value=c.per_call_us(n),
        note=note,
    )


def system_points(run_id: str, since_ms: int = 0, until_ms: int | None = None) -> int:
    """The run's system points, or those logged between two times (ms since the epoch)."""
    stamps = cb.get_metric_history(run_id, SYSTEM_METRICS_KEY)["timestamp"]
    inside = stamps >= since_ms if until_ms is None else stamps.between(since_ms, until_ms)
    return int(inside.sum())


def w1_system_metrics(rec: c.Recorder) -> None:
    """W1 in runs started with log_system_metrics=True: the sampler thread beside the loop.

    Each run's first point is awaited before its timer starts (untimed), so the loop runs
    with the thread sampling; the points logged inside the timer are counted.
    """
    n = rec.sizes["w1_calls"]
    cb.set_experiment("w1-system-metrics")
    cb.set_system_metrics_sampling_interval(SYSTEM_METRICS_INTERVAL_S)
    samples: list[c.Sample] = []
    sampling: list[bool] = []  # whether the run's sampler had logged when its timer started
    inside: list[int] = []  # system points logged inside each timer
    for _ in range(REPEATS):
        run_id = cb.start_run(log_system_metrics=True).info.run_id
        deadline = time.monotonic() + 10
        while system_points(run_id) == 0 and time.monotonic() < deadline:
            time.sleep(SYSTEM_METRICS_INTERVAL_S)  # the next look at the store
        sampling.append(system_points(run_id) > 0)
        with rec.timed() as sample:
            started_ms = time.time_ns() // 1_000_000
            for i in range(n):
                key, value, step = c.w1_point(i)
                cb.log_metric(key, value, step=step)
            cb.end_run()
            cb.flush()
            ended_ms = time.time_ns() // 1_000_000
        samples.append(sample)
        inside.append(system_points(run_id, started_ms, ended_ms))
    cb.set_system_metrics_sampling_interval(None)
    check = "ok" if all(sampling) else "FAIL: a run's sampler logged no point in 10 s"
    rec.add(
        "W1-sysmetrics",
        "log_metric µs/call incl. end_run + flush, system metrics sampled",
        "µs",
        samples,
        n,
        value=c.per_call_us(n),
        check=check,
        note=f"log_system_metrics=True, a reading every {SYSTEM_METRICS_INTERVAL_S} s "
        f"(the default is 10 s); system points logged inside the timer per run: {inside}",
    )


def w2(rec: c.Recorder, store: Path, row_id: str, *, timed: bool, note: str = "") -> str:
    """Log W2's points through Client.log_batch; returns the first run's id for W5."""
    n = rec.sizes["w2_points"]
    client = cb.Client(store=store)
    cb.set_experiment("w2")
    samples, run_ids = [], []
    for _ in range(REPEATS if timed else 1):
        run_id = cb.start_run().info.run_id
        run_ids.append(run_id)
        with rec.timed() as sample:
            for lo in range(0, n, c.BATCH):
                ts = int(time.time() * 1000)
                batch = []
                for i in range(lo, min(lo + c.BATCH, n)):
                    key, value, step = c.w1_point(i)
                    batch.append(cb.Metric(key, value, ts, step))
                client.log_batch(run_id, metrics=batch)
            cb.end_run()
            cb.flush()
        samples.append(sample)
    if timed:
        rec.add(
            row_id,
            "log_batch points/s (1,000 per call) incl. end_run + flush",
            "points/s",
            samples,
            n,
            value=c.per_second(n),
            better="higher",
            note=note,
        )
    return run_ids[0]


def w2_history(rec: c.Recorder) -> None:
    """W2's points as two whole series through log_history, canvasback's columnar batch."""
    n = rec.sizes["w2_points"]
    cb.set_experiment("w2-history")
    samples = []
    for _ in range(REPEATS):
        cb.start_run()
        with rec.timed() as sample:
            series: dict[str, list[float]] = {"acc": [], "loss": []}
            for i in range(n):
                key, value, _step = c.w1_point(i)
                series[key].append(value)
            cb.log_history(series)
            cb.end_run()
            cb.flush()
        samples.append(sample)
    rec.add(
        "W2-history",
        "log_history points/s (2 series) incl. building the lists, end_run + flush",
        "points/s",
        samples,
        n,
        value=c.per_second(n),
        better="higher",
        note="canvasback's columnar batch call; the lists are built inside the timer",
    )


def make_runs(start: int, stop: int) -> None:
    for i in range(start, stop):
        cb.start_run(run_name=c.run_name(i))
        cb.log_params(c.run_params(i))
        cb.log_metrics(c.run_metrics(i))
        cb.set_tags(c.run_tags(i))
        cb.end_run()


def w3(rec: c.Recorder, row_id: str, *, timed: bool, note: str = "") -> None:
    n, chunk = rec.sizes["w3_runs"], rec.sizes["w3_chunk"]
    cb.set_experiment(W3_EXPERIMENT)
    samples = []
    for lo in range(0, n, chunk):
        with rec.timed() as sample:
            make_runs(lo, lo + chunk)
            cb.flush()
        samples.append(sample)
    if timed:
        rec.add(
            row_id,
            f"runs/s ({n:,} runs in chunks of {chunk}) incl. flush",
            "runs/s",
            samples,
            chunk,
            value=c.per_second(chunk),
            better="higher",
            note=note,
        )


def search() -> pd.DataFrame:
    return cb.search_runs(
        experiment_names=[W3_EXPERIMENT],
        filter_string=c.W4_FILTER,
        order_by=c.W4_ORDER,
        max_results=c.W4_TOP,
    )


def compact(rec: c.Recorder, label: str) -> None:
    t0 = time.perf_counter()
    # No grace period: this process is the only reader, and the benchmark wants the
    # merged layout now rather than after the default reader grace.
    report = cb.compact(grace_seconds=0)
    seconds = time.perf_counter() - t0
    rec.info[f"compact_{label}_s"] = seconds
    rec.info[f"compact_{label}_report"] = repr(report)
    print(f"compact after {label}: {seconds:.2f} s {report!r}", flush=True)


def populate(rec: c.Recorder, start: int, stop: int) -> float:
    """Create runs ``start..stop-1`` through the API (untimed for W4); returns runs/s."""
    cb.set_experiment(W3_EXPERIMENT)
    t0 = time.perf_counter()
    make_runs(start, stop)
    cb.flush()
    seconds = time.perf_counter() - t0
    rec.info[f"populate_{start}_{stop}_s"] = seconds
    return (stop - start) / seconds


def folded(rec: c.Recorder, row_id: str) -> None:
    """Say what the untimed first search of a row may have paid for (``after_runs``)."""
    rec.note(
        f"{row_id}: the untimed first search took {rec.info[f'{row_id}_warmup_s']:.2f} s "
        "(a reader holding as many new runs in memory as the snapshot under them folds "
        "them into the next snapshot, which the timed searches then read)"
    )


def w4_after_write(rec: c.Recorder, n: int) -> None:
    """W4 on a store just written to: each search follows a write, so none is answered again.

    The write (untimed) tags a run of another experiment: the answer stays the same, but
    the catalog has changed, so the search runs its queries (``query/answers.py``).
    """
    cb.set_experiment("w4-writes")
    run_id = cb.start_run().info.run_id
    cb.end_run()
    cb.set_experiment(W3_EXPERIMENT)
    client = cb.Client()
    samples, df = [], search()
    for i in range(c.W4_QUERIES):
        client.set_tag(run_id, "touched", str(i))
        cb.flush()
        with rec.timed() as sample:
            df = search()
        samples.append(sample)
    rec.add(
        "W4-1k-after-write",
        f"search_runs top 100 over {n:,} runs, each after a write (ms)",
        "ms",
        samples,
        1,
        value=c.millis,
        check=c.check_w4(list(df["params.seed"]), list(df["metrics.acc"]), n),
        note="each search follows a tag set on a run of another experiment (untimed): "
        "the store changed, so no answer is given again",
    )


def w4(rec: c.Recorder) -> None:
    n = rec.sizes["w3_runs"]
    c.time_search(rec, search, "W4-1k", n)
    w4_after_write(rec, n)
    compact(rec, "1k")
    c.time_search(rec, search, "W4-1k-compacted", n)
    if not rec.wants("W4-10k") and not rec.wants("W4-100k"):
        return
    rate = populate(rec, n, 10 * n)
    made = "made through the public API (start_run, log_params, log_metrics, set_tags, end_run)"
    rec.note(f"W4 runs {n:,}..{10 * n - 1:,} {made} at {rate:,.0f} runs/s, untimed")
    c.time_search(
        rec, search, "W4-10k", 10 * n, note="the 9 new chunks of runs are not compacted yet"
    )
    folded(rec, "W4-10k")
    compact(rec, "10k")
    c.time_search(rec, search, "W4-10k-compacted", 10 * n)
    if not rec.wants("W4-100k"):
        return
    # Scale the last size to what the populate budget allows, at the rate just measured.
    fits = int(rate * W4_POPULATE_BUDGET_S) // n * n
    top = min(100 * n, 10 * n + fits)
    if top < 100 * n:
        rec.note(
            f"W4-100k scaled to {top:,} runs: {100 * n - 10 * n:,} more runs at "
            f"{rate:,.0f} runs/s do not fit the {W4_POPULATE_BUDGET_S:.0f} s budget"
        )
    rate = populate(rec, 10 * n, top)
    rec.note(f"W4 runs {10 * n:,}..{top - 1:,} {made} at {rate:,.0f} runs/s, untimed")
    c.time_search(rec, search, "W4-100k", top, note="the new runs are not compacted yet")
    folded(rec, "W4-100k")
    compact(rec, "100k")
    c.time_search(rec, search, "W4-100k-compacted", top)


def w5(rec: c.Recorder, row_id: str, run_id: str) -> None:
    want = rec.sizes["w2_points"] // 2
    samples, got = [], 0
    for _ in range(W5_FETCHES):
        with rec.timed() as sample:
            got = len(cb.get_metric_history(run_id, "loss"))
        samples.append(sample)
    check = "ok" if got == want else f"FAIL: {got} points, expected {want}"
    rec.add(
        row_id,
        f"get_metric_history of {want:,} points, DataFrame (ms)",
        "ms",
        samples,
        want,
        value=c.millis,
        check=check,
    )


def fsync_rows(rec: c.Recorder) -> None:
    """W1-W3 again on a second store whose writer fsyncs every file it writes."""
    os.environ[FSYNC_ENV] = "1"
    store = c.fresh_dir("canvasback-fsync")
    cb.set_store(store)
    note = f"{FSYNC_ENV}=1 (every segment file fsynced), separate fresh store"
    if rec.wants("W1"):
        w1(rec, "W1-fsync", note)
    if rec.wants("W2"):
        w2(rec, store, "W2-fsync", timed=True, note=note)
    if rec.wants("W3"):
        w3(rec, "W3-fsync", timed=True, note=note)
    os.environ.pop(FSYNC_ENV)


def w3_capture(rec: c.Recorder) -> None:
    """W3 as a user gets it: git state, environment, packages and script copy per run."""
    n, chunk = rec.sizes["w3_runs"], rec.sizes["w3_chunk"]
    # A store of its own, opened without fsync (the -fsync rows' store keeps it on); W4
    # searches the -nocapture runs, shaped as the peers' are.
    cb.set_store(c.fresh_dir("canvasback-capture"))
    cb.set_experiment("w3-capture")
    samples = []
    with capture_default():
        for lo in range(0, n, chunk):
            with rec.timed() as sample:
                make_runs(lo, lo + chunk)
                cb.flush()
            samples.append(sample)
    rec.add(
        "W3",
        f"runs/s ({n:,} runs in chunks of {chunk}) incl. flush, capture on (the default)",
        "runs/s",
        samples,
        chunk,
        value=c.per_second(chunk),
        better="higher",
        note="separate fresh store; each run also names environment/requirements.txt and "
        "source/<script> (and source/diff.patch when the checkout is dirty), stored once "
        "per store as blobs",
    )


def variant_rows(rec: c.Recorder) -> None:
    """W1-W3 again with fsync on, and W3 with capture on (the default)."""
    if any(rec.wants(w) for w in ("W1", "W2", "W3")):
        fsync_rows(rec)
    if rec.wants("W3"):
        w3_capture(rec)


def per_call_rows(rec: c.Recorder) -> None:
    if rec.wants("W1"):
        with capture_default():
            w1(rec, "W1", "capture on (the default)")
        w1(rec, "W1-nocapture", "capture off")
    if rec.wants("W1-sysmetrics"):
        w1_system_metrics(rec)
    if rec.wants("W2"):
        w2_history(rec)


def workloads(rec: c.Recorder, store: Path) -> None:
    per_call_rows(rec)
    w2_run = ""
    if rec.wants("W2") or rec.wants("W5"):
        w2_run = w2(rec, store, "W2", timed=rec.wants("W2"))
    # W5 before W4: W4's compactions would otherwise merge the W2 run's files too.
    if rec.wants("W5"):
        w5(rec, "W5", w2_run)
    if rec.wants("W3") or rec.wants("W4"):
        w3(rec, "W3-nocapture", timed=rec.wants("W3"), note="capture off")
    if rec.wants("W4"):
        w4(rec)
    if rec.wants("W5"):
        if not rec.wants("W4"):
            compact(rec, "w5")
        w5(rec, "W5-compacted", w2_run)
    variant_rows(rec)
    if any(rec.wants(row) for row in ("M1", "M2", "M3", "M4")):
        from models_canvasback import models_rows  # noqa: PLC0415  # scikit-learn loads here

        models_rows(rec)
    if rec.wants("M5"):
        from models_canvasback import evaluation_rows  # noqa: PLC0415

        evaluation_rows(rec)
    if rec.wants("W6"):
        repeats = 3 if rec.quick else REPEATS
        with capture_default():
            c.cold_start(
                rec, lib="canvasback", empty_run_code=EMPTY_RUN, workdir=store, repeats=repeats
            )
        # CANVASBACK_CAPTURE=none again: the children inherit it.
        c.cold_start(
            rec,
            lib="canvasback",
            empty_run_code=EMPTY_RUN,
            workdir=store,
            repeats=repeats,
            suffix="-nocapture",
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    try:
        version = importlib.metadata.version("canvasback")
    except importlib.metadata.PackageNotFoundError:
        version = "src"  # imported from the working tree, not installed
    rec = c.Recorder("canvasback", version, quick=args.quick, only=only)
    os.environ.pop(FSYNC_ENV, None)
    os.environ[CAPTURE_ENV] = "none"

    store = c.fresh_dir("canvasback")
    os.chdir(store)  # same as the MLflow side: nothing depends on the repo's cwd
    rec.info["store"] = str(store)
    rec.info["disk"] = c.disk_latency(store)
    cb.set_store(store)

    t_all = time.perf_counter()
    workloads(rec, store)
    rec.write(args.out, total_s=time.perf_counter() - t_all)


if __name__ == "__main__":
    main()
