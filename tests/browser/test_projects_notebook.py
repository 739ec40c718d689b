"""End to end: notebooks/projects.ipynb in a real JupyterLab. The notebook runs a notebook
as a run and a sweep from its kernel; the sweep's live view ends with a row per point and
the parallel coordinates of the finished ones, the run table's detail view shows a run's
Source and Environment, and the comparison draws the sweep's runs."""

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
SWEEP_ROWS = ".cb-live-cell .cb-live-row"
PARALLEL_LINES = "g.mark-line path"


def test_projects_notebook_shows_capture_sweep_and_comparison(lab_page):
    shutil.copy(NOTEBOOK, lab_page.lab.root / NOTEBOOK.name)
    lab_page.open(NOTEBOOK.name)
    lab_page.run_all()

    assert lab_page.kernel_eval(NOTEBOOK.name, "(result.finished, result.failed)") == "(2, 1)"
    assert lab_page.kernel_eval(NOTEBOOK.name, "run.info.status") == "'FINISHED'"
    # The sweep's live view: a row per point, as each ended, and the finished ones' chart.
    sweep = lab_page.cell(SWEEP_CELL)
    sweep.locator(f"{SWEEP_ROWS}[data-status=FAILED]").wait_for(timeout=30_000)
    statuses = sweep.locator(SWEEP_ROWS).evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert sorted(statuses) == ["FAILED", "FINISHED", "FINISHED"]
    assert "lr=3.0" in sweep.locator(f"{SWEEP_ROWS}[data-status=FAILED]").inner_text()
    sweep.locator(PARALLEL_LINES).first.wait_for(timeout=30_000)
    assert sweep.get_by_text("best loss =", exact=False).count() >= 1

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
