"""How big a saved notebook of canvasback widgets is, with and without widget state.

Usage::

    python benchmarks/bench_saved_size.py [--compares 5] [--tables 5] [--keep DIR]

Seeds a store with a sweep (24 runs, 3 metrics, 500 steps each), writes a notebook of
``--compares`` comparison cells (6 runs each) and ``--tables`` run-table cells, executes
it with nbclient as ``jupyter nbconvert --to notebook --execute`` does (widget state
saved), and prints the size of the saved file, the same file without widget state, and
where the bytes go. The candidates measured for the saved size are printed too: the
bundle as each widget used to carry it, a vega-only bundle (Vega-Lite compiled in
Python), and vl-convert's SVG before and after :func:`minify_svg`.

Targets (five comparisons and five tables): at most 2 MB with widget state and 600 KB
without, offline.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STATIC = REPO / "src" / "canvasback" / "static"
sys.path.insert(0, str(REPO / "src"))

WITH_STATE_TARGET = 2_000_000
WITHOUT_STATE_TARGET = 600_000
RUNS, STEPS, PER_COMPARE = 24, 500, 6
STATE = "application/vnd.jupyter.widget-state+json"

SEED = """
import math, random, canvasback as cb
cb.set_store({store!r})
cb.set_experiment("sweep")
for i in range({runs}):
    rng = random.Random(i)
    lr = (0.3, 0.1, 0.03, 0.01)[i % 4]
    with cb.start_run(run_name=f"run {{i}}", params={{"lr": lr, "seed": i, "depth": i % 3}},
                      live=False):
        loss = [math.exp(-lr * s / 20) + rng.random() * 0.05 for s in range({steps})]
        acc = [1 - v / 2 for v in loss]
        decay = [lr * 0.999 ** s for s in range({steps})]
        cb.log_history({{"loss": loss, "acc": acc, "lr": decay}})
"""


def notebook(store: Path, compares: int, tables: int) -> dict[str, Any]:
    cells = [
        (
            f"import canvasback as cb\ncb.set_store({str(store)!r})\n"
            'ids = list(cb.search_runs(experiment_names=["sweep"], '
            'order_by=["params.seed"]).run_id)'
        )
    ]
    for i in range(max(compares, tables)):
        if i < tables:
            cells.append(f'cb.runs("sweep", filter="params.depth != \'{i}\'")')
        if i < compares:
            lo = (i * PER_COMPARE) % RUNS
            cells.append(f'cb.compare(ids[{lo}:{lo + PER_COMPARE}], metrics=["loss", "acc"])')
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"c{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def execute(path: Path) -> dict[str, Any]:
    import nbclient  # noqa: PLC0415 - only this benchmark needs it
    import nbformat  # noqa: PLC0415

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3")
    client.execute(cwd=str(path.parent))
    nbformat.write(nb, path)
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def dumps(nb: dict[str, Any]) -> int:
    # As nbformat writes it (indent 1), so the figure is the file's size on disk.
    return len(json.dumps(nb, indent=1, ensure_ascii=False).encode("utf-8"))


def _models(nb: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = nb.get("metadata", {}).get("widgets", {}).get(STATE, {})
    return state.get("state", {})


def _is_runtime(model: dict[str, Any]) -> bool:
    return model["model_name"] == "WidgetModel" and "digest" in model["state"]


def breakdown(nb: dict[str, Any]) -> dict[str, int]:
    parts = {"runtimes (shared code, gzipped)": 0, "widget models": 0, "static outputs": 0}
    for model in _models(nb).values():
        key = "runtimes (shared code, gzipped)" if _is_runtime(model) else "widget models"
        parts[key] += len(json.dumps(model))
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html", "")
            parts["static outputs"] += len("".join(html) if isinstance(html, list) else html)
    return parts


def candidates(nb: dict[str, Any], with_state: int) -> dict[str, int]:
    """The saved size had the code been laid out otherwise (from the bundles on disk)."""
    models = _models(nb)
    text = {
        f"IPY_MODEL_{mid}": len(json.dumps((STATIC / f"{m['state']['name']}.js").read_text()))
        for mid, m in models.items()
        if _is_runtime(m)
    }
    packed = sum(len(json.dumps(m)) for m in models.values() if _is_runtime(m))
    users = [m["state"].get("_runtime") for m in models.values() if m["state"].get("_runtime")]
    return {
        "each widget carries its bundle (before)": with_state
        - packed
        + sum(text.get(ref, 0) for ref in users),
        "one shared runtime per bundle, as text": with_state - packed + sum(text.values()),
        "one shared runtime per bundle, gzipped (chosen)": with_state,
    }


def vega_only_bundle() -> int | None:
    """Bytes of a minified bundle of the Vega runtime alone (no vega-lite, no embed)."""
    npx = shutil.which("npx")
    if npx is None or not (REPO / "node_modules" / "vega").is_dir():
        return None
    result = subprocess.run(
        [npx, "esbuild", "--bundle", "--minify", "--format=esm", "--log-level=error"],
        input='export { View, parse } from "vega";',
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    return len(result.stdout.encode("utf-8"))


def svg_sizes(store: Path) -> tuple[int, int]:
    """vl-convert's SVG of one comparison's static charts, as it comes and minified."""
    import vl_convert  # noqa: PLC0415

    import canvasback as cb  # noqa: PLC0415
    from canvasback import charts  # noqa: PLC0415
    from canvasback.charts.panels import Settings, build_panels  # noqa: PLC0415
    from canvasback.widgets import _static  # noqa: PLC0415

    cb.set_store(store)
    ids = list(cb.search_runs(experiment_names=["sweep"]).run_id)[:PER_COMPARE]
    chart = cb.compare(ids, metrics=["loss", "acc"])
    frame = chart.runs
    settings = Settings(metrics=["loss", "acc"], scatter_param="lr", scatter_metric="loss")
    panels = build_panels(
        frame, charts.run_labels(frame), chart.history(), settings, interactive=False
    )
    raw = minified = 0
    for panel in panels.values():
        if panel.spec is None:
            continue
        svg = vl_convert.vegalite_to_svg(_static.inline_datasets(panel.spec, panel.data))
        raw += len(svg)
        minified += len(_static.minify_svg(svg))
    chart.close()
    return raw, minified


def kb(n: float) -> str:
    return f"{n / 1000:,.0f} KB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--compares", type=int, default=5)
    ap.add_argument("--tables", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="keep the notebooks in this folder")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cb-saved-size-"))
    try:
        store = work / "store"
        subprocess.run(
            [sys.executable, "-c", SEED.format(store=str(store), runs=RUNS, steps=STEPS)],
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        )
        path = work / "saved.ipynb"
        path.write_text(json.dumps(notebook(store, args.compares, args.tables)))
        started = time.perf_counter()
        nb = execute(path)
        seconds = time.perf_counter() - started
        with_state = dumps(nb)
        stateless = dict(nb, metadata={k: v for k, v in nb["metadata"].items() if k != "widgets"})
        without_state = dumps(stateless)
        parts = breakdown(nb)
        layouts = candidates(nb, with_state)
        raw_svg, small_svg = svg_sizes(store)
        vega_only = vega_only_bundle()
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, args.keep / "with-state.ipynb")
            (args.keep / "without-state.ipynb").write_text(json.dumps(stateless, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    compare_js = (STATIC / "compare.js").stat().st_size
    print(f"## Saved notebook: {args.compares} comparisons, {args.tables} run tables")
    print(f"({RUNS} runs x 3 metrics x {STEPS} steps; executed by nbclient in {seconds:.0f} s)\n")
    print("| saved | size | target | pass |")
    print("| --- | --- | --- | --- |")
    for label, size, target in (
        ("with widget state", with_state, WITH_STATE_TARGET),
        ("without widget state", without_state, WITHOUT_STATE_TARGET),
    ):
        verdict = "yes" if size <= target else "NO"
        print(f"| {label} | {kb(size)} | <= {kb(target)} | {verdict} |")
    print("\n| where the bytes go (with state) | size |")
    print("| --- | --- |")
    for label, size in parts.items():
        print(f"| {label} | {kb(size)} |")
    print("\n| candidate | measured |")
    print("| --- | --- |")
    for label, size in layouts.items():
        print(f"| {label} | {kb(size)} with state |")
    print(f"| compare bundle: vega + vega-lite + vega-embed | {kb(compare_js)} |")
    if vega_only is not None:
        print(f"| vega runtime alone (Vega-Lite compiled in Python) | {kb(vega_only)} |")
    print(f"| one comparison's SVG charts, as vl-convert writes them | {kb(raw_svg)} |")
    print(f"| the same, minified (chosen) | {kb(small_svg)} |")
    if with_state > WITH_STATE_TARGET or without_state > WITHOUT_STATE_TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
