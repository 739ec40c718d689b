# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""Render timing in a real browser: chart histories and the run table's first paint.

Usage::

    python benchmarks/bench_browser.py [--runs 10] [--points 100000] [--repeat 5]
                                       [--table-runs 100000]

Logs the runs into a temporary store, builds a ``Compare`` widget (the history query
downsamples in DuckDB), then renders the widget's front end in headless Chromium
against the same stand-in model the browser tests use, offline. Reported, each as the
median and range of ``--repeat`` samples:

* ``downsample_ms``: the DuckDB query alone (M4 buckets over every stored point);
* ``widget_ms``: ``compare(...)`` in Python, query, charts, Arrow and all;
* ``render_first_ms``: first render in a fresh page, the bundle loaded and parsed too;
* ``render_ms``: rendering again in the same page (bundle cached);
* ``smoothing_ms``: from a new smoothing value in Python to the redrawn chart;
* ``table_construct_ms``: ``runs(...)`` in Python over ``--table-runs`` synthetic runs;
* ``table_first_paint_ms``: the run table's ``render()`` call to its first loaded row,
  the page request answered by the Python handler (through Playwright, no kernel);
* ``table_scroll_end_ms``: from a scroll to the end of the table to its last row drawn.

The target is a history drawn within one second of asking. Results are printed and
written to ``benchmarks/results/browser-<timestamp>.json``; nothing here asserts.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import datetime as dt
import functools
import http.server
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterator

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))

import canvasback  # noqa: E402 - after the path set-up, so the checkout's code is measured
from canvasback.query import downsample as _history  # noqa: E402
from canvasback.tracking.entities import Metric  # noqa: E402
from canvasback.widgets.compare import compare  # noqa: E402

HARNESS = REPO / "tests" / "browser"
STATIC = REPO / "src" / "canvasback" / "static"
RESULTS = HERE / "results"
CHROMIUM = os.environ.get("CANVASBACK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]
RENDERED = "section[data-panel=history][data-state=rendered]"

# Time from the table's render() call to its first loaded row, then from a scroll to the
# end to the last row loaded, both measured in the page.
TABLE_FIRST_PAINT = """async ([state]) => {
    const started = performance.now();
    const seen = new Promise((resolve) => {
        const check = () => document.querySelector('.cb-rt-row[data-loaded=true]')
            ? resolve(performance.now() - started) : requestAnimationFrame(check);
        check();
    });
    await mount('/static/run_table.js', state);
    return await seen;
}"""
TABLE_SCROLL_END = """async (last) => {
    const started = performance.now();
    const scroller = document.querySelector('.cb-rt-scroll');
    scroller.scrollTop = scroller.scrollHeight;
    return await new Promise((resolve) => {
        const check = () => document.querySelector(
            `.cb-rt-row[data-loaded=true][data-index="${last}"]`)
            ? resolve(performance.now() - started) : requestAnimationFrame(check);
        check();
    });
}"""

# Mount in the page and time it there: render() resolves once the chart is drawn. The
# harness turns {"__bytes__": base64} values into DataViews, as ipywidgets hands bytes.
MOUNT = """async ([url, state]) => {
    const started = performance.now();
    await mount(url, state);
    return performance.now() - started;
}"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 - the stdlib declares it as a plain class attribute
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
    }

    def translate_path(self, path: str) -> str:
        route = urllib.parse.urlsplit(path).path
        if route.startswith("/static/"):
            return str(STATIC / Path(route).name)
        return super().translate_path(path)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


def encode(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def front_end_state(widget: Any) -> dict[str, Any]:  # noqa: ANN401 - a Compare widget
    return {k: v for k, v in widget.get_state().items() if not k.startswith("_")}


def widget_state_bytes(widget: Any) -> int:  # noqa: ANN401 - a Compare widget
    """What a front end receives: the state's JSON (bundle included) plus binary buffers."""
    from ipywidgets.widgets.widget import _remove_buffers  # noqa: PLC0415 - ipywidgets' own split

    state, _paths, buffers = _remove_buffers(widget.get_state())
    return len(json.dumps(state)) + sum(len(bytes(b)) for b in buffers)


def log_runs(runs: int, points: int) -> list[str]:
    rng = np.random.default_rng(0)
    ids = []
    for r in range(runs):
        run = canvasback.start_run(run_name=f"run-{r}", params={"lr": 10 ** -(r % 4 + 1)})
        noise = rng.normal(0, 0.02, points)
        values = np.exp(-np.arange(points) / (points / 3)) * (1 + r / 10) + noise
        values[rng.integers(points)] += 3.0  # one spike per run, which must survive
        t0 = 1_700_000_000_000
        batch = [Metric("loss", float(v), t0 + s * 10, s) for s, v in enumerate(values)]
        canvasback.client().log_batch(run.info.run_id, batch)
        canvasback.end_run()
        ids.append(run.info.run_id)
    canvasback.flush()
    return ids


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(samples), 1),
        "min": round(min(samples), 1),
        "max": round(max(samples), 1),
    }


def timed_ms(fn: Any) -> tuple[Any, float]:  # noqa: ANN401 - whatever fn returns
    started = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - started) * 1000


def measure_python(ids: list[str], repeat: int) -> tuple[Any, dict[str, list[float]]]:
    catalog = canvasback.client().store.read()
    samples: dict[str, list[float]] = {"downsample_ms": [], "widget_ms": []}
    per_series = _history.points_per_series(len(ids), budget=24_000)
    widget = None
    for _ in range(repeat):
        _, ms = timed_ms(lambda: _history.downsample(catalog, ids, ["loss"], max_points=per_series))
        samples["downsample_ms"].append(ms)
        if widget is not None:
            widget.close()
        widget, ms = timed_ms(lambda: compare(ids, metrics=["loss"]))
        samples["widget_ms"].append(ms)
    return widget, samples


@contextlib.contextmanager
def harness_browser() -> Iterator[tuple[str, Any, list[str]]]:
    """The harness served on 127.0.0.1, a Chromium, and the list of blocked requests."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only this script needs it

    handler = functools.partial(_Handler, directory=str(HARNESS))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    blocked: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield url, browser, blocked
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    if blocked:
        print(f"NOTE: blocked non-local requests: {blocked}")


def offline_page(url: str, browser: Any, blocked: list[str]) -> Any:  # noqa: ANN401 - Playwright
    """A new page in its own context; requests that leave ``url`` are aborted and listed."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(
        lambda u: not u.startswith(url),
        lambda route: (blocked.append(route.request.url), route.abort()),
    )
    return context.new_page()


def measure_browser(widget: Any, repeat: int) -> dict[str, list[float]]:  # noqa: ANN401
    samples: dict[str, list[float]] = {"render_first_ms": [], "render_ms": [], "smoothing_ms": []}
    state = encode(front_end_state(widget))
    with harness_browser() as (url, browser, blocked):
        for _ in range(repeat):
            page = offline_page(url, browser, blocked)
            page.goto(f"{url}/harness.html")
            page.wait_for_selector("body[data-ready=true]", state="attached")
            first = page.evaluate(MOUNT, ["/static/compare.js", state])
            page.wait_for_selector(RENDERED)
            samples["render_first_ms"].append(first)
            page.evaluate("unmount()")
            again = page.evaluate(MOUNT, ["/static/compare.js", state])
            page.wait_for_selector(RENDERED)
            samples["render_ms"].append(again)
            samples["smoothing_ms"].append(smoothing_round_trip(page, widget))
            page.context.close()
    return samples


@dataclasses.dataclass
class _PageHolder:
    """What the table bridge needs of the tests' harness: its page."""

    page: Any


def measure_run_table(runs: int, repeat: int) -> dict[str, Any]:
    """First paint and scroll to the end of a run table over ``runs`` synthetic runs."""
    bridge_module = table_bridge()
    samples: dict[str, list[float]] = {
        "table_construct_ms": [],
        "table_first_paint_ms": [],
        "table_scroll_end_ms": [],
    }
    handler_ms: list[list[Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="canvasback-bench-table-") as folder,
        harness_browser() as (url, browser, blocked),
    ):
        root = Path(folder) / "store"
        started = time.perf_counter()
        bridge_module.write_synthetic_runs(root, runs)
        write_s = time.perf_counter() - started
        for _ in range(repeat):
            widget, ms = timed_ms(lambda: canvasback.runs(store=root))
            samples["table_construct_ms"].append(ms)
            page = offline_page(url, browser, blocked)
            bridge = bridge_module.Bridge(_PageHolder(page), widget)
            # Loading the harness page and the bundle is not part of it; the first render is.
            page.goto(f"{url}/harness.html")
            page.wait_for_selector("body[data-ready=true]", state="attached")
            page.evaluate("() => import('/static/run_table.js')")
            state = {name: getattr(widget, name) for name in bridge_module.SYNCED}
            samples["table_first_paint_ms"].append(page.evaluate(TABLE_FIRST_PAINT, [state]))
            samples["table_scroll_end_ms"].append(page.evaluate(TABLE_SCROLL_END, runs - 1))
            handler_ms = [[kind, round(ms, 2)] for kind, ms in bridge.handler_ms]
            page.context.close()
            widget.close()
    return {"write_seconds": round(write_s, 1), "handler_ms": handler_ms, "samples": samples}


def first_paint_of_store(root: Path) -> dict[str, float]:
    """W7: ``runs()`` over an existing store in this new process, then its first paint.

    The process has imported nothing of the store yet, as a new kernel has not: opening
    the store (its snapshot and tail) is inside ``construct_ms``.
    """
    bridge_module = table_bridge()
    with harness_browser() as (url, browser, blocked):
        widget, construct_ms = timed_ms(lambda: canvasback.runs(store=root))
        page = offline_page(url, browser, blocked)
        bridge_module.Bridge(_PageHolder(page), widget)
        page.goto(f"{url}/harness.html")
        page.wait_for_selector("body[data-ready=true]", state="attached")
        page.evaluate("() => import('/static/run_table.js')")
        state = {name: getattr(widget, name) for name in bridge_module.SYNCED}
        paint_ms = page.evaluate(TABLE_FIRST_PAINT, [state])
        page.context.close()
        widget.close()
    return {"construct_ms": construct_ms, "paint_ms": paint_ms, "total_ms": construct_ms + paint_ms}


def table_bridge() -> Any:  # noqa: ANN401 - a module loaded by path
    """``tests/browser/table_bridge.py``: the comm the browser tests use, without a kernel."""
    path = HARNESS / "table_bridge.py"
    spec = importlib.util.spec_from_file_location("_canvasback_table_bridge", path)
    if spec is None or spec.loader is None:
        msg = f"cannot load {path}"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def smoothing_round_trip(page: Any, widget: Any) -> float:  # noqa: ANN401 - Playwright page
    """Python re-smooths and sends rows and spec; the page draws the smoothed lines."""
    started = time.perf_counter()
    widget.smoothing = 0.0 if widget.smoothing else 0.6
    state = front_end_state(widget)
    push = "([p, d]) => { model.update('panels', p); model.update('data_history', d); }"
    page.evaluate(push, [encode(state["panels"]), encode(state["data_history"])])
    layers = 3 if widget.smoothing else 2
    page.wait_for_function(
        "([n, runs]) => document.querySelectorAll("
        "'section[data-panel=history] g.mark-line.role-mark').length === n * runs",
        arg=[layers, len(widget.run_ids)],
    )
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--table-runs", type=int, default=100_000, help="0 skips the table")
    parser.add_argument("--first-paint-store", type=Path, help="W7: one run table, as JSON")
    args = parser.parse_args()
    if args.first_paint_store is not None:
        print(json.dumps(first_paint_of_store(args.first_paint_store)))
        return

    with tempfile.TemporaryDirectory(prefix="canvasback-bench-browser-") as folder:
        canvasback.set_store(Path(folder) / "store")
        started = time.perf_counter()
        ids = log_runs(args.runs, args.points)
        log_s = time.perf_counter() - started
        widget, python = measure_python(ids, args.repeat)
        rows = widget.history().shape[0]
        state_bytes = widget_state_bytes(widget)
        browser = measure_browser(widget, args.repeat)
        widget.close()
    table = measure_run_table(args.table_runs, args.repeat) if args.table_runs else None
    timings = {**python, **browser, **(table["samples"] if table else {})}

    results = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "workload": {"runs": args.runs, "points_per_run": args.points, "repeat": args.repeat},
        "log_seconds": round(log_s, 1),
        "drawn_rows": rows,
        "state_bytes": state_bytes,
        "bundle_bytes": (STATIC / "compare.js").stat().st_size,
        "table": None
        if table is None
        else {
            "runs": args.table_runs,
            "write_seconds": table["write_seconds"],
            "handler_ms": table["handler_ms"],
        },
        **{name: summary(values) for name, values in timings.items()},
        "samples": timings,
    }
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"browser-{stamp}.json"
    out.write_text(json.dumps(results, indent=2))

    total = args.runs * args.points
    print(f"Histories of {args.runs} runs x {args.points:,} points ({total:,}) -> {rows:,} drawn")
    print(f"{'step':<18} {'median ms':>10} {'min':>8} {'max':>8}")
    for name in ("downsample_ms", "widget_ms", "render_first_ms", "render_ms", "smoothing_ms"):
        s = results[name]
        print(f"{name:<18} {s['median']:>10} {s['min']:>8} {s['max']:>8}")
    ask_to_chart = results["widget_ms"]["median"] + results["render_first_ms"]["median"]
    verdict = "within" if ask_to_chart <= 1000 else "over"
    print(f"compare() to a drawn chart: ~{ask_to_chart:.0f} ms ({verdict} the 1 s target)")
    print(f"widget state {state_bytes:,} bytes (bundle {results['bundle_bytes']:,})")
    if table is not None:
        print(f"Run table over {args.table_runs:,} runs")
        for name in table["samples"]:
            s = results[name]
            print(f"{name:<22} {s['median']:>10} {s['min']:>8} {s['max']:>8}")
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
