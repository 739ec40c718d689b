# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""W7: opening a big store. The first search of a new process, at 100,000 and 1,000,000 runs.

Usage::

    python benchmarks/bench_scale.py [--sizes 100000,1000000] [--repeats 3]

Per size: a store of W3 runs (made by ``scale_store.build``, checked against the API on
a sample first), compacted, which writes a snapshot. Then, each in a new process (a
child of this interpreter, run one at a time):

* W7-first: the first ``search_runs`` (W4's filter, order and top 100) of the process,
  store opening included, and its peak memory (``ru_maxrss``);
* W7-warm: the next five searches of that process;
* W7-tail: the first search again, with 1,000 more runs made through the API on top of
  the snapshot and not compacted;
* W7-process: the whole process of a first search (imports, store, query, DataFrame),
  beside the floor: a process that imports DuckDB alone and runs the same query on one
  Parquet file of the same runs (their search columns), its rows as tuples.

Each figure is printed beside the same measurement without the snapshot
(``CANVASBACK_SNAPSHOTS=0``: every table resolved from the compacted segments, as
before snapshots existed), and checked against the generator. Results go to
``benchmarks/results/scale-<timestamp>.json`` and ``results/scale-latest.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import canvasback as cb
import common as c
import scale_store

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TAIL_RUNS = 1_000
FLOOR_RATIO = 3.0  # W7's target: the whole process at most this much slower than the floor
WARM_QUERIES = 5

# The libraries a notebook has loaded already (W6 times imports) come first; the timer
# then covers opening the store and the query. Peak memory is the process's own high
# water mark (VmHWM: ru_maxrss would carry the parent's over the exec).
CHILD = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import canvasback as cb, duckdb, numpy, pandas, pyarrow, pyarrow.compute, pyarrow.ipc
cb.set_store(sys.argv[1])
def search():
    return cb.search_runs(experiment_names=[sys.argv[2]], filter_string=sys.argv[3],
                          order_by=[sys.argv[4]], max_results=100)
t1 = time.perf_counter()
frame = search()
t2 = time.perf_counter()
warm = []
for _ in range(int(sys.argv[5])):
    s = time.perf_counter()
    search()
    warm.append(time.perf_counter() - s)
print(json.dumps({
    "import_s": t1 - t0, "first_s": t2 - t1, "warm_s": warm,
    "maxrss_mb": int(next(line.split()[1] for line in Path("/proc/self/status").read_text()
                           .splitlines() if line.startswith("VmHWM"))) / 1024,
    "seeds": [str(s) for s in frame["params.seed"]],
    "accs": [float(a) for a in frame["metrics.acc"]],
}))
"""

# The whole process, imports included, as a user's script or new kernel pays it; beside
# it the floor: a process that imports DuckDB and runs the same query on one Parquet file
# of the same runs (their search columns, written once from the store), its rows as tuples.
PROCESS = """
import sys
import canvasback as cb
cb.set_store(sys.argv[1])
frame = cb.search_runs(experiment_names=[sys.argv[2]], filter_string=sys.argv[3],
                       order_by=[sys.argv[4]], max_results=100)
print(",".join(str(s) for s in frame["params.seed"]))
"""
FLOOR = """
import sys
import duckdb
frame = duckdb.sql(
    'SELECT * FROM read_parquet(?) WHERE "metrics.acc" > 0.5 AND "params.lr" = ? '
    'ORDER BY "metrics.acc" DESC LIMIT 100', params=[sys.argv[1], "0.01"]
)
print(",".join(str(row[-1]) for row in frame.fetchall()))
"""
FLOOR_FILTER = "metrics.acc > 0.5 and params.lr = '0.01'"  # FLOOR's WHERE, in W4's words
assert FLOOR_FILTER == c.W4_FILTER  # noqa: S101  # the floor runs W4's query

# (label, environment): with the snapshot, and the store resolved without it.
MODES = (("snapshot", {}), ("no snapshot", {"CANVASBACK_SNAPSHOTS": "0"}))


def _json_child(what: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a child of this interpreter; its last line of output is a JSON object."""
    done = subprocess.run(
        [sys.executable, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        msg = f"the {what} child failed: {done.stderr[-2000:]}"
        raise RuntimeError(msg)
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def child(root: Path, n_runs: int, env: dict[str, str], warm: int) -> dict[str, Any]:
    args = ["-c", CHILD, str(root), scale_store.EXPERIMENT, c.W4_FILTER, c.W4_ORDER[0], str(warm)]
    out = _json_child("search", args, env)
    out["check"] = c.check_w4(out.pop("seeds"), out.pop("accs"), n_runs)
    return out


def first_paint(root: Path, env: dict[str, str]) -> dict[str, Any]:
    """``runs()`` and its first paint in headless Chromium, in a new process."""
    args = [str(HERE / "bench_browser.py"), "--first-paint-store", str(root)]
    return _json_child("first-paint", args, env)


def paint_row(size: int, root: Path, repeats: int) -> dict[str, Any]:
    cells: dict[str, tuple[float, float, float]] = {}
    for mode, env in MODES:
        values = [first_paint(root, env)["total_ms"] for _ in range(repeats)]
        cells[mode] = (statistics.median(values), min(values), max(values))
    return {
        "id": f"W7-paint-{_size(size)}",
        "label": f"runs() and its first paint in Chromium, new process, {size:,} runs (ms)",
        "cells": cells,
        "check": "ok",
    }


def measure(root: Path, n_runs: int, repeats: int, *, warm: int) -> dict[str, list[dict[str, Any]]]:
    return {label: [child(root, n_runs, env, warm) for _ in range(repeats)] for label, env in MODES}


def _process_wall(args: list[str], n_runs: int) -> float:
    """Seconds of one whole child process; its answer is checked against the generator."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        msg = f"the child failed: {done.stderr[-2000:]}"
        raise RuntimeError(msg)
    seeds = done.stdout.strip().splitlines()[-1].split(",")
    if seeds != c.w4_expected(n_runs):
        msg = f"the child's answer is wrong: first seeds {seeds[:3]}"
        raise RuntimeError(msg)
    return seconds


def floor_row(size: int, root: Path, repeats: int) -> dict[str, Any]:
    """W7 as the whole process, beside DuckDB alone on one Parquet file of the runs."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    cb.set_store(root)
    runs = cb.search_runs(
        experiment_names=[scale_store.EXPERIMENT], max_results=size, output_format="arrow"
    )
    wanted = ["run_id", "start_time", "metrics.acc", "params.lr", "params.seed"]
    flat = root.parent / f"{root.name}-runs.parquet"
    pq.write_table(runs.select(wanted), flat)
    ours = [
        _process_wall(
            ["-c", PROCESS, str(root), scale_store.EXPERIMENT, c.W4_FILTER, c.W4_ORDER[0]], size
        )
        for _ in range(repeats)
    ]
    floor = [_process_wall(["-c", FLOOR, str(flat)], size) for _ in range(repeats)]
    return {
        "id": f"W7-process-{_size(size)}",
        "label": f"a new process's first search, whole process, {size:,} runs (s), "
        "beside DuckDB's query of one Parquet file of them",
        "cells": {
            "canvasback": (statistics.median(ours), min(ours), max(ours)),
            "floor": (statistics.median(floor), min(floor), max(floor)),
        },
        "check": "ok",
    }


def _median_ms(samples: list[float]) -> tuple[float, float, float]:
    ms = [s * 1000 for s in samples]
    return statistics.median(ms), min(ms), max(ms)


def rows_for(size: int, tag: str, got: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Table rows of one measurement: first search, (warm), peak memory; both modes."""
    out: list[dict[str, Any]] = []
    figures = [("first", "first search of a new process (libraries loaded)", "ms")]
    if tag == "":
        figures += [("warm", "warm search", "ms"), ("rss", "peak memory of that process", "MB")]
    for key, label, unit in figures:
        cells: dict[str, tuple[float, float, float]] = {}
        for mode, runs in got.items():
            if key == "first":
                cells[mode] = _median_ms([r["first_s"] for r in runs])
            elif key == "warm":
                cells[mode] = _median_ms([s for r in runs for s in r["warm_s"]])
            else:
                values = [r["maxrss_mb"] for r in runs]
                cells[mode] = (statistics.median(values), min(values), max(values))
        checks = sorted({r["check"] for runs in got.values() for r in runs})
        out.append(
            {
                "id": f"W7-{key}-{_size(size)}{tag}",
                "label": f"{label}, {size:,} runs{' + 1,000 uncompacted' if tag else ''} ({unit})",
                "cells": cells,
                "check": "ok" if checks == ["ok"] else "; ".join(checks),
            }
        )
    return out


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def bench_size(size: int, repeats: int, info: dict[str, Any]) -> list[dict[str, Any]]:
    root = c.fresh_dir(f"canvasback-w7-{_size(size)}")
    t0 = time.perf_counter()
    scale_store.build(root, size)
    info[f"build_{size}_s"] = time.perf_counter() - t0
    cb.set_store(root)
    t0 = time.perf_counter()
    report = cb.compact(grace_seconds=0)
    info[f"compact_{size}_s"] = time.perf_counter() - t0
    info[f"compact_{size}_report"] = repr(report)
    print(
        f"W7 {size:,} runs: built {info[f'build_{size}_s']:.1f} s, compacted and "
        f"snapshotted {info[f'compact_{size}_s']:.1f} s",
        flush=True,
    )
    rows = [floor_row(size, root, repeats)]
    rows += rows_for(size, "", measure(root, size, repeats, warm=WARM_QUERIES))
    rows.append(paint_row(size, root, repeats))
    cb.set_store(root)
    cb.set_experiment(scale_store.EXPERIMENT)
    os.environ["CANVASBACK_CAPTURE"] = "none"
    for i in range(size, size + TAIL_RUNS):
        with cb.start_run(run_name=c.run_name(i)):
            cb.log_params(c.run_params(i))
            cb.log_metrics(c.run_metrics(i))
            cb.set_tags(c.run_tags(i))
    cb.flush()
    rows += rows_for(size, "-tail", measure(root, size + TAIL_RUNS, repeats, warm=0))
    return rows


def markdown(rows: list[dict[str, Any]], notes: list[str]) -> str:
    lines = [
        "| row | what | with snapshot | without (full resolve) | ratio | check |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    floors = [row for row in rows if "floor" in row["cells"]]
    for row in rows:
        if row in floors:
            continue
        with_, without = row["cells"]["snapshot"], row["cells"]["no snapshot"]
        ratio = without[0] / with_[0] if with_[0] else float("nan")
        lines.append(
            f"| {row['id']} | {row['label']} | {c.fmt(with_[0])} ({c.fmt(with_[1])}-"
            f"{c.fmt(with_[2])}) | {c.fmt(without[0])} ({c.fmt(without[1])}-{c.fmt(without[2])}) "
            f"| {ratio:.1f}x | {row['check']} |"
        )
    lines += [
        "",
        "| row | what | canvasback | the floor | ratio (target ≤ 3x) | pass |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in floors:
        ours, floor = row["cells"]["canvasback"], row["cells"]["floor"]
        ratio = ours[0] / floor[0]
        lines.append(
            f"| {row['id']} | {row['label']} | {c.fmt(ours[0])} ({c.fmt(ours[1])}-"
            f"{c.fmt(ours[2])}) | {c.fmt(floor[0])} ({c.fmt(floor[1])}-{c.fmt(floor[2])}) "
            f"| {ratio:.1f}x | {'pass' if ratio <= FLOOR_RATIO else 'FAIL'} |"
        )
    return "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    info: dict[str, Any] = {"host": c.host_info()}
    notes: list[str] = []
    sample = scale_store.check_same_as_api()
    notes.append(f"bulk-made runs against the API's on a 200-run sample: {sample}")
    print(f"W7 bulk path against the API: {sample}", flush=True)
    rows: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows += bench_size(size, args.repeats, info)
    notes.append(
        "each figure: median (min-max) of new processes run one at a time; the first "
        "search includes opening the store; runs made by benchmarks/scale_store.py"
    )
    table = markdown(rows, notes)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"scale-{stamp}.json").write_text(json.dumps({"rows": rows, "info": info}, indent=1))
    (RESULTS / "scale-latest.md").write_text(table)


if __name__ == "__main__":
    main()
