"""ChartView in Chromium: an Altair chart drawn offline by the bundled vega-embed, in the
harness and in a real JupyterLab, where a click on a mark reaches the kernel."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from canvasback.widgets.chart_view import ChartView

BARS = "svg g.mark-rect path"
XSS = "<img src=x onerror=window.__xss=1>"


def front_end_state(view: ChartView) -> dict[str, object]:
    return {name: getattr(view, name) for name in ("spec", "datasets", "clicked", "selections")}


def bars(names):
    frame = pd.DataFrame({"name": names, "value": range(1, len(names) + 1)})
    return alt.Chart(frame).mark_bar().encode(x="name:N", y="value:Q").properties(width=240)


@pytest.mark.browser
def test_an_altair_chart_renders_offline_and_a_click_reaches_the_model(harness):
    view = ChartView(bars(["a", XSS, "c", "d"]))
    page = harness.mount("vega_view", front_end_state(view))
    assert page.locator(BARS).count() == 4
    assert page.get_attribute("#root", "data-rendered") == "true"
    page.locator(BARS).nth(3).click()
    page.wait_for_function("() => model.get('clicked') !== null")
    clicked = page.evaluate("model.get('clicked')")
    assert (clicked["name"], clicked["value"]) == ("d", 4)
    # The hostile name is drawn as text, never parsed as markup.
    assert page.evaluate("window.__xss") is None
    assert page.locator("#root img").count() == 0
    harness.offline.screenshot("harness_chart_view")
    assert harness.offline.errors == []
    assert harness.offline.blocked == []


@pytest.mark.browser
def test_new_chart_from_python_redraws(harness):
    view = ChartView(bars(["a", "b"]))
    page = harness.mount("vega_view", front_end_state(view))
    assert page.locator(BARS).count() == 2
    view.set_chart(bars(["p", "q", "r"]))
    harness.update("datasets", view.datasets)
    harness.update("spec", view.spec)
    page.wait_for_function(f"() => document.querySelectorAll('{BARS}').length === 3")
    assert harness.offline.errors == []


SHOW = """\
import altair as alt
import pandas as pd
from canvasback.widgets.chart_view import ChartView

frame = pd.DataFrame({"name": list("abcd"), "value": [3, 1, 2, 5]})
view = ChartView(alt.Chart(frame).mark_bar().encode(x="name:N", y="value:Q"))
view
"""


@pytest.mark.jupyterlab
def test_in_jupyterlab_a_click_reaches_the_kernel(lab_page):
    notebook = lab_page.make_notebook("chart_view.ipynb", [SHOW])
    lab_page.open(notebook)
    lab_page.run_all()
    marks = lab_page.cell(0).locator(f".canvasback-vega-view {BARS}")
    marks.first.wait_for(timeout=30_000)
    assert marks.count() == 4
    marks.nth(3).click()
    lab_page.wait_for_kernel(notebook, "view.clicked and view.clicked['name']", "'d'")
    assert lab_page.kernel_eval(notebook, "view.clicked['value']") == "5"
    lab_page.screenshot("jupyterlab_chart_view")
    assert lab_page.cell(0).locator(".canvasback-error").count() == 0
    assert lab_page.offline.blocked == []
