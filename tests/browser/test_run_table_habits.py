"""The run table as spreadsheet users handle it: columns resized, reordered and the name
pinned; arrows, Space and Enter on the rows; the selection copied as tab-separated text.

The table is a real RunTable in this process, bridged to the harness page (see
``table_bridge.py``), so every change is checked in Python too.
"""

from __future__ import annotations

import pytest
from tests.browser import table_bridge as _bridge

import canvasback
from canvasback.widgets._table_html import tsv

pytestmark = pytest.mark.browser


LOADED = _bridge.LOADED
COLUMNS = ["run_name", "status", "metrics.acc", "params.lr", "params.optimizer"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("habits") / "store"
    client = canvasback.Client(store=root)
    for i in range(40):
        run = client.create_run("0", run_name=f"run-{i:02d}")
        run.log_param("lr", 10 ** -(i % 4))
        run.log_param("optimizer", "adam" if i % 2 else "sgd")
        run.log_metric("acc", i / 40)
        client.set_terminated(run.run_id)
    client.flush()
    return root


@pytest.fixture
def table(harness, store):
    widget = canvasback.runs(store=store, columns=COLUMNS, sort=[{"column": "run_name"}])
    bridge = _bridge.Bridge(harness, widget)
    page = bridge.mount()
    page.wait_for_function(f"() => document.querySelectorAll('{LOADED}').length >= 10")
    yield page, widget
    widget.close()


def header(page, column):
    return page.locator(f".cb-rt-hcell[data-column='{column}']")


def test_a_column_resized_by_its_handle_keeps_its_width(table):
    page, widget = table
    cell = page.locator(f"{LOADED} .cb-rt-cell[data-column='metrics.acc']").first
    before = cell.bounding_box()["width"]
    handle = header(page, "metrics.acc").locator(".cb-rt-resize").bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y, steps=4)
    page.mouse.move(x + 80, y, steps=4)
    page.mouse.up()
    page.wait_for_function("() => Object.keys(window.model.get('column_widths')).length === 1")
    assert widget.column_widths["metrics.acc"] == pytest.approx(before + 80, abs=2)
    after = page.locator(f"{LOADED} .cb-rt-cell[data-column='metrics.acc']").first
    assert after.bounding_box()["width"] == pytest.approx(before + 80, abs=2)
    # Redrawn from the trait (a new view, or another column added), the width stays.
    widget.columns = [*COLUMNS, "params.lr"][:-1]
    assert header(page, "metrics.acc").bounding_box()["width"] == pytest.approx(before + 80, abs=2)


def test_columns_reorder_by_drag_and_the_name_stays_pinned_first(table):
    page, widget = table
    header(page, "params.optimizer").drag_to(header(page, "status"))
    page.wait_for_function(
        "() => window.model.get('columns')[1] === 'params.optimizer'", timeout=10_000
    )
    assert widget.columns == ["run_name", "params.optimizer", "status", "metrics.acc", "params.lr"]
    order = page.evaluate(
        "() => [...document.querySelectorAll('.cb-rt-hcell[data-column]')]"
        ".map((c) => c.dataset.column)"
    )
    assert order == widget.columns
    # Nothing goes before the pinned name, and the name itself does not move.
    header(page, "params.lr").drag_to(header(page, "run_name"))
    page.wait_for_function("() => window.model.get('columns')[1] === 'params.lr'")
    assert widget.columns[0] == "run_name"
    assert header(page, "run_name").get_attribute("draggable") is None
    # Scrolled sideways, the name column stays where it is.
    name = page.locator(f"{LOADED} .cb-rt-name").first
    acc = page.locator(f"{LOADED} .cb-rt-cell[data-column='metrics.acc']").first
    page.evaluate("() => { document.querySelector('.cb-rt-scroll').style.maxWidth = '420px'; }")
    left, acc_left = name.bounding_box()["x"], acc.bounding_box()["x"]
    scrolled = page.evaluate(
        "() => { const s = document.querySelector('.cb-rt-scroll'); s.scrollLeft = 150;"
        " return s.scrollLeft; }"
    )
    assert scrolled > 50
    assert name.bounding_box()["x"] == pytest.approx(left, abs=1)
    assert acc.bounding_box()["x"] == pytest.approx(acc_left - scrolled, abs=1)


def cursor_index(page):
    return page.evaluate("() => document.querySelector('.cb-rt-row.cursor')?.dataset.index ?? null")


def test_arrows_move_space_selects_enter_opens(table):
    page, widget = table
    page.locator(f"{LOADED}[data-index='2'] .cb-rt-name").click()
    assert widget.selected_ids  # the click selected row 2 and put the cursor there
    assert cursor_index(page) == "2"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert cursor_index(page) == "4"
    page.keyboard.press("Space")
    page.wait_for_function("() => window.model.get('selected_ids').length === 2")
    ids = widget._runs.ids(0, 5)
    assert widget.selected_ids == [ids[2], ids[4]]
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    page.wait_for_function("() => window.model.get('selected_ids').length === 3")
    page.keyboard.press("Space")  # again: unselected
    page.wait_for_function("() => window.model.get('selected_ids').length === 2")
    page.keyboard.press("Enter")
    page.locator(".cb-rt-detail").get_by_text("run-03").first.wait_for(timeout=10_000)
    # End jumps to the last row, scrolling it into view.
    page.keyboard.press("End")
    page.wait_for_function(
        "() => document.querySelector('.cb-rt-row.cursor')?.dataset.index === '39'"
    )
    assert page.locator(".cb-rt-row.cursor").is_visible()


def test_ctrl_c_copies_the_selected_rows_as_tsv(table, harness):
    page, widget = table
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=harness.url)
    page.locator(f"{LOADED}[data-index='7'] .cb-rt-name").click()
    for index in (3, 0):
        page.locator(f"{LOADED}[data-index='{index}'] .cb-rt-name").click(modifiers=["Control"])
    page.wait_for_function("() => window.model.get('selected_ids').length === 3")
    page.keyboard.press("Control+c")
    page.wait_for_function("() => document.querySelector('.cb-rt').dataset.copied === '3'")
    text = page.evaluate("() => navigator.clipboard.readText()")
    lines = text.splitlines()
    assert lines[0].split("\t") == COLUMNS
    # In table order (sorted by name), full precision, as Python writes it.
    assert [line.split("\t")[0] for line in lines[1:]] == ["run-00", "run-03", "run-07"]
    columns = widget._visible_columns()
    expected = tsv(
        widget._runs.rows_of(list(widget.selected_ids), columns),
        COLUMNS,
        {c.name: widget._column_type(c) for c in columns},
    )
    assert text == expected
    assert harness.offline.errors == []
