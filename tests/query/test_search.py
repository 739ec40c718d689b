"""search_runs end to end: MLflow's filter grammar, OR, parentheses, ordering, a property test."""

from __future__ import annotations

import math
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import canvasback
from canvasback import Client


def make_run(client, experiment_id, name, *, metrics=None, params=None, tags=None, status=None):
    run = client.create_run(experiment_id, run_name=name, tags=tags, params=params)
    for key, value in (metrics or {}).items():
        run.log_metric(key, value)
    if status != "RUNNING":
        client.set_terminated(run.run_id, status or "FINISHED")
    return run.run_id


@pytest.fixture
def runs(store):  # noqa: ARG001  # a fresh store first
    """Six runs with a spread of metrics, params, tags and statuses."""
    client = canvasback.client()
    experiment_id = client.create_experiment("search")
    spec = {
        "a": ({"acc": 0.95, "loss": 0.1}, {"lr": "0.01", "opt": "adam"}, {"team": "vision"}),
        "b": ({"acc": 0.92, "loss": 0.3}, {"lr": "0.01", "opt": "sgd"}, {"team": "x"}),
        "c": ({"acc": 0.80}, {"lr": "0.1", "opt": "Adam"}, {"team": "nlp"}),
        "d": ({"loss": 0.5}, {"lr": "1e-3"}, {"team": "vision-2"}),
        "e": ({"acc": 0.99}, {"lr": "abc", "opt": "sgd"}, {}),
        "f": ({"acc": 0.97, "my metric": 2.0}, {"lr": "0.01"}, {"team": "vision"}),
    }
    statuses = {"b": "FAILED", "d": "RUNNING", "f": "KILLED"}
    ids = {
        name: make_run(
            client, experiment_id, name, metrics=m, params=p, tags=t, status=statuses.get(name)
        )
        for name, (m, p, t) in spec.items()
    }
    canvasback.set_experiment("search")
    return ids


def names(frame, ids) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return [by_id[r] for r in frame["run_id"]]


def found(ids, filter_string, **kwargs) -> set[str]:
    return set(names(canvasback.search_runs(filter_string=filter_string, **kwargs), ids))


def test_mlflow_filter(runs):
    text = (
        "metrics.acc > 0.9 and params.lr = '0.01' and tags.team != 'x' "
        "and attributes.status = 'FINISHED'"
    )
    assert found(runs, text) == {"a"}
    assert found(runs, text.replace("metrics.acc", "metrics.ACC")) == set()  # keys are exact
    assert found(runs, text.replace(" and ", " AND ").replace("attributes.", "attribute.")) == {"a"}
    assert found(runs, "metrics.acc >= 0.95") == {"a", "e", "f"}
    assert found(runs, "metrics.acc < 0.9") == {"c"}
    assert found(runs, "metrics.acc = 0.8") == {"c"}
    assert found(runs, "metrics.acc != 0.8") == {"a", "b", "e", "f"}  # missing never matches
    assert found(runs, "metrics.`my metric` > 1") == {"f"}
    assert found(runs, "params.opt = 'sgd'") == {"b", "e"}
    assert found(runs, "tags.team = 'vision'") == {"a", "f"}
    assert found(runs, "attributes.status = 'RUNNING'") == {"d"}
    assert found(runs, "status != 'FINISHED'") == {"b", "d", "f"}
    assert found(runs, "attributes.run_name = 'c'") == {"c"}


def test_like_ilike_in(runs):
    assert found(runs, "tags.team LIKE 'vision%'") == {"a", "d", "f"}
    assert found(runs, "tags.team LIKE 'VISION%'") == set()
    assert found(runs, "tags.team ILIKE 'VISION%'") == {"a", "d", "f"}
    assert found(runs, "tags.team LIKE 'visio_'") == {"a", "f"}
    assert found(runs, "params.opt ILIKE 'adam'") == {"a", "c"}
    assert found(runs, "params.opt IN ('adam', 'sgd')") == {"a", "b", "e"}
    assert found(runs, "params.opt NOT IN ('adam', 'sgd')") == {"c"}
    assert found(runs, "attributes.status IN ('FAILED', 'KILLED')") == {"b", "f"}
    assert found(runs, "attributes.run_name LIKE '%'") == set(runs)


def test_or_and_parentheses(runs):
    assert found(runs, "metrics.acc > 0.96 or tags.team = 'nlp'") == {"c", "e", "f"}
    assert found(runs, "metrics.acc > 0.9 and (params.opt = 'sgd' or tags.team = 'vision')") == {
        "a",
        "b",
        "e",
        "f",
    }
    assert found(runs, "(metrics.acc > 0.9 and params.opt = 'sgd') or tags.team = 'vision'") == {
        "a",
        "b",
        "e",
        "f",
    }
    # AND binds tighter than OR
    assert found(runs, "tags.team = 'nlp' or metrics.acc > 0.9 and params.opt = 'sgd'") == {
        "b",
        "c",
        "e",
    }
    assert found(runs, "(tags.team = 'nlp' or metrics.acc > 0.9) and params.opt = 'sgd'") == {
        "b",
        "e",
    }
    assert found(runs, "((((params.lr = '0.1'))))") == {"c"}


def test_numeric_param_comparison(runs):
    assert found(runs, "params.lr < 0.05") == {"a", "b", "d", "f"}  # 'abc' never matches
    assert found(runs, "params.lr = 0.001") == {"d"}  # '1e-3' compares as a number
    assert found(runs, "params.lr = '0.001'") == set()  # as a string it does not
    assert found(runs, "params.lr >= 0.1") == {"c"}
    assert found(runs, "params.lr > '0.05'") == {"c", "d", "e"}  # string order: '0.1', '1e-3'


def test_null_tests_and_attributes(runs):
    assert found(runs, "metrics.acc IS NULL") == {"d"}
    assert found(runs, "params.opt IS NULL") == {"d", "f"}
    assert found(runs, "tags.team IS NOT NULL") == set(runs) - {"e"}
    assert found(runs, "attributes.end_time IS NULL") == {"d"}
    start = canvasback.search_runs()["start_time"].min()
    start_ms = int(start.timestamp() * 1000)
    assert found(runs, f"attributes.start_time >= {start_ms}") == set(runs)
    assert found(runs, f"attributes.start_time < {start_ms}") == set()


def test_order_by_with_missing_values_last(runs):
    desc = canvasback.search_runs(order_by=["metrics.acc DESC"])
    assert names(desc, runs) == ["e", "f", "a", "b", "c", "d"]
    asc = canvasback.search_runs(order_by=["metrics.acc ASC"])
    assert names(asc, runs) == ["c", "b", "a", "f", "e", "d"]
    loss = canvasback.search_runs(order_by=["metrics.loss DESC"])
    assert names(loss, runs)[:3] == ["d", "b", "a"]
    assert math.isnan(loss["metrics.loss"].iloc[-1])
    by_team = canvasback.search_runs(order_by=["tags.team", "metrics.acc DESC"])
    assert names(by_team, runs) == ["c", "f", "a", "d", "b", "e"]
    by_name = canvasback.search_runs(order_by=["attributes.run_name DESC"])
    assert names(by_name, runs) == ["f", "e", "d", "c", "b", "a"]
    by_lr = canvasback.search_runs(order_by=["params.lr ASC", "attributes.run_name"])
    assert names(by_lr, runs) == ["d", "a", "b", "f", "c", "e"]  # numbers first, by value


def test_order_by_tag_is_string_order(runs):
    frame = canvasback.search_runs(order_by=["tags.team ASC", "attributes.run_name ASC"])
    assert names(frame, runs) == ["c", "a", "f", "d", "b", "e"]


def test_default_order_is_newest_first(runs):
    frame = canvasback.search_runs()
    assert len(frame) == len(runs)
    assert frame["start_time"].is_monotonic_decreasing
    ties = frame.groupby("start_time", sort=False)["run_id"].apply(list)
    assert all(ids == sorted(ids) for ids in ties)  # then by run id: a stable order


def test_max_results(runs):
    frame = canvasback.search_runs(order_by=["metrics.acc DESC"], max_results=2)
    assert names(frame, runs) == ["e", "f"]
    frame = canvasback.search_runs(filter_string="metrics.acc > 0", max_results=100)
    assert len(frame) == 5
    assert canvasback.search_runs(max_results=0).empty
    client_runs = canvasback.client().search_runs(
        [canvasback.get_experiment_by_name("search").experiment_id],
        order_by=["metrics.acc ASC"],
        max_results=3,
    )
    assert [r.info.run_name for r in client_runs] == ["c", "b", "a"]


@pytest.mark.usefixtures("runs")
def test_filter_values_are_literal_not_sql():
    evil = "x'); drop table runs; --"
    client = canvasback.client()
    experiment_id = canvasback.get_experiment_by_name("search").experiment_id
    target = make_run(client, experiment_id, "evil", tags={"team": evil}, params={"q": evil})
    quoted = evil.replace("'", "''")
    frame = canvasback.search_runs(filter_string=f"tags.team = '{quoted}'")
    assert list(frame["run_id"]) == [target]
    assert frame["tags.team"].tolist() == [evil]
    escaped = evil.replace("'", "\\'")
    assert list(canvasback.search_runs(filter_string=f"params.q = '{escaped}'")["run_id"]) == [
        target
    ]
    with pytest.raises(canvasback.FilterError) as err:  # unescaped, it is not a filter
        canvasback.search_runs(filter_string="tags.team = 'x'); drop table runs; --'")
    assert err.value.position == 15
    assert canvasback.search_runs(filter_string="tags.team = 'x''); drop table run; --'").empty
    assert canvasback.search_runs(filter_string=f"tags.team IN ('{quoted}', 'y')")[
        "run_id"
    ].tolist() == [target]
    # The store still works and still has every run.
    assert canvasback.sql("SELECT count(*) FROM runs").fetchall() == [(7,)]
    assert len(canvasback.search_runs()) == 7
    with canvasback.start_run() as run:
        canvasback.log_metric("after", 1.0)
    assert canvasback.get_run(run.run_id).data.metrics == {"after": 1.0}


@pytest.mark.usefixtures("store")
def test_keys_are_identifiers_not_sql():
    with canvasback.start_run() as run:
        canvasback.log_metric("a-b/c:d e", 1.0)
        canvasback.log_param("x y", "1")
    frame = canvasback.search_runs(filter_string="params.`x y` = '1' and metrics.`a-b/c:d e` = 1")
    assert list(frame["run_id"]) == [run.run_id]
    assert frame["metrics.a-b/c:d e"].tolist() == [1.0]
    assert frame["params.x y"].tolist() == ["1"]


@pytest.mark.usefixtures("store")
def test_experiment_scoping():
    client = canvasback.client()
    one = client.create_experiment("one")
    two = client.create_experiment("two")
    run_one = make_run(client, one, "r1", metrics={"m": 1.0})
    run_two = make_run(client, two, "r2", metrics={"m": 2.0})
    assert list(canvasback.search_runs(experiment_names=["one"])["run_id"]) == [run_one]
    assert list(canvasback.search_runs(experiment_ids=[two])["run_id"]) == [run_two]
    both = canvasback.search_runs(experiment_names=["one", "two"], order_by=["metrics.m"])
    assert list(both["run_id"]) == [run_one, run_two]
    assert set(canvasback.search_runs(search_all_experiments=True)["run_id"]) == {run_one, run_two}
    with pytest.warns(UserWarning, match="three"):  # MLflow's answer: said, and no runs
        assert canvasback.search_runs(experiment_names=["three"]).empty


# -- property test: search_runs agrees with a plain Python evaluation ----------------------
STATUSES = ("FINISHED", "FAILED", "RUNNING", "KILLED")
LR_VALUES = ("0.01", "0.1", "0.001", "1e-3", "1", "10", "abc", "0.5")
OPTS = ("adam", "Adam", "sgd", "rmsprop", "ada_m")
TEAMS = ("vision", "nlp", "Vision", "x", "vis%on", "audio")
ACC_VALUES = (0.1, 0.25, 0.5, 0.75, 0.99, 1.0)
LOSS_VALUES = (0.0, 0.5, 1.5, 3.0)
N_RUNS = 30


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    """~30 runs with random, sometimes missing, values; reused by every example."""
    root = tmp_path_factory.mktemp("property") / "store"
    client = Client(store=root)
    experiment_id = client.create_experiment("prop")
    rng = random.Random(20260127)  # noqa: S311  # test data, not secrets
    model = {}
    for i in range(N_RUNS):
        record = {
            "metric.acc": rng.choice([None, *ACC_VALUES]),
            "metric.loss": rng.choice([None, *LOSS_VALUES]),
            "param.lr": rng.choice([None, *LR_VALUES]),
            "param.opt": rng.choice([None, *OPTS]),
            "tag.team": rng.choice([None, *TEAMS]),
            "attribute.status": rng.choice(STATUSES),
            "attribute.run_name": f"run-{i:02d}",
        }
        run_id = make_run(
            client,
            experiment_id,
            record["attribute.run_name"],
            metrics={
                k.split(".")[1]: v
                for k, v in record.items()
                if k.startswith("metric.") and v is not None
            },
            params={
                k.split(".")[1]: v
                for k, v in record.items()
                if k.startswith("param.") and v is not None
            },
            tags={
                k.split(".")[1]: v
                for k, v in record.items()
                if k.startswith("tag.") and v is not None
            },
            status=record["attribute.status"],
        )
        model[run_id] = record
    client.flush()
    return root, experiment_id, model  # the reset after each test closes the store


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


numbers = st.sampled_from([0.5, 0.25, 0.1, 0.75, 0.99, 1, 1.5, 3, 0, 0.001, 0.01, 10])
patterns = st.sampled_from(["vis%", "%on", "v_sion", "%", "ada%", "%a%", "x", "_", "vis\\%on"])


@st.composite
def comparisons(draw):  # noqa: PLR0911  # one return per kind of comparison
    kind = draw(st.sampled_from(["metric", "param_num", "param_str", "tag", "status", "name"]))
    if kind == "metric":
        key = draw(st.sampled_from(["acc", "loss"]))
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        value = draw(numbers)
        return f"metrics.{key} {op} {value}", ("metric." + key, op, float(value))
    if kind == "param_num":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        value = draw(numbers)
        return f"params.lr {op} {value}", ("param.lr", "num" + op, float(value))
    if kind in ("param_str", "tag"):
        key = "param.opt" if kind == "param_str" else "tag.team"
        prefix = "params.opt" if kind == "param_str" else "tags.team"
        pool = OPTS if kind == "param_str" else TEAMS
        op = draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "<", ">="]))
        if op in ("IN", "NOT IN"):
            values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
            return f"{prefix} {op} ({', '.join(map(_quote, values))})", (key, op, tuple(values))
        value = draw(patterns) if op in ("LIKE", "ILIKE") else draw(st.sampled_from(pool))
        return f"{prefix} {op} {_quote(value)}", (key, op, value)
    if kind == "status":
        op = draw(st.sampled_from(["=", "!=", "IN"]))
        if op == "IN":
            values = tuple(draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=2)))
            text = f"attributes.status IN ({', '.join(map(_quote, values))})"
            return text, ("attribute.status", "IN", values)
        value = draw(st.sampled_from(STATUSES))
        return f"attributes.status {op} {_quote(value)}", ("attribute.status", op, value)
    value = draw(st.sampled_from(["run-0%", "run-1_", "%5", "run-29"]))
    op = draw(st.sampled_from(["LIKE", "="]))
    return f"attributes.run_name {op} {_quote(value)}", ("attribute.run_name", op, value)


def expressions():
    def combine(children):
        return st.tuples(st.sampled_from(["AND", "OR"]), st.lists(children, min_size=2, max_size=3))

    return st.recursive(comparisons(), combine, max_leaves=5)


def to_text(expr, *, top=True) -> str:
    if isinstance(expr[0], str) and isinstance(expr[1], tuple):
        return expr[0]
    op, children = expr
    inner = f" {op.lower() if len(children) % 2 else op} ".join(
        to_text(c, top=False) for c in children
    )
    return inner if top else f"({inner})"


def _like(pattern: str, value: str, *, fold: bool) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    flags = re.DOTALL | (re.IGNORECASE if fold else 0)
    return re.fullmatch(regex, value, flags) is not None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_CMP = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def evaluate(expr, record) -> bool:  # noqa: PLR0911  # one return per operator
    if isinstance(expr[0], str) and isinstance(expr[1], tuple):
        key, op, value = expr[1]
        actual = record[key]
        if actual is None:
            return False
        if op.startswith("num"):
            number = _number(actual)
            return number is not None and _CMP[op[3:]](number, value)
        if op in _CMP:
            return _CMP[op](actual, value)
        if op in ("LIKE", "ILIKE"):
            return _like(value, actual, fold=op == "ILIKE")
        if op == "IN":
            return actual in value
        if op == "NOT IN":
            return actual not in value
        raise AssertionError(op)
    op, children = expr
    results = [evaluate(c, record) for c in children]
    return all(results) if op == "AND" else any(results)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(expr=expressions())
def test_search_matches_python_evaluation(population, expr):
    root, experiment_id, model = population
    text = to_text(expr)
    frame = Client(store=root).search_runs_frame([experiment_id], filter_string=text)
    expected = {run_id for run_id, record in model.items() if evaluate(expr, record)}
    assert set(frame["run_id"]) == expected, text
    assert len(frame) == len(expected)


def test_population_is_varied(population):
    _, _, model = population
    assert len(model) == N_RUNS
    for key in ("metric.acc", "param.lr", "param.opt", "tag.team"):
        values = [r[key] for r in model.values()]
        assert None in values
        assert len({v for v in values if v is not None}) >= 3, key
    assert len({r["attribute.status"] for r in model.values()}) == len(STATUSES)


def test_fluent_search_over_the_population(population):
    root, _, model = population
    canvasback.set_store(root)
    frame = canvasback.search_runs(experiment_names=["prop"], filter_string="metrics.acc >= 0.5")
    expected = {
        r for r, rec in model.items() if rec["metric.acc"] is not None and rec["metric.acc"] >= 0.5
    }
    assert set(frame["run_id"]) == expected
    assert frame["metrics.acc"].min() >= 0.5


@pytest.mark.usefixtures("store")
def test_nan_metrics_sort_after_numbers():
    """As in MLflow, a NaN metric is not the best run in either direction."""
    ids = {}
    for name, acc in (("low", 0.1), ("nan", math.nan), ("high", 0.9), ("inf", math.inf)):
        with canvasback.start_run(run_name=name) as run:
            canvasback.log_metric("acc", acc)
        ids[name] = run.run_id
    with canvasback.start_run(run_name="missing") as run:
        canvasback.log_metric("other", 1.0)
    ids["missing"] = run.run_id
    desc = canvasback.search_runs(order_by=["metrics.acc DESC"])
    assert names(desc, ids) == ["inf", "high", "low", "nan", "missing"]
    asc = canvasback.search_runs(order_by=["metrics.acc ASC"])
    assert names(asc, ids) == ["low", "high", "inf", "nan", "missing"]
    assert names(canvasback.search_runs(order_by=["metrics.acc DESC"], max_results=1), ids) == [
        "inf"
    ]


@pytest.mark.usefixtures("store")
def test_nan_metrics_match_no_ordering_comparison():
    """NaN is neither greater nor smaller than a number (IEEE 754, MLflow's file store)."""
    ids = {}
    for name, acc in (("low", 0.1), ("nan", math.nan), ("high", 0.95)):
        with canvasback.start_run(run_name=name) as run:
            canvasback.log_metric("acc", acc)
        ids[name] = run.run_id
    assert found(ids, "metrics.acc > 0.9") == {"high"}
    assert found(ids, "metrics.acc >= 0.9") == {"high"}
    assert found(ids, "metrics.acc < 0.5") == {"low"}
    assert found(ids, "metrics.acc <= 0.5") == {"low"}
    assert found(ids, "metrics.acc = 0.1") == {"low"}
