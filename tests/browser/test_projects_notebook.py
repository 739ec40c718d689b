"""End to end: notebooks/projects.ipynb in a real JupyterLab. The notebook runs a notebook
as a run and a sweep from its kernel; the sweep's progress bar reaches its end, the run
table's detail view shows a run's Source and Environment, and the comparison draws the
sweep's runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.jupyterlab

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "projects.ipynb"
SWEEP_CELL, TABLE_CELL, CHART_CELL = 7, 9, 11
ROWS = ".cb-rt-row[data-loaded=true]"
HISTORY_LINES = "section[data-panel=history] g.role-mark[class*=history_hit_] path"
SECTIONS = ".cb-rt-detail-section h4"


def test_projects_notebook_shows_capture_sweep_and_comparison(lab_page):
    shutil.copy(NOTEBOOK, lab_page.lab.root / NOTEBOOK.name)
    lab_page.open(NOTEBOOK.name)
    lab_page.run_all()

    assert lab_page.kernel_eval(NOTEBOOK.name, "(result.finished, result.failed)") == "(2, 1)"
    assert lab_page.kernel_eval(NOTEBOOK.name, "run.info.status") == "'FINISHED'"
    # tqdm's notebook bar: a widget that ends at 3 of 3.
    sweep = lab_page.cell(SWEEP_CELL)
    sweep.get_by_text("3/3", exact=False).first.wait_for(timeout=30_000)

    table = lab_page.cell(TABLE_CELL)
    table.locator(ROWS).first.wait_for(timeout=30_000)
    row = table.locator(ROWS).filter(has_text="lr=0.3").first
    row.locator(".cb-rt-open-button").click()
    detail = table.locator(".cb-rt-detail")
    detail.locator(SECTIONS).filter(has_text="Source").wait_for(timeout=30_000)
    headings = detail.locator(SECTIONS).all_inner_texts()
    # The headings are upper-cased by the stylesheet.
    assert any(h.lower().startswith("environment (") for h in headings), headings
    assert "notebook" in detail.inner_text().lower()  # canvasback.source.kind of the run
    python = lab_page.kernel_eval(NOTEBOOK.name, "run.data.tags['canvasback.env.python']")
    assert python.strip("'") in detail.inner_text()

    chart = lab_page.cell(CHART_CELL)
    chart.locator(HISTORY_LINES).first.wait_for(timeout=30_000)
    assert chart.locator(HISTORY_LINES).count() >= 2  # the sweep's finished runs

    lab_page.screenshot("jupyterlab_projects_notebook")
    for index in (SWEEP_CELL, TABLE_CELL, CHART_CELL):
        assert lab_page.cell(index).locator(".canvasback-error").count() == 0
    assert lab_page.offline.blocked == []
