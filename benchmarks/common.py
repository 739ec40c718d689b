# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""Shared helpers of the tracker benchmarks: timers, idle-CPU wait, calibration, data, JSON.

Standard library only: the same file is imported by the canvasback side (project venv)
and by the MLflow side (a throw-away venv that does not have canvasback's deps).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

T = TypeVar("T")

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

# Workload sizes from WORKLOAD.md; --quick divides them so a smoke run takes seconds.
FULL = {"w1_calls": 20_000, "w2_points": 200_000, "w3_runs": 1_000, "w3_chunk": 200}
QUICK = {"w1_calls": 2_000, "w2_points": 20_000, "w3_runs": 200, "w3_chunk": 40}

# The model rows: M4 searches one model of 100 versions among 1,000 (and 10,000).
MODEL_VERSIONS_PER_MODEL = 100
M4_FILTER = "name = 'bulk-7'"
BATCH = 1_000  # MLflow's MAX_METRICS_PER_BATCH; both systems get the same chunking
W4_FILTER = "metrics.acc > 0.5 and params.lr = '0.01'"
W4_ORDER = ["metrics.acc DESC"]
W4_TOP = 100

BUSY_LIMIT = 0.5  # "other processes use less than half the CPUs"
STAT_WINDOW_S = 0.2
SAMPLE_WAIT_S = 5.0  # longest wait before one sample
SCRIPT_WAIT_S = 60.0  # longest total wait of one benchmark process (of a ~5 min budget)


# ---------------------------------------------------------------- data generator


def w1_point(i: int) -> tuple[str, float, int]:
    """Key, value and step of call ``i`` of W1/W2 (and so of W5's history)."""
    return ("loss" if i % 2 else "acc"), 1.0 / (1 + i), i // 2


def run_params(i: int) -> dict[str, str]:
    return {
        "lr": ("0.1", "0.01", "0.001")[i % 3],
        "batch_size": ("32", "64", "128", "256")[i % 4],
        "optimizer": ("adam", "sgd", "adamw")[(i // 3) % 3],
        "epochs": str(10 + i % 5),
        # The seed is the run's index: it lets W4 check identities, not only values.
        "seed": str(i),
        "dropout": ("0.0", "0.1", "0.2", "0.5")[(i // 4) % 4],
        "weight_decay": ("0", "1e-4", "1e-2")[(i // 2) % 3],
        "model": ("resnet18", "resnet50", "vit-b16", "mlp")[(i // 5) % 4],
        "layers": str(2 + i % 6),
        "hidden": ("128", "256", "512", "1024")[(i // 7) % 4],
    }


def run_metrics(i: int) -> dict[str, float]:
    rng = random.Random(i)  # noqa: S311  # reproducible data, not secrets
    # acc must be the first draw: the spec defines it as uniform from Random(i).
    acc = rng.random()
    return {
        "acc": acc,
        "loss": 1.0 - acc + rng.random() * 0.1,
        "f1": rng.random(),
        "precision": rng.random(),
        "recall": rng.random(),
    }


def run_tags(i: int) -> dict[str, str]:
    return {"team": ("vision", "nlp", "rl")[i % 3], "stage": ("dev", "prod")[i % 2]}


def run_name(i: int) -> str:
    return f"run-{i}"


def w4_expected(n_runs: int) -> list[str]:
    """Seeds (``params.seed``) of the W4 answer over runs ``0..n_runs-1``, in order."""
    hits = [(run_metrics(i)["acc"], i) for i in range(1, n_runs, 3)]
    hits = [(acc, i) for acc, i in hits if acc > 0.5]
    hits.sort(key=lambda t: -t[0])
    return [str(i) for _, i in hits[:W4_TOP]]


W4_QUERIES = 5


def time_search(
    rec: Recorder, search: Callable[[], Any], row_id: str, n_runs: int, note: str = ""
) -> None:
    """W4: one untimed warm-up, then W4_QUERIES timed searches; checked against the generator.

    The warm-up's seconds go to ``rec.info`` (``<row>_warmup_s``): a reader may do work
    once there (canvasback folds a long tail of runs into a snapshot).
    """
    started = time.perf_counter()
    df = search()
    rec.info[f"{row_id}_warmup_s"] = time.perf_counter() - started
    samples = []
    for _ in range(W4_QUERIES):
        with rec.timed() as sample:
            df = search()
        samples.append(sample)
    check = check_w4(list(df["params.seed"]), list(df["metrics.acc"]), n_runs)
    rec.add(
        row_id,
        f"search_runs top 100 over {n_runs:,} runs (ms)",
        "ms",
        samples,
        1,
        value=millis,
        check=check,
        note=note,
    )


def check_w4(seeds: Sequence[object], accs: Sequence[float], n_runs: int) -> str:
    want = w4_expected(n_runs)
    got = [str(s) for s in seeds]
    if got != want:
        return f"FAIL: {len(got)} rows, first {got[:3]}; expected {len(want)}, first {want[:3]}"
    if any(a < b for a, b in itertools.pairwise(accs)):
        return "FAIL: not ordered by acc DESC"
    return "ok"


# ---------------------------------------------------------------- machine conditions


def _cpu_times() -> tuple[int, int]:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields[:8]]  # guest time is already inside user
    idle = values[3] + values[4]  # idle + iowait
    return sum(values), idle


def busy_share(window_s: float = STAT_WINDOW_S) -> float:
    """Share of all CPUs busy over a short window (0..1), from /proc/stat."""
    total0, idle0 = _cpu_times()
    time.sleep(window_s)
    total1, idle1 = _cpu_times()
    total = total1 - total0
    return 0.0 if total <= 0 else 1.0 - (idle1 - idle0) / total


def calibrate() -> float:
    """Milliseconds of a fixed pure-Python loop: how fast the CPU was for this sample."""
    t0 = time.perf_counter()
    acc = 0
    for i in range(200_000):
        acc += i * i % 7
    return (time.perf_counter() - t0) * 1e3


def disk_latency(folder: Path, n: int = 20) -> dict[str, float]:
    """Median fsync of a small append and of one committed sqlite3 INSERT, in ms.

    Per-call-commit stores (MLflow's sqlite) follow these numbers, so they are recorded
    next to every result.
    """
    path = folder / "fsync.probe"
    fsync_ms = []
    with path.open("ab") as fh:
        for _ in range(n):
            t0 = time.perf_counter()
            fh.write(b"x" * 64)
            fh.flush()
            os.fsync(fh.fileno())
            fsync_ms.append((time.perf_counter() - t0) * 1e3)
    db = sqlite3.connect(folder / "probe.db")
    db.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    db.commit()
    insert_ms = []
    for i in range(n):
        t0 = time.perf_counter()
        db.execute("INSERT INTO t VALUES (?, ?)", (i, "x"))
        db.commit()
        insert_ms.append((time.perf_counter() - t0) * 1e3)
    db.close()
    path.unlink()
    (folder / "probe.db").unlink()
    return {
        "fsync_append_ms": statistics.median(fsync_ms),
        "sqlite_commit_insert_ms": statistics.median(insert_ms),
    }


def _fs_type(folder: Path) -> str:
    best, kind = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        parts = line.split()
        mount = parts[1]
        inside = str(folder) == mount or str(folder).startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, parts[2]
    return kind


def fresh_dir(label: str) -> Path:
    """A new, empty folder on local disk; falls back beside this file if /tmp is tmpfs."""
    base = Path(tempfile.gettempdir())
    if _fs_type(base) in {"tmpfs", "ramfs"}:
        base = Path(__file__).resolve().parent / ".tmp"
        base.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{label}-", dir=base))
    if not os.environ.get("BENCH_KEEP"):
        # Stores reach hundreds of MB (100k runs); set BENCH_KEEP=1 to look at them.
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def host_info() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


# ---------------------------------------------------------------- recording


@dataclass
class Sample:
    seconds: float = 0.0
    busy_share: float = 0.0  # CPU share in use by others just before the sample
    wait_s: float = 0.0  # time spent waiting for that share to drop
    calib_ms: float = 0.0


@dataclass
class Row:
    id: str
    label: str
    unit: str
    better: str  # "lower" or "higher"
    count: int
    samples: list[Sample]
    values: list[float]
    median: float
    min: float
    max: float
    check: str = "ok"
    note: str = ""


@dataclass
class Recorder:
    system: str
    version: str
    quick: bool
    only: list[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    waited_s: float = 0.0

    @property
    def sizes(self) -> dict[str, int]:
        return QUICK if self.quick else FULL

    def wants(self, row_id: str) -> bool:
        # Both ways: "W4" selects W4-1k..., and "W4-1k" also selects its workload "W4".
        rid = row_id.upper()
        return not self.only or any(rid.startswith(w) or w.startswith(rid) for w in self.only)

    def note(self, text: str) -> None:
        print(f"NOTE: {self.system}: {text}", flush=True)
        self.notes.append(text)

    def _wait_idle(self) -> tuple[float, float]:
        # Bounded twice: per sample, and for the whole process, so a busy neighbour
        # slows the run down but never stalls it.
        t0 = time.perf_counter()
        share = busy_share()
        while share >= BUSY_LIMIT:
            waited = time.perf_counter() - t0
            if waited > SAMPLE_WAIT_S or self.waited_s + waited > SCRIPT_WAIT_S:
                break
            share = busy_share(0.5)
        waited = time.perf_counter() - t0
        self.waited_s += waited
        return share, waited

    @contextlib.contextmanager
    def timed(self) -> Iterator[Sample]:
        """Wait for an idle CPU, calibrate, then time the block with perf_counter."""
        share, waited = self._wait_idle()
        sample = Sample(busy_share=share, wait_s=waited, calib_ms=calibrate())
        t0 = time.perf_counter()
        yield sample
        sample.seconds = time.perf_counter() - t0

    def repeat(self, work: Callable[[int], T], times: int) -> tuple[list[Sample], T]:
        """Time ``work(i)`` for i in range(times), each in ``timed``; the last result too."""
        samples: list[Sample] = []
        for i in range(times):
            with self.timed() as sample:
                result = work(i)
            samples.append(sample)
        return samples, result

    def add(
        self,
        row_id: str,
        label: str,
        unit: str,
        samples: list[Sample],
        count: int,
        *,
        value: Callable[[float], float],
        better: str = "lower",
        check: str = "ok",
        note: str = "",
    ) -> Row:
        values = [value(s.seconds) for s in samples]
        row = Row(
            id=row_id,
            label=label,
            unit=unit,
            better=better,
            count=count,
            samples=samples,
            values=values,
            median=statistics.median(values),
            min=min(values),
            max=max(values),
            check=check,
            note=note,
        )
        self.rows.append(row)
        print(
            f"{self.system:>10} {row_id:<18} {fmt(row.median)} {unit} "
            f"({fmt(row.min)}-{fmt(row.max)}) n={len(values)} check={check}",
            flush=True,
        )
        if note:
            self.note(f"{row_id}: {note}")
        return row

    def write(self, out: Path, **extra: object) -> None:
        doc = {
            "system": self.system,
            "version": self.version,
            "quick": self.quick,
            "host": host_info(),
            "waited_s": self.waited_s,
            "notes": self.notes,
            "info": self.info,
            "rows": [asdict(r) for r in self.rows],
            **extra,
        }
        out.write_text(json.dumps(doc, indent=1))


def per_call_us(count: int) -> Callable[[float], float]:
    return lambda s: s / count * 1e6


def per_second(count: int) -> Callable[[float], float]:
    return lambda s: count / s


def millis(s: float) -> float:
    return s * 1e3


def fmt(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}" if v >= 1 else f"{v:.3g}"


# ---------------------------------------------------------------- cold start (W6)


def child_wall(cmd: list[str], rec: Recorder, cwd: Path) -> tuple[Sample, str]:
    """Wall time of one child process; returns its stdout too."""
    with rec.timed() as sample:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode:
        msg = f"child failed ({proc.returncode}): {proc.stderr[-2000:]}"
        raise RuntimeError(msg)
    return sample, proc.stdout


def cold_start(
    rec: Recorder,
    *,
    lib: str,
    empty_run_code: str,
    workdir: Path,
    repeats: int,
    run_repeats: int | None = None,
    suffix: str = "",
) -> None:
    """W6 rows: import wall time next to a bare interpreter, then the empty-run child.

    ``empty_run_code`` runs as ``python -c CODE STORE`` and prints one JSON line with
    ``import_s`` and ``run_s`` (both timed inside the child with perf_counter). With a
    ``suffix`` (a variant of the empty run, e.g. ``-nocapture``) only the empty-run rows
    are timed, under their ids with the suffix.
    """
    py = sys.executable
    if not suffix:
        samples = [child_wall([py, "-c", "pass"], rec, workdir)[0] for _ in range(repeats)]
        rec.add("W6-python", "python -c pass (s)", "s", samples, 1, value=lambda s: s)
        samples = [child_wall([py, "-c", f"import {lib}"], rec, workdir)[0] for _ in range(repeats)]
        rec.add("W6-import", f"python -c 'import {lib}' (s)", "s", samples, 1, value=lambda s: s)

    for first_use in (False, True):
        store = fresh_dir(f"{rec.system}-w6")
        if not first_use:
            # One untimed child makes the store exist (schema, experiment) beforehand.
            subprocess.run(
                [py, "-c", empty_run_code, str(store)], cwd=store, check=True, capture_output=True
            )
        walls, inner = [], []
        for _ in range(run_repeats or repeats):
            if first_use:
                store = fresh_dir(f"{rec.system}-w6-new")
            sample, out = child_wall([py, "-c", empty_run_code, str(store)], rec, store)
            walls.append(sample)
            timing = json.loads(out.strip().splitlines()[-1])
            inner.append(Sample(timing["run_s"], sample.busy_share, sample.wait_s, sample.calib_ms))
        tag = "W6-first-use" if first_use else "W6-empty-run"
        what = "never-used store" if first_use else "existing store"
        rec.add(
            f"{tag}{suffix}",
            f"empty run in a fresh process, {what} (ms)",
            "ms",
            inner,
            1,
            value=millis,
        )
        rec.add(f"{tag}-wall{suffix}", f"whole child, {what} (s)", "s", walls, 1, value=lambda s: s)
