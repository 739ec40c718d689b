"""The run table as a new user first meets it: six runs logged with ``start_run``, which
records each run's code and environment (some thirty ``canvasback.*`` and ``mlflow.*``
tags a run), beside three params and four metrics.

Each test drives a real RunTable in this process, bridged to the harness page (see
``table_bridge.py``): the run detail has room for the whole run, the column menus show
every section above the table, a click anywhere in a header sorts (a metric best first),
the system tags fold away, and the selection and the filter say what they hide.
"""

from __future__ import annotations

import json

import pytest
from tests.browser import table_bridge as _bridge

import canvasback

pytestmark = pytest.mark.browser


LOADED = _bridge.LOADED
SECTIONS = ["Attributes", "Metrics", "Params", "Tags", "System tags"]

# True when the centre of `el` is painted by `el` itself (or a child): nothing clips it
# or covers it. Nothing is scrolled (scrollIntoView would scroll a clipping box too).
_HIT = """(el) => {
    const box = el.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return hit !== null && (hit === el || el.contains(hit));
}"""
# The page scrolled, as a reader scrolls the notebook, to bring `el` near the top.
_SCROLL_PAGE_TO = "(el) => window.scrollBy(0, el.getBoundingClientRect().top - 40)"
# A menu scrolled, as its own scroll bar does, to bring `el` to its top.
_SCROLL_MENU_TO = """(el) => {
    const menu = el.closest(".cb-rt-chooser");
    menu.scrollTop += el.getBoundingClientRect().top - menu.getBoundingClientRect().top - 8;
}"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Six runs, newest last, as a notebook logs them (the code and environment captured)."""
    root = tmp_path_factory.mktemp("first_use") / "store"
    canvasback.set_store(root)
    try:
        for i in range(6):
            with canvasback.start_run(run_name=f"run-{i}", capture=True, live=False):
                canvasback.log_params(
                    {"learning_rate": 0.1 / (i + 1), "optimizer": "adam", "batch_size": 32}
                )
                canvasback.set_tag("team", "vision")
                for step in range(20):
                    canvasback.log_metric("val_loss", 1.2 / (step + 1 + i), step=step)
                    canvasback.log_metric("val_acc", 1 - 1 / (step + 2 + i), step=step)
                    canvasback.log_metric("throughput", 100.0 + 7 * ((i * 5) % 6), step=step)
                    canvasback.log_metric("loss", 1 / (step + 1 + i), step=step)
        canvasback.flush()
    finally:
        canvasback.reset()
    return root


@pytest.fixture
def table(harness, store):
    widget = canvasback.runs(store=store)
    bridge = _bridge.Bridge(harness, widget)
    page = bridge.mount()
    page.wait_for_function(f"() => document.querySelectorAll('{LOADED}').length === 6")
    yield page, widget
    assert harness.offline.errors == []
    widget.close()


def system_tags(widget) -> list[str]:
    return [
        c["name"]
        for c in widget.available_columns
        if c["name"].startswith(("tags.canvasback.", "tags.mlflow."))
    ]


def test_the_run_detail_has_room_for_the_whole_run(table):
    page, widget = table
    page.locator(f"{LOADED}[data-index='0'] .cb-rt-open-button").click()
    detail = page.locator(".cb-rt-detail")
    page.wait_for_function(
        "() => document.querySelectorAll('.cb-rt-detail .cb-rt-spark polyline').length === 4"
    )
    size = detail.evaluate(
        """(panel) => {
            const body = panel.querySelector('.cb-rt-detail-body');
            return { panel: panel.getBoundingClientRect().height,
                     content: body.scrollHeight, shown: body.clientHeight };
        }"""
    )
    # Six rows of table left 220 px to a side panel over 1,000 px of run; now the panel
    # is as tall as what it holds, and nothing in it scrolls out of sight.
    assert size["content"] <= size["shown"] + 1, size
    assert size["panel"] >= 400, size
    headings = detail.locator(".cb-rt-detail-section h4")
    titles = [t.split(" (")[0].lower() for t in headings.all_inner_texts()]
    for wanted in ("overview", "metrics", "params", "tags", "artifacts"):
        assert wanted in titles
    for i in range(headings.count()):
        headings.nth(i).evaluate(_SCROLL_PAGE_TO)
        assert headings.nth(i).evaluate(_HIT), titles[i]
    # Every metric with its chart, every param and the run's own tag.
    assert detail.locator(".cb-rt-metrics tr").count() == 4
    text = detail.inner_text()
    assert "learning_rate" in text
    assert "vision" in text
    row = widget._runs.page(0, 1, widget._visible_columns()).to_pylist()[0]
    assert row["run_id"] in text


def test_the_columns_menu_shows_every_section_over_the_table(table):
    page, _widget = table
    page.locator(".cb-rt-button", has_text="Columns").click()
    menu = page.locator(".cb-rt-chooser")
    # The six-row table is 280 px tall; the menu, taller, shows whole over and below it.
    assert menu.evaluate("(el) => el.scrollHeight <= el.clientHeight + 1")
    for title in SECTIONS:
        heading = menu.locator(".cb-rt-chooser-title", has_text=title).first
        assert heading.evaluate(_HIT), title
    last = menu.locator("input[data-column='tags.team']")
    assert last.evaluate(_HIT)
    # In a window too short for it, the menu stays inside the window and scrolls.
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 1280, "height": 420})
    page.locator(".cb-rt-button", has_text="Columns").click()
    box = menu.bounding_box()
    assert box is not None
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= 420
    assert menu.evaluate("(el) => el.scrollHeight > el.clientHeight")
    for title in SECTIONS:
        heading = menu.locator(".cb-rt-chooser-title", has_text=title).first
        heading.evaluate(_SCROLL_MENU_TO)
        assert heading.evaluate(_HIT), title
    menu.evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
    assert last.evaluate(_HIT)


def header(page, column):
    return page.locator(f".cb-rt-hcell[data-column='{column}']")


def click_sorts(page, widget, column, x: float, y: float, expected):
    """Click the header of `column` at (x, y) of its box; the sort becomes `expected`."""
    box = header(page, column).bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
    page.wait_for_function(
        "(expected) => JSON.stringify(model.get('sort')) === expected",
        arg=json.dumps(expected, separators=(",", ":")),
    )
    assert widget.sort == expected


def test_a_click_anywhere_in_a_header_sorts_a_metric_best_first(table):
    page, widget = table
    hist = header(page, "metrics.val_loss").locator("svg.cb-rt-hist")
    hist.wait_for()
    # On the histogram, without dragging: a loss sorts lowest first.
    box = hist.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => model.get('sort').length === 1")
    assert widget.sort == [{"column": "metrics.val_loss", "descending": False}]
    assert widget.summary_filters == []  # a click is not a brush
    # The empty corner of a header: an accuracy sorts highest first...
    click_sorts(page, widget, "metrics.val_acc", 0.1, 0.4, [
        {"column": "metrics.val_acc", "descending": True}
    ])  # fmt: skip
    # ... and so does a metric whose goal the name does not tell.
    click_sorts(page, widget, "metrics.throughput", 0.1, 0.4, [
        {"column": "metrics.throughput", "descending": True}
    ])  # fmt: skip
    # A param: smallest first, and the next click turns it round.
    click_sorts(page, widget, "params.learning_rate", 0.1, 0.2, [
        {"column": "params.learning_rate", "descending": False}
    ])  # fmt: skip
    click_sorts(page, widget, "params.learning_rate", 0.6, 0.2, [
        {"column": "params.learning_rate", "descending": True}
    ])  # fmt: skip
    names = [r["run_name"] for r in widget._runs.page(0, 6, widget._visible_columns()).to_pylist()]
    assert names == ["run-0", "run-1", "run-2", "run-3", "run-4", "run-5"]
    # The resize handle resizes, and sorts nothing.
    handle = header(page, "metrics.val_acc").locator(".cb-rt-resize")
    handle.click()
    assert widget.sort == [{"column": "params.learning_rate", "descending": True}]
    # The header says which way is better.
    assert "lower is better" in (header(page, "metrics.val_loss").get_attribute("title") or "")
    assert "higher is better" in (header(page, "metrics.val_acc").get_attribute("title") or "")


def test_system_tags_fold_away_in_the_column_and_group_menus(table):
    page, widget = table
    system = system_tags(widget)
    assert len(system) >= 10  # captured: environment, source, MLflow's own
    page.locator(".cb-rt-button", has_text="Columns").click()
    chooser = page.locator(".cb-rt-chooser")
    tags = chooser.locator("[data-section='tag'] input[data-column]")
    assert [tags.nth(i).get_attribute("data-column") for i in range(tags.count())] == ["tags.team"]
    folded = chooser.locator("[data-section='system']")
    assert folded.locator("summary").text_content() == f"System tags ({len(system)})"
    assert not folded.locator("input").first.is_visible()
    folded.locator("summary").click()
    boxes = folded.locator("input[data-column]")
    assert boxes.count() == len(system)
    assert boxes.first.is_visible()
    # Searching opens the section for what it finds.
    page.keyboard.press("Escape")
    page.locator(".cb-rt-button", has_text="Columns").click()
    chooser.locator(".cb-rt-chooser-search").fill("python")
    found = chooser.locator("[data-section='system'] input[data-column]")
    assert found.count() >= 1
    assert found.first.is_visible()
    page.keyboard.press("Escape")

    page.locator(".cb-rt-group").click()
    menu = page.locator(".cb-rt-group-menu")
    assert menu.locator("[data-section='tag'] .cb-rt-menu-item").all_inner_texts() == ["team"]
    group_folded = menu.locator("[data-section='system']")
    assert not group_folded.locator(".cb-rt-menu-item").first.is_visible()
    group_folded.locator("summary").click()
    menu.locator(".cb-rt-menu-item[data-column='tags.mlflow.user']").click()
    page.wait_for_function("() => model.get('group_by') === 'tags.mlflow.user'")
    assert widget.group_by == "tags.mlflow.user"
    page.locator(".cb-rt-group-row").first.wait_for()


def test_the_selection_and_the_filter_say_what_they_hide(table):
    page, widget = table
    count = page.locator(".cb-rt-count")
    check = page.locator(".cb-rt-select-all")
    page.locator(f"{LOADED}[data-index='0'] .cb-rt-name").click()
    page.locator(f"{LOADED}[data-index='4'] .cb-rt-name").click(modifiers=["Shift"])
    page.wait_for_function("() => model.get('selected_ids').length === 5")
    # run-0 (the oldest, last) is the one not selected; the filter keeps it and run-1.
    page.locator(".cb-rt-filter").fill("params.learning_rate >= 0.05")
    page.wait_for_function("() => model.get('total') === 2")
    page.wait_for_function(
        "() => document.querySelector('.cb-rt-count').textContent"
        " === '2 runs · 5 selected, 4 hidden by the filter'"
    )
    assert widget.selected_shown == 1
    assert not check.is_checked()
    assert check.evaluate("(box) => box.indeterminate")
    # The header box acts on the rows shown; the hidden selection stays.
    check.click()
    page.wait_for_function("() => model.get('selected_ids').length === 4")
    assert widget.selected_shown == 0
    page.wait_for_function(
        "() => document.querySelector('.cb-rt-count').textContent"
        " === '2 runs · 4 selected, 4 hidden by the filter'"
    )
    assert not check.is_checked()
    assert not check.evaluate("(box) => box.indeterminate")
    check.click()
    page.wait_for_function("() => model.get('selected_ids').length === 6")
    page.wait_for_function("() => document.querySelector('.cb-rt-select-all').checked")
    assert count.inner_text() == "2 runs · 6 selected, 4 hidden by the filter"

    # A key no run has: no rows, and a hint naming the key and the closest ones.
    hint = page.locator(".cb-rt-hint")
    assert hint.is_hidden()
    page.locator(".cb-rt-filter").fill("params.lr > 0.1")
    page.wait_for_function("() => model.get('total') === 0")
    hint.wait_for()
    assert widget.hint == "No run in this table has params.lr. Closest: params.learning_rate."
    assert hint.inner_text() == widget.hint
    assert hint.locator("*").count() == 0  # text, never markup
    assert page.locator(".cb-rt-error").is_hidden()  # the filter is valid: a hint, not an error
    page.locator(".cb-rt-filter").fill("params.learning_rate > 0.02")
    page.wait_for_function("() => model.get('total') === 4")
    hint.wait_for(state="hidden")
