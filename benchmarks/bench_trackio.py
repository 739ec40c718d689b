# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""The second peer: Trackio with its local SQLite store, in-process.

Runs inside the throw-away venv that ``run.py`` builds for it, so it may import only
Trackio and the standard library (plus ``common``, which is stdlib-only).

Trackio's public API is ``init`` / ``log`` / ``finish``: there is no batch call, no
tags, no run search and no history read in it. W2 logs one step (both keys) per
``log``, tags go into the run's config, and W4/W5 use the functions behind Trackio's
documented CLI (``trackio query project --sql``, ``trackio get metric``), in-process.
Every such substitution is a NOTE line and a row note in the JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import common as c

if TYPE_CHECKING:
    from collections.abc import Iterator


def isolate(store: Path) -> None:
    """Point Trackio and huggingface_hub at ``store``, offline, before they are imported.

    Trackio reads ``TRACKIO_DIR`` once at import (default: ``$HF_HOME/trackio``, in the
    user's home), and a Space, bucket, dataset or server setting in the environment
    would send the runs elsewhere: drop them all.
    """
    for name in list(os.environ):
        if name.startswith(("TRACKIO_", "HF_", "HUGGING_FACE_")) or name in {
            "SPACE_ID",
            "SPACE_HOST",
            "SPACE_REPO_NAME",
            "SYSTEM",
        }:
            del os.environ[name]
    os.environ["TRACKIO_DIR"] = str(store / "trackio")
    os.environ["HF_HOME"] = str(store / "hf")  # no token there: whoami fails locally
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


STORE = c.fresh_dir("trackio")
isolate(STORE)

import trackio  # noqa: E402  # only after isolate(): TRACKIO_DIR is read at import
from trackio.sqlite_storage import SQLiteStorage  # noqa: E402

W1_REPEATS = 5
W2_REPEATS = 3
W3_PROBE = 20
W3_CHUNK_S = 12.0  # longest planned W3 chunk
W3_PROJECT = "w3"
W5_FETCHES = 5
W6_REPEATS = 5
# No dashboard (embed only matters in a notebook, but say it), no system-metric threads.
INIT_KW: dict[str, Any] = {"embed": False, "auto_log_cpu": False, "auto_log_gpu": False}

W4_SQL = f"""
SELECT json_extract(c.config, '$.seed') AS seed, json_extract(m.metrics, '$.acc') AS acc
FROM configs c JOIN metrics m ON m.run_id = c.run_id
WHERE json_extract(m.metrics, '$.acc') > 0.5 AND json_extract(c.config, '$.lr') = '0.01'
ORDER BY acc DESC
LIMIT {c.W4_TOP}
"""
# Each W3 run logs its final metrics once, so the join gives one row per run.

EMPTY_RUN = """
import json, os, sys, time
os.environ["TRACKIO_DIR"] = sys.argv[1]
t0 = time.perf_counter()
import trackio
t1 = time.perf_counter()
trackio.init(project="w6", embed=False, auto_log_cpu=False, auto_log_gpu=False)
trackio.finish()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "run_s": t2 - t1}))
"""


class NetworkGuard:
    """Refuse and count outgoing connections: the benchmark must stay local."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._connect = socket.socket.connect

    def install(self) -> None:
        guard = self

        def refuse(sock: socket.socket, address: object) -> None:
            if sock.family == socket.AF_UNIX:
                guard._connect(sock, address)
                return
            guard.attempts.append(repr(address))
            msg = f"network use refused in the benchmark: {address!r}"
            raise OSError(msg)

        socket.socket.connect = refuse  # type: ignore[method-assign]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Send Trackio's per-run banners to /dev/null instead of the console.

    ``init`` and ``finish`` print 2-6 lines each; a terminal would make W3 measure the
    console. The prints themselves stay inside the timers.
    """
    with Path(os.devnull).open("w") as sink, contextlib.redirect_stdout(sink):
        yield


def w1(rec: c.Recorder) -> None:
    n = rec.sizes["w1_calls"]
    samples = []
    for r in range(W1_REPEATS):
        with quiet():
            trackio.init(project="w1", name=f"w1-{r}", **INIT_KW)
        with rec.timed() as sample, quiet():
            for i in range(n):
                key, value, step = c.w1_point(i)
                trackio.log({key: value}, step=step)
            trackio.finish()
        samples.append(sample)
    got = count_rows("w1", "SELECT count(*) FROM metrics")
    want = n * W1_REPEATS
    check = "ok" if got == want else f"FAIL: {got} rows, expected {want}"
    rec.add(
        "W1",
        "log({key: value}, step) µs/call incl. finish",
        "µs",
        samples,
        n,
        value=c.per_call_us(n),
        check=check,
        note="one log({key: value}, step=step) per call, Trackio's per-metric form",
    )


def w2(rec: c.Recorder, *, timed: bool) -> tuple[str, str]:
    """W2's points, one ``log`` per step with both keys; returns the first run's name, id."""
    n = rec.sizes["w2_points"]
    samples, runs = [], []
    for r in range(W2_REPEATS if timed else 1):
        with quiet():
            run = trackio.init(project="w2", name=f"w2-{r}", **INIT_KW)
        runs.append((run.name, run.id))
        with rec.timed() as sample, quiet():
            for i in range(0, n, 2):
                acc_key, acc, step = c.w1_point(i)
                loss_key, loss, _ = c.w1_point(i + 1)
                trackio.log({acc_key: acc, loss_key: loss}, step=step)
            trackio.finish()
        samples.append(sample)
    if timed:
        rec.add(
            "W2",
            "log({acc, loss}, step) points/s (2 per call)",
            "points/s",
            samples,
            n,
            value=c.per_second(n),
            better="higher",
            note="no batch API: one log() per step with both keys (its most batched call)",
        )
    return runs[0]


def make_runs(start: int, stop: int) -> None:
    for i in range(start, stop):
        trackio.init(
            project=W3_PROJECT,
            name=c.run_name(i),
            config={**c.run_params(i), **c.run_tags(i)},
            **INIT_KW,
        )
        trackio.log(c.run_metrics(i))
        trackio.finish()


def db_path(project: str) -> Path:
    return SQLiteStorage.get_project_db_path(project)


def count_rows(project: str, sql: str) -> int:
    db = sqlite3.connect(db_path(project))
    try:
        (n,) = db.execute(sql).fetchone()
    finally:
        db.close()
    return int(n)


def w3(rec: c.Recorder, *, timed: bool) -> None:
    n, chunk = rec.sizes["w3_runs"], rec.sizes["w3_chunk"]
    # Probe in another project (a separate database file W4 never reads) to size the
    # chunks, as for MLflow: every init() lists the project's runs.
    t0 = time.perf_counter()
    with quiet():
        for i in range(W3_PROBE):
            trackio.init(project="w3-probe", name=c.run_name(i), **INIT_KW)
            trackio.log(c.run_metrics(i))
            trackio.finish()
    rate = W3_PROBE / (time.perf_counter() - t0)
    fits = int(rate * W3_CHUNK_S) // 10 * 10
    if fits < chunk:
        chunk = max(W3_PROBE, fits)
        rec.note(
            f"W3 scaled to 5 chunks of {chunk} runs (spec {c.FULL['w3_chunk']}; "
            f"{rate:.1f} runs/s in a {W3_PROBE}-run probe); runs/s kept"
        )
    samples = []
    for lo in range(0, 5 * chunk, chunk):
        with rec.timed() as sample, quiet():
            make_runs(lo, lo + chunk)
        samples.append(sample)
    if 5 * chunk < n:
        clone_runs_sql(5 * chunk, n)
        rec.note(
            f"W4-1k: runs {5 * chunk:,}..{n - 1:,} copied from run-0's rows in sqlite with "
            "new ids and generator values, not through the API"
        )
    if timed:
        rec.add(
            "W3",
            f"runs/s (5 chunks of {chunk})",
            "runs/s",
            samples,
            chunk,
            value=c.per_second(chunk),
            better="higher",
            note="init(config=10 params + 2 tags), one log() of the 5 metrics, finish(); "
            "Trackio has no tags, so they are config entries",
        )


def clone_runs_sql(start: int, stop: int) -> None:
    """Add runs ``start..stop-1`` by copying run-0's rows inside the project database.

    Trackio has no bulk import, and thousands of runs through ``init`` would take
    minutes. Each copy gets a new run id and log id and the generator's config and
    metrics for its index, so the query sees the same table shapes and W4's answer
    stays checkable.
    """
    db = sqlite3.connect(db_path(W3_PROJECT))
    db.row_factory = sqlite3.Row
    conf = db.execute("SELECT * FROM configs WHERE run_name = ?", (c.run_name(0),)).fetchone()
    metric = db.execute("SELECT * FROM metrics WHERE run_id = ?", (conf["run_id"],)).fetchone()
    template = json.loads(conf["config"])
    configs, metrics = [], []
    for i in range(start, stop):
        run_id, name = uuid.uuid4().hex, c.run_name(i)
        config = {**template, **c.run_params(i), **c.run_tags(i)}
        configs.append((run_id, name, json.dumps(config), conf["created_at"]))
        metrics.append(
            (
                run_id,
                metric["timestamp"],
                name,
                metric["step"],
                json.dumps(c.run_metrics(i)),
                uuid.uuid4().hex,
            )
        )
    with db:
        db.executemany(
            "INSERT INTO configs (run_id, run_name, config, created_at) VALUES (?, ?, ?, ?)",
            configs,
        )
        db.executemany(
            "INSERT INTO metrics (run_id, timestamp, run_name, step, metrics, log_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            metrics,
        )
    db.close()


class Frame:
    """The two columns ``common.time_search`` checks, from query_project's row dicts."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.cols = {
            "params.seed": [r["seed"] for r in rows],
            "metrics.acc": [r["acc"] for r in rows],
        }

    def __getitem__(self, col: str) -> list[Any]:
        return self.cols[col]


def search() -> Frame:
    return Frame(SQLiteStorage.query_project(W3_PROJECT, W4_SQL)["rows"])


W4_NOTE = (
    "no search API: SQLiteStorage.query_project (behind `trackio query project --sql`), "
    "read-only SQL with json_extract over the configs and metrics tables"
)


def w4(rec: c.Recorder) -> None:
    n = rec.sizes["w3_runs"]
    c.time_search(rec, search, "W4-1k", n, note=W4_NOTE)
    for scale, row in ((10, "W4-10k"), (100, "W4-100k")):
        if not rec.wants(row):
            return
        have = count_rows(W3_PROJECT, "SELECT count(*) FROM configs")
        t0 = time.perf_counter()
        clone_runs_sql(have, scale * n)
        populate = time.perf_counter() - t0
        rec.info[f"{row.lower()}_populate_s"] = populate
        c.time_search(
            rec,
            search,
            row,
            scale * n,
            note=f"runs {have:,}..{scale * n - 1:,} copied from run-0's rows in sqlite with "
            f"new ids and generator values ({populate:.1f} s), not through the API",
        )


def w5(rec: c.Recorder, run: tuple[str, str]) -> None:
    want = rec.sizes["w2_points"] // 2
    name, run_id = run
    samples, got = [], 0
    for _ in range(W5_FETCHES):
        with rec.timed() as sample:
            got = len(SQLiteStorage.get_metric_values("w2", name, "loss", run_id=run_id))
        samples.append(sample)
    check = "ok" if got == want else f"FAIL: {got} points, expected {want}"
    rec.add(
        "W5",
        f"get_metric_values of {want:,} points (ms)",
        "ms",
        samples,
        want,
        value=c.millis,
        check=check,
        note="no history API: SQLiteStorage.get_metric_values (behind `trackio get "
        "metric`), a list of {timestamp, step, value} dicts",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    rec = c.Recorder("trackio", importlib.metadata.version("trackio"), quick=args.quick, only=only)
    guard = NetworkGuard()
    guard.install()

    os.chdir(STORE)
    rec.info["store"] = str(STORE)
    rec.info["trackio_dir"] = os.environ["TRACKIO_DIR"]
    rec.info["disk"] = c.disk_latency(STORE)

    t_all = time.perf_counter()
    if rec.wants("W1"):
        w1(rec)
    w2_run = ("", "")
    if rec.wants("W2") or rec.wants("W5"):
        w2_run = w2(rec, timed=rec.wants("W2"))
    if rec.wants("W3") or rec.wants("W4"):
        w3(rec, timed=rec.wants("W3"))
    if rec.wants("W4"):
        w4(rec)
    if rec.wants("W5"):
        w5(rec, w2_run)
    if rec.wants("W6"):
        c.cold_start(
            rec,
            lib="trackio",
            empty_run_code=EMPTY_RUN,
            workdir=STORE,
            repeats=3 if args.quick else W6_REPEATS,
        )
        rec.note(
            "W6: a Trackio run with no log() call writes nothing (no database file, no "
            "row), so the empty-run rows time no store work and 'existing store' is an "
            "empty folder"
        )
    # The local logging thread ends at finish(); anything still alive would be a
    # server or monitor this run was not supposed to start.
    rec.info["threads_left"] = [t.name for t in threading.enumerate() if t.name != "MainThread"]
    rec.info["network_attempts"] = guard.attempts
    rec.note(
        f"store in a fresh TRACKIO_DIR, HF_HUB_OFFLINE=1, no dashboard: threads left after "
        f"the last finish() {rec.info['threads_left'] or 'none'}, outgoing connections "
        f"refused {len(guard.attempts)}"
    )
    rec.write(args.out, total_s=time.perf_counter() - t_all)


if __name__ == "__main__":
    main()
