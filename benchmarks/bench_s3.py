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
figure's bucket (``s3_meter.py``: its counters read before and after); the parts in new
processes are ``s3_processes.py``. Results: ``results/s3-<stamp>.json`` and
``results/s3-latest.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import bench_canvasback as bc
import canvasback as cb
import common as c
import s3_meter
from s3_processes import w7, writers

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from s3_meter import Meter
    from seaweed_server import SeaweedFS  # tests/seaweed_server.py, loaded by s3_meter

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FULL = {"runs": 100_000, "writer_points": 100_000}
QUICK = {"runs": 10_000, "writer_points": 10_000}


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
    with s3_meter.weed.WeedServer(scratch / "seaweedfs", metrics=True) as server:
        for key in (
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL_S3",
            "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION",
        ):
            os.environ.pop(key, None)
        os.environ.update(server.server.env)
        rec.info["seaweedfs"] = subprocess.run(
            [s3_meter.weed.weed_program(), "version"], capture_output=True, text=True, check=False
        ).stdout.split("\n")[0]
        meter = s3_meter.Meter(server.server, rec, server.cpu_seconds)
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
