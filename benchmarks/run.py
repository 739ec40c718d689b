# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""Run the tracker workload (W1-W6) on canvasback and on MLflow, and print one table.

Usage::

    python benchmarks/run.py [--quick] [--only W1,W4] [--peer/--no-peer]

canvasback runs in a child process of this interpreter; MLflow runs in a child of a
throw-away venv under ``benchmarks/.peer-venv`` (built on first use, rebuilt when the
pins below change). The children run one after the other, never side by side, since
the machine has two cores. Raw samples go to ``benchmarks/results/<timestamp>.json``
and the table to ``benchmarks/results/latest.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common as c

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEER_VENV = HERE / ".peer-venv"
RESULTS = HERE / "results"

# mlflow-skinny has MlflowClient and the sqlalchemy store code; sqlalchemy + alembic make
# the sqlite store work and pandas + numpy make search_runs return a DataFrame. The full
# `mlflow` package adds flask, gunicorn, scipy, scikit-learn, matplotlib... that none of
# the workload touches. Pinned to what the figures in WORKLOAD.md were measured with.
PEER_REQUIREMENTS = (
    "mlflow-skinny==3.17.2",
    "sqlalchemy==2.1.9",
    "alembic==1.20.1",
    "pandas==3.1.1",
    "numpy==2.4.6",
    # the model rows (M1-M4) and the model interop tests: MLflow's sklearn flavor
    "scikit-learn==1.9.1",
    "scipy==1.17.1",
    "skops==0.16.0",
    "cloudpickle==3.1.3",
)


@dataclass(frozen=True)
class Spec:
    id: str
    label: str
    target: str = ""  # canvasback's target from WORKLOAD.md, e.g. "<= 2"
    peer_id: str = ""  # the MLflow row compared against, when it has another id

    def passes(self, median: float) -> bool | None:
        if not self.target:
            return None
        op, bound = self.target.split()
        limit = float(bound.replace(",", ""))
        return median <= limit if op == "<=" else median >= limit


FSYNC = "CANVASBACK_FSYNC=1"
SPECS = (
    Spec("W1", "W1 log_metric, µs per call incl. end_run (+ flush)", "<= 2"),
    Spec("W2", "W2 log_batch, points/s incl. end_run (+ flush)", ">= 1,000,000"),
    Spec(
        "W2-history",
        "W2 through log_history (whole series as lists), points/s",
        ">= 1,000,000",
        "W2",
    ),
    Spec("W3", "W3 runs/s (start, params, metrics, tags, end)", ">= 300"),
    Spec("W1-fsync", f"W1 with {FSYNC}, µs per call", "<= 2", "W1"),
    Spec("W2-fsync", f"W2 with {FSYNC}, points/s", ">= 1,000,000", "W2"),
    Spec("W3-fsync", f"W3 with {FSYNC}, runs/s", ">= 300", "W3"),
    Spec("W3-capture", "W3 with capture on (code, environment), runs/s", ">= 300", "W3"),
    Spec("W4-1k", "W4 search ms, 1k runs", "<= 10"),
    Spec("W4-1k-compacted", "W4 search ms, 1k runs, after compact()", "<= 10", "W4-1k"),
    Spec("W4-10k", "W4 search ms, 10k runs", "<= 15"),
    Spec("W4-10k-compacted", "W4 search ms, 10k runs, after compact()", "<= 15", "W4-10k"),
    Spec("W4-100k", "W4 search ms, 100k runs", "<= 40"),
    Spec("W4-100k-compacted", "W4 search ms, 100k runs, after compact()", "<= 40", "W4-100k"),
    Spec("W5", "W5 history of 100k points, ms", "<= 30"),
    Spec("W5-compacted", "W5 history, ms, after compact()", "<= 30", "W5"),
    Spec("M1", "M1 log_model of a small scikit-learn model, ms", "<= 50"),
    Spec("M2", "M2 register_model, ms", "<= 10"),
    Spec("M3", "M3 load_model by alias, ms", "<= 50"),
    Spec("M4-1k", "M4 search_model_versions, 1k versions, ms", "<= 20"),
    Spec("M4-10k", "M4 search_model_versions, 10k versions, ms", "<= 20", "M4-1k"),
    Spec("M4-10k-compacted", "M4 at 10k versions, after compact(), ms", "<= 20", "M4-1k"),
    Spec("W6-python", "W6 `python -c pass`, s"),
    Spec("W6-import", "W6 `python -c 'import <lib>'`, s", "<= 0.3"),
    Spec("W6-empty-run", "W6 empty run in a new process, existing store, ms"),
    Spec("W6-empty-run-wall", "W6 that child's wall time, s"),
    Spec("W6-first-use", "W6 empty run, never-used store, ms"),
    Spec("W6-first-use-wall", "W6 that child's wall time, s"),
)


def ensure_peer_venv() -> Path:
    """Build (or reuse) the venv MLflow runs in; returns its python."""
    py = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / "pins.txt"
    pins = "\n".join(PEER_REQUIREMENTS) + "\n"
    if py.exists() and stamp.exists() and stamp.read_text() == pins:
        return py
    print(f"building {PEER_VENV} ({', '.join(PEER_REQUIREMENTS)})", flush=True)
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    log = PEER_VENV / "pip.log"
    with log.open("w") as fh:
        subprocess.run(
            [str(py), "-m", "pip", "install", "--disable-pip-version-check", *PEER_REQUIREMENTS],
            check=True,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    stamp.write_text(pins)
    return py


def run_child(
    system: str, python: Path, script: str, args: argparse.Namespace, out: Path
) -> dict[str, Any]:
    cmd = [str(python), str(HERE / script), "--out", str(out)]
    if args.quick:
        cmd.append("--quick")
    if args.only:
        cmd += ["--only", args.only]
    env = dict(os.environ)
    if system == "canvasback":
        # The package may not be installed into the venv yet: import it from src/.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p
        )
    # Child stdout stays on this console: progress and NOTE lines show as they happen.
    print(f"--- {system}: {' '.join(cmd)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, check=False)
    wall = time.perf_counter() - t0
    doc: dict[str, Any] = {"system": system, "rows": [], "notes": []}
    if out.exists():
        doc = json.loads(out.read_text())
    if proc.returncode:
        doc["error"] = f"exit code {proc.returncode}"
    doc["wall_s"] = wall
    print(f"--- {system}: {wall:.1f} s", flush=True)
    return doc


def ratio_text(spec: Spec, cb: dict[str, Any], ml: dict[str, Any]) -> str:
    if cb["id"] == "W6-python":
        return "same interpreter"
    a, b = cb["median"], ml["median"]
    if a <= 0 or b <= 0:
        return ""
    # "faster" = lower time or higher throughput, whichever the row reports.
    r = b / a if cb["better"] == "lower" else a / b
    who, r = ("canvasback", r) if r >= 1 else ("MLflow", 1 / r)
    suffix = f" (vs MLflow {spec.peer_id})" if spec.peer_id else ""
    return f"{who} {r:,.1f}x faster{suffix}"


def cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "—"
    text = f"{c.fmt(row['median'])} ({c.fmt(row['min'])}-{c.fmt(row['max'])})"
    if row.get("check", "ok") != "ok":
        text += " **check failed**"
    return text


def conditions(doc: dict[str, Any]) -> str:
    samples = [s for r in doc.get("rows", []) for s in r["samples"]]
    if not samples:
        return f"- {doc['system']}: no samples ({doc.get('error', 'not run')})"
    calib = statistics.median(s["calib_ms"] for s in samples)
    busy = statistics.median(s["busy_share"] for s in samples)
    disk = doc.get("info", {}).get("disk", {})
    return (
        f"- {doc['system']} {doc.get('version', '')}: child wall {doc['wall_s']:.0f} s; "
        f"calibration median {calib:.1f} ms; CPU busy before samples median {busy:.0%}; "
        f"idle wait total {doc.get('waited_s', 0):.1f} s; fsync of a small append "
        f"{disk.get('fsync_append_ms', float('nan')):.2f} ms, one committed sqlite INSERT "
        f"{disk.get('sqlite_commit_insert_ms', float('nan')):.2f} ms"
        + (f"; **{doc['error']}**" if doc.get("error") else "")
    )


def table(docs: dict[str, dict[str, Any]], wall_s: float, quick: bool) -> str:
    rows = {name: {r["id"]: r for r in d.get("rows", [])} for name, d in docs.items()}
    cbr, mlr = rows.get("canvasback", {}), rows.get("mlflow", {})
    ml_notes = docs.get("mlflow", {}).get("notes", [])
    lines = [
        (
            "| workload | canvasback median (min-max) | MLflow sqlite median (min-max) "
            "| ratio | canvasback target | pass |"
        ),
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in SPECS:
        cb, ml = cbr.get(spec.id), mlr.get(spec.peer_id or spec.id)
        if cb is None and (ml is None or spec.peer_id):
            continue
        ratio = ratio_text(spec, cb, ml) if cb and ml else ""
        ml_cell = "—" if spec.peer_id else cell(ml)
        if ml is None and any(n.startswith(f"{spec.id} skipped") for n in ml_notes):
            ml_cell = "skipped (over budget, see NOTE)"
        verdict = spec.passes(cb["median"]) if cb else None
        mark = "" if verdict is None else ("pass" if verdict else "FAIL")
        if cb and cb.get("check", "ok") != "ok":
            mark = "FAIL (check)"
        lines.append(
            f"| {spec.label} | {cell(cb)} | {ml_cell} "
            f"| {ratio} | {spec.target.replace('<=', '≤').replace('>=', '≥')} "
            f"| {mark} |"
        )
    out = [
        f"Run of {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, whole run {wall_s:.0f} s"
        + (" (--quick: sizes scaled down)" if quick else ""),
        "",
        *lines,
        "",
    ]
    out += [conditions(d) for d in docs.values()]
    notes = [f"NOTE: {name}: {n}" for name, d in docs.items() for n in d.get("notes", [])]
    fails = [
        f"CHECK: {name} {r['id']}: {r['check']}"
        for name, d in docs.items()
        for r in d.get("rows", [])
        if r.get("check", "ok") != "ok"
    ]
    if notes or fails:
        out += ["", *[f"- {n}" for n in notes + fails]]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="scaled-down sizes, a smoke run")
    ap.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W4")
    ap.add_argument(
        "--peer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run MLflow in its throw-away venv (default: yes)",
    )
    args = ap.parse_args()

    t0 = time.perf_counter()
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    scratch = c.fresh_dir("runner")
    docs = {
        "canvasback": run_child(
            "canvasback",
            Path(sys.executable),
            "bench_canvasback.py",
            args,
            scratch / "canvasback.json",
        )
    }
    setup_s = 0.0
    if args.peer:
        t_setup = time.perf_counter()
        peer_py = ensure_peer_venv()
        setup_s = time.perf_counter() - t_setup
        docs["mlflow"] = run_child(
            "mlflow", peer_py, "bench_mlflow.py", args, scratch / "mlflow.json"
        )
    shutil.rmtree(scratch, ignore_errors=True)
    wall = time.perf_counter() - t0

    md = table(docs, wall, args.quick)
    raw = {
        "started": stamp,
        "wall_s": wall,
        "peer_venv_setup_s": setup_s,
        "args": vars(args),
        "peer_requirements": PEER_REQUIREMENTS,
        "systems": docs,
    }
    (RESULTS / f"{stamp}.json").write_text(json.dumps(raw, indent=1))
    (RESULTS / "latest.md").write_text(md)
    print()
    print(md)
    sys.exit(1 if any("error" in d for d in docs.values()) else 0)


if __name__ == "__main__":
    main()
