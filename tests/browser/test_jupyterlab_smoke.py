"""End to end in a real JupyterLab: a widget on the ``vega_view`` front end is displayed
by a kernel, a click on a mark in Chromium reaches that kernel's Python object."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.jupyterlab

DEFINE = """\
import pyarrow as pa
import traitlets

from canvasback.widgets._base import BaseWidget, arrow_ipc_bytes, bundle


class ChartProbe(BaseWidget):
    _esm = bundle("vega_view")
    spec = traitlets.Dict().tag(sync=True)
    datasets = traitlets.Dict(value_trait=traitlets.Bytes()).tag(sync=True)
    clicked = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    selections = traitlets.Dict().tag(sync=True)
"""

SHOW = """\
points = pa.table({"x": list("abcd"), "y": pa.array([3, 1, 2, 5], pa.int64())})
spec = {
    "data": {"name": "points"},
    "mark": "bar",
    "width": 240,
    "height": 140,
    "encoding": {
        "x": {"field": "x", "type": "nominal"},
        "y": {"field": "y", "type": "quantitative"},
    },
}
w = ChartProbe(spec=spec, datasets={"points": arrow_ipc_bytes(points)})
w
"""


def test_click_in_jupyterlab_reaches_the_kernel(lab_page):
    notebook = lab_page.make_notebook("vega_view_smoke.ipynb", [DEFINE, SHOW])
    lab_page.open(notebook)
    lab_page.run_all()

    bars = lab_page.cell(1).locator(".canvasback-vega-view svg g.mark-rect path")
    bars.first.wait_for(timeout=30_000)
    assert bars.count() == 4
    bars.nth(3).click()

    lab_page.wait_for_kernel(notebook, "w.clicked is None", "False")
    assert lab_page.kernel_eval(notebook, "(w.clicked['x'], w.clicked['y'])") == "('d', 5)"

    lab_page.screenshot("jupyterlab_vega_view")
    assert lab_page.cell(1).locator(".canvasback-error").count() == 0
    assert lab_page.offline.blocked == []
