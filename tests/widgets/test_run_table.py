"""The run table widget without a browser: traits set as the front end would, RPC replies
decoded from Arrow, on real stores (a small one logged through the API, a large one written
as Parquet segments in the store's layout)."""

from __future__ import annotations

import html
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import canvasback
from canvasback.query.downsample import MIN_POINTS
from canvasback.store import declarations, layout, open_store
from canvasback.store.read import snapshot_write
from canvasback.widgets._base import table_from_ipc_bytes
from canvasback.widgets._table_html import format_number
from canvasback.widgets.run_table import RunTable

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
XSS = "<img src=x onerror=alert(1)>"
ADJECTIVES = ("brisk", "calm", "deft", "eager", "fond", "gentle", "keen")
NOUNS = (
    "otter",
    "heron",
    "lynx",
    "finch",
    "marten",
    "ibis",
    "vole",
    "wren",
    "stoat",
    "egret",
    "pika",
)


# --------------------------------------------------------------------------- data
def write_synthetic_runs(root: Path, n: int, *, steps: int = 5, seed: int = 0) -> str:
    """Write ``n`` finished runs straight into the store's Parquet layout; returns the
    experiment id.

    Logging 100,000 runs through the API takes minutes; writing the segments the writer
    would have written (same schemas, partitions, names and sort order, from
    ``canvasback.store.layout``) takes seconds, and the catalog reads them like any
    other. Each run has params lr, batch_size, optimizer, dropout and seed; metrics acc,
    loss, val_acc and val_loss over ``steps`` steps; a status, an end time and a team tag.
    """
    client = canvasback.Client(store=root)
    experiment_id = client.create_experiment(f"synthetic-{n}")
    store = open_store(root)
    rng = np.random.default_rng(seed)
    ids = np.array([f"{i:08d}{seed:04d}" + "0" * 20 for i in range(n)], dtype=object)
    start = 1_750_000_000_000 + np.arange(n, dtype=np.int64) * 1000
    status = rng.choice(["FINISHED", "FAILED", "RUNNING"], size=n, p=[0.9, 0.07, 0.03])
    lr = rng.choice(["0.0001", "0.0003", "0.001", "0.003", "0.01"], size=n)
    quality = rng.beta(5, 2, size=n)
    writer, seq = "synthetic", iter(range(10**9))
    names = np.array(
        [f"{ADJECTIVES[i % 7]}-{NOUNS[i // 7 % 11]}-{i}" for i in range(n)], dtype=object
    )

    def put(table: str, columns: dict[str, object]) -> None:
        data = pa.table(columns, schema=declarations.table(table).arrow_schema())
        data = data.sort_by([(k, "ascending") for k in declarations.table(table).sort])
        name = layout.segment_name(time.time_ns(), writer, next(seq))
        store.fs.write_parquet(f"{layout.partition_dir(table, experiment_id)}/{name}", data)

    put(
        "runs",
        {
            "run_id": ids,
            "run_name": names,
            "start_time": start,
            "parent_run_id": np.full(n, None, dtype=object),
            "user_id": np.full(n, "bench", dtype=object),
            "artifact_uri": np.array([f"artifacts/{r}" for r in ids], dtype=object),
        },
    )
    params = {
        "lr": lr,
        "batch_size": rng.choice(["32", "64", "128", "256"], size=n),
        "optimizer": rng.choice(["adam", "sgd", "adamw"], size=n),
        "dropout": np.char.mod("%.3f", rng.uniform(0, 0.5, size=n)),
        "seed": np.char.mod("%d", np.arange(n)),
    }
    put(
        "params",
        {
            "run_id": np.tile(ids, len(params)),
            "key": np.repeat(list(params), n),
            "value": np.concatenate([np.asarray(v, dtype=object) for v in params.values()]),
            "timestamp": np.tile(start, len(params)),
        },
    )
    metric_keys = ["acc", "loss", "val_acc", "val_loss"]
    step = np.arange(steps)
    progress = (step + 1) / steps
    acc = quality[:, None] * progress[None, :]
    values = {
        "acc": acc,
        "loss": 1.5 - acc,
        "val_acc": acc * 0.95,
        "val_loss": 1.6 - acc * 0.95,
    }
    put(
        "metrics",
        {
            "run_id": np.repeat(np.tile(ids, len(metric_keys)), steps),
            "key": np.repeat(metric_keys, n * steps),
            "step": np.tile(step, n * len(metric_keys)),
            "timestamp": np.tile(start, len(metric_keys)).repeat(steps)
            + np.tile(step, n * len(metric_keys)),
            "value": np.concatenate([values[k].ravel() for k in metric_keys]),
        },
    )
    team = rng.choice(["vision", "nlp", "speech", "rl"], size=n)
    events = [
        ("status", "", status),
        ("end_time", "", (start + 60_000).astype(str).astype(object)),
        ("tag", "team", team),
        ("tag", "mlflow.runName", names),
    ]
    put(
        "events",
        {
            "entity_id": np.tile(ids, len(events)),
            "kind": np.repeat([e[0] for e in events], n),
            "key": np.repeat([e[1] for e in events], n),
            "value": np.concatenate([np.asarray(e[2], dtype=object) for e in events]),
            "timestamp": np.tile(start + 60_000, len(events)),
            "writer": np.full(n * len(events), writer, dtype=object),
            "seq": np.arange(n * len(events), dtype=np.int64),
        },
    )
    return experiment_id


# --------------------------------------------------------------------------- fixtures
SPEC = {
    # name: (acc history, params, tags, status)
    "alpha": (
        [0.5, 0.7, 0.91],
        {"lr": "0.1", "opt": "adam", "layers": "2"},
        {"team": "vision"},
        "FINISHED",
    ),
    "bravo": ([0.4, 0.6], {"lr": "0.01", "opt": "sgd", "layers": "4"}, {"team": "nlp"}, "FAILED"),
    "charlie": (
        [0.2, 0.55],
        {"lr": "1e-4", "opt": "adam", "layers": "8"},
        {"team": "vision"},
        "FINISHED",
    ),
    "delta": ([0.3, math.nan], {"lr": "0.001", "opt": "adam", "layers": "16"}, {}, "FINISHED"),
    "echo": ([], {"lr": "0.5", "opt": "sgd", "layers": "32"}, {"team": XSS}, "RUNNING"),
    "foxtrot": (
        [0.1, 0.8],
        {"lr": "0.05", "opt": "rmsprop", "layers": "2"},
        {"team": "nlp"},
        "KILLED",
    ),
}


@pytest.fixture
def runs(store):
    """Six runs logged through the API (one deleted run besides), newest last."""
    experiment_id = canvasback.create_experiment("table")
    ids = {}
    for i, (name, (history, params, tags, status)) in enumerate(SPEC.items()):
        with canvasback.start_run(
            run_name=name, experiment_id=experiment_id, params=params, tags=tags
        ) as run:
            for step, value in enumerate(history):
                canvasback.log_metric("acc", value, step=step)
            canvasback.log_metric("loss", 1.0 - i / 10)
            if status != "FINISHED":
                canvasback.client().set_terminated(run.run_id, status)
        ids[name] = run.run_id
        time.sleep(0.002)  # distinct start times: newest-first order is then by name
    if SPEC["echo"][3] == "RUNNING":
        canvasback.client().update_run(ids["echo"], status="RUNNING")
    with canvasback.start_run(run_name="gone", experiment_id=experiment_id) as run:
        canvasback.log_metric("acc", 1.0)
    canvasback.delete_run(run.run_id)
    canvasback.flush()
    return {"experiment_id": experiment_id, "root": store, **ids}


@pytest.fixture
def table(runs):
    widget = canvasback.runs("table", store=runs["root"])
    yield widget
    widget.close()


def from_front_end(widget, **changes):
    """Apply trait changes the way ipywidgets does when the browser syncs them."""
    widget.set_state(changes)


def page(widget, offset=0, limit=100, columns=None):
    reply, buffers = widget.handle_request(
        "page", {"offset": offset, "limit": limit, "columns": columns or widget.columns}
    )
    assert "error" not in reply, reply
    return reply["reply"], table_from_ipc_bytes(buffers[0])


def names_of(widget, **kwargs):
    return page(widget, **kwargs)[1].column("run_name").to_pylist()


def request(widget, kind, **params):
    reply, buffers = widget.handle_request(kind, params)
    assert "error" not in reply, reply
    return reply["reply"], buffers


# --------------------------------------------------------------------------- rows
def test_defaults_show_attributes_metrics_and_params(table):
    assert table.total == 6  # the deleted run is not shown
    assert table.columns == [
        "run_name",
        "status",
        "start_time",
        "metrics.acc",
        "metrics.loss",
        "params.layers",
        "params.lr",
        "params.opt",
    ]
    available = {c["name"]: c for c in table.available_columns}
    assert available["params.lr"]["type"] == "number"
    assert available["params.opt"]["type"] == "text"
    assert available["tags.team"] == {"name": "tags.team", "entity": "tag", "type": "text"}
    assert table.error is None


def test_page_is_arrow_in_newest_first_order(table, runs):
    reply, rows = page(table)
    assert reply["count"] == reply["total"] == 6
    assert rows.column_names == ["run_id", *table.columns]
    assert rows.column("run_name").to_pylist() == [
        "foxtrot", "echo", "delta", "charlie", "bravo", "alpha"
    ]  # fmt: skip
    first = rows.slice(5, 1).to_pylist()[0]
    assert first["run_id"] == runs["alpha"]
    assert first["metrics.acc"] == pytest.approx(0.91)  # the latest step's value
    assert first["status"] == "FINISHED"
    assert rows.schema.field("start_time").type == pa.int64()
    assert rows.schema.field("metrics.acc").type == pa.float64()
    # Any offset, any limit; past the end is empty, not an error.
    assert page(table, offset=4, limit=10)[1].column("run_name").to_pylist() == ["bravo", "alpha"]
    assert page(table, offset=50)[1].num_rows == 0


def test_sort_by_metric_puts_nan_and_missing_last(table):
    from_front_end(table, sort=[{"column": "metrics.acc", "descending": True}])
    assert names_of(table) == ["alpha", "foxtrot", "bravo", "charlie", "delta", "echo"]
    from_front_end(table, sort=[{"column": "metrics.acc", "descending": False}])
    assert names_of(table) == ["charlie", "bravo", "foxtrot", "alpha", "delta", "echo"]


def test_sort_params_numerically_then_by_a_second_key(table):
    from_front_end(table, sort=[{"column": "params.lr", "descending": True}])
    assert names_of(table) == ["echo", "alpha", "foxtrot", "bravo", "delta", "charlie"]
    from_front_end(
        table,
        sort=[
            {"column": "params.opt", "descending": False},
            {"column": "metrics.loss", "descending": False},
        ],
    )
    assert names_of(table) == ["delta", "charlie", "alpha", "foxtrot", "echo", "bravo"]


def test_sort_by_a_hidden_column_and_an_attribute(table):
    from_front_end(table, sort=[{"column": "tags.team", "descending": False}])
    # "<img ...>" sorts before letters; the run without a team comes last.
    assert names_of(table) == ["echo", "foxtrot", "bravo", "charlie", "alpha", "delta"]
    from_front_end(table, sort=[{"column": "status", "descending": False}])
    assert names_of(table)[0] == "bravo"  # FAILED


def test_filter_narrows_rows_and_total(table):
    generation = table.generation
    from_front_end(table, filter="params.opt = 'adam' and metrics.acc > 0.5")
    assert table.total == 2
    assert table.generation == generation + 1
    assert set(names_of(table)) == {"alpha", "charlie"}
    from_front_end(table, filter="params.lr < 0.05 OR tags.team LIKE 'nl%'")
    assert set(names_of(table)) == {"bravo", "charlie", "delta", "foxtrot"}


def test_invalid_filter_reports_position_and_keeps_rows(table):
    from_front_end(table, filter="params.opt = 'adam'")
    generation, total = table.generation, table.total
    from_front_end(table, filter="params.opt = 'adam' and metrics.acc >> 3")
    assert table.error["source"] == "filter"
    assert table.error["position"] == 37
    assert "expected a value" in table.error["reason"]
    assert table.error["text"] == "params.opt = 'adam' and metrics.acc >> 3"
    assert (table.generation, table.total) == (generation, total)  # still the last good rows
    from_front_end(table, filter="metrics.acc > 'x'")
    assert table.error["position"] == 14
    from_front_end(table, filter="")
    assert table.error is None
    assert table.total == 6


def test_summary_filters_combine_with_the_filter(table):
    from_front_end(table, filter="params.opt = 'adam'")
    clause = {
        "column": "metrics.acc",
        "clause": "metrics.acc >= 0.5 and metrics.acc < 1",
        "label": "",
    }
    from_front_end(table, summary_filters=[clause])
    assert set(names_of(table)) == {"alpha", "charlie"}
    from_front_end(table, summary_filters=[clause, {"column": "x", "clause": "nonsense here"}])
    assert table.error["source"] == "summary"
    assert set(names_of(table)) == {"alpha", "charlie"}  # the broken clause is left out
    from_front_end(table, summary_filters=[])
    assert table.total == 3


def test_experiment_scope(runs, store):
    other = canvasback.create_experiment("other")
    with canvasback.start_run(run_name="elsewhere", experiment_id=other):
        canvasback.log_metric("acc", 0.3)
    canvasback.flush()
    everything = canvasback.runs(store=store)
    assert everything.total == 7
    by_id = canvasback.runs(runs["experiment_id"], store=store)
    assert by_id.total == 6
    both = canvasback.runs(["table", other], store=store)
    assert both.experiment_ids == [runs["experiment_id"], other]
    from_front_end(both, experiment_ids=[other])
    assert names_of(both) == ["elsewhere"]
    with pytest.raises(canvasback.ExperimentNotFoundError, match="nope"):
        canvasback.runs("nope", store=store)


def test_showing_a_new_column_loads_it(table):
    assert "tags.team" not in page(table)[1].column_names
    from_front_end(table, columns=[*table.columns, "tags.team"])
    rows = page(table)[1]
    assert (
        dict(
            zip(
                rows.column("run_name").to_pylist(),
                rows.column("tags.team").to_pylist(),
                strict=True,
            )
        )["echo"]
        == XSS
    )
    # Unknown names in a request are skipped, not an error.
    assert page(table, columns=["run_name", "bogus"])[1].column_names == ["run_id", "run_name"]


# --------------------------------------------------------------------------- summaries
def test_header_summaries_are_computed_over_the_filtered_runs(table):
    reply, _ = request(table, "summaries", columns=table.columns)
    summaries = reply["summaries"]
    assert reply["generation"] == table.generation
    assert summaries["run_name"] == {"kind": "none"}
    status = summaries["status"]
    assert status["kind"] == "top"
    assert status["total"] == 6
    assert {v["value"]: v["count"] for v in status["values"]}["FINISHED"] == 3
    acc = summaries["metrics.acc"]
    assert acc["kind"] == "histogram"
    assert acc["missing"] == 2  # delta's latest is NaN, echo has none
    assert sum(acc["counts"]) == 4
    assert acc["edges"][0] <= 0.55
    assert acc["edges"][-1] > 0.91
    assert summaries["params.opt"]["values"][0] == {"value": "adam", "count": 3}
    assert summaries["params.lr"]["kind"] == "top"  # numeric, but only six values
    from_front_end(table, filter="params.opt = 'sgd'")
    summaries = request(table, "summaries", columns=["params.opt"])[0]["summaries"]
    assert summaries["params.opt"]["values"] == [{"value": "sgd", "count": 2}]


def test_a_histogram_bar_counts_what_its_clause_selects(tmp_path):
    root = tmp_path / "big"
    write_synthetic_runs(root, 3000, seed=3)
    widget = canvasback.runs(store=root, columns=["run_name", "metrics.acc", "params.dropout"])
    summaries = request(widget, "summaries", columns=widget.columns)[0]["summaries"]
    for column in ("metrics.acc", "params.dropout"):
        hist = summaries[column]
        assert hist["kind"] == "histogram"
        assert sum(hist["counts"]) == 3000
        for i in (0, len(hist["counts"]) // 2, len(hist["counts"]) - 1):
            lo, hi = hist["edges"][i], hist["edges"][i + 1]
            from_front_end(widget, filter=f"{column} >= {lo!r} and {column} < {hi!r}")
            assert widget.total == hist["counts"][i], (column, i)
    widget.close()


# --------------------------------------------------------------------------- groups
def test_group_by_counts_and_metric_stats(table):
    reply, buffers = request(table, "groups", group_by="params.opt", columns=table.columns)
    groups = {row["group"]: row for row in table_from_ipc_bytes(buffers[0]).to_pylist()}
    assert reply["groups"] == 3
    assert [groups[g]["runs"] for g in ("adam", "sgd", "rmsprop")] == [3, 2, 1]
    adam = groups["adam"]
    assert adam["metrics.acc:min"] == pytest.approx(0.55)
    assert adam["metrics.acc:max"] == pytest.approx(0.91)
    assert adam["metrics.acc:mean"] == pytest.approx((0.91 + 0.55) / 2)  # delta's NaN skipped
    assert groups["sgd"]["metrics.acc:mean"] == pytest.approx(0.6)
    # By a hidden tag (missing values form their own group), within the filter.
    from_front_end(table, filter="metrics.loss < 0.95")
    rows = table_from_ipc_bytes(request(table, "groups", group_by="tags.team", columns=[])[1][0])
    assert {r["group"]: r["runs"] for r in rows.to_pylist()} == {
        "nlp": 2,
        None: 1,
        XSS: 1,
        "vision": 1,
    }
    reply, _ = table.handle_request("groups", {"group_by": "metrics.acc", "columns": []})
    assert "choose a param, a tag or an attribute" in reply["error"]


# --------------------------------------------------------------------------- selection
def test_selection_traits_and_dataframe(table, runs):
    from_front_end(table, sort=[{"column": "metrics.acc", "descending": True}])
    from_front_end(table, selected_ids=[runs["charlie"], runs["alpha"]])
    frame = table.selected
    assert list(frame["run_id"]) == [runs["alpha"], runs["charlie"]]  # table order
    assert {"metrics.acc", "params.lr", "tags.team", "status", "start_time"} <= set(frame.columns)
    assert frame.loc[0, "params.lr"] == "0.1"
    table.selected = canvasback.search_runs(
        experiment_names=["table"], filter_string="params.opt = 'sgd'"
    )
    assert set(table.selected_ids) == {runs["bravo"], runs["echo"]}
    table.selected = runs["delta"]
    assert table.selected_ids == [runs["delta"]]
    table.selected = None
    assert table.selected.empty


def test_select_all_and_ranges_resolve_in_python(table):
    from_front_end(table, filter="params.opt != 'rmsprop'")
    assert request(table, "select", mode="all", add=False)[0] == {"count": 5}
    assert table.selected_ids == table._runs.ids()
    request(table, "select", mode="range", start=3, end=1, add=False)
    assert table.selected_ids == table._runs.ids(1, 4)
    request(table, "select", mode="range", start=0, end=0, add=True)
    assert len(table.selected_ids) == 4


def test_refresh_shows_new_runs_and_keeps_the_selection(table, runs):
    from_front_end(table, selected_ids=[runs["alpha"]])
    with canvasback.start_run(run_name="golf", experiment_id=runs["experiment_id"]):
        canvasback.log_metric("acc", 0.99)
        canvasback.log_param("opt", "lion")
    canvasback.flush()
    assert table.total == 6
    generation = table.generation
    reply, _ = request(table, "refresh")
    assert reply["total"] == table.total == 7
    assert table.generation > generation
    assert names_of(table)[0] == "golf"
    assert table.selected_ids == [runs["alpha"]]
    assert "lion" in {
        v["value"]
        for v in request(table, "summaries", columns=["params.opt"])[0]["summaries"]["params.opt"][
            "values"
        ]
    }


def test_a_table_over_a_snapshot_pages_what_the_store_holds_now(table, runs, monkeypatch):
    """Pages taken from the snapshot's file by position, and by id once the positions go."""
    monkeypatch.setattr(snapshot_write, "WIDE_BATCH_ROWS", 2)  # a page's rows span batches
    columns = ["run_name", "status", "metrics.acc", "params.lr", "tags.team"]
    before = page(table, columns=columns)[1].to_pandas()
    canvasback.compact(grace_seconds=0)  # writes the snapshot the new table stands on
    snapped = canvasback.runs("table", store=runs["root"], columns=columns)
    try:
        assert snapped._runs.catalog.snapshot is not None
        pd.testing.assert_frame_equal(page(snapped)[1].to_pandas(), before)  # NaN too
        from_front_end(snapped, sort=[{"column": "metrics.acc", "descending": True}])
        assert names_of(snapped)[:2] == ["alpha", "foxtrot"]
        # A tag set on a run the snapshot holds hides its row there: the page, built
        # before, then finds the run by id and shows the new value.
        client = canvasback.Client(runs["root"])
        client.set_tag(runs["alpha"], "team", "robotics")
        client.store.flush()
        snapped._runs.refresh()
        rows = page(snapped)[1].to_pylist()
        assert rows[0]["run_name"] == "alpha"
        assert rows[0]["tags.team"] == "robotics"
        assert len(rows) == 6
        team = request(snapped, "summaries", columns=["tags.team"])[0]["summaries"]["tags.team"]
        assert {v["value"] for v in team["values"]} >= {"robotics", "vision", "nlp"}
    finally:
        snapped.close()


# --------------------------------------------------------------------------- detail
def test_run_detail_with_downsampled_history(store):
    with canvasback.start_run(run_name="long") as run:
        canvasback.log_params({"lr": "0.1"})
        canvasback.set_tag("note", XSS)
        for step in range(5000):
            canvasback.log_metric(
                "loss", 1 / (step + 1) + (5.0 if step == 2345 else 0.0), step=step
            )
        canvasback.log_text("hello", "notes/readme.txt")
    canvasback.flush()
    widget = canvasback.runs(store=store)
    reply, buffers = widget.handle_request("detail", {"run_id": run.run_id, "max_points": 50})
    detail = reply["reply"]
    assert detail["run_name"] == "long"
    assert detail["status"] == "FINISHED"
    assert {"key": "note", "value": XSS} in detail["tags"]
    assert detail["params"] == [{"key": "lr", "value": "0.1"}]
    assert detail["metrics"] == [{"key": "loss", "value": pytest.approx(1 / 5000), "step": 4999}]
    assert detail["artifacts"] == [{"path": "notes/readme.txt", "size": 5}]
    history = table_from_ipc_bytes(buffers[0])
    assert history.column_names == ["key", "step", "value"]
    assert 2 <= history.num_rows <= MIN_POINTS  # max_points below the floor gets the floor
    steps = history.column("step").to_pylist()
    assert steps == sorted(steps)
    assert 2345 in steps  # the spike survives the downsampling
    assert steps[0] == 0
    assert steps[-1] == 4999
    reply, _ = widget.handle_request("detail", {"run_id": "nope"})
    assert "not in the store" in reply["error"]
    widget.close()


# --------------------------------------------------------------------------- static HTML
def test_static_html_is_escaped(table):
    from_front_end(table, columns=[*table.columns, "tags.team"])
    data, _metadata = table._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    markup = data["text/html"]
    assert html.escape(XSS) in markup
    assert "<img" not in markup
    assert markup.count("<tr ") == 1 + 6
    assert "6 runs" in markup
    assert "0.91" in markup  # numbers formatted as in the live table


def test_static_html_shows_only_the_first_rows(tmp_path):
    root = tmp_path / "many"
    write_synthetic_runs(root, 200)
    widget = canvasback.runs(store=root)
    markup = widget.to_html()
    assert markup.count("<tr ") == 1 + 50
    assert "200 runs (first 50 shown)" in markup
    widget.close()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (42, "42"),
        (-1234567, "-1,234,567"),
        (0.123456, "0.1235"),
        (0.5, "0.5"),
        (1.0001, "1"),
        (12.34567, "12.35"),
        (12345.678, "12,346"),
        (-999.95, "-1,000"),
        (2.5e7 + 0.5, "2.5e+7"),
        (0.0000123, "1.23e-5"),
        (1e-5, "1e-5"),
        (1e20, "1e+20"),
        (math.nan, "NaN"),
        (math.inf, "∞"),
        (-math.inf, "-∞"),
        (None, "—"),
    ],
)
def test_static_numbers_read_as_in_the_browser(value, text):
    """The same table as js/lib/format.test.ts."""
    assert format_number(value) == text


# --------------------------------------------------------------------------- API edges
def test_constructor_checks_its_arguments(runs):
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        RunTable(store=runs["root"], filtr="x")
    widget = canvasback.runs(
        "table",
        filter="metrics.acc > 0.5",
        store=runs["root"],
        sort=[{"column": "metrics.acc", "descending": True}],
        columns=["run_name", "metrics.acc"],
    )
    assert widget.total == 4
    assert names_of(widget)[0] == "alpha"
    assert canvasback.RunTable is RunTable
    widget.close()


def test_unknown_request_kind_is_an_error_reply(table):
    reply, buffers = table.handle_request("sql", {"query": "DROP TABLE runs"})
    assert "unknown request kind 'sql'" in reply["error"]
    assert buffers == []


# --------------------------------------------------------------------------- scale
@pytest.mark.slow
def test_query_timings_at_100k_runs(tmp_path):
    """Time the table's queries over 100,000 runs; written to artifacts/, not asserted."""
    root = tmp_path / "store"
    started = time.perf_counter()
    write_synthetic_runs(root, 100_000)
    timings = {"write_store_s": time.perf_counter() - started}
    started = time.perf_counter()
    open_store(root).read()  # the store's own catalog load (2M metric rows), not the table's
    timings["catalog_load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    widget = canvasback.runs(store=root)
    timings["widget_on_loaded_catalog_s"] = time.perf_counter() - started

    def best(fn, repeat=5):
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1000)
        return round(min(times), 2), round(float(np.median(times)), 2)

    def sort(*, descending):
        from_front_end(widget, sort=[{"column": "metrics.acc", "descending": descending}])

    timings["sort_by_metric_ms"] = best(
        lambda: sort(descending=not widget.sort[0]["descending"] if widget.sort else True)
    )
    sort(descending=True)
    for offset in (0, 50_000, 99_900):
        timings[f"page_100_at_{offset}_sorted_by_metric_ms"] = best(
            lambda offset=offset: page(widget, offset=offset)
        )
    timings["filter_ms"] = best(
        lambda: from_front_end(
            widget, filter=f"metrics.acc > {np.random.default_rng().random():.3f}"
        )
    )
    from_front_end(widget, filter="")
    timings["summaries_12_columns_ms"] = best(
        lambda: request(widget, "summaries", columns=widget.columns), repeat=3
    )
    timings["group_by_param_ms"] = best(
        lambda: request(widget, "groups", group_by="params.optimizer", columns=widget.columns)
    )
    timings["select_all_ms"] = best(lambda: request(widget, "select", mode="all", add=False), 3)
    widget.close()
    timings["runs"] = 100_000
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "run_table_queries.json").write_text(json.dumps(timings, indent=2))
    print(json.dumps(timings, indent=2))  # noqa: T201 - the point of this test
    assert widget.total == 100_000
