"""ChartView in plain pytest: the spec and Arrow datasets it syncs, its static view."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from canvasback.widgets._base import table_from_ipc_bytes
from canvasback.widgets.chart_view import INLINE_VALUES, ChartView, split_datasets

XSS = "<img src=x onerror=alert(1)>"


def bars(names=("a", "b", "c"), values=(3, 1, 2), title="Bars"):
    frame = pd.DataFrame({"name": list(names), "value": list(values)})
    return alt.Chart(frame, title=title).mark_bar().encode(x="name:N", y="value:Q")


def test_altair_rows_travel_as_arrow_not_in_the_spec():
    view = ChartView(bars())
    assert "datasets" not in view.spec
    (name,) = view.datasets
    assert view.spec["data"] == {"name": name}
    table = table_from_ipc_bytes(view.datasets[name])
    assert table.column("name").to_pylist() == ["a", "b", "c"]
    assert table.column("value").to_pylist() == [3, 1, 2]
    assert view.spec["mark"] == {"type": "bar"}


def test_a_dict_spec_with_inline_values_gets_a_named_dataset():
    spec = {
        "data": {"values": [{"x": 1, "y": 2}, {"x": 2, "y": 4}]},
        "mark": "point",
        "encoding": {"x": {"field": "x", "type": "quantitative"}},
    }
    view = ChartView(spec)
    assert view.spec["data"] == {"name": INLINE_VALUES}
    assert table_from_ipc_bytes(view.datasets[INLINE_VALUES]).num_rows == 2
    assert spec["data"] == {"values": [{"x": 1, "y": 2}, {"x": 2, "y": 4}]}  # not mutated


def test_rows_arrow_cannot_type_stay_inline():
    spec, tables = split_datasets({"datasets": {"mixed": [{"v": 1}, {"v": "one"}]}, "mark": "bar"})
    assert tables == {}
    assert spec["datasets"] == {"mixed": [{"v": 1}, {"v": "one"}]}


def test_set_chart_replaces_spec_and_datasets():
    view = ChartView(bars())
    view.set_chart(bars(names=("p", "q"), values=(7, 8)))
    (name,) = view.datasets
    assert table_from_ipc_bytes(view.datasets[name]).column("name").to_pylist() == ["p", "q"]
    assert view.spec["data"] == {"name": name}


def test_front_end_traits_are_synced_and_unknown_kwargs_rejected():
    view = ChartView(bars())
    view.set_state({"clicked": {"name": "b", "value": 1}})
    assert view.clicked == {"name": "b", "value": 1}
    state = view.get_state()
    assert {"spec", "datasets", "clicked", "selections"} <= set(state)
    with pytest.raises(TypeError, match="unexpected keyword"):
        ChartView(bars(), colour="red")
    with pytest.raises(TypeError, match="Altair chart or a Vega-Lite dict"):
        ChartView(42)  # type: ignore[arg-type]


def test_static_html_draws_the_chart_and_escapes_text(monkeypatch):
    monkeypatch.setenv("CANVASBACK_STATIC", "svg")
    view = ChartView(bars(names=(XSS, "b", "c"), title=XSS))
    data, _ = view._repr_mimebundle_()
    html = data["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "<svg" in html
    assert html.count("<path") >= 3  # one bar per row at least
    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_static_html_as_png(monkeypatch):
    monkeypatch.setenv("CANVASBACK_STATIC", "png")
    html = ChartView(bars())._repr_mimebundle_()[0]["text/html"]
    assert 'src="data:image/png;base64,' in html
