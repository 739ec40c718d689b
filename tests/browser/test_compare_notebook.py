"""End to end: notebooks/compare.ipynb in a real JupyterLab. A click on a row of the run
table reaches the kernel as a selection, and the comparison charts redraw for it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.jupyterlab

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare.ipynb"
TABLE_CELL, CHART_CELL = 3, 5
ROWS = ".cb-rt-row[data-loaded=true]"
HISTORY_LINES = "section[data-panel=history] g.role-mark[class*=history_hit_] path"


# Lines in the chart cell: more than none and fewer than ``before``.
_FEWER_LINES = """([cell, selector, before]) => {
    const found = document.querySelectorAll('.jp-Notebook .jp-Cell')[cell]
        .querySelectorAll(selector).length;
    return found > 0 && found < before;
}"""


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
    # Each widget's static copy (saved for readers without a kernel) gives way to its
    # running view: the table's, the charts' and the dashboard's.
    statics = lab_page.page.locator(".jp-Notebook .jp-OutputArea-child:has([data-cb-static])")
    assert statics.count() == 3
    for i in range(3):
        statics.nth(i).wait_for(state="hidden", timeout=10_000)

    first = table.locator(ROWS).first
    row_text = first.inner_text()
    first.click()
    lab_page.wait_for_kernel(NOTEBOOK.name, "len(chart.run_ids)", "1", timeout=30_000)
    name = lab_page.kernel_eval(NOTEBOOK.name, "table.selected['run_name'].iloc[0]")
    assert name.strip("'") in row_text  # the clicked row is the selected run
    assert lab_page.kernel_eval(NOTEBOOK.name, "chart.run_ids == table.selected_ids") == "True"
    # The history chart redraws for the one selected run.
    lab_page.page.wait_for_function(
        _FEWER_LINES, arg=[CHART_CELL, HISTORY_LINES, before], timeout=30_000
    )

    lab_page.screenshot("jupyterlab_compare_notebook")
    assert lab_page.cell(CHART_CELL).locator(".canvasback-error").count() == 0
    assert lab_page.offline.blocked == []
