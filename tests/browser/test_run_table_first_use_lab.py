"""The run table as a new user first meets it, in JupyterLab with its own kernel.

The same six runs as ``test_run_table_first_use.py`` (logged with ``start_run``, so each
carries some thirty ``canvasback.*`` and ``mlflow.*`` tags), shown by a notebook: the
detail has room for the whole run, the Columns menu shows every section over the
notebook, a click on a header's histogram sorts a loss best first, the system tags fold
away, and a filter on a key no run has names the closest ones.
"""

from __future__ import annotations

import pytest

SEED = """
import canvasback
canvasback.set_store("first_use_store")
for i in range(6):
    with canvasback.start_run(run_name=f"run-{i}", capture=True, live=False):
        canvasback.log_params({"learning_rate": 0.1 / (i + 1), "optimizer": "adam"})
        canvasback.set_tag("team", "vision")
        for step in range(20):
            canvasback.log_metric("val_loss", 1.2 / (step + 1 + i), step=step)
            canvasback.log_metric("val_acc", 1 - 1 / (step + 2 + i), step=step)
canvasback.flush()
"""
SHOW = "table = canvasback.runs(store='first_use_store')\ntable"
LOADED = ".cb-rt-row[data-index]"
SECTIONS = ["Attributes", "Metrics", "Params", "Tags", "System tags"]
# True when the centre of `el` is painted by `el` itself (or a child): nothing clips it.
_HIT = """(el) => {
    const box = el.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return hit !== null && (hit === el || el.contains(hit));
}"""


@pytest.mark.jupyterlab
def test_in_jupyterlab_a_new_user_finds_the_run_table_whole(lab_page):
    notebook = lab_page.make_notebook("run_table_first_use.ipynb", [SEED, SHOW])
    lab_page.open(notebook)
    lab_page.run_all()
    cell = lab_page.cell(1)
    page = lab_page.page
    cell.locator(LOADED).nth(5).wait_for(timeout=30_000)

    # 9 and 11: every section of the Columns menu shows over the notebook, system tags
    # folded in a section of their own.
    cell.locator(".cb-rt-button", has_text="Columns").click()
    menu = page.locator(".cb-rt-chooser")
    for title in SECTIONS:
        heading = menu.locator(".cb-rt-chooser-title", has_text=title).first
        heading.scroll_into_view_if_needed()
        assert heading.evaluate(_HIT), title
    folded = menu.locator("[data-section='system']")
    assert not folded.locator("input").first.is_visible()
    tags = menu.locator("[data-section='tag'] input[data-column]")
    assert [tags.nth(i).get_attribute("data-column") for i in range(tags.count())] == ["tags.team"]
    page.keyboard.press("Escape")

    # 10: a click on the histogram of a loss sorts it, lowest first.
    hist = cell.locator(".cb-rt-hcell[data-column='metrics.val_loss'] svg.cb-rt-hist")
    hist.wait_for()
    box = hist.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    lab_page.wait_for_kernel(
        notebook, "table.sort", "[{'column': 'metrics.val_loss', 'descending': False}]"
    )

    # 8: the detail is as tall as the run it shows.
    cell.locator(f"{LOADED}[data-index='0'] .cb-rt-open-button").click()
    detail = cell.locator(".cb-rt-detail")
    page.wait_for_function(
        "() => document.querySelectorAll('.cb-rt-detail .cb-rt-spark polyline').length === 2"
    )
    size = detail.evaluate(
        """(panel) => {
            const body = panel.querySelector('.cb-rt-detail-body');
            return { content: body.scrollHeight, shown: body.clientHeight };
        }"""
    )
    assert size["content"] <= size["shown"] + 1, size

    # 12: a filter on a key no run has says so and names the closest key, as text.
    cell.locator(".cb-rt-filter").fill("params.lr > 0.1")
    lab_page.wait_for_kernel(notebook, "table.total", "0")
    hint = cell.locator(".cb-rt-hint")
    hint.wait_for()
    assert hint.inner_text() == "No run in this table has params.lr. Closest: params.learning_rate."
    assert hint.locator("*").count() == 0
    assert lab_page.offline.blocked == []
