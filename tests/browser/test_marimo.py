"""``cb.runs()`` and ``cb.compare()`` in marimo, through its anywidget support.

A marimo notebook is run as an app (``marimo run``, headless, on 127.0.0.1) and opened
in Chromium offline: the run table's rows come from the kernel through the widget's own
requests, and the comparison draws its histories, as in Jupyter.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.browser

NOTEBOOK = """\
import marimo

app = marimo.App()


@app.cell
def _():
    import math
    import canvasback as cb
    cb.set_store({store!r})
    cb.set_experiment("marimo")
    for i, lr in enumerate((0.1, 0.03, 0.01)):
        with cb.start_run(run_name=f"run-{{i}}", params={{"lr": lr}}, live=False):
            cb.log_history({{"loss": [math.exp(-lr * s) for s in range(40)]}})
    ids = list(cb.search_runs(order_by=["params.lr"]).run_id)
    return cb, ids


@app.cell
def _(cb):
    table = cb.runs("marimo")
    table
    return (table,)


@app.cell
def _(cb, ids):
    chart = cb.compare(ids, metrics=["loss"])
    chart
    return (chart,)


if __name__ == "__main__":
    app.run()
"""
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("marimo")
    base = tmp_path_factory.mktemp("marimo")
    notebook = base / "runs.py"
    notebook.write_text(textwrap.dedent(NOTEBOOK.format(store=str(base / "store"))))
    port = _free_port()
    log = (base / "marimo.log").open("w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("marimo")),
            "run",
            str(notebook),
            "--headless",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-token",
        ],
        cwd=base,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "MARIMO_SKIP_UPDATE_CHECK": "1"},
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"marimo did not start:\n{(base / 'marimo.log').read_text()}")
                time.sleep(0.2)  # polling the port until the server answers
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_run_table_and_comparison_render_in_a_marimo_app(marimo_app, offline_page):
    page = offline_page.page
    page.goto(marimo_app)
    rows = page.locator(".cb-rt-row[data-loaded=true]")
    rows.first.wait_for(timeout=60_000)
    assert rows.count() == 3
    names = sorted(rows.nth(i).locator(".cb-rt-name").inner_text() for i in range(3))
    assert names == ["run-0", "run-1", "run-2"]
    # Header summaries are a second request to the kernel: they arrive too.
    page.locator(".cb-rt-top-value").first.wait_for(timeout=30_000)

    chart = page.locator("section[data-panel=history][data-state=rendered]")
    chart.wait_for(timeout=60_000)
    lines = page.locator(
        "section[data-panel=history] g.mark-line.role-mark[class*=history_raw_] path"
    )
    assert lines.count() == 3
    # A tab the kernel has already sent: switching draws it.
    page.click("button[data-tab=bars]")
    page.locator("section[data-panel=bars][data-state=rendered]").wait_for(timeout=30_000)
    offline_page.screenshot("marimo_app")
    assert page.locator(".canvasback-error").count() == 0
    assert offline_page.blocked == []
    assert offline_page.errors == []
