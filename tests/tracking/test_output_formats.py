"""``search_runs`` and ``get_metric_history`` in four forms: pandas, Polars, Arrow, a list.

Arrow is what the query layer answers; Polars is made from it directly, so neither
needs pandas (proven in a process where pandas cannot be imported).
"""

from __future__ import annotations

import sys

import pandas as pd
import pyarrow as pa
import pytest

import canvasback as cb

pl = pytest.importorskip("polars")  # in the test extra; optional for users


@pytest.fixture
def runs(store):  # noqa: ARG001  # the store the runs go to
    ids = {}
    for name, lr, points in (("slow", 0.01, [3.0, 2.0, 1.5]), ("fast", 0.1, [2.0, 0.5])):
        with cb.start_run(run_name=name, params={"lr": lr}) as run:
            for step, value in enumerate(points):
                cb.log_metric("loss", value, step=step)
        ids[name] = run.info.run_id
    cb.flush()
    return ids


def test_search_runs_in_every_format_holds_the_same_runs_in_the_same_order(runs):
    order = ["metrics.loss ASC"]
    frame = cb.search_runs(order_by=order)
    table = cb.search_runs(order_by=order, output_format="arrow")
    polars = cb.search_runs(order_by=order, output_format="polars")
    listed = cb.search_runs(order_by=order, output_format="list")
    assert isinstance(table, pa.Table)
    assert isinstance(polars, pl.DataFrame)
    expected = [runs["fast"], runs["slow"]]
    assert frame["run_id"].tolist() == expected
    assert table.column("run_id").to_pylist() == expected
    assert polars["run_id"].to_list() == expected
    assert [r.info.run_id for r in listed] == expected
    # One set of columns, MLflow's, with one type each.
    assert table.column_names == list(frame.columns) == polars.columns
    assert table.column("metrics.loss").to_pylist() == [0.5, 1.5]
    assert polars["params.lr"].to_list() == ["0.1", "0.01"]
    assert table.schema.field("start_time").type == pa.timestamp("ms", tz="UTC")
    assert polars.schema["start_time"] == pl.Datetime("ms", "UTC")
    assert polars["start_time"].to_list() == [t.to_pydatetime() for t in frame["start_time"]]


def test_get_metric_history_in_every_format(runs):
    run_id = runs["slow"]
    frame = cb.get_metric_history(run_id, "loss")
    table = cb.get_metric_history(run_id, "loss", output_format="arrow")
    polars = cb.get_metric_history(run_id, "loss", output_format="polars")
    listed = cb.get_metric_history(run_id, "loss", output_format="list")
    assert isinstance(frame, pd.DataFrame)
    assert frame["value"].tolist() == [3.0, 2.0, 1.5]
    assert table.column_names == ["step", "timestamp", "value"]
    assert table.column("step").to_pylist() == [0, 1, 2]
    assert polars["value"].to_list() == [3.0, 2.0, 1.5]
    assert [(m.key, m.step, m.value) for m in listed] == [
        ("loss", 0, 3.0),
        ("loss", 1, 2.0),
        ("loss", 2, 1.5),
    ]
    assert [m.timestamp for m in listed] == table.column("timestamp").to_pylist()


@pytest.mark.parametrize("bad", ["numpy", "Pandas", "", None, 3])
def test_an_unknown_output_format_is_refused_naming_it_and_the_allowed_ones(runs, bad):
    for call in (
        lambda: cb.search_runs(output_format=bad),
        lambda: cb.get_metric_history(runs["slow"], "loss", output_format=bad),
    ):
        with pytest.raises(cb.exceptions.InvalidInputError) as refused:
            call()
        message = str(refused.value)
        assert f"Invalid output_format {bad!r}" in message
        assert "'pandas', 'polars', 'arrow', 'list'" in message


def test_polars_not_installed_says_how_to_get_it(runs, monkeypatch):
    monkeypatch.setitem(sys.modules, "polars", None)  # `import polars` raises, as when absent
    for call in (
        lambda: cb.search_runs(output_format="polars"),
        lambda: cb.get_metric_history(runs["slow"], "loss", output_format="polars"),
    ):
        with pytest.raises(ImportError, match=r"needs Polars.*pip install polars") as refused:
            call()
        assert refused.value.name == "polars"
    assert len(cb.search_runs(output_format="arrow")) == 2  # the other formats still work


def test_arrow_polars_and_list_need_no_pandas(run_python, tmp_path):
    result = run_python(
        """
        import sys

        class NoPandas:  # pandas cannot be imported in this process
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "pandas":
                    raise ModuleNotFoundError("pandas is not installed here", name=name)

        sys.meta_path.insert(0, NoPandas())
        import canvasback as cb

        cb.set_store(sys.argv[1])
        with cb.start_run(params={"lr": 0.1}) as run:
            cb.log_metric("loss", 0.5, step=0)
        cb.flush()
        run_id = run.info.run_id
        print(cb.search_runs(output_format="arrow").column("run_id").to_pylist() == [run_id])
        print(cb.search_runs(output_format="polars")["metrics.loss"].to_list())
        print([r.info.run_id for r in cb.search_runs(output_format="list")] == [run_id])
        print(cb.get_metric_history(run_id, "loss", output_format="polars")["value"].to_list())
        print(cb.get_metric_history(run_id, "loss", output_format="arrow").num_rows)
        print("pandas" in sys.modules)
        """,
        tmp_path / "store",
    )
    assert result.stdout.split() == ["True", "[0.5]", "True", "[0.5]", "1", "False"]
