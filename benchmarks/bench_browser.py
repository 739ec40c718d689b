# Copyright (c) 2026 canvasback contributors. Licensed under the BSD-3-Clause license.
"""Chart render timing: histories of 10 runs x 100,000 points in a real browser.

Usage::

    python benchmarks/bench_browser.py [--runs 10] [--points 100000] [--repeat 5]

Logs the runs into a temporary store, builds a ``Compare`` widget (the history query
downsamples in DuckDB), then renders the widget's front end in headless Chromium
against the same stand-in model the browser tests use, offline. Reported, each as the
median and range of ``--repeat`` samples:

* ``downsample_ms``: the DuckDB query alone (M4 buckets over every stored point);
* ``widget_ms``: ``compare(...)`` in Python, query, charts, Arrow and all;
* ``render_first_ms``: first render in a fresh page, the bundle loaded and parsed too;
* ``render_ms``: rendering again in the same page (bundle cached);
* ``smoothing_ms``: from a new smoothing value in Python to the redrawn chart.

The target is a history drawn within one second of asking. Results are printed and
written to ``benchmarks/results/browser-<timestamp>.json``; nothing here asserts.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import functools
import http.server
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
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))

import canvasback  # noqa: E402 - after the path set-up, so the checkout's code is measured
from canvasback.tracking.entities import Metric  # noqa: E402
from canvasback.widgets import _history  # noqa: E402
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


def measure_browser(widget: Any, repeat: int) -> dict[str, list[float]]:  # noqa: ANN401
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only this script needs it

    handler = functools.partial(_Handler, directory=str(HARNESS))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    samples: dict[str, list[float]] = {"render_first_ms": [], "render_ms": [], "smoothing_ms": []}
    state = encode(front_end_state(widget))
    blocked: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            for _ in range(repeat):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.route(
                    lambda u: not u.startswith(url),
                    lambda route: (blocked.append(route.request.url), route.abort()),
                )
                page = context.new_page()
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
                context.close()
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    if blocked:
        print(f"NOTE: blocked non-local requests: {blocked}")
    return samples


def smoothing_round_trip(page: Any, widget: Any) -> float:  # noqa: ANN401 - Playwright page
    """Python re-smooths and sends rows and spec; the page draws the smoothed lines."""
    started = time.perf_counter()
    widget.smoothing = 0.0 if widget.smoothing else 0.6
    state = front_end_state(widget)
    push = "([p, d]) => { model.update('panels', p); model.update('data_history', d); }"
    page.evaluate(push, [encode(state["panels"]), encode(state["data_history"])])
    layers = 3 if widget.smoothing else 2
    page.wait_for_function(
        "n => document.querySelectorAll("
        "'section[data-panel=history] g.mark-line.role-mark').length === n * 10",
        arg=layers,
    )
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

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

    results = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "workload": {"runs": args.runs, "points_per_run": args.points, "repeat": args.repeat},
        "log_seconds": round(log_s, 1),
        "drawn_rows": rows,
        "state_bytes": state_bytes,
        "bundle_bytes": (STATIC / "compare.js").stat().st_size,
        **{name: summary(values) for name, values in {**python, **browser}.items()},
        "samples": {**python, **browser},
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
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
