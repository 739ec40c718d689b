# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""Sweep overhead per trial beside Optuna alone.

The same n-trial study of a trivial function (a quadratic, no training) two ways, one
after the other, each in a fresh folder:

* Optuna alone: ``study.optimize`` over a ``JournalStorage`` file (as a sweep keeps
  it), the function's value returned;
* canvasback: ``sweep(f, space=..., n_trials=n, max_workers=1)``: each trial asked
  and told through the same kind of journal, run as a child run (created, its metric
  logged, ended and flushed) in a spawned worker process.

It prints seconds per trial for both and the ratio. What the ratio measures is the
sweep's own cost (a run per trial, a worker process, the store's writes), which a real
trial of seconds or minutes hides.

Usage::

    python benchmarks/bench_search.py [--trials 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def quadratic(x: float, y: float) -> float:
    return (x - 1.0) ** 2 + (y + 2.0) ** 2


def logged_quadratic(x: float, y: float) -> None:
    import canvasback as cb  # noqa: PLC0415  # in the worker process

    cb.log_metric("loss", quadratic(x, y))


def optuna_alone(folder: Path, n_trials: int) -> float:
    import optuna  # noqa: PLC0415
    from optuna.storages import JournalStorage  # noqa: PLC0415
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock  # noqa: PLC0415

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    journal = str(folder / "journal.log")
    storage = JournalStorage(JournalFileBackend(journal, lock_obj=JournalFileOpenLock(journal)))
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.TPESampler(seed=1))
    start = time.perf_counter()
    study.optimize(
        lambda t: quadratic(t.suggest_float("x", -4, 4), t.suggest_float("y", -4, 4)),
        n_trials=n_trials,
    )
    return time.perf_counter() - start


def canvasback_sweep(folder: Path, n_trials: int) -> float:
    import canvasback as cb  # noqa: PLC0415

    cb.set_store(folder / "store")
    start = time.perf_counter()
    result = cb.sweep(
        logged_quadratic,
        space={"x": (-4.0, 4.0), "y": (-4.0, 4.0)},
        n_trials=n_trials,
        max_workers=1,
        metric="loss",
        mode="min",
        seed=1,
        progress=False,
    )
    elapsed = time.perf_counter() - start
    if result.finished != n_trials:
        msg = f"the sweep finished {result.finished} of {n_trials} trials"
        raise RuntimeError(msg)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    n = parser.parse_args().trials
    with tempfile.TemporaryDirectory() as tmp:
        alone = optuna_alone(Path(tmp), n) / n
    with tempfile.TemporaryDirectory() as tmp:
        swept = canvasback_sweep(Path(tmp), n) / n
    print("sweep overhead per trial beside Optuna alone")
    print(f"| what | s per trial ({n} trials) |")
    print("| --- | --- |")
    print(f"| Optuna alone (JournalStorage) | {alone:.4f} |")
    print(f"| canvasback sweep(space=) | {swept:.4f} |")
    print(f"| ratio | {swept / alone:.1f}x |")


if __name__ == "__main__":
    main()
