"""Bad input: each error names the key, the value and what is allowed; nothing is lost."""

from __future__ import annotations

import json
import math
import uuid
from decimal import Decimal

import numpy as np
import pytest

import canvasback
from canvasback import (
    Client,
    FilterError,
    InvalidInputError,
    Metric,
    Param,
    RunEndedError,
    RunNotFoundError,
    RunTag,
)
from canvasback.store import Store


@pytest.fixture
def logged(store):  # noqa: ARG001  # a fresh store first
    """A finished run with a param, a tag and a metric history, plus its expected rows."""
    with canvasback.start_run(run_name="before", params={"lr": "0.1"}, tags={"t": "v"}) as run:
        for step in range(5):
            canvasback.log_metric("loss", 1.0 / (step + 1), step=step)
    return run


def assert_still_readable(run):
    got = canvasback.get_run(run.run_id)
    assert got.data.params["lr"] == "0.1"
    assert got.data.tags["t"] == "v"
    assert got.data.metrics["loss"] == 0.2
    history = canvasback.get_metric_history(run.run_id, "loss")
    assert history["step"].tolist() == [0, 1, 2, 3, 4]
    assert run.run_id in set(canvasback.search_runs(run_view_type="ALL")["run_id"])
    assert canvasback.sql(
        "SELECT count(*) FROM metrics WHERE run_id = ?", [run.run_id]
    ).fetchall() == [(5,)]


@pytest.mark.parametrize("value", ["abc", "0.5", None, [1.0], {"v": 1}, object(), 1j])
def test_non_numeric_metric_value(logged, value):
    with canvasback.start_run() as run:
        with pytest.raises(InvalidInputError) as err:
            canvasback.log_metric("acc", value)
        message = str(err.value)
        assert "'acc'" in message
        assert repr(value) in message
        assert "real numbers" in message
        with pytest.raises(InvalidInputError, match="'acc'"):
            canvasback.log_metrics({"ok": 1.0, "acc": value})
        canvasback.log_metric("fine", 1.0)
    data = canvasback.get_run(run.run_id).data
    assert data.metrics == {"fine": 1.0}  # log_metrics checked all before logging any
    assert_still_readable(logged)


def test_nan_and_infinities_are_accepted(logged):
    with canvasback.start_run() as run:
        canvasback.log_metric("nan", math.nan, step=0)
        canvasback.log_metric("nan", np.float32("nan"), step=1)
        canvasback.log_metric("inf", math.inf)
        canvasback.log_metric("ninf", -math.inf)
        canvasback.log_metric("np", np.int64(3))
    metrics = canvasback.get_run(run.run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] == math.inf
    assert metrics["ninf"] == -math.inf
    assert metrics["np"] == 3.0
    values = dict(
        canvasback.sql(
            "SELECT key, value FROM latest_metrics WHERE run_id = ? AND key <> 'nan'",
            [run.run_id],
        ).fetchall()
    )
    assert values == {"inf": math.inf, "ninf": -math.inf, "np": 3.0}
    assert all(math.isnan(v) for v in canvasback.get_metric_history(run.run_id, "nan")["value"])
    assert_still_readable(logged)


@pytest.mark.parametrize(
    "key",
    [
        *("a..b/../c", "bad!key", "", "x" * 300, "/abs", "a/./b", "semi;colon", "tab\tkey"),
        *("key\n", ".", "..", "../up", "a/.."),
    ],
)
@pytest.mark.parametrize("kind", ["metric", "param", "tag"])
def test_invalid_key_names(logged, key, kind):
    log = {
        "metric": lambda: canvasback.log_metric(key, 1.0),
        "param": lambda: canvasback.log_param(key, 1),
        "tag": lambda: canvasback.set_tag(key, "v"),
    }[kind]
    with canvasback.start_run() as run, pytest.raises(InvalidInputError) as err:
        log()
    message = str(err.value)
    assert f"Invalid {kind} name" in message
    assert repr(key) in message
    assert "alphanumerics" in message
    assert "250" in message
    got = canvasback.get_run(run.run_id).data
    assert got.metrics == {}
    assert got.params == {}
    assert key not in got.tags
    assert_still_readable(logged)


def test_long_but_valid_key_is_accepted(logged):
    key = "k" * 250
    with canvasback.start_run() as run:
        canvasback.log_metric(key, 1.0)
    assert canvasback.get_run(run.run_id).data.metrics == {key: 1.0}
    assert_still_readable(logged)


def test_param_relogged_with_another_value(logged):
    with canvasback.start_run() as run:
        canvasback.log_param("batch", 32)
        canvasback.log_param("batch", "32")  # the same value again is fine
        with pytest.raises(InvalidInputError) as err:
            canvasback.log_param("batch", 64)
        message = str(err.value)
        assert "'batch'" in message
        assert "'32'" in message
        assert "'64'" in message
        assert "write-once" in message
        with pytest.raises(InvalidInputError, match="'batch'"):
            canvasback.log_params({"new": 1, "batch": 16})
    assert canvasback.get_run(run.run_id).data.params == {"batch": "32"}
    assert canvasback.sql(
        "SELECT count(*) FROM params WHERE run_id = ?", [run.run_id]
    ).fetchall() == [(1,)]
    # A resumed run remembers its params, including in a fresh Client handle.
    with canvasback.start_run(run_id=logged.run_id):
        canvasback.log_param("lr", "0.1")
        with pytest.raises(InvalidInputError, match="'lr'"):
            canvasback.log_param("lr", "0.2")
    assert_still_readable(logged)


def test_unknown_run_id(logged, store):
    missing = uuid.uuid4().hex
    with pytest.raises(RunNotFoundError) as err:
        canvasback.get_run(missing)
    assert missing in str(err.value)
    assert str(store) in str(err.value)
    client = Client(store=store)
    with pytest.raises(RunNotFoundError, match=missing):
        client.log_metric(missing, "m", 1.0)
    with pytest.raises(RunNotFoundError, match=missing):
        client.get_metric_history(missing, "m")
    with pytest.raises(RunNotFoundError, match=missing):
        canvasback.log_metric("m", 1.0, run_id=missing)
    assert canvasback.sql("SELECT count(*) FROM runs WHERE run_id = ?", [missing]).fetchall() == [
        (0,)
    ]
    assert_still_readable(logged)


def test_logging_through_an_ended_handle(logged):
    run = canvasback.start_run(run_name="ended")
    run.log_metric("m", 1.0)
    canvasback.end_run()
    for log in (
        lambda: run.log_metric("m", 2.0),
        lambda: run.log_metrics({"m": 2.0}),
        lambda: run.log_param("p", 1),
        lambda: run.set_tag("t", "x"),
        lambda: run.log_text("x", "x.txt"),
    ):
        with pytest.raises(RunEndedError) as err:
            log()
        assert run.run_id in str(err.value)
        assert "'ended'" in str(err.value)
        assert "FINISHED" in str(err.value)
        assert "start_run(run_id=" in str(err.value)
    assert canvasback.get_run(run.run_id).data.metrics == {"m": 1.0}

    # The fluent form with no active run starts a new run instead.
    canvasback.log_metric("m", 3.0)
    fresh = canvasback.active_run()
    assert fresh is not None
    assert fresh.run_id != run.run_id
    canvasback.end_run()
    assert canvasback.get_run(fresh.run_id).data.metrics == {"m": 3.0}
    assert canvasback.get_run(run.run_id).data.metrics == {"m": 1.0}
    assert_still_readable(logged)


@pytest.mark.parametrize("bad", ["../x", "/abs", "a/../../b", "..", "/etc/passwd"])
def test_artifact_path_escaping_the_run(logged, tmp_path, bad):
    src = tmp_path / "f.txt"
    src.write_text("data")
    with canvasback.start_run() as run:
        with pytest.raises(InvalidInputError) as err:
            canvasback.log_artifact(src, bad)
        message = str(err.value)
        assert repr(bad) in message
        assert "relative path" in message
        assert "inside the run's artifact folder" in message
        with pytest.raises(InvalidInputError, match="relative path"):
            canvasback.log_text("x", f"{bad}/out.txt")
        with pytest.raises(InvalidInputError, match="relative path"):
            canvasback.log_dict({"a": 1}, f"{bad}/d.json")
        with pytest.raises(InvalidInputError, match="relative path"):
            canvasback.log_artifacts(tmp_path, bad)
    store_root = canvasback.get_store()
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and store_root not in p.parents]
    assert sorted(p.name for p in outside) == ["f.txt"]
    assert not (tmp_path / "x").exists()
    assert canvasback.client().list_artifacts(run.run_id) == []
    assert_still_readable(logged)


def test_missing_artifact_file(logged, tmp_path):
    missing = tmp_path / "nope.bin"
    with canvasback.start_run() as run, pytest.raises(FileNotFoundError) as err:
        canvasback.log_artifact(missing)
    assert str(missing) in str(err.value)
    assert "missing" in str(err.value)
    assert canvasback.client().list_artifacts(run.run_id) == []
    assert_still_readable(logged)


def test_directory_given_as_artifact_file(logged, tmp_path):
    folder = tmp_path / "adir"
    folder.mkdir()
    with canvasback.start_run() as run, pytest.raises(FileNotFoundError) as err:
        canvasback.log_artifact(folder)
    assert str(folder) in str(err.value)
    assert "log_artifacts" in str(err.value)
    assert canvasback.client().list_artifacts(run.run_id) == []
    assert_still_readable(logged)


def test_broken_symlink_as_artifact_file(logged, tmp_path):
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "target-that-does-not-exist")
    with canvasback.start_run() as run, pytest.raises(FileNotFoundError) as err:
        canvasback.log_artifact(link)
    assert str(link) in str(err.value)
    assert canvasback.client().list_artifacts(run.run_id) == []
    assert_still_readable(logged)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("metrics.acc > ", 14),
        ("metrics.acc >> 1", 13),
        ("metrics.acc > 0.9 and", 21),
        ("metrics.acc > 0.9 and (params.lr = '1'", 22),
        ("params.lr = 'unterminated", 12),
        ("bogus.key = 'x'", 0),
        ("metrics.acc = 'high'", 14),
        ("metrics.acc > 1 ; drop table runs", 16),
        ("params.lr = '1')", 15),
    ],
)
def test_malformed_filter(logged, text, position):
    with pytest.raises(FilterError) as err:
        canvasback.search_runs(filter_string=text)
    assert err.value.position == position
    assert err.value.text == text
    assert f"position {position}" in str(err.value)
    assert_still_readable(logged)


def test_malformed_order_by(logged):
    with pytest.raises(FilterError) as err:
        canvasback.search_runs(order_by=["metrics.acc SIDEWAYS"])
    assert err.value.position == 12
    assert_still_readable(logged)


@pytest.mark.parametrize("bad", [-1, 1.5, "10"])
def test_invalid_max_results(logged, bad):
    with pytest.raises(ValueError, match="max_results"):
        canvasback.search_runs(max_results=bad)
    assert_still_readable(logged)


def test_invalid_status_and_step(logged):
    with canvasback.start_run() as run:
        with pytest.raises(InvalidInputError) as err:
            canvasback.log_metric("m", 1.0, step="three")
        assert "'m'" in str(err.value)
        assert "'three'" in str(err.value)
        assert "integers" in str(err.value)
        with pytest.raises(InvalidInputError) as err:
            canvasback.end_run("DONE")
        assert "'DONE'" in str(err.value)
        assert "FINISHED" in str(err.value)
        assert canvasback.active_run() is run
    assert canvasback.get_run(run.run_id).info.status == "FINISHED"
    assert_still_readable(logged)


def test_too_long_param_value(logged):
    with canvasback.start_run() as run, pytest.raises(InvalidInputError) as err:
        canvasback.log_param("blob", "y" * 6001)
    assert "'blob'" in str(err.value)
    assert "6001" in str(err.value)
    assert "6000" in str(err.value)
    assert canvasback.get_run(run.run_id).data.params == {}
    assert_still_readable(logged)


def test_log_batch_checks_everything_before_logging_anything(logged, store):
    client = Client(store=store)
    run = client.create_run(run_name="batch")
    client.log_param(run.run_id, "kept", "1")
    bad_batches = [
        {"metrics": [Metric("ok", 1.0, 0, 0), Metric("bad", "high", 0, 1)]},
        {"metrics": [Metric("ok", 1.0, 0, 0)], "tags": [RunTag("bad!tag", "x")]},
        {"metrics": [Metric("ok", 1.0, 0, 0)], "params": [Param("kept", "2")]},
        {"metrics": [Metric("a..b/../c", 1.0, 0, 0)]},
    ]
    for batch in bad_batches:
        with pytest.raises(InvalidInputError):
            client.log_batch(run.run_id, **batch)
    client.set_terminated(run.run_id)
    got = client.get_run(run.run_id)
    assert got.data.metrics == {}
    assert got.data.params == {"kept": "1"}
    assert "bad!tag" not in got.data.tags
    assert_still_readable(logged)


OUT_OF_RANGE_SCRIPT = """
import json
import sys

import canvasback as cb
from canvasback import Client, InvalidInputError, Metric

TOO_BIG = 2**63
FORMS = {
    "log_metric step": lambda c, r: cb.log_metric("big", 1.0, step=TOO_BIG),
    "log_metric timestamp": lambda c, r: cb.log_metric("big", 1.0, timestamp=TOO_BIG),
    "log_metrics step": lambda c, r: cb.log_metrics({"big": 1.0}, step=-TOO_BIG - 1),
    "log step": lambda c, r: cb.log({"big": 1.0}, step=TOO_BIG),
    "log_batch step": lambda c, r: c.log_batch(r, metrics=[Metric("big", 1.0, 0, TOO_BIG)]),
    "log_batch timestamp": lambda c, r: c.log_batch(r, metrics=[Metric("big", 1.0, TOO_BIG, 0)]),
    "huge int value": lambda c, r: cb.log_metric("big", 10**400),
}
cb.set_store(sys.argv[1])
run = cb.start_run(run_name="out-of-range")
cb.log_metric("fine", 1.0)
try:
    FORMS[sys.argv[2]](Client(store=sys.argv[1]), run.run_id)
    refused = None
except InvalidInputError as exc:
    refused = str(exc)
cb.log_metric("fine", 2.0, step=1)
try:
    read = cb.get_run(run.run_id).data.metrics
except Exception as exc:
    read = repr(exc)
cb.end_run()
try:
    cb.flush()
    flushed = True
except Exception:
    flushed = False
print(json.dumps({"refused": refused, "read": read, "flushed": flushed}))
"""
OUT_OF_RANGE_FORMS = [
    "log_metric step",
    "log_metric timestamp",
    "log_metrics step",
    "log step",
    "log_batch step",
    "log_batch timestamp",
    "huge int value",
]


@pytest.mark.parametrize("form", OUT_OF_RANGE_FORMS)
def test_out_of_range_step_timestamp_and_value(logged, store, run_python, form):
    """Steps and timestamps are int64 on disk: a bigger one is refused, not left to break
    every later flush (and with it every read). In a child process, so that a writer left
    failing cannot disturb this one."""
    outcome = json.loads(run_python(OUT_OF_RANGE_SCRIPT, store, form).stdout)
    message = outcome["refused"]
    assert message is not None, "accepted"
    if not form.startswith(("log_metrics", "log step")):  # one step for many keys
        assert "'big'" in message
    assert "9223372036854775807" in message or "64-bit" in message
    assert outcome["read"] == {"fine": 2.0}
    assert outcome["flushed"]
    frame = canvasback.search_runs(filter_string="attributes.run_name = 'out-of-range'")
    assert frame["status"].tolist() == ["FINISHED"]
    assert frame["metrics.fine"].tolist() == [2.0]
    assert_still_readable(logged)


@pytest.mark.parametrize("where", ["param", "tag", "run name", "experiment name", "artifact"])
def test_lone_surrogates_are_refused(logged, where):
    """A lone surrogate has no UTF-8 form: accepted, it would fail every later flush."""
    bad = "x\ud800y"
    with canvasback.start_run() as run:
        act = {
            "param": lambda: canvasback.log_param("p", bad),
            "tag": lambda: canvasback.set_tag("t2", bad),
            "run name": lambda: canvasback.start_run(run_name=bad, nested=True),
            "experiment name": lambda: canvasback.create_experiment(bad),
            "artifact": lambda: canvasback.log_text("text", f"{bad}.txt"),
        }[where]
        with pytest.raises(InvalidInputError) as err:
            act()
        canvasback.log_metric("after", 1.0)
    message = str(err.value)
    assert repr(bad) in message or repr(bad + ".txt") in message
    assert "surrogate" in message
    assert "UTF-8" in message
    if where in ("param", "tag"):
        assert repr("p" if where == "param" else "t2") in message
    assert canvasback.get_run(run.run_id).data.metrics == {"after": 1.0}
    assert_still_readable(logged)


def test_decimal_metric_values_are_stored_as_floats(logged):
    with canvasback.start_run() as run:
        canvasback.log_metric("d", Decimal("0.25"))
        canvasback.log_metrics({"e": Decimal("-1.5")})
    assert canvasback.get_run(run.run_id).data.metrics == {"d": 0.25, "e": -1.5}
    assert_still_readable(logged)


@pytest.mark.parametrize(
    "value", [np.timedelta64(5, "s"), np.timedelta64(5, "ns"), np.datetime64("2024-01-01")]
)
def test_durations_and_dates_are_not_metric_values(logged, value):
    with canvasback.start_run() as run, pytest.raises(InvalidInputError) as err:
        canvasback.log_metric("elapsed", value)
    message = str(err.value)
    assert "'elapsed'" in message
    assert repr(value) in message
    assert "real numbers" in message
    assert canvasback.get_run(run.run_id).data.metrics == {}
    assert_still_readable(logged)


@pytest.mark.parametrize("length", [240, 250, 255])
def test_artifact_names_up_to_the_file_name_limit(logged, length):
    name = "a" * (length - 4) + ".txt"
    with canvasback.start_run() as run:
        canvasback.log_text("hello", name)
    files = [f.path for f in canvasback.Client().list_artifacts(run.run_id)]
    assert files == [name]
    with canvasback.start_run(run_id=run.run_id), pytest.raises(InvalidInputError) as err:
        canvasback.log_text("hello", "b" * 252 + ".txt")
    assert "256 bytes" in str(err.value)
    assert "at most 255" in str(err.value)
    assert_still_readable(logged)


@pytest.mark.parametrize("artifact_file", [None, "", 3])
def test_log_dict_needs_a_file_name(logged, artifact_file):
    with canvasback.start_run() as run, pytest.raises(InvalidInputError) as err:
        canvasback.log_dict({"a": 1}, artifact_file)
    assert repr(artifact_file) in str(err.value)
    assert "file name" in str(err.value)
    assert canvasback.Client().list_artifacts(run.run_id) == []
    assert_still_readable(logged)


# ------------------------------------------------------------- a refused call writes nothing
@pytest.mark.parametrize(
    "kwargs",
    [{"params": {"bad'": 2}}, {"tags": {"bad'": "x"}}, {"params": {"ok": "\ud800"}}],
    ids=["param key", "tag key", "param value"],
)
def test_a_refused_start_run_leaves_no_run(store, kwargs):
    with pytest.raises(canvasback.InvalidInputError):
        canvasback.start_run(run_name="refused", **kwargs)
    assert canvasback.active_run() is None
    canvasback.flush()
    fresh = Store(store).read()
    assert fresh.relation("SELECT count(*) FROM runs").fetchall() == [(0,)]


@pytest.mark.usefixtures("store")
def test_a_refused_resume_leaves_the_run_as_it_was():
    with canvasback.start_run(run_name="done", params={"lr": "0.1"}) as run:
        pass
    with pytest.raises(canvasback.InvalidInputError, match="write-once"):
        canvasback.start_run(run_id=run.run_id, params={"lr": "0.2"})
    assert canvasback.active_run() is None
    assert canvasback.get_run(run.run_id).info.status == "FINISHED"
    assert canvasback.get_run(run.run_id).data.params == {"lr": "0.1"}


@pytest.mark.parametrize("start_time", ["abc", 2**64, float("nan")])
def test_create_run_refuses_a_bad_start_time(store, start_time):
    client = canvasback.Client(store)
    with pytest.raises(canvasback.InvalidInputError, match="start_time"):
        client.create_run(start_time=start_time)
    client.flush()
    assert Store(store).read().relation("SELECT count(*) FROM runs").fetchall() == [(0,)]
