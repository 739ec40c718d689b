"""Charts saved to files: PNG, SVG and a self-contained HTML page, offline."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import canvasback
from canvasback.widgets import ChartView
from canvasback.widgets.compare import compare


@pytest.fixture
def chart(store):  # noqa: ARG001 - a fresh store of its own
    ids = []
    for i, name in enumerate(("alpha", "beta")):
        with canvasback.start_run(run_name=name, params={"lr": 0.1 / (i + 1)}, live=False) as run:
            canvasback.log_history({"loss": [math.exp(-s / (20 + i)) for s in range(50)]})
        ids.append(run.info.run_id)
    widget = compare(ids, metrics=["loss"])
    yield widget
    widget.close()


def test_save_writes_each_format_by_its_suffix(chart, tmp_path):
    png = chart.save(tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = chart.save(tmp_path / "c.svg").read_text()
    assert svg.startswith("<svg")
    assert "alpha" in svg
    assert "beta" in svg
    page = chart.save(tmp_path / "c.html").read_text()
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert "<title>Histories</title>" in page
    # Offline: vega, vega-lite and vega-embed are in the page, not fetched.
    assert '<script src="http' not in page
    assert "cdn.jsdelivr" not in page
    # Another panel, by name; a format given explicitly wins over the suffix.
    bars = chart.save(tmp_path / "bars.out", panel="bars", format="svg").read_text()
    assert bars.startswith("<svg")


def test_bad_formats_and_panels_are_refused_before_writing(chart, tmp_path):
    target = tmp_path / "c.jpg"
    with pytest.raises(ValueError, match=r"c\.jpg.*'\.jpg'.*\.png, \.svg, \.html"):
        chart.save(target)
    with pytest.raises(ValueError, match=r"no chart 'params'.*history, parallel"):
        chart.save(tmp_path / "p.png", panel="params")
    assert not target.exists()
    assert not (tmp_path / "p.png").exists()


def test_the_save_button_request_returns_the_bytes(chart):
    reply, (data,) = chart.handle_request("export", {"format": "png", "panel": "history"})
    assert reply["reply"] == {
        "mime": "image/png",
        "filename": "canvasback-history.png",
        "bytes": len(data),
    }
    assert data[:4] == b"\x89PNG"
    error, _ = chart.handle_request("export", {"format": "gif", "panel": "history"})
    assert "use one of .png, .svg, .html" in error["error"]


def test_chart_view_saves_too(tmp_path):
    import altair as alt  # noqa: PLC0415

    frame = pd.DataFrame({"name": list("ab"), "value": [1, 2]})
    view = ChartView(alt.Chart(frame, title="two bars").mark_bar().encode(x="name", y="value"))
    svg = view.save(tmp_path / "v.svg").read_text()
    assert svg.count("<path") >= 2
    assert "two bars" in svg
    assert "<title>two bars</title>" in view.save(tmp_path / "v.html").read_text()
    view.close()
