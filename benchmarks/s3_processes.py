# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""The parts of ``bench_s3.py`` timed in new processes: W7's first searches and the writers.

Each child is this interpreter running a script that says ``ready`` once set up, then
does one step per ``go`` line on its stdin and answers with a JSON line: the parent
reads the server's counters between steps, so each figure's traffic is the step's.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bench_canvasback as bc
import canvasback as cb
import common as c
import scale_store

if TYPE_CHECKING:
    from collections.abc import Iterator

    from s3_meter import Meter
    from seaweed_server import Traffic

HERE = Path(__file__).resolve().parent
WARM_QUERIES = 5
CHILD_TIMEOUT_S = 600.0


# ---------------------------------------------------------------- W7, new processes

SEARCH_CHILD = """
import importlib.util, json, sys, time
from pathlib import Path
import canvasback as cb, duckdb, numpy, pandas, pyarrow, pyarrow.compute, pyarrow.ipc
store, experiment, filter_string, order, warm, helper = sys.argv[1:7]
spec = importlib.util.spec_from_file_location("s3_requests", helper)
s3_requests = importlib.util.module_from_spec(spec)
sys.modules["s3_requests"] = s3_requests
spec.loader.exec_module(s3_requests)
def search():
    return cb.search_runs(experiment_names=[experiment], filter_string=filter_string,
                          order_by=[order], max_results=100)
print("ready", flush=True)
sys.stdin.readline()
t0 = time.perf_counter()
cb.set_store(store)
frame = search()
first = time.perf_counter() - t0
print(json.dumps({"first_s": first, "seeds": [str(s) for s in frame["params.seed"]],
                  "accs": [float(a) for a in frame["metrics.acc"]]}), flush=True)
sys.stdin.readline()
times, trips = [], []
for _ in range(int(warm)):
    with s3_requests.Requests() as requests:
        s = time.perf_counter()
        search()
        times.append(time.perf_counter() - s)
    trips.append(s3_requests.in_a_row(requests.log))
print(json.dumps({"warm_s": times, "in_a_row": trips}), flush=True)
"""
# This process's requests to object storage, timed (the tests' helper): a warm search's
# round trips one after another are counted with it.
REQUESTS_HELPER = HERE.parent / "tests" / "store" / "s3_requests.py"


class Child:
    """A child of this interpreter that says ``ready`` once set up, then acts on each ``go``."""

    def __init__(self, code: str, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            env={**os.environ, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def line(self) -> str:
        assert self.proc.stdout is not None  # noqa: S101  # a pipe, above
        got = self.proc.stdout.readline()
        if not got:
            self.proc.wait(timeout=CHILD_TIMEOUT_S)
            msg = f"a child exited ({self.proc.returncode}) before answering; its stderr is above"
            raise RuntimeError(msg)
        return got.rstrip("\n")

    def expect(self, word: str) -> None:
        got = self.line()
        if got != word:
            msg = f"a child said {got!r} where {word!r} was due"
            raise RuntimeError(msg)

    def go(self) -> None:
        assert self.proc.stdin is not None  # noqa: S101  # a pipe, above
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def answer(self) -> dict[str, Any]:
        self.go()
        out: dict[str, Any] = json.loads(self.line())
        return out

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        if self.proc.wait(timeout=CHILD_TIMEOUT_S):
            msg = f"a child failed ({self.proc.returncode}); its stderr is above"
            raise RuntimeError(msg)

    def kill(self) -> None:
        """Stop it if it still runs (this run failed: its stores are about to go)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def killed_on_error(children: list[Child]) -> Iterator[None]:
    try:
        yield
    except BaseException:
        for child in children:
            child.kill()
        raise


def child_search(
    rec: c.Recorder, meter: Meter | None, store: str, n_runs: int, cache: Path | None
) -> tuple[c.Sample, list[c.Sample], str, dict[str, Any]]:
    """One new process: its first search (timed inside it) and its warm searches."""
    env = {} if cache is None else {"XDG_CACHE_HOME": str(cache)}
    args = [
        store,
        scale_store.EXPERIMENT,
        c.W4_FILTER,
        c.W4_ORDER[0],
        str(WARM_QUERIES),
        str(REQUESTS_HELPER),
    ]
    traffic: dict[str, Any] = {}
    with rec.timed() as outer:
        child = Child(SEARCH_CHILD, args, env)
        with killed_on_error([child]):
            child.expect("ready")
            before = meter.now() if meter else None
            first = child.answer()
            after_first = meter.now() if meter else None
            warm = child.answer()
            if meter:
                traffic = {"first": after_first - before, "warm": meter.now() - after_first}
            traffic["in_a_row"] = warm["in_a_row"]
            child.close()
    check = c.check_w4(first["seeds"], first["accs"], n_runs)

    def inner(seconds: float) -> c.Sample:
        return c.Sample(seconds, outer.busy_share, outer.wait_s, outer.calib_ms)

    return inner(first["first_s"]), [inner(s) for s in warm["warm_s"]], check, traffic


def w7(rec: c.Recorder, meter: Meter, stores: dict[str, str], repeats: int, n_runs: int) -> None:
    for kind, store in stores.items():
        t0 = time.perf_counter()
        scale_store.build(store, n_runs)
        rec.info[f"w7_build_{kind}_s"] = time.perf_counter() - t0
        bc.compact(rec, f"w7-{kind}")
    rec.note(
        f"W7: {n_runs:,} W3 runs per store, written by scale_store.build through each store's "
        "own file system (S3: uploads), then compact() on that store (S3: through the server)"
    )
    firsts: dict[str, list[c.Sample]] = {"local": [], "empty": [], "warm": []}
    warms: dict[str, list[c.Sample]] = {"local": [], "s3": []}
    checks: set[str] = set()
    traffic: dict[str, list[Traffic]] = {"empty": [], "warm": [], "warm_search": []}
    in_a_row: dict[str, list[int]] = {"local": [], "s3": []}
    for _ in range(repeats):
        first, warm, check, got = child_search(rec, None, stores["local"], n_runs, None)
        in_a_row["local"] += got["in_a_row"]
        firsts["local"].append(first)
        warms["local"] += warm
        checks.add(check)
        cache = c.fresh_dir("canvasback-s3-cache")
        for state in ("empty", "warm"):  # the same cache folder: filled by the first child
            first, warm, check, got = child_search(rec, meter, stores["s3"], n_runs, cache)
            firsts[state].append(first)
            traffic[state].append(got["first"])
            if state == "warm":
                warms["s3"] += warm
                traffic["warm_search"].append(got["warm"])
                in_a_row["s3"] += got["in_a_row"]
            checks.add(check)
    check = "ok" if checks == {"ok"} else "; ".join(sorted(checks))
    what = f"{n_runs:,} runs (ms)"
    for row_id, samples, label in (
        ("W7-first-empty-local", firsts["local"], "first search, new process"),
        ("W7-first-warm-local", firsts["local"], "first search, new process"),
        ("W7-first-empty-s3", firsts["empty"], "first search, new process, empty cache"),
        ("W7-first-warm-s3", firsts["warm"], "first search, new process, the machine's cache"),
        ("W4-warm-local", warms["local"], "warm search"),
        ("W4-warm-s3", warms["s3"], "warm search"),
    ):
        rec.add(row_id, f"{label}, {what}", "ms", samples, 1, value=c.millis, check=check)
    for row_id, deltas, per in (
        ("W7-first-empty-s3", traffic["empty"], 1),
        ("W7-first-warm-s3", traffic["warm"], 1),
        ("W4-warm-s3", traffic["warm_search"], WARM_QUERIES),
    ):
        meter.add_all(row_id, deltas, per * len(deltas))
    rec.info["w4_warm_in_a_row"] = in_a_row
    rec.note(
        f"W4-warm on S3: {statistics.median(in_a_row['s3']):g} requests one after another "
        f"per search (median; {min(in_a_row['s3'])}-{max(in_a_row['s3'])}): the longest "
        "chain of requests each sent once the one before it was answered, timed in the "
        "child (tests/store/s3_requests.py)"
    )
    rec.note(
        "W7 and warm W4: new processes one at a time (pandas, pyarrow and DuckDB imported "
        "before the timer; set_store inside it); on S3 each round is a child with an empty "
        "cache folder, then a child on the cache it filled"
    )


# ---------------------------------------------------------------- writers

# The run is the client's own, as a worker that logs through the client makes it: a
# client handed a run it did not make reads the store to find it, on S3 downloading what
# the other writers have flushed so far (some 60 objects each, here). Before it says it
# is ready, each writer logs and flushes a batch of a key of its own ("warmup"), untimed:
# its first flush loads pyarrow's Parquet writer (about 0.1 CPU-s, which 32 processes of
# 10,000 points each would otherwise spend inside the timer).
WRITER_CHILD = """
import json, os, sys, time
import canvasback as cb
import common as c
store, experiment_id, points, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
client = cb.Client(store=store)
run_id = client.create_run(experiment_id, run_name=name).info.run_id
def batch(lo, hi, key=None):
    ts = int(time.time() * 1000)
    out = []
    for i in range(lo, hi):
        k, value, step = c.w1_point(i)
        out.append(cb.Metric(key or k, value, ts, step))
    return out
client.log_batch(run_id, metrics=batch(0, c.BATCH, "warmup"))
client.flush()
print("ready", flush=True)
sys.stdin.readline()
t0, cpu0 = time.perf_counter(), os.times()
for lo in range(0, points, c.BATCH):
    client.log_batch(run_id, metrics=batch(lo, min(lo + c.BATCH, points)))
client.set_terminated(run_id)
client.flush()
cpu1 = os.times()
print(json.dumps({"run_id": run_id, "seconds": time.perf_counter() - t0,
                  "user_s": cpu1.user - cpu0.user, "system_s": cpu1.system - cpu0.system}),
      flush=True)
"""


def writers(
    rec: c.Recorder,
    meter: Meter,
    stores: dict[str, str],
    n_writers: int,
    points: int,
    repeats: int,
) -> None:
    total = n_writers * points
    for kind, store in stores.items():
        cb.set_store(store)
        experiment_id = cb.set_experiment("writers").experiment_id
        samples, checks, deltas, cpu = [], set(), [], []
        for r in range(repeats):
            sample, done, delta, server_cpu = _writers_round(
                rec, meter if kind == "s3" else None, store, experiment_id, n_writers, points, r
            )
            samples.append(sample)
            if delta is not None:
                deltas.append(delta)
            cpu.append(
                {
                    "writers_user_s": sum(d["user_s"] for d in done),
                    "writers_system_s": sum(d["system_s"] for d in done),
                    "server_cpu_s": server_cpu,
                }
            )
            checks.add(_count_points(store, [d["run_id"] for d in done], points))
        check = "ok" if checks == {"ok"} else "; ".join(sorted(checks))
        rec.add(
            f"writers-{kind}",
            f"{n_writers} processes x {points:,} points (log_batch of {c.BATCH:,}), points/s",
            "points/s",
            samples,
            total,
            value=c.per_second(total),
            better="higher",
            check=check,
        )
        rec.info[f"writers_{kind}_cpu"] = cpu
        user = statistics.median(x["writers_user_s"] for x in cpu)
        system = statistics.median(x["writers_system_s"] for x in cpu)
        server = statistics.median(x["server_cpu_s"] for x in cpu)
        rec.note(
            f"writers-{kind}: the writers used {user + system:.1f} CPU-s for {total:,} points "
            f"({(user + system) / total * 1e6:.1f} µs each, {system / (user + system):.0%} of "
            f"it in the kernel), the server {server:.1f} CPU-s (medians of the rounds): on "
            f"{os.cpu_count()} otherwise idle CPUs at most "
            f"{total * (os.cpu_count() or 1) / (user + system + server):,.0f} points/s"
        )
        if deltas:
            meter.add_all("writers-s3", deltas, len(deltas))
    rec.note(
        f"writers: {n_writers} processes, each with a cache folder of its own and a client that "
        "made its run, released together once all are ready; timed from the release to the "
        "last one's set_terminated + flush; the points are counted in the store afterwards"
    )


def _writers_round(
    rec: c.Recorder,
    meter: Meter | None,
    store: str,
    experiment_id: str,
    n_writers: int,
    points: int,
    round_no: int,
) -> tuple[c.Sample, list[dict[str, Any]], Traffic | None, float]:
    """One round of writers: their sample, what each said, the traffic, the server's CPU."""
    path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    children = [
        Child(
            WRITER_CHILD,
            [store, experiment_id, str(points), f"writer-{round_no}-{i}"],
            {"XDG_CACHE_HOME": str(c.fresh_dir("canvasback-writer-cache")), "PYTHONPATH": path},
        )
        for i in range(n_writers)
    ]
    with killed_on_error(children):
        for child in children:  # all started first: they set up side by side
            child.expect("ready")
        before = meter.now() if meter else None
        server_cpu = meter.server_cpu() if meter else 0.0
        with rec.timed() as sample:
            for child in children:
                child.go()
            done = [json.loads(child.line()) for child in children]
        delta = meter.now() - before if meter and before is not None else None
        server_cpu = meter.server_cpu() - server_cpu if meter else 0.0
        for child in children:
            child.close()
    return sample, done, delta, server_cpu


def _count_points(store: str, run_ids: list[str], points: int) -> str:
    cb.set_store(store)
    [(found,)] = cb.sql(
        "SELECT count(*) FROM metrics WHERE run_id IN (SELECT unnest(?)) AND key <> 'warmup'",
        [run_ids],
    ).fetchall()
    want = len(run_ids) * points
    return "ok" if found == want else f"FAIL: {found:,} points in the store, {want:,} logged"
