# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""Run the tracker workload (W1-W6) on canvasback and its peers, and print one table.

Usage::

    python benchmarks/run.py [--quick] [--only W1,W4] [--peers mlflow,trackio] [--no-peer]

canvasback runs in a child process of this interpreter; each peer (MLflow with a sqlite
store, Trackio with its SQLite store) runs in a child of its own throw-away venv under
``benchmarks/`` (built on first use, rebuilt when its pins below change). The children
run one after the other, never side by side, since the machine has two cores. Raw
samples go to ``benchmarks/results/<timestamp>.json`` and the table to
``benchmarks/results/latest.md``.
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
PEER_VENV = HERE / ".peer-venv"  # MLflow's; tests/test_mlflow_models.py uses it too
TRACKIO_VENV = HERE / ".trackio-venv"
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

# Trackio and its direct requirements as resolved when the figures were measured; its
# own pins are ranges, and huggingface-hub and the web stack move fast.
TRACKIO_REQUIREMENTS = (
    "trackio==0.43.0",
    "huggingface-hub==2.4.0",
    "gradio-client==2.7.2",
    "numpy==2.4.6",
    "orjson==3.13.0",
    "pillow==12.3.0",
    "httpx==0.28.1",
    "starlette==1.10.0",
    "uvicorn==0.54.0",
    "python-multipart==0.0.34",
    "brotli==1.2.1",
)


@dataclass(frozen=True)
class Peer:
    name: str  # the system's name in the children's JSON
    short: str  # its name in the ratio column
    label: str  # its column header
    script: str
    venv: Path
    requirements: tuple[str, ...]


MLFLOW = Peer(
    name="mlflow",
    short="MLflow",
    label="MLflow sqlite",
    script="bench_mlflow.py",
    venv=PEER_VENV,
    requirements=PEER_REQUIREMENTS,
)
TRACKIO = Peer(
    name="trackio",
    short="Trackio",
    label="Trackio",
    script="bench_trackio.py",
    venv=TRACKIO_VENV,
    requirements=TRACKIO_REQUIREMENTS,
)
PEERS = {p.name: p for p in (MLFLOW, TRACKIO)}  # the default order of the children


@dataclass(frozen=True)
class Spec:
    id: str
    label: str
    target: str = ""  # canvasback's target from WORKLOAD.md, e.g. "<= 2"
    peer_id: str = ""  # the peers' row compared against, when it has another id

    def passes(self, median: float) -> bool | None:
        if not self.target:
            return None
        op, bound = self.target.split()
        limit = float(bound.replace(",", ""))
        return median <= limit if op == "<=" else median >= limit


@dataclass(frozen=True)
class RowGroup:
    """A block of the table's rows and the peers that have them.

    A new group of workloads is one more entry in ``ROW_GROUPS``; its rows show "-" in
    the columns of the peers it does not name.
    """

    name: str
    specs: tuple[Spec, ...]
    peers: tuple[str, ...] = tuple(PEERS)  # the peers that implement these rows


FSYNC = "CANVASBACK_FSYNC=1"
# Targets: WORKLOAD.md's, tightened where canvasback holds itself to more (W1, W2, W3, W4
# at 1k, W5, M4, W6), with the defaults a user gets (capture on for W1, W3 and W6).
ROW_GROUPS = (
    RowGroup(
        "tracker",
        (
            Spec("W1", "W1 log_metric, µs per call incl. end_run (+ flush), capture on", "<= 1"),
            Spec("W1-nocapture", "W1 with capture off, µs per call", "<= 1", "W1"),
            Spec(
                "W1-sysmetrics",
                "W1 with log_system_metrics=True (a reading every 0.02 s), µs per call",
                "<= 2",
                "W1",
            ),
            Spec("W2", "W2 log_batch, points/s incl. end_run (+ flush)", ">= 1,000,000"),
            Spec(
                "W2-history",
                "W2 through log_history (whole series as lists), points/s",
                ">= 1,000,000",
                "W2",
            ),
            Spec("W3", "W3 runs/s (start, params, metrics, tags, end), capture on", ">= 5,000"),
            Spec("W3-nocapture", "W3 with capture off, runs/s", ">= 5,000", "W3"),
            Spec("W1-fsync", f"W1 with {FSYNC} (capture off), µs per call", "<= 2", "W1"),
            Spec("W2-fsync", f"W2 with {FSYNC}, points/s", ">= 1,000,000", "W2"),
            Spec("W3-fsync", f"W3 with {FSYNC} (capture off), runs/s", ">= 300", "W3"),
            Spec("W4-1k", "W4 search ms, 1k runs", "<= 3"),
            Spec(
                "W4-1k-after-write",
                "W4 search ms, 1k runs, each search after a write (nothing answered again)",
                "",
                "W4-1k",
            ),
            Spec("W4-1k-compacted", "W4 search ms, 1k runs, after compact()", "<= 3", "W4-1k"),
            Spec("W4-10k", "W4 search ms, 10k runs", "<= 15"),
            Spec("W4-10k-compacted", "W4 search ms, 10k runs, after compact()", "<= 15", "W4-10k"),
            Spec("W4-100k", "W4 search ms, 100k runs", "<= 40"),
            Spec(
                "W4-100k-compacted",
                "W4 search ms, 100k runs, after compact()",
                "<= 40",
                "W4-100k",
            ),
            Spec("W5", "W5 history of 100k points, ms", "<= 15"),
            Spec("W5-compacted", "W5 history, ms, after compact()", "<= 15", "W5"),
        ),
    ),
    RowGroup(
        "models",
        (
            Spec("M1", "M1 log_model of a small scikit-learn model, ms", "<= 50"),
            Spec("M2", "M2 register_model, ms", "<= 10"),
            Spec("M3", "M3 load_model by alias, ms", "<= 50"),
            Spec("M4-1k", "M4 search_model_versions, 1k versions, ms", "<= 8"),
            Spec("M4-10k", "M4 search_model_versions, 10k versions, ms", "<= 8", "M4-1k"),
            Spec("M4-10k-compacted", "M4 at 10k versions, after compact(), ms", "<= 8", "M4-1k"),
        ),
        peers=(MLFLOW.name,),  # Trackio has no model registry
    ),
    RowGroup(
        "evaluation",
        (
            Spec("M5", "M5 evaluate a binary classifier, 100k rows, 5 plots, s", "<= 2"),
            Spec("M5-regressor", "M5 evaluate a regressor, 100k rows, 3 plots, s", "<= 2"),
        ),
        # MLflow's evaluate draws with matplotlib and SHAP, which its venv here lacks.
        peers=(),
    ),
    RowGroup(
        "cold start",
        (
            Spec("W6-python", "W6 `python -c pass`, s"),
            Spec("W6-import", "W6 `python -c 'import <lib>'`, s", "<= 0.2"),
            Spec(
                "W6-empty-run",
                "W6 empty run in a new process, existing store, capture on, ms",
                "<= 50",
            ),
            Spec("W6-empty-run-wall", "W6 that child's wall time, s", "<= 0.3"),
            Spec("W6-first-use", "W6 empty run, never-used store, capture on, ms", "<= 50"),
            Spec("W6-first-use-wall", "W6 that child's wall time, s", "<= 0.3"),
            Spec(
                "W6-empty-run-nocapture",
                "W6 empty run, existing store, capture off, ms",
                "<= 50",
                "W6-empty-run",
            ),
            Spec(
                "W6-empty-run-wall-nocapture",
                "W6 that child's wall time, s",
                "<= 0.3",
                "W6-empty-run-wall",
            ),
            Spec(
                "W6-first-use-nocapture",
                "W6 empty run, never-used store, capture off, ms",
                "<= 50",
                "W6-first-use",
            ),
            Spec(
                "W6-first-use-wall-nocapture",
                "W6 that child's wall time, s",
                "<= 0.3",
                "W6-first-use-wall",
            ),
        ),
    ),
)


def ensure_venv(folder: Path, requirements: tuple[str, ...]) -> Path:
    """Build (or reuse) a throw-away venv with exactly ``requirements``; returns its python."""
    py = folder / "bin" / "python"
    stamp = folder / "pins.txt"
    pins = "\n".join(requirements) + "\n"
    if py.exists() and stamp.exists() and stamp.read_text() == pins:
        return py
    print(f"building {folder} ({', '.join(requirements)})", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    log = folder / "pip.log"
    with log.open("w") as fh:
        subprocess.run(
            [str(py), "-m", "pip", "install", "--disable-pip-version-check", *requirements],
            check=True,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    stamp.write_text(pins)
    return py


def ensure_peer_venv() -> Path:
    """MLflow's venv (also the model interop tests' MLflow); returns its python."""
    return ensure_venv(PEER_VENV, PEER_REQUIREMENTS)


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


def ratio_text(spec: Spec, cb: dict[str, Any], other: dict[str, Any], peer: Peer) -> str:
    if cb["id"] == "W6-python":
        return "same interpreter"
    a, b = cb["median"], other["median"]
    if a <= 0 or b <= 0:
        return ""
    # "faster" = lower time or higher throughput, whichever the row reports.
    r = b / a if cb["better"] == "lower" else a / b
    who, r = ("canvasback", r) if r >= 1 else (peer.short, 1 / r)
    suffix = f" (vs {peer.short} {spec.peer_id})" if spec.peer_id else ""
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


def peer_cells(
    spec: Spec,
    group: RowGroup,
    peer: Peer,
    cb: dict[str, Any] | None,
    doc: dict[str, Any],
) -> tuple[str, str]:
    """The peer's figure and the ratio to canvasback's, for one row."""
    if peer.name not in group.peers:
        return "-", ""  # the peer has nothing of the kind (Trackio: no model registry)
    other = {r["id"]: r for r in doc.get("rows", [])}.get(spec.peer_id or spec.id)
    ratio = ratio_text(spec, cb, other, peer) if cb and other else ""
    if spec.peer_id:
        return "—", ratio  # a canvasback variant; the peer's own row has its own line
    if other is None and any(n.startswith(f"{spec.id} skipped") for n in doc.get("notes", [])):
        return "skipped (over budget, see NOTE)", ratio
    return cell(other), ratio


def table(docs: dict[str, dict[str, Any]], peers: list[Peer], wall_s: float, quick: bool) -> str:
    cbr = {r["id"]: r for r in docs.get("canvasback", {}).get("rows", [])}
    head = ["workload", "canvasback median (min-max)"]
    for peer in peers:
        head += [f"{peer.label} median (min-max)", f"ratio vs {peer.short}"]
    head += ["canvasback target", "pass"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for group in ROW_GROUPS:
        for spec in group.specs:
            cb = cbr.get(spec.id)
            peer_has = any(
                spec.id in {r["id"] for r in docs.get(p.name, {}).get("rows", [])} for p in peers
            )
            if cb is None and (spec.peer_id or not peer_has):
                continue
            cells = [spec.label, cell(cb)]
            for peer in peers:
                cells += peer_cells(spec, group, peer, cb, docs.get(peer.name, {}))
            verdict = spec.passes(cb["median"]) if cb else None
            mark = "" if verdict is None else ("pass" if verdict else "FAIL")
            if cb and cb.get("check", "ok") != "ok":
                mark = "FAIL (check)"
            cells += [spec.target.replace("<=", "≤").replace(">=", "≥"), mark]
            lines.append("| " + " | ".join(cells) + " |")
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


def chosen_peers(args: argparse.Namespace) -> list[Peer]:
    if not args.peer:
        return []
    names = [n.strip().lower() for n in args.peers.split(",") if n.strip()]
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        msg = f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(PEERS)}"
        raise SystemExit(msg)
    return [PEERS[n] for n in dict.fromkeys(names)]


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
        help="also run the peers, each in its throw-away venv (default: yes)",
    )
    ap.add_argument(
        "--peers",
        default=",".join(PEERS),
        help=f"comma-separated peers to run, in that order (default: {','.join(PEERS)})",
    )
    args = ap.parse_args()
    peers = chosen_peers(args)

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
    setup_s: dict[str, float] = {}
    # One child at a time: each peer's venv is built (if needed) only after the previous
    # child has exited, so no pip install runs beside a measurement either.
    for peer in peers:
        t_setup = time.perf_counter()
        peer_py = ensure_venv(peer.venv, peer.requirements)
        setup_s[peer.name] = time.perf_counter() - t_setup
        docs[peer.name] = run_child(
            peer.name, peer_py, peer.script, args, scratch / f"{peer.name}.json"
        )
    shutil.rmtree(scratch, ignore_errors=True)
    wall = time.perf_counter() - t0

    md = table(docs, peers, wall, args.quick)
    raw = {
        "started": stamp,
        "wall_s": wall,
        "peer_venv_setup_s": setup_s,
        "args": vars(args),
        "peer_requirements": {p.name: p.requirements for p in peers},
        "systems": docs,
    }
    (RESULTS / f"{stamp}.json").write_text(json.dumps(raw, indent=1))
    (RESULTS / "latest.md").write_text(md)
    print()
    print(md)
    sys.exit(1 if any("error" in d for d in docs.values()) else 0)


if __name__ == "__main__":
    main()
