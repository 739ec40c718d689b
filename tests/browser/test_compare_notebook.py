"""End to end: notebooks/compare.ipynb in a real JupyterLab. A click on a row of the run
table reaches the kernel as a selection, and the comparison charts redraw for it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.jupyterlab

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare.ipynb"
TABLE_CELL, CHART_CELL = 3, 5
ROWS = ".cb-rt-row[data-loaded=true]"
HISTORY_LINES = "section[data-panel=history] g.role-mark[class*=history_hit_] path"


def _wait(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_row_click_selects_in_kernel_and_redraws_charts(lab_page):
    shutil.copy(NOTEBOOK, lab_page.lab.root / NOTEBOOK.name)
    lab_page.open(NOTEBOOK.name)
    lab_page.run_all()

    table = lab_page.cell(TABLE_CELL)
    chart = lab_page.cell(CHART_CELL)
    table.locator(ROWS).first.wait_for(timeout=30_000)
    lines = chart.locator(HISTORY_LINES)
    lines.first.wait_for(timeout=30_000)
    assert lab_page.kernel_eval(NOTEBOOK.name, "len(table.selected_ids)") == "3"
    before = lines.count()

    first = table.locator(ROWS).first
    row_text = first.inner_text()
    first.click()
    _wait(
        lambda: lab_page.kernel_eval(NOTEBOOK.name, "len(chart.run_ids)") == "1",
        "the chart to follow the table's selection",
    )
    name = lab_page.kernel_eval(NOTEBOOK.name, "table.selected['run_name'].iloc[0]")
    assert name.strip("'") in row_text  # the clicked row is the selected run
    assert lab_page.kernel_eval(NOTEBOOK.name, "chart.run_ids == table.selected_ids") == "True"
    _wait(lambda: 0 < lines.count() < before, "the history chart to redraw for one run")

    lab_page.screenshot("jupyterlab_compare_notebook")
    assert lab_page.cell(CHART_CELL).locator(".canvasback-error").count() == 0
    assert lab_page.offline.blocked == []
