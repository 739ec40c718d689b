"""End to end: notebooks/training.ipynb in a real JupyterLab. The notebook trains a network
with system metrics, evaluates two classifiers and searches with Optuna from its kernel;
the live view shows the machine's strip, the comparison charts the CPU beside the loss,
the evaluation's plots and the overlaid ROC curves are drawn, the run table lists the
search's trials and the parallel coordinates draw a line per trial."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.jupyterlab

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "training.ipynb"
TRAIN_CELL, LOSS_CPU_CELL, EVALUATE_CELL, ROC_CELL = 3, 5, 7, 11
SWEEP_CELL, TRIALS_CELL, PARALLEL_CELL = 13, 17, 19
CPU = "system/cpu_utilization_percentage"
ROWS = ".cb-rt-row[data-loaded=true]"
SWEEP_ROWS = ".cb-live-cell .cb-live-row"
SWEEP_LINES = "g.mark-line path"
HISTORY = "section[data-panel=history][data-state=rendered]"
ROC = "section[data-panel=evaluation][data-state=rendered]"
ROC_CURVES = f"{ROC} g.mark-line.role-mark path"
PARALLEL = "section[data-panel=parallel][data-state=rendered]"
PARALLEL_LINES = f"{PARALLEL} g.role-mark[class*=parallel_hit] path"  # one per run
# The evaluation's plots: SVG images in its HTML output, each decoded by the browser.
PLOTS = ".cb-evaluation img[src^='data:image/svg+xml']"
_PLOTS_DRAWN = """(images) => images.map((image) => image.complete && image.naturalWidth > 0)"""
ERRORS = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"


def test_training_notebook_shows_system_strip_evaluation_and_search(lab_page):
    shutil.copy(NOTEBOOK, lab_page.lab.root / NOTEBOOK.name)
    lab_page.open(NOTEBOOK.name)
    lab_page.run_all()

    def kernel(expression: str) -> str:
        return lab_page.kernel_eval(NOTEBOOK.name, expression)

    # The live view collapses to its head line when the run ends; a click opens it.
    live = lab_page.cell(TRAIN_CELL).locator(".cb-live")
    live.locator(".cb-live-head").click()
    chips = live.locator(".cb-live-system .cb-live-sys")
    chips.first.wait_for(timeout=30_000)
    assert chips.locator(".cb-live-sys-label").all_inner_texts()[:2] == ["CPU", "Memory"]
    assert chips.first.get_attribute("data-key") == CPU
    assert re.fullmatch(r"\d+%", chips.first.locator(".cb-live-sys-value").inner_text())
    assert kernel("run.info.status") == "'FINISHED'"

    # The CPU charted beside the loss: a history of each, for the one run.
    history = lab_page.cell(LOSS_CPU_CELL).locator(HISTORY)
    history.wait_for(timeout=30_000)
    assert kernel("sorted(loss_and_cpu.metrics)") == f"['loss', '{CPU}']"
    texts = set(history.locator("text").all_text_contents())
    assert {"loss", CPU} <= texts, texts

    # Both evaluations' runs, and the first one's five plots drawn inline.
    assert kernel("len({r.run_id for r in results.values()})") == "2"
    plots = lab_page.cell(EVALUATE_CELL).locator(PLOTS)
    plots.first.wait_for(timeout=30_000)
    assert plots.evaluate_all(_PLOTS_DRAWN) == [True] * 5

    # The two runs' ROC curves overlaid in the comparison's Evaluation tab.
    roc = lab_page.cell(ROC_CELL)
    roc.locator(ROC).wait_for(timeout=30_000)
    assert roc.locator(ROC_CURVES).count() >= 2

    # The search: 8 trials, the live view's rows each ended (finished or pruned) beside the
    # finished trials' parallel coordinates, and each trial a row of the run table.
    assert kernel("len(result.points), result.failed") == "(8, 0)"
    sweep = lab_page.cell(SWEEP_CELL)
    ended = f"{SWEEP_ROWS}[data-status=FINISHED], {SWEEP_ROWS}[data-status=PRUNED]"
    expect(sweep.locator(ended)).to_have_count(8, timeout=30_000)
    assert sweep.locator(SWEEP_ROWS).count() == 8
    sweep.locator(SWEEP_LINES).first.wait_for(timeout=30_000)
    assert sweep.get_by_text("best val_loss =", exact=False).count() >= 1
    table = lab_page.cell(TRIALS_CELL)
    table.locator(ROWS).first.wait_for(timeout=30_000)
    rows = table.locator(ROWS).all_inner_texts()
    trials = sorted(int(m[1]) for row in rows if (m := re.search(r"sweep fit_mlp #(\d+)", row)))
    assert (len(rows), trials) == (8, list(range(8)))  # the trials, not the sweep's own run

    # Parallel coordinates: a line per trial.
    parallel = lab_page.cell(PARALLEL_CELL)
    parallel.locator(PARALLEL).wait_for(timeout=30_000)
    assert parallel.locator(PARALLEL_LINES).count() == 8

    lab_page.screenshot("jupyterlab_training_notebook")
    assert lab_page.page.locator(ERRORS).count() == 0
    assert lab_page.page.locator(".jp-Notebook .canvasback-error").count() == 0
    assert lab_page.offline.blocked == []
