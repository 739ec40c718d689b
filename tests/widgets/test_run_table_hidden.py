"""What the run table says of what its filter hides, without a browser: how many of the
selected runs it shows (``selected_shown``), the header box's ``select`` requests that
leave the hidden selection alone, and the hint for a filter on a key no run has."""

from __future__ import annotations

import pytest

import canvasback


@pytest.fixture
def table(store):
    client = canvasback.Client(store=store)
    for i in range(6):
        run = client.create_run("0", run_name=f"run-{i}", start_time=1_750_000_000_000 + i)
        run.log_param("learning_rate", str(0.1 / (i + 1)))
        run.log_metric("val_loss", 1 / (i + 1))
        client.set_terminated(run.run_id)
    client.flush()
    widget = canvasback.runs(store=store)
    yield widget
    widget.close()


def request(widget, kind, **params):
    reply, _buffers = widget.handle_request(kind, params)
    assert "error" not in reply, reply
    return reply["reply"]


def names(widget, ids):
    frame = widget.selected
    by_id = dict(zip(frame["run_id"], frame["tags.mlflow.runName"], strict=True))
    return sorted(by_id[i] for i in ids)


def test_selected_shown_follows_the_selection_and_the_filter(table):
    ids = table._runs.ids()  # newest first: run-5 ... run-0
    assert table.selected_shown == 0
    table.selected_ids = ids[:5]
    assert table.selected_shown == 5
    table.set_state({"filter": "params.learning_rate >= 0.05"})  # run-0 and run-1
    assert table.total == 2
    assert table.selected_shown == 1
    table.set_state({"filter": "params.learning_rate >= 0.5"})
    assert (table.total, table.selected_shown) == (0, 0)
    table.set_state({"filter": ""})
    assert table.selected_shown == 5


def test_the_header_box_acts_on_the_runs_shown_only(table):
    ids = table._runs.ids()
    table.selected_ids = ids[:5]
    table.set_state({"filter": "params.learning_rate >= 0.05"})
    request(table, "select", mode="all", add=False, remove=True)
    assert names(table, table.selected_ids) == ["run-2", "run-3", "run-4", "run-5"]
    assert table.selected_shown == 0
    request(table, "select", mode="all", add=True)
    assert len(table.selected_ids) == 6
    assert table.selected_shown == 2


def test_selected_shown_after_a_select_request_is_what_a_count_finds(table):
    # The select request works the count out instead of asking DuckDB: check it does so
    # right for each kind of request, against a count made afresh.
    ids = table._runs.ids()
    table.selected_ids = [ids[0], ids[5]]
    table.set_state({"filter": "params.learning_rate >= 0.02"})  # run-0 ... run-3
    for params in (
        {"mode": "range", "start": 0, "end": 1, "add": True},
        {"mode": "range", "start": 1, "end": 2, "add": False, "remove": True},
        {"mode": "range", "start": 2, "end": 3, "add": False},
        {"mode": "all", "add": True},
        {"mode": "all", "add": False, "remove": True},
        {"mode": "all", "add": False},
    ):
        request(table, "select", **params)
        fresh = canvasback.runs(store=table.store, filter=table.filter)
        try:
            assert table.selected_shown == fresh._runs.count_shown(list(table.selected_ids))
        finally:
            fresh.close()


def test_a_filter_on_a_key_no_run_has_gets_a_hint(table):
    assert table.hint == ""
    table.set_state({"filter": "params.lr > 0.1"})
    assert table.total == 0
    assert table.error is None  # valid: it matches nothing
    assert table.hint == "No run in this table has params.lr. Closest: params.learning_rate."
    # A broken filter keeps the rows, and the hint, of the last one that parsed.
    table.set_state({"filter": "params.lr >> 0.1"})
    assert table.error is not None
    assert table.hint.startswith("No run in this table has params.lr.")
    table.set_state({"filter": "params.learning_rate > 0.05"})
    assert table.hint == ""
    assert table.total == 1
