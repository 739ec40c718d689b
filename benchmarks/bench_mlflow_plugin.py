# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""MLflow's own fluent API on two stores: canvasback's plugin beside MLflow's sqlite store.

Usage::

    python benchmarks/bench_mlflow_plugin.py [--quick] [--only W1,W4]

The same MLflow (this interpreter's, the ``mlflow`` extra) runs the workload's W1-W5
(``/work``'s WORKLOAD.md: per-call logging, batches, many runs, search, history) through
``mlflow.log_metric``, ``MlflowClient.log_batch``, ``mlflow.start_run``... twice, one
child process after the other: with ``MLFLOW_TRACKING_URI=canvasback:///<fresh store>``
(the plugin, found by its entry points) and with ``sqlite:///<fresh>/mlflow.db``. Only
the store differs, so the ratio is what the plugin costs or saves a script that stays
on MLflow's API (``run.py`` compares canvasback's own API with MLflow's instead). Raw
samples go to ``benchmarks/results/mlflow-plugin-<timestamp>.json`` and the table to
``benchmarks/results/mlflow-plugin-latest.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common as c

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
BACKENDS = ("canvasback", "sqlite")
W1_CALLS_CAP = 2_000  # MLflow's sqlite store commits per call (~3 ms): its bench's cap too
REPEATS = 3
ROWS = (  # id, label; each row's unit and direction come with its samples
    ("W1", "W1 mlflow.log_metric, µs per call incl. end_run"),
    ("W2", "W2 MlflowClient.log_batch (1,000 per call), points/s"),
    ("W3", "W3 runs/s (start_run, log_params, log_metrics, set_tags, end_run)"),
    ("W4-1k", "W4 mlflow.search_runs top 100 (filter, order), ms"),
    ("W5", "W5 MlflowClient.get_metric_history, ms"),
)


# --------------------------------------------------------------------------- the child
def w1(rec: c.Recorder, mlflow: Any) -> None:  # noqa: ANN401 - the mlflow module
    n = min(rec.sizes["w1_calls"], W1_CALLS_CAP)
    mlflow.set_experiment("w1")
    samples = []
    for _ in range(REPEATS):
        mlflow.start_run()
        with rec.timed() as sample:
            for i in range(n):
                key, value, step = c.w1_point(i)
                mlflow.log_metric(key, value, step=step)
            mlflow.end_run()
        samples.append(sample)
    rec.add("W1", "log_metric µs/call incl. end_run", "µs", samples, n, value=c.per_call_us(n))


def w2(rec: c.Recorder, mlflow: Any, client: Any) -> str:  # noqa: ANN401
    from mlflow.entities import Metric  # noqa: PLC0415 - MLflow is the child's

    n = rec.sizes["w2_points"]
    mlflow.set_experiment("w2")
    samples, first = [], ""
    for _ in range(REPEATS):
        run_id = mlflow.start_run().info.run_id
        first = first or run_id
        with rec.timed() as sample:
            for lo in range(0, n, c.BATCH):
                ts = int(time.time() * 1000)
                points = (c.w1_point(i) for i in range(lo, min(lo + c.BATCH, n)))
                client.log_batch(run_id, metrics=[Metric(k, v, ts, s) for k, v, s in points])
            mlflow.end_run()
        samples.append(sample)
    rec.add(
        "W2", "log_batch points/s", "points/s", samples, n, value=c.per_second(n), better="higher"
    )
    return first


def w3(rec: c.Recorder, mlflow: Any) -> None:  # noqa: ANN401
    n, chunk = rec.sizes["w3_runs"], rec.sizes["w3_runs"] // 5
    mlflow.set_experiment("w3")
    samples = []
    for lo in range(0, n, chunk):
        with rec.timed() as sample:
            for i in range(lo, lo + chunk):
                mlflow.start_run(run_name=c.run_name(i))
                mlflow.log_params(c.run_params(i))
                mlflow.log_metrics(c.run_metrics(i))
                mlflow.set_tags(c.run_tags(i))
                mlflow.end_run()
        samples.append(sample)
    rec.add(
        "W3",
        f"runs/s (5 chunks of {chunk})",
        "runs/s",
        samples,
        chunk,
        value=c.per_second(chunk),
        better="higher",
    )


def w4(rec: c.Recorder, mlflow: Any) -> None:  # noqa: ANN401
    def search() -> Any:  # noqa: ANN401 - a DataFrame
        return mlflow.search_runs(
            experiment_names=["w3"],
            filter_string=c.W4_FILTER,
            order_by=c.W4_ORDER,
            max_results=c.W4_TOP,
        )

    c.time_search(rec, search, "W4-1k", rec.sizes["w3_runs"])


def w5(rec: c.Recorder, client: Any, run_id: str) -> None:  # noqa: ANN401
    want = rec.sizes["w2_points"] // 2
    samples, got = [], 0
    for _ in range(5):
        with rec.timed() as sample:
            got = len(client.get_metric_history(run_id, "loss"))
        samples.append(sample)
    check = "ok" if got == want else f"FAIL: {got} points, expected {want}"
    rec.add(
        "W5",
        f"get_metric_history of {want:,} points (ms)",
        "ms",
        samples,
        want,
        value=c.millis,
        check=check,
    )


def child(backend: str, out: Path, *, quick: bool, only: list[str]) -> None:
    """One backend's rows, in this process (MLflow keeps its store in globals)."""
    folder = c.fresh_dir(f"mlflow-{backend}")
    os.chdir(folder)  # MLflow's default artifact folder and source tags follow the cwd
    uri = (
        f"canvasback://{folder / 'store'}"
        if backend == "canvasback"
        else (f"sqlite:///{folder / 'mlflow.db'}")
    )
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ["CANVASBACK_CAPTURE"] = "none"  # MLflow's runs, not canvasback's capture
    import mlflow  # noqa: PLC0415 - after the URI, as a script that sets it in its shell

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    rec = c.Recorder(
        f"mlflow+{backend}", importlib.metadata.version("mlflow"), quick=quick, only=only
    )
    rec.info["tracking_uri"] = uri
    rec.info["disk"] = c.disk_latency(folder)
    client = mlflow.MlflowClient()
    t0 = time.perf_counter()
    mlflow.set_experiment("setup")  # the store's creation, untimed
    rec.info["store_create_s"] = time.perf_counter() - t0
    rec.info["tracking_store"] = type(client._tracking_client.store).__module__  # noqa: SLF001
    if rec.sizes["w1_calls"] > W1_CALLS_CAP and rec.wants("W1"):
        rec.note(
            f"W1 at {W1_CALLS_CAP:,} calls per run (spec {c.FULL['w1_calls']:,}); µs/call kept"
        )
    if rec.wants("W1"):
        w1(rec, mlflow)
    w2_run = w2(rec, mlflow, client) if rec.wants("W2") or rec.wants("W5") else ""
    if rec.wants("W3") or rec.wants("W4"):
        w3(rec, mlflow)
    if rec.wants("W4"):
        w4(rec, mlflow)
    if rec.wants("W5"):
        w5(rec, client, w2_run)
    rec.write(out)


# --------------------------------------------------------------------------- the runner
def table(docs: dict[str, dict[str, Any]], wall_s: float, quick: bool) -> str:
    rows = {b: {r["id"]: r for r in docs[b].get("rows", [])} for b in BACKENDS}
    lines = [
        (
            "| workload | MLflow + canvasback plugin median (min-max) | MLflow + sqlite median "
            "(min-max) | ratio |"
        ),
        "| --- | --- | --- | --- |",
    ]
    for row_id, label in ROWS:
        plugin, sqlite = rows["canvasback"].get(row_id), rows["sqlite"].get(row_id)
        if plugin is None and sqlite is None:
            continue
        ratio = ""
        if plugin and sqlite and plugin["median"] > 0 and sqlite["median"] > 0:
            r = sqlite["median"] / plugin["median"]
            r = r if plugin["better"] == "lower" else 1 / r
            ratio = f"plugin {r:,.1f}x faster" if r >= 1 else f"sqlite {1 / r:,.1f}x faster"
        cells = [label]
        for row in (plugin, sqlite):
            text = (
                f"{c.fmt(row['median'])} ({c.fmt(row['min'])}-{c.fmt(row['max'])})" if row else "—"
            )
            if row and row.get("check", "ok") != "ok":
                text += f" **{row['check']}**"
            cells.append(text)
        lines.append("| " + " | ".join([*cells, ratio]) + " |")
    out = [
        f"MLflow {docs['canvasback'].get('version', '?')}'s fluent API on two stores, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, whole run {wall_s:.0f} s"
        + (" (--quick: sizes scaled down)" if quick else ""),
        "",
        *lines,
        "",
    ]
    for backend, doc in docs.items():
        disk = doc.get("info", {}).get("disk", {})
        out.append(
            f"- {backend}: {doc.get('info', {}).get('tracking_store', '?')}; fsync of a small "
            f"append {disk.get('fsync_append_ms', float('nan')):.2f} ms"
            + (f"; **{doc['error']}**" if doc.get("error") else "")
        )
    out += [f"- NOTE: {b}: {n}" for b, d in docs.items() for n in d.get("notes", [])]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="scaled-down sizes, a smoke run")
    ap.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W4")
    ap.add_argument("--child", choices=BACKENDS, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    if args.child:
        child(args.child, args.out, quick=args.quick, only=only)
        return
    t0 = time.perf_counter()
    RESULTS.mkdir(exist_ok=True)
    scratch = c.fresh_dir("mlflow-plugin-runner")
    env = dict(os.environ)
    # canvasback from this checkout; MLflow finds the plugin by the installed entry points.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    docs: dict[str, dict[str, Any]] = {}
    for backend in BACKENDS:  # one child at a time: the machine has two cores
        out = scratch / f"{backend}.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", backend, "--out", str(out)]
        cmd += ["--quick"] if args.quick else []
        cmd += ["--only", args.only] if args.only else []
        print(f"--- {backend}", flush=True)
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, check=False)
        doc: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {"rows": []}
        if proc.returncode:
            doc["error"] = f"exit code {proc.returncode}"
        doc["wall_s"] = time.perf_counter() - started
        docs[backend] = doc
    wall = time.perf_counter() - t0
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"mlflow-plugin-{stamp}.json").write_text(
        json.dumps(
            {"started": stamp, "wall_s": wall, "args": vars(args) | {"out": None}, "systems": docs},
            indent=1,
            default=str,
        )
    )
    md = table(docs, wall, args.quick)
    (RESULTS / "mlflow-plugin-latest.md").write_text(md)
    print()
    print(md)
    sys.exit(1 if any("error" in d for d in docs.values()) else 0)


if __name__ == "__main__":
    main()
