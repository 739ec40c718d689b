"""W8: what a sweep of a notebook costs beside the same loop written by hand.

Usage::

    python benchmarks/bench_sweeps.py [--quick] [--trials 20] [--workers 2] [--repeats 3]

A tiny notebook with a ``parameters`` cell runs once per trial, two at a time, in two
ways, one after the other in this process:

- ``cb.sweep(notebook, points=..., max_workers=2)``: every trial a tracked child run
  (params logged, the executed notebook kept, code and environment captured, as a user
  gets by default), the parent sweep run finished, everything flushed;
- by hand: the same notebook with the same values injected after its ``parameters``
  cell (papermill's convention) and executed with nbclient in a fresh kernel, on a
  thread pool of the same size, nothing tracked.

Both sides start one kernel per trial, which dominates either. The row that matters is
the difference: the seconds canvasback adds per launched trial. Raw samples go to
``benchmarks/results/sweeps-<timestamp>.json`` and the table to
``benchmarks/results/sweeps-latest.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import common as c  # noqa: E402  # after the path, as the other benchmark scripts

RESULTS = HERE / "results"
PARAMETERS = "lr = 0.1\nepochs = 3"
BODY = (
    "loss = 1.0\n"
    "for epoch in range(epochs):\n"
    "    loss = loss * (1 - lr) + (lr - 0.03) ** 2\n"
    "print(f'loss {loss:.4f}')"
)
TRACKED = "import canvasback as cb\ncb.log_metric('loss', loss)"


def write_notebook(folder: Path, *, tracked: bool) -> Path:
    """The trial notebook (``tracked``: its last cell logs the loss to its run)."""
    import nbformat  # noqa: PLC0415

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BODY)]
    if tracked:
        nb.cells.append(nbformat.v4.new_code_cell(TRACKED))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / ("train.ipynb" if tracked else "train_by_hand.ipynb")
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path


def points(trials: int) -> list[dict[str, object]]:
    rates = (0.3, 0.1, 0.03, 0.01)
    return [{"lr": rates[i % len(rates)], "epochs": 3 + i % 3} for i in range(trials)]


def by_hand(path: Path, values: list[dict[str, object]], workers: int) -> int:
    """The loop a user would write: inject, execute with nbclient, nothing tracked."""
    import nbformat  # noqa: PLC0415
    from nbclient import NotebookClient  # noqa: PLC0415

    def one(point: dict[str, object]) -> int:
        nb = nbformat.read(path, as_version=4)
        injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in point.items()))
        injected.metadata["tags"] = ["injected-parameters"]
        nb.cells.insert(1, injected)
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
        return 1

    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(one, values))


def with_canvasback(path: Path, values: list[dict[str, object]], workers: int, store: Path) -> int:
    import canvasback as cb  # noqa: PLC0415

    result = cb.sweep(
        path,
        points=values,
        max_workers=workers,
        metric="loss",
        mode="min",
        store=store,
        experiment="w8",
        progress=False,
    )
    if result.finished != len(values):
        msg = f"W8: {result.failed} of {len(values)} trials failed: {result.summary()}"
        raise RuntimeError(msg)
    return result.finished


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="4 trials, 1 repeat")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    trials, repeats = (4, 1) if args.quick else (args.trials, args.repeats)
    try:
        import importlib.metadata  # noqa: PLC0415

        version = importlib.metadata.version("canvasback")
    except importlib.metadata.PackageNotFoundError:
        version = "src"
    rec = c.Recorder("canvasback", version, quick=args.quick, only=[])
    folder = Path(tempfile.mkdtemp(prefix="canvasback-w8-"))
    os.chdir(folder)
    tracked = write_notebook(folder, tracked=True)
    plain = write_notebook(folder, tracked=False)
    values = points(trials)
    by_hand(plain, values[:1], 1)  # untimed: the first kernel start warms the disk cache
    hand, _ = rec.repeat(lambda _: by_hand(plain, values, args.workers), repeats)
    stores = [folder / f"store-{i}" for i in range(repeats)]
    tracked_samples, _ = rec.repeat(
        lambda i: with_canvasback(tracked, values, args.workers, stores[i]), repeats
    )
    rows = [
        rec.add(
            "W8-by-hand",
            "nbclient loop by hand, s per trial",
            "s",
            hand,
            trials,
            value=lambda s: s / trials,
        ),
        rec.add(
            "W8",
            "cb.sweep of the notebook, s per trial",
            "s",
            tracked_samples,
            trials,
            value=lambda s: s / trials,
        ),
    ]
    added = statistics.median(s.seconds for s in tracked_samples) - statistics.median(
        s.seconds for s in hand
    )
    added_per_trial = added / trials
    rec.info["added_s_per_trial"] = added_per_trial
    rec.note(
        f"W8: {trials} trials, {args.workers} at a time, {repeats} repeats; canvasback adds "
        f"{added_per_trial:+.3f} s per launched trial (median totals)"
    )
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    rec.write(RESULTS / f"sweeps-{stamp}.json", trials=trials, workers=args.workers)
    table = render(rows, trials, args.workers, added_per_trial, quick=args.quick)
    (RESULTS / "sweeps-latest.md").write_text(table, encoding="utf-8")
    print(table)


def render(rows: list[Any], trials: int, workers: int, added: float, *, quick: bool) -> str:
    head = (
        f"W8, a sweep of a tiny notebook: {trials} trials, {workers} at a time"
        f"{' (--quick)' if quick else ''}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n\n"
        "| row | median (min-max) |\n| --- | --- |\n"
    )
    lines = [f"| {r.label} | {c.fmt(r.median)} ({c.fmt(r.min)}-{c.fmt(r.max)}) |" for r in rows]
    lines.append(f"| canvasback adds, s per launched trial | {added:+.3f} |")
    return head + "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
