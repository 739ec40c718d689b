"""The ``run_table`` bundle in Chromium, its requests answered by a real RunTable.

The harness's stand-in model has no kernel, so a :class:`table_bridge.Bridge` plays the
comm between the page and a RunTable in this process (see ``table_bridge.py``).
"""

from __future__ import annotations

import json

import pytest
from tests.browser import table_bridge as _bridge

import canvasback
from canvasback.widgets._table_html import format_number

Bridge = _bridge.Bridge
SYNCED = _bridge.SYNCED
LOADED = _bridge.LOADED
write_synthetic_runs = _bridge.write_synthetic_runs

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    """2,000 synthetic runs plus three logged through the API, one with a hostile tag."""
    root = tmp_path_factory.mktemp("run_table") / "store"
    write_synthetic_runs(root, 2000, seed=7)
    client = canvasback.Client(store=root)
    for name, team in (("<b>bold</b> name", "vision"), ("xss-run", XSS), ("quiet", "nlp")):
        run = client.create_run("1", run_name=name, tags={"team": team})
        run.log_metric("acc", 0.42)
        run.log_param("optimizer", "adam")
        client.set_terminated(run.run_id)
    client.flush()
    return root


@pytest.fixture
def bridge_for(harness):
    """Bridges a RunTable to the harness page; closes the widget after the test."""
    widgets = []

    def make(widget):
        widgets.append(widget)
        return Bridge(harness, widget)

    yield make
    for widget in widgets:
        widget.close()


@pytest.fixture
def bridge(bridge_for, small_store):
    return bridge_for(canvasback.runs(store=small_store, height=420))


def wait_rows(page, count: int = 1) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('{LOADED}').length >= {count}", timeout=15_000
    )


def first_names(page, n: int = 3) -> list[str]:
    return page.evaluate(
        f"""() => [...document.querySelectorAll('{LOADED}')]
            .sort((a, b) => a.dataset.index - b.dataset.index).slice(0, {n})
            .map((row) => row.querySelector('.cb-rt-name').textContent)"""
    )


# --------------------------------------------------------------------------- tests
def test_rows_render_and_scrolling_requests_a_new_page(bridge):
    page = bridge.mount()
    wait_rows(page, 10)
    assert bridge.kinds()[0] == "page"
    assert bridge.requests[0]["offset"] == 0
    assert page.locator(".cb-rt-count").inner_text() == "2,003 runs"
    expected = bridge.widget._runs.page(0, 3, bridge.widget._visible_columns())
    assert first_names(page, 3) == expected.column("run_name").to_pylist()
    # Numbers are right-aligned and formatted.
    cell = page.locator(f"{LOADED} .cb-rt-cell.num").first
    assert cell.evaluate("(el) => getComputedStyle(el).textAlign") == "right"
    # Scroll to the middle: the rows there are asked for, by offset, and shown.
    page.evaluate("() => { document.querySelector('.cb-rt-scroll').scrollTop = 26 * 1000; }")
    page.wait_for_function(
        f"() => !!document.querySelector('{LOADED}[data-index=\"1005\"]')", timeout=15_000
    )
    offsets = {r["offset"] for r in bridge.requests if r["kind"] == "page"}
    assert 1000 in offsets
    assert bridge.harness.offline.blocked == []
    assert bridge.harness.offline.errors == []


def test_row_text_matches_python_and_is_formatted(bridge):
    page = bridge.mount()
    wait_rows(page, 5)
    expected = bridge.widget._runs.page(0, 1, bridge.widget._visible_columns()).to_pylist()[0]
    row = page.locator(f"{LOADED}[data-index='0']")
    assert row.get_attribute("data-run-id") == expected["run_id"]
    texts = row.locator(".cb-rt-cell[role=gridcell]").all_inner_texts()
    assert texts[0] == expected["run_name"]
    assert texts[1] == expected["status"]
    acc = bridge.widget.columns.index("metrics.acc")
    assert texts[acc] == format_number(expected["metrics.acc"])


def test_header_click_sorts_in_python(bridge):
    page = bridge.mount()
    wait_rows(page)
    header = page.locator(".cb-rt-hcell[data-column='metrics.acc'] .cb-rt-sort")
    header.click()
    page.wait_for_function("() => model.get('sort').length === 1")
    assert bridge.widget.sort == [{"column": "metrics.acc", "descending": True}]  # best first
    header.click()
    page.wait_for_function("() => model.get('sort')[0].descending === false")
    assert bridge.widget.sort == [{"column": "metrics.acc", "descending": False}]
    header.click()
    page.wait_for_function("() => model.get('sort').length === 0")
    header.click()
    page.wait_for_function("() => model.get('sort')[0]?.descending === true")
    expected = bridge.widget._runs.page(0, 3, bridge.widget._visible_columns())
    page.wait_for_function(
        f"""() => {{
            const row = document.querySelector('{LOADED}[data-index="0"]');
            return row && row.dataset.runId === {json.dumps(expected.column("run_id")[0].as_py())};
        }}"""
    )
    assert first_names(page) == expected.column("run_name").to_pylist()
    assert header.locator("xpath=..").get_attribute("aria-sort") == "descending"
    assert bridge.harness.offline.blocked == []


def test_typing_a_filter_updates_the_filter_and_shows_errors_inline(bridge):
    page = bridge.mount()
    wait_rows(page)
    box = page.locator(".cb-rt-filter")
    box.fill("params.optimizer = 'adam' and metrics.acc > 0.9")
    page.wait_for_function("() => model.get('filter').includes('0.9')")
    assert bridge.widget.filter == "params.optimizer = 'adam' and metrics.acc > 0.9"
    total = bridge.widget.total
    assert 0 < total < 2003
    page.wait_for_function(f"() => model.get('total') === {total}")
    page.wait_for_function(
        f"() => document.querySelector('.cb-rt-count').textContent.startsWith('{total:,} run')"
    )
    broken = "params.optimizer = 'adam' and metrics.acc >> 0.9"
    position = broken.index(">>") + 1  # the second '>' is not a value
    box.fill(broken)
    error = page.locator(".cb-rt-error")
    error.wait_for()
    assert f"position {position}" in error.inner_text()
    caret = page.locator(".cb-rt-caret").inner_text().split("\n")
    assert caret == [broken, " " * position + "^"]
    assert bridge.widget.error["position"] == position
    assert page.locator(".cb-rt-filter.invalid").count() == 1
    # The rows of the last valid filter stay.
    assert bridge.widget.total == total
    box.fill("")
    page.wait_for_function("() => model.get('error') === null")
    assert error.is_hidden()


def test_clicks_select_rows(bridge):
    page = bridge.mount()
    wait_rows(page, 10)
    row = lambda i: page.locator(f"{LOADED}[data-index='{i}'] .cb-rt-cell[role=gridcell]").first  # noqa: E731
    ids = [
        page.locator(f"{LOADED}[data-index='{i}']").get_attribute("data-run-id") for i in range(6)
    ]
    row(1).click()
    page.wait_for_function("() => model.get('selected_ids').length === 1")
    assert bridge.widget.selected_ids == [ids[1]]
    row(4).click(modifiers=["Shift"])
    page.wait_for_function("() => model.get('selected_ids').length === 4")
    assert bridge.widget.selected_ids == ids[1:5]
    row(2).click(modifiers=["Control"])
    page.wait_for_function("() => model.get('selected_ids').length === 3")
    assert ids[2] not in bridge.widget.selected_ids
    assert page.locator(".cb-rt-row.selected").count() == 3
    assert list(bridge.widget.selected["run_id"]) == [ids[1], ids[3], ids[4]]
    assert "3 selected" in page.locator(".cb-rt-count").inner_text()
    # Select all (resolved in Python), then the header box clears the selection.
    page.locator(".cb-rt-select-all").click()
    page.wait_for_function("() => model.get('selected_ids').length === 0")
    page.locator(".cb-rt-select-all").click()
    page.wait_for_function("() => model.get('selected_ids').length === 2003")
    assert len(bridge.widget.selected_ids) == 2003
    assert page.locator(".cb-rt-select-all").is_checked()
    # Python sets the selection: the rows follow.
    bridge.widget.selected = [ids[0]]
    bridge.harness.update("selected_ids", bridge.widget.selected_ids)
    page.wait_for_function("() => document.querySelectorAll('.cb-rt-row.selected').length === 1")


def test_hostile_text_shows_as_text(bridge):
    page = bridge.mount()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    wait_rows(page)
    page.locator(".cb-rt-filter").fill("tags.team = '<img src=x onerror=alert(1)>'")
    page.wait_for_function("() => model.get('total') === 1")
    page.locator(".cb-rt-button", has_text="Columns").click()
    page.locator(".cb-rt-chooser input[data-column='tags.team']").check()
    page.wait_for_function("() => model.get('columns').includes('tags.team')")
    cell = page.locator(f"{LOADED} .cb-rt-cell", has_text=XSS)
    cell.wait_for()
    assert cell.inner_text() == XSS
    assert page.locator("#root img").count() == 0
    # The top-value summary and the detail panel show it as text too.
    page.locator(".cb-rt-top-text", has_text=XSS).first.wait_for()
    page.locator(f"{LOADED} .cb-rt-open-button").first.click()
    page.locator(".cb-rt-detail td", has_text=XSS).wait_for()
    assert page.locator("#root img").count() == 0
    # And a run name with markup.
    page.locator(".cb-rt-filter").fill("tags.team = 'vision' and params.optimizer = 'adam'")
    page.locator(f"{LOADED} .cb-rt-name", has_text="<b>bold</b> name").wait_for()
    assert page.locator("#root b").count() == 0
    assert dialogs == []
    assert bridge.harness.offline.errors == []


def test_summary_brush_adds_a_removable_clause(bridge):
    page = bridge.mount()
    wait_rows(page)
    hist = page.locator(".cb-rt-hcell[data-column='metrics.acc'] svg.cb-rt-hist")
    hist.wait_for()
    box = hist.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.55, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, y, steps=4)
    page.mouse.up()
    page.wait_for_function("() => model.get('summary_filters').length === 1")
    clause = bridge.widget.summary_filters[0]["clause"]
    assert clause.startswith("metrics.acc >= ")
    assert " and metrics.acc < " in clause
    assert bridge.widget.error is None
    brushed = bridge.widget.total
    assert 0 < brushed < 2003
    chip = page.locator(".cb-rt-chip")
    assert chip.inner_text().startswith("acc in [")
    # A top value is a clause too; both apply.
    page.locator(".cb-rt-hcell[data-column='params.optimizer'] .cb-rt-top-value").first.click()
    page.wait_for_function("() => model.get('summary_filters').length === 2")
    assert bridge.widget.total < brushed
    page.locator(".cb-rt-chip-x").first.click()
    page.locator(".cb-rt-chip-x").first.click()
    page.wait_for_function("() => model.get('summary_filters').length === 0")
    assert bridge.widget.total == 2003


def test_columns_group_by_and_detail(bridge):
    page = bridge.mount()
    wait_rows(page)
    page.locator(".cb-rt-button", has_text="Columns").click()
    page.locator(".cb-rt-chooser input[data-column='params.seed']").uncheck()
    page.wait_for_function("() => !model.get('columns').includes('params.seed')")
    assert "params.seed" not in bridge.widget.columns
    page.keyboard.press("Escape")
    assert page.locator(".cb-rt-hcell[data-column='params.seed']").count() == 0
    # Group by a param: counts and metric stats per group, then drill into one.
    page.locator(".cb-rt-group").click()
    page.locator(".cb-rt-group-menu .cb-rt-menu-item[data-column='params.optimizer']").click()
    page.locator(".cb-rt-group-row").first.wait_for()
    assert bridge.widget.group_by == "params.optimizer"
    groups = page.locator(".cb-rt-group-row").all_inner_texts()
    assert len(groups) == 3
    page.locator(".cb-rt-group-row", has_text="sgd").click()
    page.wait_for_function("() => model.get('group_by') === ''")
    assert bridge.widget.summary_filters[0]["clause"] == "params.optimizer = 'sgd'"
    wait_rows(page)
    # Double-click a row: its detail, with a sparkline per metric.
    page.locator(f"{LOADED}[data-index='0'] .cb-rt-name").dblclick()
    page.locator(".cb-rt-detail .cb-rt-spark polyline").first.wait_for()
    assert page.locator(".cb-rt-detail .cb-rt-metrics tr").count() == 4
    assert "sgd" in page.locator(".cb-rt-detail").inner_text()
    page.keyboard.press("Escape")
    assert page.locator(".cb-rt-detail").is_hidden()
    assert bridge.harness.offline.blocked == []


def test_refresh_button_shows_new_runs(bridge, small_store):
    page = bridge.mount()
    wait_rows(page)
    client = canvasback.Client(store=small_store)
    run = client.create_run("1", run_name="fresh-run")
    run.log_metric("acc", 0.5)
    client.set_terminated(run.run_id)
    client.flush()
    page.locator(".cb-rt-refresh").click()
    page.wait_for_function("() => model.get('total') === 2004")
    page.locator(f"{LOADED}[data-index='0'] .cb-rt-name", has_text="fresh-run").wait_for()


def test_screenshot(bridge):
    page = bridge.mount()
    page.set_viewport_size({"width": 1320, "height": 640})
    wait_rows(page, 12)
    page.locator(".cb-rt-hcell[data-column='metrics.acc'] .cb-rt-sort").click()  # best first
    page.wait_for_function(
        "() => model.get('sort').length === 1 && model.get('sort')[0].descending"
    )
    page.locator(".cb-rt-hcell[data-column='params.optimizer'] .cb-rt-top-value").first.click()
    page.wait_for_function("() => model.get('summary_filters').length === 1")
    page.locator(".cb-rt-hist").first.wait_for()
    wait_rows(page, 12)
    row = lambda i: page.locator(f"{LOADED}[data-index='{i}'] .cb-rt-name")  # noqa: E731
    row(2).click()
    row(3).click(modifiers=["Shift"])
    page.wait_for_function("() => document.querySelectorAll('.cb-rt-row.selected').length === 2")
    # The selection has been saved to Python and every visible row is loaded.
    page.wait_for_function("() => model.get('selected_ids').length === 2")
    wait_rows(page, 12)
    path = bridge.harness.offline.screenshot("run_table")
    assert path.stat().st_size > 10_000
    page.locator(f"{LOADED}[data-index='1'] .cb-rt-open-button").click()
    page.locator(".cb-rt-detail .cb-rt-spark polyline").first.wait_for()
    bridge.harness.offline.screenshot("run_table_detail")
    assert bridge.harness.offline.blocked == []
    assert bridge.harness.offline.errors == []


def test_cleanup_removes_listeners(bridge):
    page = bridge.mount()
    wait_rows(page)
    assert page.evaluate("model.listenerCount()") > 0
    page.evaluate("unmount()")
    assert page.evaluate("model.listenerCount()") == 0


# --------------------------------------------------------------------------- 100k
@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("run_table_100k") / "store"
    write_synthetic_runs(root, 100_000)
    return root


def test_first_paint_over_100k_runs(bridge_for, big_store):
    """100,000 runs: first rows drawn, the far end reached by scrolling, the DOM kept small.

    How long it takes is measured by ``benchmarks/bench_browser.py``, not asserted here.
    """
    widget = canvasback.runs(store=big_store)
    bridge = bridge_for(widget)
    page = bridge.mount()
    wait_rows(page)
    assert widget.total == 100_000
    assert page.locator(".cb-rt-count").inner_text() == "100,000 runs"
    assert page.locator(f"{LOADED}[data-index='0']").is_visible()

    page.locator(".cb-rt-scroll").evaluate("(scroller) => { scroller.scrollTop = 1e9; }")
    last = page.locator(f"{LOADED}[data-index='99999']")
    last.wait_for()
    assert last.locator(".cb-rt-name").inner_text() != ""
    # Virtual scrolling: a window of rows is in the DOM, never the whole table.
    assert page.locator(".cb-rt-row").count() < 500
    page.locator(".cb-rt-hist").first.wait_for()
    assert "page" in bridge.kinds()
    assert bridge.harness.offline.blocked == []
    assert bridge.harness.offline.errors == []


# --------------------------------------------------------------------------- JupyterLab
SEED = """\
import canvasback
client = canvasback.Client(store="store")
for i, opt in enumerate(["adam", "sgd", "adam", "rmsprop"]):
    run = client.create_run(run_name=f"run-{i}", tags={"team": "<img src=x onerror=alert(1)>"})
    run.log_param("optimizer", opt)
    for step in range(5):
        run.log_metric("acc", 0.1 * i + 0.02 * step, step=step)
    client.set_terminated(run.run_id)
client.flush()
"""
SHOW = "table = canvasback.runs(store='store')\ntable"


@pytest.mark.jupyterlab
def test_in_jupyterlab_clicks_reach_the_kernel(lab_page):
    notebook = lab_page.make_notebook("run_table_smoke.ipynb", [SEED, SHOW])
    lab_page.open(notebook)
    lab_page.run_all()
    rows = lab_page.cell(1).locator(LOADED)
    rows.first.wait_for(timeout=30_000)
    assert rows.count() == 4
    lab_page.cell(1).locator(".cb-rt-hcell[data-column='metrics.acc'] .cb-rt-sort").click()
    lab_page.wait_for_kernel(notebook, "len(table.sort)", "1")
    # An accuracy sorts best first: the highest, run-3, on top.
    lab_page.page.wait_for_function(
        """() => document.querySelector('.cb-rt-row[data-index="0"] .cb-rt-name')
            ?.textContent === 'run-3'"""
    )
    lab_page.cell(1).locator(f"{LOADED}[data-index='1'] .cb-rt-name").click()
    lab_page.wait_for_kernel(notebook, "len(table.selected_ids)", "1")
    assert lab_page.kernel_eval(notebook, "list(table.selected['tags.mlflow.runName'])") == (
        "['run-2']"
    )
    # The keys are the table's, not JupyterLab's command-mode shortcuts.
    lab_page.page.keyboard.press("ArrowDown")
    lab_page.page.keyboard.press("Space")
    lab_page.wait_for_kernel(notebook, "len(table.selected_ids)", "2")
    lab_page.page.keyboard.press("Enter")
    lab_page.cell(1).locator(".cb-rt-detail").get_by_text("run-1").first.wait_for()
    assert lab_page.page.locator(".jp-Notebook .jp-mod-editMode").count() == 0
    assert lab_page.cell(1).locator("img").count() == 0
    # Header summaries come from the kernel too.
    lab_page.cell(1).locator(".cb-rt-top-value", has_text="adam").wait_for()
    lab_page.cell(1).locator(".cb-rt-hist").first.wait_for()
    lab_page.screenshot("jupyterlab_run_table")
    assert lab_page.offline.blocked == []
