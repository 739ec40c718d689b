"""Every canvasback widget in a real Jupyter Notebook 7 server, in headless Chromium.

One notebook shows a run table, a comparison, a dashboard, a chart and a live run; each
renders, and a click in each reaches the kernel's Python object. The server is Notebook
7 (``python -m notebook``), not JupyterLab: another application shell, page and URL
layout around the same output area and widget manager.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.jupyterlab

SETUP = """\
import math
import canvasback as cb
cb.set_store("nb7-store")
cb.set_experiment("nb7")
for i, lr in enumerate((0.1, 0.03, 0.01)):
    with cb.start_run(run_name=f"run-{i}", params={"lr": lr, "seed": i}, live=False):
        cb.log_history({"loss": [math.exp(-lr * s) for s in range(60)],
                        "acc": [1 - math.exp(-lr * s) for s in range(60)]})
ids = list(cb.search_runs(order_by=["params.seed"]).run_id)
"""
TABLE = 'table = cb.runs("nb7")\ntable'
CHART = 'chart = cb.compare(ids, metrics=["loss", "acc"])\nchart'
DASH = 'dash = cb.dashboard("nb7", metrics=["loss"])\ndash'
VIEW = """\
import altair as alt, pandas as pd
from canvasback.widgets import ChartView
bars = pd.DataFrame({"name": list("abcd"), "value": [3, 1, 2, 5]})
view = ChartView(alt.Chart(bars).mark_bar().encode(x="name", y="value"))
view
"""
LIVE = """\
with cb.start_run(run_name="live") as live_run:
    for step in range(5):
        cb.log_metric("loss", 1 / (step + 1), step=step)
"""
CELLS = [SETUP, TABLE, CHART, DASH, VIEW, LIVE]
ROWS = ".cb-rt-row[data-loaded=true]"


def test_every_widget_renders_and_answers_clicks_in_notebook_7(notebook7_page):
    page = notebook7_page
    stacks: list[str] = []
    page.page.on("pageerror", lambda error: stacks.append(error.stack or str(error)))
    notebook = page.make_notebook("notebook7.ipynb", CELLS)
    page.open(notebook)
    assert "/notebooks/" in page.page.url  # Notebook 7's own page, not JupyterLab's
    assert page.page.locator("#jp-NotebookLogo, .jp-NotebookKernelStatus").count() > 0
    page.run_all()

    # Run table: a row click selects the run in the kernel.
    table = page.cell(1)
    table.locator(ROWS).first.wait_for(timeout=30_000)
    assert table.locator(ROWS).count() == 3
    table.locator(f"{ROWS}[data-index='1'] .cb-rt-name").click()
    page.wait_for_kernel(notebook, "len(table.selected_ids)", "1")

    # Comparison: a click on a final-value bar selects that run.
    chart = page.cell(2)
    chart.locator("section[data-panel=history][data-state=rendered]").wait_for(timeout=30_000)
    chart.locator("button[data-tab=bars]").click()
    bars = chart.locator("section[data-panel=bars] g.bars_bars_marks path")
    bars.first.wait_for(timeout=30_000)
    bars.nth(0).click()
    page.wait_for_kernel(notebook, "len(chart.selected_ids)", "1")

    # Dashboard: a row click in its table redraws its charts for that run.
    dash = page.cell(3)
    dash.locator(ROWS).first.wait_for(timeout=30_000)
    dash.locator("section[data-panel=history][data-state=rendered]").wait_for(timeout=30_000)
    dash.locator(f"{ROWS}[data-index='2'] .cb-rt-name").click()
    page.wait_for_kernel(notebook, "len(dash.compare.run_ids)", "1", timeout=30_000)

    # Chart view: a click on a bar reaches the kernel as the clicked datum.
    marks = page.cell(4).locator(".canvasback-vega-view svg g.mark-rect path")
    marks.first.wait_for(timeout=30_000)
    marks.nth(3).click()
    page.wait_for_kernel(notebook, "view.clicked and view.clicked['name']", "'d'")

    # Live run: the view follows the run to its end.
    live = page.cell(5).locator('.cb-live[data-status="FINISHED"]')
    live.wait_for(timeout=30_000)
    assert live.locator('.cb-live-card[data-key="loss"]').count() == 1

    # Each static copy gave way to its running view.
    statics = page.page.locator(".jp-Notebook .jp-OutputArea-child:has([data-cb-static])")
    assert statics.count() == 5
    for i in range(statics.count()):
        statics.nth(i).wait_for(state="hidden", timeout=10_000)
    page.screenshot("notebook7_widgets")
    assert page.page.locator(".jp-Notebook .canvasback-error").count() == 0
    assert page.offline.blocked == []
    # Notebook 7 itself throws one error on load (a settings schema it looks up), in an
    # empty notebook too; nothing may come from canvasback's code (loaded from blob: URLs).
    assert not [stack for stack in stacks if "blob:" in stack or "canvasback" in stack], stacks
