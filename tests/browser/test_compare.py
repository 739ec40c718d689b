"""The ``compare`` bundle in Chromium, fed the state of a real Compare widget.

The harness stands in for the anywidget model; specs and Arrow datasets are exactly what
the Python widget produced from a store in a temporary folder.
"""

from __future__ import annotations

import base64
import math

import pytest

import canvasback
from canvasback.tracking.entities import Metric
from canvasback.widgets._base import table_from_ipc_bytes
from canvasback.widgets.compare import compare

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=window.__xss=1>"
HIT_LINES = "section[data-panel=history] g.mark-line.role-mark[class*=history_hit_] path"
RAW_LINES = "section[data-panel=history] g.mark-line.role-mark[class*=history_raw_] path"


def make_run(name, params, *, scale, steps=300):
    run = canvasback.start_run(run_name=name, params=params)
    metrics = [
        Metric(key, value, 1_700_000_000_000 + step * 1_000, step)
        for step in range(steps)
        for key, value in (
            ("loss", scale * math.exp(-step / 80) + 0.05 * math.sin(step / 3)),
            ("accuracy", 1 - 0.9 * math.exp(-step / (60 * scale))),
        )
    ]
    canvasback.client().log_batch(run.info.run_id, metrics)
    canvasback.end_run()
    return run.info.run_id


@pytest.fixture
def runs(store):  # noqa: ARG001 - the fresh store is what it needs
    return [
        make_run("baseline", {"lr": 0.1, "optimizer": "adam", "layers": 4}, scale=1.0),
        make_run("wide", {"lr": 0.01, "optimizer": "adam", "layers": 8}, scale=1.3),
        make_run("sgd-momentum", {"lr": 0.003, "optimizer": "sgd", "layers": 4}, scale=0.8),
        make_run(XSS, {"lr": 0.0003, "optimizer": "sgd", "layers": 6}, scale=1.6),
    ]


def widget_state(widget):
    """The synced traits a front end receives (protocol traits left out)."""
    return {k: v for k, v in widget.get_state().items() if not k.startswith("_")}


@pytest.fixture
def mounted(harness, runs):
    widget = compare(runs, smoothing=0.6)
    page = harness.mount("compare", widget_state(widget))
    page.wait_for_selector("section[data-panel=history][data-state=rendered]")
    yield page, widget
    widget.close()


def show(page, tab):
    page.click(f"button[data-tab={tab}]")
    page.wait_for_selector(f"section[data-panel={tab}][data-state=rendered]")


def label_of(page, selector, index):
    """The run label of the index-th matching mark (Vega keeps the item on the element)."""
    return page.evaluate(
        "([sel, i]) => document.querySelectorAll(sel)[i].__data__.datum.run", [selector, index]
    )


def click_on_path(page, selector, index, fraction=0.4):
    """Click a point on a path's stroke (its bounding box centre may be off the line)."""
    x, y = page.evaluate(
        """([sel, i, f]) => {
            const path = document.querySelectorAll(sel)[i];
            const p = path.getPointAtLength(path.getTotalLength() * f);
            const m = path.getScreenCTM();
            return [p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f];
        }""",
        [selector, index, fraction],
    )
    page.mouse.click(x, y)


def wait_selected(page, ids):
    page.wait_for_function(
        "ids => JSON.stringify(model.get('selected_ids')) === JSON.stringify(ids)", arg=ids
    )


def test_every_panel_draws_its_marks(mounted, harness):
    page, _ = mounted
    # Two panels (loss, accuracy) x four runs: raw, smoothed and click-target lines.
    assert page.locator(RAW_LINES).count() == 8
    assert page.locator(HIT_LINES).count() == 8
    assert page.locator("section[data-panel=history] g.role-title text").count() >= 2
    harness.offline.screenshot("compare", full_page=True)
    show(page, "parallel")
    assert page.locator("section[data-panel=parallel] g.role-mark.mark-line path").count() >= 4
    harness.offline.screenshot("compare_parallel", full_page=True)
    show(page, "scatter")
    assert page.locator("section[data-panel=scatter] g.mark-symbol.role-mark path").count() == 4
    harness.offline.screenshot("compare_scatter", full_page=True)
    show(page, "bars")
    assert page.locator("section[data-panel=bars] g.bars_bars_marks path").count() == 8
    harness.offline.screenshot("compare_bars", full_page=True)
    show(page, "params")
    header = page.locator("section[data-panel=params] thead th")
    assert header.count() == 5
    # "Only params that differ" is on: lr, optimizer and layers differ, nothing else was logged.
    assert page.locator("section[data-panel=params] tbody tr").count() == 3
    harness.offline.screenshot("compare_params", full_page=True)
    assert harness.offline.errors == []
    assert harness.offline.blocked == []


def test_clicking_a_line_selects_its_run(mounted, harness, runs):
    page, _ = mounted
    # The last click target is drawn on top of every other line of its panel.
    last = page.locator(HIT_LINES).count() // 2 - 1
    label = label_of(page, HIT_LINES, last)
    click_on_path(page, HIT_LINES, last)
    expected = next(
        r
        for r, name in zip(runs, ["baseline", "wide", "sgd-momentum", XSS], strict=True)
        if name == label
    )
    wait_selected(page, [expected])
    assert any("selected_ids" in saved for saved in harness.saved())
    # Every other run fades, in this panel and the next.
    faded = "sel => [...document.querySelectorAll(sel)].some(p => +p.getAttribute('opacity') < 0.2)"
    page.wait_for_function(faded, arg=RAW_LINES)
    # A double click clears the selection.
    page.dblclick(HIT_LINES + " >> nth=0", force=True)
    wait_selected(page, [])


def test_clicking_a_legend_entry_selects_its_run(mounted, runs):
    page, _ = mounted
    page.locator("section[data-panel=history] g.role-legend-label text", has_text="wide").click()
    wait_selected(page, [runs[1]])


def test_scatter_point_click_and_brush(mounted, runs):
    page, _ = mounted
    show(page, "scatter")
    points = page.locator("section[data-panel=scatter] g.mark-symbol.role-mark path")
    boxes = [points.nth(i).bounding_box() for i in range(points.count())]
    labels = [
        label_of(page, "section[data-panel=scatter] g.mark-symbol.role-mark path", i)
        for i in range(4)
    ]
    ids = dict(zip(["baseline", "wide", "sgd-momentum", XSS], runs, strict=True))
    first = boxes[0]
    page.mouse.click(first["x"] + first["width"] / 2, first["y"] + first["height"] / 2)
    wait_selected(page, [ids[labels[0]]])
    # Brush a rectangle around the two leftmost points (lowest learning rates).
    order = sorted(range(4), key=lambda i: boxes[i]["x"])
    chosen = order[:2]
    xs = [boxes[i]["x"] for i in chosen] + [boxes[i]["x"] + boxes[i]["width"] for i in chosen]
    ys = [boxes[i]["y"] for i in chosen] + [boxes[i]["y"] + boxes[i]["height"] for i in chosen]
    # A brush must start inside the plot; the scales keep points 14 px clear of its edges.
    x0, y0, x1, y1 = min(xs) - 4, min(ys) - 4, max(xs) + 4, max(ys) + 4
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()
    expected = [r for r in runs if r in {ids[labels[i]] for i in chosen}]
    wait_selected(page, expected)


def test_clicking_a_bar_selects_its_run(mounted, runs):
    page, _ = mounted
    show(page, "bars")
    bars = "section[data-panel=bars] g.bars_bars_marks path"
    label = label_of(page, bars, 2)
    page.locator(bars).nth(2).click()
    ids = dict(zip(["baseline", "wide", "sgd-momentum", XSS], runs, strict=True))
    wait_selected(page, [ids[label]])


def test_a_metric_logged_once_is_a_bar_per_run_that_selects_it(harness, store):
    del store  # a fresh store of its own
    ids = []
    for c in (0.1, 1.0, 10.0):
        with canvasback.start_run(run_name=f"svc C={c}", params={"C": c}, live=False) as run:
            canvasback.log_metric("test_acc", 0.8 + c / 100)
            for epoch in range(5):
                canvasback.log_metric("loss", c / (epoch + 1), step=epoch)
        ids.append(run.run_id)
    widget = compare(ids, metrics=["loss", "test_acc"])
    page = harness.mount("compare", widget_state(widget))
    page.wait_for_selector("section[data-panel=history][data-state=rendered]")
    bars = "section[data-panel=history] g[class*=history_value_] path"
    assert page.locator(bars).count() == 3
    assert page.locator(HIT_LINES).count() == 3  # the loss panel keeps its lines
    label = label_of(page, bars, 1)
    page.locator(bars).nth(1).click()
    names = [f"svc C={c}" for c in (0.1, 1.0, 10.0)]
    wait_selected(page, [dict(zip(names, ids, strict=True))[label]])
    harness.offline.screenshot("compare_logged_once", full_page=True)
    assert harness.offline.errors == []
    widget.close()


def test_run_names_are_text_never_markup(mounted, harness):
    page, _ = mounted
    legend = page.locator("section[data-panel=history] g.role-legend-label text")
    assert any(text.startswith("<img src=x") for text in legend.all_text_contents())
    show(page, "params")
    header = page.locator("section[data-panel=params] thead th .cb-run-label")
    assert XSS in header.all_inner_texts()
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__xss") is None
    assert harness.offline.errors == []


def test_python_selection_highlights_everywhere(mounted, harness, runs):
    page, _ = mounted
    show(page, "params")
    harness.update("selected_ids", [runs[1]])
    page.wait_for_selector("section[data-panel=params] thead th.cb-selected")
    selected = page.locator("section[data-panel=params] thead th.cb-selected .cb-run-label")
    assert selected.all_inner_texts() == ["wide"]
    # Clicking a run's header toggles it, as a chart click would.
    page.locator("section[data-panel=params] thead th", has_text="baseline").click()
    wait_selected(page, [runs[0]])


CPU = "system/cpu_utilization_percentage"


def test_system_metrics_sampled_for_real_chart_like_any_metric(harness, store, wait):
    del store  # a fresh store of its own
    canvasback.set_system_metrics_sampling_interval(0.05)
    ids = []
    for name in ("a", "b"):
        with canvasback.start_run(run_name=name, log_system_metrics=True, live=False) as run:
            for step in range(5):
                canvasback.log_metric("loss", 1 / (step + 1), step=step)
            wait(
                lambda run=run: len(canvasback.get_metric_history(run.run_id, CPU)) >= 3,
                what="three CPU points",
            )
        ids.append(run.run_id)
    # By default the runs' own metric; the system metrics are offered beside it.
    widget = compare(ids)
    assert widget.metrics == ["loss"]
    page = harness.mount("compare", widget_state(widget))
    page.wait_for_selector("section[data-panel=history][data-state=rendered]")
    chip = page.locator(f'button.cb-chip[data-metric="{CPU}"]')
    chip.click()
    page.wait_for_function(
        "(cpu) => JSON.stringify(model.get('metrics')) === JSON.stringify(['loss', cpu])", arg=CPU
    )
    widget.close()
    # Chosen, the CPU history is drawn beside the loss, a line per run.
    widget = compare(ids, metrics=["loss", CPU])
    page = harness.mount("compare", widget_state(widget))
    page.wait_for_selector("section[data-panel=history][data-state=rendered]")
    assert page.locator(RAW_LINES).count() == 4
    titles = page.locator("section[data-panel=history] g.role-title text").all_text_contents()
    assert CPU in titles
    harness.offline.screenshot("compare_system_metrics", full_page=True)
    assert harness.offline.errors == []
    widget.close()


def test_controls_write_traits(mounted, harness):
    page, _ = mounted
    page.click("button.cb-chip[data-metric=accuracy]")
    page.wait_for_function("() => JSON.stringify(model.get('metrics')) === '[\"loss\"]'")
    page.select_option("select.cb-x", "relative_time")
    page.wait_for_function("() => model.get('x') === 'relative_time'")
    page.check("input.cb-log-y")
    page.wait_for_function("() => model.get('log_y') === true")
    page.locator("input.cb-smoothing").fill("0.9")
    page.wait_for_function("() => model.get('smoothing') === 0.9")
    saved = {key for change in harness.saved() for key in change}
    assert {"metrics", "x", "log_y", "smoothing"} <= saved


def test_new_rows_redraw_without_a_new_embed(mounted, harness):
    page, widget = mounted
    before = page.evaluate(f"document.querySelector('{RAW_LINES}').getAttribute('d')")
    page.evaluate(f"window.firstSvg = document.querySelector('{RAW_LINES}').ownerSVGElement")
    widget.smoothing = 0.0
    widget.log_y = False
    widget.metrics = ["loss"]
    # Python changed spec and rows together: the chart is embedded again, once.
    for key in ("panels", "data_history", "data_finals", "data_parallel"):
        harness.update(key, widget_state(widget)[key])
    page.wait_for_function(f"() => document.querySelectorAll('{RAW_LINES}').length === 4")
    # Now only the rows: drawn in place, in the same SVG.
    page.evaluate(f"window.firstSvg = document.querySelector('{RAW_LINES}').ownerSVGElement")
    canvasback.client().log_metric(widget.run_ids[0], "loss", 3.0, step=400)
    widget.refresh()
    harness.update("data_history", widget_state(widget)["data_history"])
    page.wait_for_function(
        f"d => document.querySelector('{RAW_LINES}').getAttribute('d') !== d", arg=before
    )
    assert page.evaluate(
        f"document.querySelector('{RAW_LINES}').ownerSVGElement === window.firstSvg"
    )
    assert harness.offline.errors == []


def test_refresh_asks_python_and_waits_for_the_reply(mounted, harness):
    page, _ = mounted
    page.click("button.cb-refresh")
    page.wait_for_function("() => model.sent.length === 1")
    (request,) = page.evaluate("model.sent")
    assert request["content"]["kind"] == "refresh"
    assert page.is_disabled("button.cb-refresh")  # busy until Python answers
    page.evaluate(
        "id => model.receive({id, kind: 'refresh', reply: {runs: 4, status: ''}})",
        request["content"]["id"],
    )
    page.wait_for_function("() => !document.querySelector('button.cb-refresh').disabled")
    assert harness.offline.errors == []


def test_cleanup_removes_model_listeners(mounted, harness):
    page, _ = mounted
    assert page.evaluate("model.listenerCount()") > 0
    page.evaluate("unmount()")
    # The view's RPC client stops listening for replies too.
    assert page.evaluate("model.listenerCount()") == 0
    assert harness.offline.errors == []


NOTEBOOK_SETUP = """\
import math, tempfile
import canvasback

canvasback.set_store(tempfile.mkdtemp())
for i, (name, lr) in enumerate([("alpha", 0.1), ("beta", 0.01), ("gamma", 0.001)]):
    with canvasback.start_run(run_name=name, params={"lr": lr}):
        for step in range(50):
            canvasback.log_metric("loss", math.exp(-step / 20) * (1 + i), step=step)
"""

NOTEBOOK_SHOW = """\
w = canvasback.compare(canvasback.search_runs(order_by=["params.lr DESC"]))
w
"""


@pytest.mark.jupyterlab
def test_in_jupyterlab_a_click_and_a_refresh_reach_the_kernel(lab_page):
    notebook = lab_page.make_notebook("compare_smoke.ipynb", [NOTEBOOK_SETUP, NOTEBOOK_SHOW])
    lab_page.open(notebook)
    lab_page.run_all()
    cell = lab_page.cell(1)
    cell.locator("section[data-panel=history][data-state=rendered]").wait_for(timeout=30_000)

    cell.locator("button[data-tab=bars]").click()
    bars = cell.locator("section[data-panel=bars] g.bars_bars_marks path")
    bars.first.wait_for(timeout=30_000)
    bars.nth(1).click()
    lab_page.wait_for_kernel(notebook, "len(w.selected_ids)", "1")
    assert lab_page.kernel_eval(notebook, "list(w.selected['run_name'])") == "['beta']"

    # Points logged after display show up on Refresh, through the widget's RPC.
    lab_page.kernel_eval(
        notebook, "canvasback.client().log_metric(w.run_ids[0], 'loss', 0.5, step=60)"
    )
    cell.locator("button.cb-refresh").click()
    cell.locator(".cb-status", has_text="151 points").wait_for(timeout=15_000)
    lab_page.screenshot("jupyterlab_compare")
    assert cell.locator(".canvasback-error").count() == 0
    assert lab_page.offline.blocked == []


# Runs as a sweep names them: long names, and a param that is a category.
PARALLEL_RUNS = """\
import tempfile
import canvasback

canvasback.set_store(tempfile.mkdtemp())
sweep = [(0.1, "adam", 32), (0.01, "sgd", 64), (0.001, "adamw", 128), (0.03, "rmsprop", 32),
         (0.003, "sgd-nesterov", 64)]
for lr, opt, batch in sweep:
    name = f"resnet50-lr{lr}-{opt}-bs{batch}-warmup-cosine"
    params = {"lr": lr, "optimizer": opt, "batch_size": batch, "seed": 0}
    with canvasback.start_run(run_name=name, params=params, live=False):
        for step in range(10):
            canvasback.log_metric("loss", lr * 10 / (step + 1), step=step)
            canvasback.log_metric("val_acc", 0.5 + lr + step / 100, step=step)
w = canvasback.compare(canvasback.search_runs())
w
"""

# The parallel chart's legend labels, where they are, and the page's output box; its
# axis labels and their halos, and where each sits among the chart's marks.
_PARALLEL_LAYOUT = """(cell) => {
    const root = document.querySelectorAll('.jp-Notebook .jp-Cell')[cell];
    const panel = root.querySelector('section[data-panel=parallel]');
    const box = (node) => node.getBoundingClientRect().toJSON();
    const marks = [...panel.querySelectorAll('g.role-mark')];
    const at = (cls) => marks.findIndex((g) => g.classList.contains(cls));
    const probe = document.createElement('div');
    probe.style.color = 'var(--jp-layout-color0)';
    document.body.append(probe);
    const page = getComputedStyle(probe).color;
    probe.remove();
    const texts = (sel) => [...panel.querySelectorAll(sel)].map((t) => t.textContent);
    return {
        legend: texts('g.role-legend-label text'),
        legendBox: box(panel.querySelector('g.role-legend')),
        output: box(root.querySelector('.jp-OutputArea-output:has(.cb-compare)')),
        labels: texts('g.parallel_label_marks text'),
        halos: texts('g.parallel_label_halo_marks text'),
        haloColours: [...panel.querySelectorAll('g.parallel_label_halo_marks text')]
            .map((t) => [getComputedStyle(t).fill, getComputedStyle(t).stroke]),
        page,
        order: {lines: at('mark-line'), halo: at('parallel_label_halo_marks'),
                labels: at('parallel_label_marks')},
    };
}"""


@pytest.mark.jupyterlab
def test_in_jupyterlab_parallel_coordinates_keep_names_whole_and_labels_clear(lab_page):
    notebook = lab_page.make_notebook("compare_parallel.ipynb", [PARALLEL_RUNS])
    lab_page.open(notebook)
    lab_page.run_all()
    cell = lab_page.cell(0)
    cell.locator("section[data-panel=history][data-state=rendered]").wait_for(timeout=30_000)
    cell.locator("button[data-tab=parallel]").click()
    cell.locator("section[data-panel=parallel][data-state=rendered]").wait_for(timeout=30_000)
    layout = lab_page.page.evaluate(_PARALLEL_LAYOUT, 0)
    names = [
        f"resnet50-lr{lr}-{opt}-bs{batch}-warmup-cosine"
        for lr, opt, batch in [(0.1, "adam", 32), (0.01, "sgd", 64), (0.001, "adamw", 128),
                               (0.03, "rmsprop", 32), (0.003, "sgd-nesterov", 64)]
    ]  # fmt: skip
    # Every run's name whole in the legend, and the legend inside the output, not cut off.
    assert sorted(layout["legend"]) == sorted(names)
    legend, output = layout["legendBox"], layout["output"]
    assert output["left"] <= legend["left"]
    assert legend["right"] <= output["right"], (legend, output)
    # Each axis label sits over a halo of the page's colour, drawn above the lines.
    assert "sgd-nesterov" in layout["labels"]
    assert layout["halos"] == layout["labels"]
    assert {tuple(c) for c in layout["haloColours"]} == {(layout["page"], layout["page"])}
    order = layout["order"]
    assert order["lines"] < order["halo"] < order["labels"], order
    lab_page.screenshot("jupyterlab_compare_parallel")
    assert cell.locator(".canvasback-error").count() == 0
    assert lab_page.offline.blocked == []


def panel_box(page):
    """The first history panel's plot area (its click-target line spans it)."""
    return page.locator(HIT_LINES).first.bounding_box()


def test_hover_lists_every_runs_value_at_that_step(mounted):
    page, _ = mounted
    box = panel_box(page)
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.5)
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5, steps=3)
    tooltip = page.locator("#vg-tooltip-element.visible")
    tooltip.wait_for(timeout=5_000)
    text = tooltip.inner_text()
    for name in ("step", "baseline", "wide", "sgd-momentum", XSS):
        assert name in text, text
    # The rule marks the step under the pointer.
    page.wait_for_function(
        """() => [...document.querySelectorAll(
            "section[data-panel=history] g[class*=history_hover_] path, "
            + "section[data-panel=history] g[class*=history_hover_] line")]
            .some((m) => {
                const opacity = m.getAttribute('stroke-opacity') ?? m.getAttribute('opacity');
                return Number(opacity ?? 0) > 0;
            })"""
    )


def test_a_drag_across_a_history_zooms_through_python(mounted, harness):
    page, widget = mounted
    box = panel_box(page)
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    page.wait_for_function("() => model.sent.some((m) => m.content.kind === 'zoom')")
    (request,) = [
        m["content"] for m in page.evaluate("model.sent") if m["content"]["kind"] == "zoom"
    ]
    assert 0 < request["x_min"] < request["x_max"] < 300
    assert harness.saved() == [] or all("selected_ids" not in s for s in harness.saved())
    # Python answers with the range at full resolution; the chart shows just that range.
    reply, _ = widget.handle_request("zoom", request)
    assert reply["reply"]["x_range"] == [request["x_min"], request["x_max"]]
    steps = {r["x"] for r in table_from_ipc_bytes(widget.data_history).to_pylist()}
    assert steps == set(range(math.ceil(request["x_min"]), math.floor(request["x_max"]) + 1))
    harness.update("x_range", widget.x_range)
    harness.update("data_history", widget.data_history)
    harness.update("panels", widget.panels)
    page.wait_for_selector("section[data-panel=history][data-state=rendered]")
    labels = page.evaluate(
        """() => [...document.querySelectorAll('section[data-panel=history] g.role-axis')]
            .filter((axis) => (axis.getAttribute('aria-label') ?? '').startsWith('X-axis'))
            .flatMap((axis) => [...axis.querySelectorAll('.role-axis-label text')])
            .map((t) => Number(t.textContent.replace(/,/g, '')))"""
    )
    assert labels
    assert all(request["x_min"] - 1e-9 <= v <= request["x_max"] + 1e-9 for v in labels), labels
    # A double click goes back to the whole history.
    box = panel_box(page)
    page.mouse.dblclick(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_function(
        "() => model.sent.some((m) => m.content.kind === 'zoom' && m.content.x_min === null)"
    )
    assert harness.offline.errors == []


def test_the_save_menu_downloads_the_shown_chart(mounted, harness, tmp_path):
    page, widget = mounted
    page.select_option("select.cb-export", "svg")
    page.wait_for_function("() => model.sent.some((m) => m.content.kind === 'export')")
    (request,) = [
        m["content"] for m in page.evaluate("model.sent") if m["content"]["kind"] == "export"
    ]
    assert (request["format"], request["panel"]) == ("svg", "history")
    assert page.input_value("select.cb-export") == ""  # ready for the next one
    # Python renders the chart; the page turns the reply into a download.
    reply, (data,) = widget.handle_request("export", request)
    with page.expect_download() as info:
        page.evaluate(
            "([id, reply, b64]) => model.receive({id, kind: 'export', reply}, [{__bytes__: b64}])",
            [request["id"], reply["reply"], base64.b64encode(data).decode()],
        )
    download = info.value
    assert download.suggested_filename == "canvasback-history.svg"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes() == data
    assert harness.offline.errors == []


def test_a_saved_html_page_draws_the_chart_offline(runs, offline_page, tmp_path):
    widget = compare(runs)
    page_file = widget.save(tmp_path / "chart.html")
    widget.close()
    offline_page.page.goto(page_file.as_uri())
    marks = offline_page.page.locator("svg g.mark-line path")
    marks.first.wait_for(timeout=15_000)
    assert marks.count() >= 4  # a line per run, at least
    assert offline_page.blocked == []
    assert offline_page.errors == []
