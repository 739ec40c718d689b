"""In JupyterLab, a run table shown by a cell that then trains keeps its live view.

Its view steps aside for the saved static copy when Python is silent for 5 s (a notebook
reopened with no kernel); a kernel busy with the cell answers no ping, so a thread says
Python is there until the cell ends (``widgets/presence.py``).
"""

from __future__ import annotations

import time

import pytest

SEED = """
import canvasback
canvasback.set_store("store")
for i in range(3):
    with canvasback.start_run(run_name=f"run-{i}", capture=False):
        canvasback.log_param("learning_rate", 0.01 * (i + 1))
        canvasback.log_metric("val_loss", 1.0 / (i + 1))
"""
# The cell trains past the front end's 5 s wait, says so, then waits for the test.
TRAIN = """
import pathlib, time
table = canvasback.runs(store="store")
display(table)
started = time.monotonic()
while time.monotonic() - started < 7:
    time.sleep(0.05)
pathlib.Path("trained-7s").touch()
while not pathlib.Path("go-on").exists():
    time.sleep(0.05)
"""


@pytest.mark.jupyterlab
def test_a_table_shown_by_a_training_cell_stays_live_past_five_seconds(lab_page):
    root = lab_page.lab.root
    for name in ("trained-7s", "go-on"):
        (root / name).unlink(missing_ok=True)
    notebook = lab_page.make_notebook("views_stay_live.ipynb", [SEED, TRAIN])
    lab_page.open(notebook)
    # Not awaited: the command's promise ends with the cells, and the last waits for us.
    lab_page.page.evaluate(
        "() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
    )
    view = lab_page.cell(1).locator(".cb-view-live")
    view.first.wait_for(timeout=60_000)
    deadline = time.monotonic() + 120
    while not (root / "trained-7s").exists():  # the kernel's own clock: 7 s of training
        assert time.monotonic() < deadline, "the training cell never reached 7 s"
        lab_page.page.wait_for_timeout(100)
    try:
        # Past the 5 s wait, with the cell still running: the live view, not the copy.
        assert view.first.is_visible()
        static = lab_page.cell(1).locator("[data-cb-static]")
        assert static.count() >= 1
        assert not static.first.is_visible()
    finally:
        (root / "go-on").touch()
    lab_page.wait_for_kernel(notebook, "len(table.selected_ids)", "0")
    lab_page.cell(1).locator(".cb-rt-row[data-index='2']").wait_for()
    assert lab_page.offline.blocked == []
