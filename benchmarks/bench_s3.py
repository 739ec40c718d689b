# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""The store on S3-compatible object storage beside a local folder: W1-W5, W7 and writers.

Usage::

    python benchmarks/bench_s3.py [--quick] [--runs 100000] [--writers 32] [--repeats 3]

One run starts its own SeaweedFS (``tests/seaweed_server.py``: 127.0.0.1, fresh ports,
signed requests, Prometheus metrics on) and measures every figure on a store in a bucket
of it and on a store in a local folder, one after the other:

* W1-W5 in this process, through ``bench_canvasback``'s functions (W4 over W3's runs);
* W7: a store of ``--runs`` W3 runs each (``scale_store.build`` through the store's own
  file system, then ``compact()``); new processes, one at a time, time their first
  search, store opening included, then five warm ones. On S3, the first search of a
  process with an empty cache folder and of one whose cache a process before it filled;
* writers: ``--writers`` processes, each with a cache folder of its own, log W2's points
  in ``log_batch`` calls of 1,000 into a run of their own, released together; points/s
  is all their points over the time from the release to the last one's flush.

Every S3 figure carries the requests and bytes the server's S3 API answered for the
figure's bucket (its counters read before and after: the server counts every process,
and nothing stands between client and server). Results: ``results/s3-<stamp>.json``
and ``results/s3-latest.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bench_canvasback as bc
import canvasback as cb
import common as c
import scale_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

    from seaweed_server import SeaweedFS, Traffic  # tests/seaweed_server.py, loaded below

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SERVER_HELPER = HERE.parent / "tests" / "seaweed_server.py"
FULL = {"runs": 100_000, "writer_points": 100_000}
QUICK = {"runs": 10_000, "writer_points": 10_000}
WARM_QUERIES = 5
CHILD_TIMEOUT_S = 600.0


def _seaweed_server() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seaweed_server", SERVER_HELPER)
    if spec is None or spec.loader is None:
        msg = f"cannot load {SERVER_HELPER}"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


weed = _seaweed_server()


@dataclass(frozen=True)
class Spec:
    id: str
    label: str
    target: str = ""  # "<= 1000" on the S3 median, or "<= 2x" against the local one
    per: str = "sample"  # what the traffic is counted per

    def passes(self, local: float | None, s3: float, better: str) -> bool | None:
        if not self.target:
            return None
        op, bound = self.target.split()
        if bound.endswith("x"):
            if not local:
                return None
            ratio = s3 / local if better == "lower" else local / s3
            return ratio <= float(bound[:-1])
        limit = float(bound.replace(",", ""))
        return s3 <= limit if op == "<=" else s3 >= limit


SPECS = (
    Spec("W1", "W1 log_metric, µs per call incl. end_run + flush", "<= 1.2x", "run"),
    Spec("W1-calls", "W1's log_metric calls alone, µs per call", "<= 1.2x", "run"),
    Spec("W2", "W2 log_batch, points/s incl. end_run + flush", per="run"),
    Spec("W3", "W3 runs/s (start, params, metrics, tags, end)", per="chunk"),
    Spec("W4-1k", "W4 search ms over W3's runs", per="query"),
    Spec("W4-1k-compacted", "W4 search ms, after compact()", per="query"),
    Spec("W5", "W5 history of one key, ms", per="fetch"),
    Spec("W7-first-empty", "W7 first search of a new process, ms (S3: empty cache)", "<= 1000"),
    Spec(
        "W7-first-warm", "W7 first search of a new process, ms (S3: the machine's cache)", "<= 300"
    ),
    Spec("W4-warm", "W4 warm search over the W7 store, ms", "<= 2x", "query"),
    Spec("writers", "writer processes logging at once, points/s in total", ">= 200,000"),
)


class Meter:
    """The server's count of one bucket's requests and bytes, per figure."""

    def __init__(self, server: SeaweedFS, rec: c.Recorder, server_cpu: Callable[[], float]) -> None:
        self.server = server
        self.server_cpu = server_cpu
        """The server process's CPU seconds so far."""
        self.rec = rec
        self.bucket = ""
        self.traffic: dict[str, dict[str, Any]] = rec.info.setdefault("traffic", {})

    def now(self) -> Traffic:
        return self.server.traffic(self.bucket)

    def add(self, row_id: str, delta: Traffic, count: int) -> None:
        """Keep a figure's traffic, in all and per operation (``count`` operations)."""
        doc = delta.as_dict()
        doc["operations"] = count
        doc["per_operation"] = {
            "requests": delta.total / count,
            "bytes_in": delta.bytes_in / count,
            "bytes_out": delta.bytes_out / count,
            "by_type": {k: v / count for k, v in delta.requests.items()},
        }
        self.traffic[row_id] = doc

    def around(self, row_id: str, work: Callable[[], object], count: int) -> None:
        before = self.now()
        work()
        self.add(row_id, self.now() - before, count)


# ---------------------------------------------------------------- W1-W5, in this process


def in_process(rec: c.Recorder, meter: Meter, stores: dict[str, str]) -> None:
    """W1-W5 on both stores, each workload on the local store, then on S3."""
    n_runs = rec.sizes["w3_runs"]
    w2_runs: dict[str, str] = {}

    def each(name: str, count: int, work: Callable[[str, str], object]) -> None:
        for kind, store in stores.items():
            cb.set_store(store)
            if kind == "s3":
                meter.around(f"{name}-s3", functools.partial(work, kind, store), count)
            else:
                work(kind, store)

    def w2(kind: str, store: str) -> None:
        w2_runs[kind] = bc.w2(rec, store, f"W2-{kind}", timed=True)  # type: ignore[arg-type]

    def w4(name: str) -> Callable[[str, str], object]:
        return lambda kind, _: c.time_search(rec, bc.search, f"{name}-{kind}", n_runs)

    each("W1", bc.REPEATS, lambda kind, _: bc.w1(rec, f"W1-{kind}"))
    each("W1-calls", bc.REPEATS, lambda kind, _: w1_calls(rec, f"W1-calls-{kind}"))
    each("W2", bc.REPEATS, w2)
    each(
        "W3", n_runs // rec.sizes["w3_chunk"], lambda kind, _: bc.w3(rec, f"W3-{kind}", timed=True)
    )
    each("W4-1k", c.W4_QUERIES + 1, w4("W4-1k"))
    each("W5", bc.W5_FETCHES, lambda kind, _: bc.w5(rec, f"W5-{kind}", w2_runs[kind]))
    each("compact", 1, lambda kind, _: bc.compact(rec, f"1k-{kind}"))
    each("W4-1k-compacted", c.W4_QUERIES + 1, w4("W4-1k-compacted"))
    rec.note(
        "W1-W5: S3 requests and bytes per run (W1, W2), per chunk of runs (W3), per query "
        "(W4: its untimed warm-up query counted too) or per fetch (W5)"
    )


def w1_calls(rec: c.Recorder, row_id: str) -> None:
    """W1 with end_run and flush after the timer: what a training loop waits for.

    The writer's thread flushes (on S3: uploads) during the loop as it fills, as it
    would in a training loop; only the final flush is left out.
    """
    n = rec.sizes["w1_calls"]
    cb.set_experiment("w1-calls")
    samples = []
    for _ in range(bc.REPEATS):
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
        "log_metric µs/call, end_run + flush untimed",
        "µs",
        samples,
        n,
        value=c.per_call_us(n),
    )


# ---------------------------------------------------------------- W7, new processes

SEARCH_CHILD = """
import json, sys, time
from pathlib import Path
import canvasback as cb, duckdb, numpy, pandas, pyarrow, pyarrow.compute, pyarrow.ipc
store, experiment, filter_string, order, warm = sys.argv[1:6]
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
times = []
for _ in range(int(warm)):
    s = time.perf_counter()
    search()
    times.append(time.perf_counter() - s)
print(json.dumps({"warm_s": times}), flush=True)
"""


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
    args = [store, scale_store.EXPERIMENT, c.W4_FILTER, c.W4_ORDER[0], str(WARM_QUERIES)]
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
    for _ in range(repeats):
        first, warm, check, _ = child_search(rec, None, stores["local"], n_runs, None)
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
        total = deltas[0]
        for delta in deltas[1:]:
            total = _plus(total, delta)
        meter.add(row_id, total, per * len(deltas))
    rec.note(
        "W7 and warm W4: new processes one at a time (pandas, pyarrow and DuckDB imported "
        "before the timer; set_store inside it); on S3 each round is a child with an empty "
        "cache folder, then a child on the cache it filled"
    )


def _plus(a: Traffic, b: Traffic) -> Traffic:
    kinds = set(a.requests) | set(b.requests)
    return weed.Traffic(
        {k: a.requests.get(k, 0) + b.requests.get(k, 0) for k in sorted(kinds)},
        a.bytes_in + b.bytes_in,
        a.bytes_out + b.bytes_out,
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
            summed = deltas[0]
            for delta in deltas[1:]:
                summed = _plus(summed, delta)
            meter.add("writers-s3", summed, len(deltas))
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


# ---------------------------------------------------------------- the table


def markdown(rec: c.Recorder, started: str, wall_s: float) -> str:
    rows = {r.id: r for r in rec.rows}
    lines = [
        f"Run of {started}, whole run {wall_s:.0f} s"
        + (" (--quick: sizes scaled down)" if rec.quick else ""),
        "",
        (
            "| workload | local folder median (min-max) | S3 (SeaweedFS) median (min-max) "
            "| S3 vs local | target | pass | S3 requests per op (by type) "
            "| S3 bytes up / down per op | check |"
        ),
        "|" + " --- |" * 9,
    ]
    for spec in SPECS:
        s3 = rows.get(f"{spec.id}-s3")
        if s3 is None:
            continue
        local = rows.get(f"{spec.id}-local")
        ratio = ""
        if local is not None and local.median > 0 and s3.median > 0:
            r = s3.median / local.median if s3.better == "lower" else local.median / s3.median
            ratio = f"{r:.2f}x {'slower' if r > 1 else 'faster'}" if r != 1 else "same"
        verdict = spec.passes(local.median if local else None, s3.median, s3.better)
        mark = "" if verdict is None else ("pass" if verdict else "FAIL")
        checks = {s3.check, local.check if local else "ok"}
        traffic = rec.info.get("traffic", {}).get(s3.id)
        req = byt = "-"
        if traffic:
            per = traffic["per_operation"]
            kinds = ", ".join(f"{k} {v:.3g}" for k, v in per["by_type"].items())
            req = f"{per['requests']:.3g} per {spec.per} ({kinds})"
            byt = f"{_size(per['bytes_in'])} / {_size(per['bytes_out'])}"
        lines.append(
            f"| {spec.label} | {_cell(local)} | {_cell(s3)} | {ratio} | "
            f"{spec.target.replace('<=', '≤').replace('>=', '≥')} | {mark} | {req} | {byt} | "
            f"{'ok' if checks == {'ok'} else '; '.join(sorted(checks - {'ok'}))} |"
        )
    return "\n".join([*lines, "", *[f"- {n}" for n in rec.notes]]) + "\n"


def _cell(row: c.Row | None) -> str:
    return "-" if row is None else f"{c.fmt(row.median)} ({c.fmt(row.min)}-{c.fmt(row.max)})"


def _size(n: float) -> str:
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} B"


# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="scaled-down sizes, a smoke run")
    ap.add_argument("--runs", type=int, help="runs of the W7 stores (100,000; quick 10,000)")
    ap.add_argument("--writers", type=int, default=32, help="writer processes (32)")
    ap.add_argument("--points", type=int, help="points per writer (100,000; quick 10,000)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated parts: W1-W5, W7, writers")
    args = ap.parse_args()
    sizes = QUICK if args.quick else FULL
    n_runs = args.runs or sizes["runs"]
    points = args.points or sizes["writer_points"]
    rec = c.Recorder("canvasback", "src", quick=args.quick, only=[])
    if args.quick:
        rec.note(
            f"--quick: W1-W5 at common.QUICK sizes, W7 at {n_runs:,} runs, "
            f"{points:,} points per writer"
        )
    started = dt.datetime.now(dt.UTC)
    scratch = c.fresh_dir("s3")
    os.chdir(scratch)
    os.environ["CANVASBACK_CAPTURE"] = "none"
    os.environ.pop("CANVASBACK_FSYNC", None)
    # This process's and its children's copies of objects stay in the run's folders.
    os.environ["XDG_CACHE_HOME"] = str(scratch / "cache")
    rec.info["disk"] = c.disk_latency(scratch)
    t0 = time.perf_counter()
    with weed.WeedServer(scratch / "seaweedfs", metrics=True) as server:
        for key in (
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL_S3",
            "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION",
        ):
            os.environ.pop(key, None)
        os.environ.update(server.server.env)
        rec.info["seaweedfs"] = subprocess.run(
            [weed.weed_program(), "version"], capture_output=True, text=True, check=False
        ).stdout.split("\n")[0]
        meter = Meter(server.server, rec, server.cpu_seconds)
        for part, run in _parts(rec, meter, server.server, args, n_runs, points):
            print(f"--- {part}", flush=True)
            run()
    wall = time.perf_counter() - t0
    table = markdown(rec, f"{started:%Y-%m-%d %H:%M} UTC", wall)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    rec.write(RESULTS / f"s3-{stamp}.json", args=vars(args), wall_s=wall)
    (RESULTS / "s3-latest.md").write_text(table)


def _parts(
    rec: c.Recorder,
    meter: Meter,
    server: SeaweedFS,
    args: argparse.Namespace,
    n_runs: int,
    points: int,
) -> Iterator[tuple[str, Callable[[], None]]]:
    """Each part on a bucket of its own, so that the server's counts are the part's."""

    def stores(label: str) -> dict[str, str]:
        meter.bucket = server.new_bucket(label)
        return {
            "local": str(c.fresh_dir(f"canvasback-{label}")),
            "s3": f"s3://{meter.bucket}/store",
        }

    parts = {
        "W1-W5": lambda: in_process(rec, meter, stores("w")),
        "W7": lambda: w7(rec, meter, stores("scale"), args.repeats, n_runs),
        "writers": lambda: writers(
            rec, meter, stores("writers"), args.writers, points, args.repeats
        ),
    }
    chosen = [p.strip() for p in args.only.split(",") if p.strip()] or list(parts)
    unknown = sorted(set(chosen) - set(parts))
    if unknown:
        msg = f"unknown part(s) {', '.join(unknown)} in --only; the parts: {', '.join(parts)}"
        raise SystemExit(msg)
    for name in chosen:
        yield name, parts[name]


if __name__ == "__main__":
    main()
