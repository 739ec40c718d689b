"""The sweep's live view in Chromium: the states a real sweep gave its rows and its chart.

A real function sweep on a temporary store (spawned workers, one at a time) makes a
:class:`SweepView` through a sweep hook, as a notebook's kernel does; each state its
rows took is replayed into ``live_cell``, the bundle the notebook draws them with, and
the chart's spec and Arrow rows into ``vega_view``.
"""

from __future__ import annotations

import importlib

import pytest

import canvasback as cb
from canvasback.projects import sweep_watch
from canvasback.widgets.sweep_view import SweepView

XSS = '<img src=x onerror="window.__xss = 1">'
ROWS = ".cb-live-cell .cb-live-row"
LINES = "g.mark-line path"

TARGETS = """\
import canvasback as cb


def train(lr, label="plain"):
    if lr < 0:
        raise ValueError(f"lr {lr} is negative")
    cb.log_metric("loss", abs(lr - 0.1))
"""


@pytest.fixture
def swept(tmp_path, monkeypatch, store):
    """A finished sweep's view, and every state of its rows from the start."""
    del store  # a fresh store; the path itself is not needed
    folder = tmp_path / "targets"
    folder.mkdir()
    (folder / "browser_sweep_targets.py").write_text(TARGETS)
    monkeypatch.syspath_prepend(str(folder))
    targets = importlib.import_module("browser_sweep_targets")
    made: list[SweepView] = []
    states: list[list[dict]] = []

    def make(start):
        view = SweepView(start)
        states.append(view.rows_view.rows)
        view.rows_view.observe(lambda change: states.append(change["new"]), names=["rows"])
        made.append(view)
        return view

    def hook(live):
        return None if live is False else make

    sweep_watch.add_sweep_view_hook(hook)
    try:
        points = [{"lr": 0.1}, {"lr": 0.3, "label": XSS}, {"lr": -1.0}, {"lr": 0.05}]
        cb.sweep(targets.train, points=points, max_workers=1, metric="loss", mode="min")
    finally:
        sweep_watch.remove_sweep_view_hook(hook)
    (view,) = made
    yield view, states
    view.rows_view.close()
    view.chart.close()


def _statuses(page):
    return page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.status)")


@pytest.mark.browser
def test_the_rows_follow_the_sweep_and_the_chart_draws_the_finished_points(harness, swept):
    view, states = swept
    page = harness.mount("live_cell", {"rows": states[0], "system": []})
    assert _statuses(page) == ["RUNNING", "QUEUED", "QUEUED", "QUEUED"]
    assert page.locator(".cb-live-head").inner_text() == "4 runs · 1 running · 3 queued"
    for state in states[1:]:  # as the sweep pushed them
        harness.update("rows", state)
    page.wait_for_function(
        "() => document.querySelectorAll('.cb-live-row[data-status=RUNNING]').length === 0"
    )
    assert _statuses(page) == ["FINISHED", "FINISHED", "FAILED", "FINISHED"]
    names = page.locator(f"{ROWS} .cb-live-name").all_inner_texts()
    assert names[0] == "#0 · lr=0.1"
    assert names[1] == f"#1 · lr=0.3, label={XSS}"  # the hostile label, as text
    assert names[2].startswith("#2 · lr=-1.0 · ValueError: lr -1.0 is negative")
    metrics = page.locator(f"{ROWS} .cb-live-row-metric").all_inner_texts()
    assert metrics == ["loss 0", "loss 0.2", "loss —", "loss 0.05"]
    assert page.evaluate("window.__xss") is None
    assert page.locator(f"{ROWS} img").count() == 0
    harness.offline.screenshot(
        "harness_sweep_rows", clip={"x": 0, "y": 0, "width": 840, "height": 160}
    )

    chart = {
        name: getattr(view.chart, name) for name in ("spec", "datasets", "clicked", "selections")
    }
    page = harness.mount("vega_view", chart)
    page.locator(LINES).first.wait_for()
    # One line per finished point (not the failed one), over lr, label and loss.
    assert page.locator(LINES).count() == 3
    title = page.locator("svg .role-title-text").text_content()
    assert title == "best loss = 0 at #0 · lr=0.1"
    harness.offline.screenshot("harness_sweep_chart")
    assert harness.offline.errors == []
    assert harness.offline.blocked == []
