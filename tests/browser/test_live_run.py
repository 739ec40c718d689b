"""The ``live_run`` front end: in Chromium against the stand-in model, and in JupyterLab.

The harness tests feed it state made by a real :class:`LiveRun` on a temporary store, so
the Arrow layout Python pushes is the one the front end reads.
"""

from __future__ import annotations

import json
import re

import pytest

import canvasback as cb
from canvasback.widgets.live_run import LiveRun

XSS = '<img src=x onerror="window.__xss = 1">'


def state_of(live: LiveRun) -> dict[str, object]:
    return {
        name: getattr(live, name)
        for name in (
            "run_name",
            "run_id",
            "status",
            "start_time",
            "end_time",
            "metric_count",
            "latest",
            "series",
            "system",
        )
    }


@pytest.fixture
def live(store):
    del store  # a fresh store; the path itself is not needed
    run = cb.start_run(run_name="resnet-50 sweep")
    view = LiveRun(run, start=False)
    for i in range(200):
        run.log_metric("loss", 2.0 / (i + 1), step=i)
        run.log_metric("accuracy", 1 - 1.0 / (i + 2), step=i)
    run.log_metric("lr", 0.001, step=199)
    cb.flush()
    view.update()
    yield view
    view.close()


@pytest.mark.browser
def test_renders_status_name_values_and_sparklines(harness, live):
    page = harness.mount("live_run", state_of(live))
    root = page.locator(".cb-live")
    assert root.get_attribute("data-status") == "RUNNING"
    assert page.locator(".cb-live-status").inner_text() == "RUNNING"
    assert page.locator(".cb-live-name").inner_text() == "resnet-50 sweep"
    assert page.locator(".cb-live-step").inner_text() == "step 199"
    cards = page.locator(".cb-live-card")
    assert cards.count() == 3
    loss = page.locator('.cb-live-card[data-key="loss"]')
    assert loss.locator(".cb-live-value").inner_text() == "0.01"
    assert loss.locator(".cb-live-card-step").inner_text() == "step 199"
    line = loss.locator("path.cb-live-line")
    assert int(line.get_attribute("data-points")) > 10
    assert line.get_attribute("d").startswith("M")
    assert page.locator(".cb-live-empty").is_hidden()
    box = {"x": 0, "y": 0, "width": 840, "height": 140}
    harness.offline.screenshot("harness_live_run", clip=box)
    assert harness.offline.errors == []
    assert harness.offline.blocked == []


@pytest.mark.browser
def test_pushed_updates_and_the_final_status_reach_the_dom(harness, live):
    harness.page.clock.install()  # the page's timers move only when the test says
    page = harness.mount("live_run", state_of(live))
    live._run.log_metric("loss", 0.005, step=200)
    cb.flush()
    live.update()
    harness.update("latest", live.latest)
    harness.update("series", live.series)
    page.wait_for_function(
        """() => document.querySelector('.cb-live-card[data-key="loss"]').dataset.step === '200'"""
    )
    assert page.locator('.cb-live-card[data-key="loss"] .cb-live-value').inner_text() == "0.005"

    cb.end_run("FAILED")
    harness.update("end_time", live.end_time)
    harness.update("status", live.status)
    assert page.locator(".cb-live").get_attribute("data-status") == "FAILED"
    assert page.locator(".cb-live-status").inner_text() == "FAILED"
    ended = page.locator(".cb-live-elapsed").inner_text()
    page.clock.run_for(5_000)
    assert page.locator(".cb-live-elapsed").inner_text() == ended  # the clock stopped
    assert harness.offline.errors == []


@pytest.mark.browser
def test_elapsed_time_ticks_while_running(harness, live):
    harness.page.clock.install()
    page = harness.mount("live_run", state_of(live))
    page.evaluate("model.update('start_time', Date.now() - 65_000)")
    elapsed = page.locator(".cb-live-elapsed")
    assert elapsed.inner_text() == "1:05"
    page.clock.run_for(1_250)  # one tick interval past the next second
    assert elapsed.inner_text() == "1:06"
    page.clock.run_for(60_000)
    assert elapsed.inner_text() == "2:06"


@pytest.mark.browser
def test_run_text_is_text_not_markup(harness, live):
    state = {**state_of(live), "run_name": XSS}
    page = harness.mount("live_run", state)
    assert page.locator(".cb-live-name").inner_text() == XSS
    assert page.locator(".cb-live img").count() == 0
    harness.update("run_name", XSS + "<b>x</b>")
    assert page.locator(".cb-live-name").inner_text() == XSS + "<b>x</b>"
    assert page.locator(".cb-live b").count() == 0
    assert page.evaluate("window.__xss") is None
    assert harness.offline.errors == []


@pytest.mark.browser
def test_keys_without_a_chart_are_listed_and_the_rest_counted(harness, store):
    del store
    run = cb.start_run(run_name="wide")
    live = LiveRun(run, start=False, max_charts=2)
    for i in range(5):
        run.log_metric(f"m{i}", float(i), step=1, timestamp=1_000 + i)
    cb.flush()
    live.update()
    state = {**state_of(live), "metric_count": 9}  # as if 4 more keys were left out
    page = harness.mount("live_run", state)
    assert page.locator(".cb-live-card").count() == 2
    chips = page.locator(".cb-live-more .cb-live-chip")
    assert chips.all_inner_texts()[:3] == ["m2\n2", "m3\n3", "m4\n4"]
    assert page.locator(".cb-live-hidden").inner_text() == "+4 more"
    live.close()


@pytest.mark.browser
def test_waiting_state_and_cleanup(harness):
    state = {
        "run_name": "empty",
        "run_id": "0" * 32,
        "status": "RUNNING",
        "start_time": 0,
        "end_time": None,
        "metric_count": 0,
        "latest": b"",
        "series": b"",
    }
    page = harness.mount("live_run", state)
    assert page.locator(".cb-live-empty").is_visible()
    assert page.locator(".cb-live-card").count() == 0
    assert page.evaluate("model.listenerCount()") > 0
    page.evaluate("unmount()")
    assert page.evaluate("model.listenerCount()") == 0
    assert harness.offline.errors == []


# A point of system metrics as a run sampled on a machine with one GPU logs them.
SYSTEM_POINT = {
    "system/cpu_utilization_percentage": 37.2,
    "system/system_memory_usage_percentage": 52.4,
    "system/system_memory_usage_megabytes": 8_402.1,
    "system/disk_usage_percentage": 35.1,
    "system/process_cpu_utilization_percentage": 180.0,
    "system/gpu_0_utilization_percentage": 87.0,
    "system/gpu_0_memory_usage_percentage": 70.0,
}


@pytest.mark.browser
def test_the_system_strip_shows_cpu_memory_and_gpus_beside_the_charts(harness, store):
    del store
    run = cb.start_run(run_name="sampled")
    live = LiveRun(run, start=False)
    run.log_metrics(SYSTEM_POINT, step=0)
    for i in range(20):
        run.log_metric("loss", 1 / (i + 1), step=i)
    cb.flush()
    live.update()
    page = harness.mount("live_run", state_of(live))
    strip = page.locator(".cb-live-system")
    assert strip.is_visible()
    chips = strip.locator(".cb-live-sys")
    assert chips.locator(".cb-live-sys-label").all_inner_texts() == [
        "CPU",
        "Memory",
        "GPU 0",
        "GPU 0 mem",
    ]
    assert chips.locator(".cb-live-sys-value").all_inner_texts() == ["37%", "52%", "87%", "70%"]
    assert chips.first.get_attribute("title") == "system/cpu_utilization_percentage"
    fill = chips.first.locator(".cb-live-sys-fill")
    assert fill.evaluate("(el) => el.style.width") == "37.2%"
    # The strip sits between the head line and the charts, and no system key has a card.
    order = page.evaluate(
        "[...document.querySelector('.cb-live').children].map((el) => el.className)"
    )
    assert order.index("cb-live-system") < order.index("cb-live-grid")
    cards = page.locator(".cb-live-card")
    assert [cards.nth(i).get_attribute("data-key") for i in range(cards.count())] == ["loss"]
    assert page.locator(".cb-live-more .cb-live-chip").count() == 0
    harness.offline.screenshot(
        "harness_live_run_system", clip={"x": 0, "y": 0, "width": 840, "height": 160}
    )

    run.log_metrics({"system/cpu_utilization_percentage": 91.0}, step=1)
    cb.flush()
    live.update()
    harness.update("system", live.system)
    assert chips.first.locator(".cb-live-sys-value").inner_text() == "91%"
    cb.end_run()
    harness.update("system", live.system)
    harness.update("status", live.status)
    assert not strip.is_visible()  # an ended run's view is one line until opened
    page.locator(".cb-live-head").click()
    assert strip.is_visible()
    assert harness.offline.errors == []
    assert harness.offline.blocked == []
    live.close()


@pytest.mark.browser
def test_a_run_without_system_metrics_has_no_strip_and_a_cell_shows_its_newest(harness):
    page = harness.mount(
        "live_run",
        {
            "run_name": "plain",
            "run_id": "0" * 32,
            "status": "RUNNING",
            "start_time": 0,
            "end_time": None,
            "metric_count": 0,
            "latest": b"",
            "series": b"",
            "system": [],
        },
    )
    assert page.locator(".cb-live-system").is_hidden()
    chip = {"key": "system/cpu_utilization_percentage", "label": "CPU", "value": 12.0}
    page = harness.mount("live_cell", {"rows": [], "system": [{**chip, "timestamp": 0}]})
    assert page.locator(".cb-live-cell .cb-live-system .cb-live-sys-value").inner_text() == "12%"
    harness.update("system", [])
    assert page.locator(".cb-live-cell .cb-live-system").is_hidden()
    assert page.evaluate("model.listenerCount()") > 0
    page.evaluate("unmount()")
    assert page.evaluate("model.listenerCount()") == 0
    assert harness.offline.errors == []


# --------------------------------------------------------------------------- JupyterLab
SETUP = """\
import time
import canvasback as cb
from canvasback.widgets.live_run import live_view_of
cb.set_store("live-store")
"""

TRAIN = """\
with cb.start_run(run_name='live') as r:
    for i in range(40):
        cb.log_metric('loss', 1 / (i + 1), step=i)
        cb.log_metric('accuracy', 1 - 1 / (i + 2), step=i)
        time.sleep(0.1)  # a training step
"""

# Records, in the page, every step the loss card shows and whether the cell was still
# running then; installed before the cell runs, so no change is missed between polls.
_RECORD = """() => {
    window.__liveSteps = [];
    const busy = () => {
        const prompts = document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt');
        return prompts.length > 1 && prompts[1].textContent.includes('*');
    };
    let last = null;
    const look = () => {
        const card = document.querySelector('.jp-Notebook .cb-live-card[data-key="loss"]');
        const step = card ? card.dataset.step : null;
        if (step !== null && step !== last) {
            last = step;
            window.__liveSteps.push({step: Number(step), busy: busy(), t: performance.now()});
        }
    };
    new MutationObserver(look).observe(document.body, {
        subtree: true, childList: true, attributes: true, attributeFilter: ['data-step'],
    });
}"""


@pytest.mark.jupyterlab
def test_live_view_updates_while_the_cell_trains(lab_page):
    notebook = lab_page.make_notebook("live_run.ipynb", [SETUP, TRAIN])
    lab_page.open(notebook)
    lab_page.page.evaluate(_RECORD)
    lab_page.run_all()

    view = lab_page.cell(1).locator(".cb-live")
    view.and_(lab_page.page.locator('[data-status="FINISHED"]')).wait_for(timeout=30_000)
    # The status and the last step may reach the page in separate renders.
    lab_page.page.wait_for_function(
        "window.__liveSteps.length > 0 && window.__liveSteps.at(-1).step === 39",
        timeout=30_000,
    )
    steps = lab_page.page.evaluate("window.__liveSteps")
    # Steps shown while the cell was still running came from the kernel's polling thread.
    # The flusher writes about once a second, so a 4 s cell shows 3-4 steps; 2 is the floor
    # that proves updates arrive while the main thread is still busy.
    # The last step may also show before the browser learns the cell ended (a busy
    # machine): only the steps before it prove updates during training.
    while_training = [s["step"] for s in steps if s["busy"]]
    assert while_training == sorted(while_training)
    assert len({step for step in while_training if step < 39}) >= 2, steps
    assert steps[-1]["step"] == 39

    loss = lab_page.cell(1).locator('.cb-live-card[data-key="loss"]')
    assert loss.locator(".cb-live-value").inner_text() == "0.025"
    assert lab_page.kernel_eval(notebook, "live_view_of(r).status") == "'FINISHED'"
    assert lab_page.kernel_eval(notebook, "live_view_of(r).polling") == "False"
    lab_page.screenshot("live_run")

    # Saved, the output carries the final state as HTML for readers without a kernel.
    # The command's promise settles once the contents API has written the file.
    lab_page.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    outputs = json.loads((lab_page.lab.root / notebook).read_text())["cells"][1]["outputs"]
    # Two outputs: the summary (updated in place, not appended to), then the view.
    static, view_output = outputs
    summary = "".join(static["data"]["text/html"])
    assert "FINISHED" in summary
    assert "0.025" in summary
    assert "application/vnd.jupyter.widget-view+json" in view_output["data"]
    # While the view runs, the static summary above it is hidden.
    summary_box = lab_page.cell(1).locator(
        ".jp-OutputArea-child", has=lab_page.page.locator(".canvasback-live-run-static")
    )
    assert summary_box.count() == 1
    assert not summary_box.is_visible()
    assert lab_page.offline.blocked == []


THREADS = """\
import threading

def work(i):
    with cb.start_run(run_name=f"w{i}", nested=True, live=False):
        for step in range(20):
            cb.log_metric("i", float(i), step=step)
            time.sleep(0.01)

with cb.start_run(run_name="parent") as p:
    workers = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in workers:
        t.start()
    for step in range(20):
        cb.log_metric("p", float(step), step=step)
        time.sleep(0.05)
    for t in workers:
        t.join()
"""

CHILDREN = (
    "sorted((r['tags.mlflow.runName'], r['tags.mlflow.parentRunId'] == p.run_id,"
    " cb.get_metric_history(r['run_id'], 'i')['value'].unique().tolist())"
    " for _, r in cb.search_runs(filter_string=\"run_name LIKE 'w%'\").iterrows())"
)


@pytest.mark.jupyterlab
def test_live_view_of_a_run_while_threads_log_into_their_own(lab_page):
    notebook = lab_page.make_notebook("live_threads.ipynb", [SETUP, THREADS])
    lab_page.open(notebook)
    lab_page.run_all()
    view = lab_page.cell(1).locator(".cb-live")
    view.and_(lab_page.page.locator('[data-status="FINISHED"]')).wait_for(timeout=30_000)
    assert view.count() == 1
    cards = view.locator(".cb-live-card")
    assert [cards.nth(i).get_attribute("data-key") for i in range(cards.count())] == ["p"]
    assert cards.first.get_attribute("data-step") == "19"
    assert lab_page.kernel_eval(notebook, CHILDREN) == (
        "[('w0', True, [0.0]), ('w1', True, [1.0])]"
    )
    lab_page.screenshot("live_run_threads")


SWEEP = """\
for lr in (0.3, 0.1, 0.03):
    with cb.start_run(run_name=f"lr={lr}", params={"lr": lr}):
        for i in range(8):
            cb.log_metric("loss", lr / (i + 1), step=i)
            time.sleep(0.05)
"""


@pytest.mark.jupyterlab
def test_a_sweep_in_one_cell_is_one_view_with_a_row_per_run(lab_page):
    notebook = lab_page.make_notebook("live_sweep.ipynb", [SETUP, SWEEP, TRAIN])
    lab_page.open(notebook)
    lab_page.run_all()
    sweep = lab_page.cell(1)
    rows = sweep.locator(".cb-live-cell .cb-live-row")
    lab_page.page.wait_for_function(
        """() => {
            const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[1];
            const rows = [...cell.querySelectorAll('.cb-live-cell .cb-live-row')];
            return rows.length === 3 && rows.every((r) => r.dataset.status === 'FINISHED');
        }""",
        timeout=30_000,
    )
    assert [rows.nth(i).locator(".cb-live-name").inner_text() for i in range(3)] == [
        "lr=0.3",
        "lr=0.1",
        "lr=0.03",
    ]
    for i in range(3):
        assert int(rows.nth(i).locator(".cb-live-line").get_attribute("data-points")) == 8
    # One view for the cell: no run card of its own beside it.
    assert sweep.locator(".cb-live:not(.cb-live-cell)").count() == 0
    assert sweep.locator(".cb-live-cell").count() == 1
    # A single run's view collapses to one line once it ends, and opens on a click.
    single = lab_page.cell(2).locator(".cb-live")
    single.and_(lab_page.page.locator('[data-status="FINISHED"]')).wait_for(timeout=30_000)
    assert single.get_attribute("data-collapsed") == "true"
    assert not single.locator(".cb-live-grid").is_visible()
    assert re.fullmatch(
        r"(loss|accuracy) [\d.]+ · \+1", single.locator(".cb-live-summary").inner_text()
    )
    single.locator(".cb-live-head").click()
    assert single.locator(".cb-live-grid").is_visible()
    lab_page.screenshot("live_sweep")
    assert lab_page.offline.blocked == []


# Three runs of about 5 s each, as a cell that trains one model after another does. The
# kernel is busy with the cell all the while, so it answers no message from the page.
LONG_SWEEP = """\
for lr in (0.3, 0.1, 0.03):
    with cb.start_run(run_name=f"lr={lr}", params={"lr": lr}):
        for epoch in range(14):
            cb.log_metric("loss", lr / (epoch + 1), step=epoch)
            time.sleep(0.4)  # an epoch
"""

# Records, in the page, what the sweep's cell shows whenever its outputs change, and
# whether the cell was still running then: the live view's visibility, the static copy's,
# and each row's status, value and sparkline.
_RECORD_CELL = """() => {
    window.__cellStates = [];
    const cell = () => document.querySelectorAll('.jp-Notebook .jp-Cell')[1];
    const busy = () => cell().querySelector('.jp-InputArea-prompt').textContent.includes('*');
    const shown = (node) => !!node && node.checkVisibility();
    let last = '';
    const look = () => {
        const here = cell();
        if (!here) return;
        const live = here.querySelector('.cb-live');
        const statics = [...here.querySelectorAll('.jp-OutputArea-child:has([data-cb-static])')];
        const rows = [...here.querySelectorAll('.cb-live-cell .cb-live-row')].map((row) => ({
            name: row.querySelector('.cb-live-name').textContent,
            status: row.dataset.status,
            metric: row.querySelector('.cb-live-row-metric').textContent,
            points: Number(row.querySelector('.cb-live-line').dataset.points),
            clock: row.querySelector('.cb-live-elapsed').textContent,
        }));
        const card = here.querySelector('.cb-live-card[data-key="loss"]');
        const state = {
            busy: busy(), live: shown(live), cell: !!here.querySelector('.cb-live-cell'),
            statics: statics.some(shown), card: card ? card.dataset.step : null, rows,
        };
        const key = JSON.stringify(state);
        if (key !== last) {
            last = key;
            window.__cellStates.push(state);
        }
    };
    new MutationObserver(look).observe(document.body, {
        subtree: true, childList: true, attributes: true, characterData: true,
    });
}"""


@pytest.mark.jupyterlab
def test_every_run_of_a_long_sweep_is_a_live_row_while_the_cell_trains(lab_page):
    notebook = lab_page.make_notebook("live_long_sweep.ipynb", [SETUP, LONG_SWEEP])
    lab_page.open(notebook)
    lab_page.page.evaluate(_RECORD_CELL)
    lab_page.run_all()
    states = lab_page.page.evaluate("window.__cellStates")
    training = [s for s in states if s["busy"]]
    # Once a view has shown, the cell shows a live view, never its static copy, until the
    # cell ends (the run's card makes way for the cell's view as the second run starts).
    first_live = next(i for i, s in enumerate(training) if s["live"])
    static = [s for s in training[first_live:] if s["statics"]]
    assert static == [], static[:3]
    assert all(s["live"] for s in training[first_live:] if s["rows"]), training
    # The first run's card updated while it trained; every run after it became a row that
    # updated while the cell trained: its value and its sparkline moved on, its clock ran.
    assert len({s["card"] for s in training if s["card"] is not None}) >= 3, training
    for name in ("lr=0.1", "lr=0.03"):
        seen = [r for s in training for r in s["rows"] if r["name"] == name]
        assert len({r["metric"] for r in seen}) >= 3, (name, seen[-3:])
        assert len({r["points"] for r in seen}) >= 3, (name, seen[-3:])
        assert len({r["clock"] for r in seen if r["status"] == "RUNNING"}) >= 3, (name, seen)
    # A run that ended says so while the next one trains.
    during_third = [s for s in training if any(r["name"] == "lr=0.03" for r in s["rows"])]
    assert [r["name"] for r in during_third[-1]["rows"]] == ["lr=0.3", "lr=0.1", "lr=0.03"]
    assert [r["status"] for r in during_third[-1]["rows"][:2]] == ["FINISHED", "FINISHED"]
    # And in the end, every row has its final value.
    rows = lab_page.cell(1).locator(".cb-live-cell .cb-live-row")
    lab_page.page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')[1]
            .querySelectorAll('.cb-live-cell .cb-live-row')]
            .map((r) => r.dataset.status).join() === 'FINISHED,FINISHED,FINISHED'""",
        timeout=30_000,
    )
    assert rows.nth(2).locator(".cb-live-row-metric").inner_text() == "loss 0.002143"
    lab_page.screenshot("live_long_sweep")
    # Saved, the cell's static copy holds the end: every run finished, with its clock.
    lab_page.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    outputs = json.loads((lab_page.lab.root / notebook).read_text())["cells"][1]["outputs"]
    summary = "".join(outputs[0]["data"]["text/html"])
    assert summary.count("FINISHED") == 3, summary
    assert "RUNNING" not in summary
    assert len(re.findall(r">0:0\d<", summary)) == 3, summary
    assert lab_page.offline.blocked == []
