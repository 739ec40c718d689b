"""Two views of one widget in a real JupyterLab: each has its own RPC client.

The same RunTable is displayed by two cells. Both views ask Python for their own pages,
both follow a change of the model, and once one view is closed (its output cleared,
which runs its cleanup and disposes its client) the other still gets answers.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.jupyterlab

SEED = """\
import canvasback
client = canvasback.Client(store="two-views-store")
for i in range(4):
    run = client.create_run(run_name=f"run-{i}")
    for step in range(5):
        run.log_metric("acc", 0.1 * i + 0.02 * step, step=step)
    client.set_terminated(run.run_id)
client.flush()
"""
SHOW = "table = canvasback.runs(store='two-views-store')\ntable"
SHOW_AGAIN = "table"
LOADED = ".cb-rt-row[data-loaded=true]"
SORT = ".cb-rt-hcell[data-column='metrics.acc'] .cb-rt-sort"

# Clears one cell's output as "Clear Output" does: JupyterLab disposes the widget view.
_CLEAR_OUTPUT = """([path, index]) => {
    const panel = Array.from(window.jupyterapp.shell.widgets('main'))
        .find((widget) => widget.context && widget.context.path === path);
    panel.content.widgets[index].model.outputs.clear();
}"""


def first_name(cell):
    return cell.locator(f"{LOADED}[data-index='0'] .cb-rt-name")


def test_two_views_have_their_own_requests_and_survive_each_other(lab_page):
    from playwright.sync_api import expect  # noqa: PLC0415 - only browser tests need it

    notebook = lab_page.make_notebook("two_views.ipynb", [SEED, SHOW, SHOW_AGAIN])
    lab_page.open(notebook)
    lab_page.run_all()
    first, second = lab_page.cell(1), lab_page.cell(2)
    for cell in (first, second):
        expect(cell.locator(LOADED)).to_have_count(4, timeout=30_000)
    assert lab_page.kernel_eval(notebook, "len(table.comm.comm_id) > 0") == "True"

    # A change made in one view reaches the model; both views fetch their pages again.
    # (An accuracy sorts best first: the highest, run-3, on top.)
    second.locator(SORT).click()
    lab_page.wait_for_kernel(notebook, "len(table.sort)", "1")
    expect(first_name(first)).to_have_text("run-3")
    expect(first_name(second)).to_have_text("run-3")

    # Closing the first view disposes its client; the second keeps asking and answering.
    lab_page.page.evaluate(_CLEAR_OUTPUT, [notebook, 1])
    expect(first.locator(".cb-rt")).to_have_count(0)
    second.locator(SORT).click()
    lab_page.wait_for_kernel(notebook, "table.sort[0]['descending']", "False")
    expect(first_name(second)).to_have_text("run-0")
    second.locator(f"{LOADED}[data-index='0'] .cb-rt-open-button").click()
    expect(second.locator(".cb-rt-detail .cb-rt-spark polyline").first).to_be_visible()

    assert second.locator(".canvasback-error").count() == 0
    assert not [e for e in lab_page.offline.errors if "closed" in e]
    lab_page.screenshot("jupyterlab_two_views")
    assert lab_page.offline.blocked == []
