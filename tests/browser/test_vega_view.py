"""The ``vega_view`` bundle in Chromium against the harness's stand-in model."""

from __future__ import annotations

import pyarrow as pa
import pytest

from canvasback.widgets._base import arrow_ipc_bytes

pytestmark = pytest.mark.browser

BARS = "svg g.mark-rect path"


def points(xs: list[str], ys: list[int]) -> bytes:
    return arrow_ipc_bytes(pa.table({"x": pa.array(xs), "y": pa.array(ys, pa.int64())}))


SPEC = {
    "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
    "data": {"name": "points"},
    "mark": "bar",
    "width": 240,
    "height": 140,
    "params": [{"name": "pick", "select": {"type": "point", "fields": ["x"]}}],
    "encoding": {
        "x": {"field": "x", "type": "nominal"},
        "y": {"field": "y", "type": "quantitative"},
    },
}


def state(spec: dict[str, object] | None = None, **datasets: bytes) -> dict[str, object]:
    return {
        "spec": SPEC if spec is None else spec,
        "datasets": datasets or {"points": points(list("abcd"), [3, 1, 2, 5])},
        "clicked": None,
        "selections": {},
    }


def test_renders_marks_from_arrow_dataset(harness):
    page = harness.mount("vega_view", state())
    assert page.locator(BARS).count() == 4
    assert page.get_attribute("#root", "data-rendered") == "true"
    harness.offline.screenshot("harness_vega_view")
    assert harness.offline.errors == []
    assert harness.offline.blocked == []


def test_click_on_mark_reaches_model(harness):
    page = harness.mount("vega_view", state())
    page.locator(BARS).nth(3).click()
    page.wait_for_function("() => model.get('clicked') !== null")
    clicked = page.evaluate("model.get('clicked')")
    assert (clicked["x"], clicked["y"]) == ("d", 5)
    assert any("clicked" in saved for saved in harness.saved())
    # The point selection follows the click, debounced, through the same save path.
    page.wait_for_function("() => model.get('selections').pick !== undefined")
    pick = page.evaluate("model.get('selections').pick")
    assert pick["value"]["x"] == ["d"]
    assert harness.offline.blocked == []


def test_new_datasets_replace_rows_without_a_new_spec(harness):
    page = harness.mount("vega_view", state())
    assert page.locator(BARS).count() == 4
    harness.update("datasets", {"points": points(["p", "q"], [7, 8])})
    page.wait_for_function(f"() => document.querySelectorAll('{BARS}').length === 2")
    assert harness.offline.blocked == []


def test_invalid_spec_shows_inline_error(harness):
    markless = {key: value for key, value in SPEC.items() if key != "mark"}
    page = harness.mount("vega_view", state(markless))
    error = page.locator(".canvasback-error")
    error.wait_for()
    assert error.get_attribute("role") == "alert"
    assert error.inner_text().startswith("Chart error: Invalid specification")
    assert page.get_attribute("#root", "data-rendered") == "error"
    # A spec that works again clears the error.
    harness.update("spec", SPEC)
    page.wait_for_function(f"() => document.querySelectorAll('{BARS}').length === 4")
    assert page.locator(".canvasback-error").count() == 0
    assert harness.offline.blocked == []


def test_cleanup_removes_model_listeners(harness):
    page = harness.mount("vega_view", state())
    assert page.evaluate("model.listenerCount()") > 0
    page.evaluate("unmount()")
    assert page.evaluate("model.listenerCount()") == 0
    assert harness.offline.errors == []
