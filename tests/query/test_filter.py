"""The search filter grammar (query/filter.py on query/filter_lexer.py), checked end to end:
parsed, compiled (query/filter_sql.py), run in a real DuckDB, and against an independent
evaluator."""

from __future__ import annotations

import operator
import pickle
import re
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canvasback.query.filter import (
    BoolOp,
    Comparison,
    FilterError,
    OrderKey,
    parse_filter,
    parse_order_by,
)
from canvasback.query.filter_sql import compile_filter

COLUMNS = {
    ("metric", "acc"): "m_acc", ("metric", "loss"): "m_loss", ("metric", "my metric"): "m_my",
    ("param", "lr"): "p_lr", ("param", "opt"): "p_opt", ("param", "a.b"): "p_ab",
    ("tag", "team"): "t_team", ("attribute", "run_id"): "run_id",
    ("attribute", "run_name"): "run_name", ("attribute", "status"): "status",
    ("attribute", "start_time"): "start_time", ("attribute", "end_time"): "end_time",
}  # fmt: skip
RUNS = [
    ("r1", 0.9, 0.1, 1.0, "0.01", "adam", "x", "vision", "alpha", "FINISHED", 1000, 2000),
    ("r2", 0.5, None, None, "abc", "sgd", None, "NLP", "beta", "RUNNING", 2000, None),
    ("r3", None, 0.7, 2.0, "0.001", None, "y", None, "gamma run", "FAILED", 3000, 4000),
    ("r4", 0.7, 0.3, None, "1e-3", "Adam", None, "vision", "it's", "FINISHED", 4000, 5000),
]
ALL = {"r1", "r2", "r3", "r4"}


def column(entity, key):
    return f'"{COLUMNS[entity, key]}"'


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        connection.execute(
            "CREATE TABLE runs (run_id VARCHAR, m_acc DOUBLE, m_loss DOUBLE, m_my DOUBLE, "
            "p_lr VARCHAR, p_opt VARCHAR, p_ab VARCHAR, t_team VARCHAR, run_name VARCHAR, "
            "status VARCHAR, start_time BIGINT, end_time BIGINT)"
        )
        connection.executemany(f"INSERT INTO runs VALUES ({', '.join('?' * 12)})", RUNS)
        yield connection


def matching(con, text):
    expr = parse_filter(text)
    if expr is None:
        return ALL
    sql, params = compile_filter(expr, column)
    return {
        row[0] for row in con.execute(f"SELECT run_id FROM runs WHERE {sql}", params).fetchall()
    }


# -- operators per entity ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc = 0.9", {"r1"}),
        ("metrics.acc != 0.9", {"r2", "r4"}),
        ("metrics.acc <> 0.9", {"r2", "r4"}),
        ("metrics.acc < 0.7", {"r2"}),
        ("metrics.acc <= 0.7", {"r2", "r4"}),
        ("metrics.acc > 0.7", {"r1"}),
        ("metrics.acc >= 0.7", {"r1", "r4"}),
        ("metrics.acc > 5e-1", {"r1", "r4"}),
        ("metrics.acc>-1", {"r1", "r2", "r4"}),
        ("metrics.acc IS NULL", {"r3"}),
        ("metrics.acc IS NOT NULL", {"r1", "r2", "r4"}),
        ("metric.loss < .5", {"r1", "r4"}),
        ("metrics.`my metric` = 2", {"r3"}),
        ('metrics."my metric" >= 1', {"r1", "r3"}),
        ("params.opt = 'adam'", {"r1"}),
        ("params.opt != 'adam'", {"r2", "r4"}),
        ("params.opt < 'b'", {"r1", "r4"}),
        ("params.opt <= 'adam'", {"r1", "r4"}),
        ("params.opt > 'adam'", {"r2"}),
        ("params.opt >= 'sgd'", {"r2"}),
        ("params.opt LIKE 'a%'", {"r1"}),
        ("params.opt ILIKE 'a%'", {"r1", "r4"}),
        ("params.opt LIKE '_dam'", {"r1", "r4"}),
        ("params.opt IN ('adam', 'sgd')", {"r1", "r2"}),
        ("params.opt IN ('sgd')", {"r2"}),
        ("params.opt NOT IN ('adam')", {"r2", "r4"}),
        ("params.opt IS NULL", {"r3"}),
        ("param.opt IS NOT NULL", {"r1", "r2", "r4"}),
        ("params.\"a.b\" = 'x'", {"r1"}),
        ("params.`a.b` IS NULL", {"r2", "r4"}),
        ("params.lr = '0.001'", {"r3"}),
        # Compared with a number, a param is cast: 'abc' (r2) never matches.
        ("params.lr > 0.005", {"r1"}),
        ("params.lr < 0.005", {"r3", "r4"}),
        ("params.lr = 0.001", {"r3", "r4"}),
        ("params.lr != 0.01", {"r3", "r4"}),
        ("params.lr >= -1e9", {"r1", "r3", "r4"}),
        ("tags.team = 'vision'", {"r1", "r4"}),
        ("tags.team != 'vision'", {"r2"}),
        ("tags.team < 'P'", {"r2"}),
        ("tags.team LIKE 'vis%'", {"r1", "r4"}),
        ("tag.team ILIKE 'nlp'", {"r2"}),
        ("tags.team IN ('NLP', 'other')", {"r2"}),
        ("tags.team NOT IN ('NLP')", {"r1", "r4"}),
        ("tags.team IS NULL", {"r3"}),
        ("status = 'FINISHED'", {"r1", "r4"}),
        ("attributes.status != 'FINISHED'", {"r2", "r3"}),
        ("attr.status IN ('RUNNING', 'FAILED')", {"r2", "r3"}),
        ("attribute.status NOT IN ('RUNNING')", {"r1", "r3", "r4"}),
        ("status LIKE 'F%'", {"r1", "r3", "r4"}),
        ("attributes.`status` ILIKE 'running'", {"r2"}),
        ("status = 'DONE'", set()),  # any status may be asked for, as in MLflow
        ("attributes.status = 'ACTIVE'", set()),
        ("run_name = 'gamma run'", {"r3"}),
        ("run_name = 'it''s'", {"r4"}),
        ("run_name = 'it\\'s'", {"r4"}),
        ('run_name = "it\'s"', {"r4"}),
        ("run_name ILIKE '%A%'", {"r1", "r2", "r3"}),
        ("run_id = 'r2'", {"r2"}),
        ("attributes.start_time >= 3000", {"r3", "r4"}),
        ("created < 2500", {"r1", "r2"}),
        ("Created = 1000", {"r1"}),
        ("attributes.created > 3500", {"r4"}),
        ("end_time IS NULL", {"r2"}),
        ("attributes.end_time > 4500", {"r4"}),
    ],
)
def test_each_operator_on_each_entity(con, text, expected):
    assert matching(con, text) == expected


# -- structure -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # AND first: sgd (r2) OR (acc > 0.8 AND loss < 0.05: nobody); left to right gives none.
        ("params.opt = 'sgd' or metrics.acc > 0.8 and metrics.loss < 0.05", {"r2"}),
        ("(params.opt = 'sgd' or metrics.acc > 0.8) and metrics.loss < 0.2", {"r1"}),
        ("params.opt = 'sgd' or (metrics.acc > 0.8 and metrics.loss < 0.2)", {"r1", "r2"}),
        ("metrics.acc > 0.8 Or params.opt like 'sg%' AnD tags.team iS nOt NuLl", {"r1", "r2"}),
        ("params.opt not in ('adam') and status in ('FINISHED')", {"r4"}),
        ("((( metrics.acc > 0.8 )))", {"r1"}),
        ("metrics.acc > 0.8\n  OR\tstatus = 'FAILED'", {"r1", "r3"}),
        ("", ALL),
    ],
)
def test_combinations(con, text, expected):
    assert matching(con, text) == expected


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_empty_filter_is_no_filter(text):
    assert parse_filter(text) is None


def test_and_binds_tighter_than_or_and_chains_flatten():
    a = Comparison("metric", "a", ">", 1.0, 0)
    b = Comparison("param", "b", "=", "x", 17)
    c = Comparison("tag", "c", "=", "y", 36)
    d = Comparison("attribute", "start_time", "<", 5.0, 54)
    text = "metrics.a > 1 or params.b = 'x' and tags.c = 'y' and (created < 5)"
    assert parse_filter(text) == BoolOp("OR", (a, BoolOp("AND", (b, c, d))))


def test_literals():
    assert parse_filter("metrics.a = -1.5e+2").value == -150.0
    assert parse_filter("metrics.a = +2").value == 2.0
    assert parse_filter("params.p = 'C:\\path'").value == "C:\\path"
    assert parse_filter("params.p = 'a\\\\'").value == "a\\"
    assert parse_filter('params.p = "say ""hi"""').value == 'say "hi"'
    assert parse_filter("params.p IN ('a', \"b\")").value == ("a", "b")
    assert parse_filter("tags.`a b/c:d-e.f` = ''").key == "a b/c:d-e.f"
    assert parse_filter("metrics.a <> 1").op == "!="
    assert parse_filter("params.p is not null").op == "IS NOT NULL"


def test_order_by():
    clauses = [
        "metrics.acc DESC",
        "params.lr",
        "attributes.start_time asc",
        "metrics.`my metric`  desc",
        "created",
        'tags."a.b" Desc',
    ]
    assert parse_order_by(clauses) == [
        OrderKey("metric", "acc", ascending=False),
        OrderKey("param", "lr", ascending=True),
        OrderKey("attribute", "start_time", ascending=True),
        OrderKey("metric", "my metric", ascending=False),
        OrderKey("attribute", "start_time", ascending=True),
        OrderKey("tag", "a.b", ascending=False),
    ]
    assert parse_order_by(None) == []
    assert parse_order_by([]) == []
    assert parse_order_by("run_name DESC") == [OrderKey("attribute", "run_name", ascending=False)]


@pytest.mark.parametrize(
    ("clause", "position", "fragment"),
    [
        ("metrics.acc DOWN", 12, "'DOWN'"),
        ("metrics.acc DESC ASC", 17, "'ASC'"),
        ("foo.bar", 0, "'foo'"),
        ("bogus", 0, "'bogus'"),
        ("", 0, "expected an identifier"),
    ],
)
def test_order_by_errors(clause, position, fragment):
    with pytest.raises(FilterError) as info:
        parse_order_by(["metrics.acc", clause])
    assert info.value.position == position
    assert info.value.text == clause
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"Invalid order_by at position {position}:")


# -- errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "fragments"),
    [
        ("params.opt = 'adam", 13, ["unterminated string"]),
        ("metrics.`acc > 1", 8, ["unterminated quoted key"]),
        ("foo.bar = 'x'", 0, ["'foo'", "'foo.bar'", "metrics."]),
        ("metrics.acc 1", 12, ["expected an operator", "'metrics.acc'", "'1'"]),
        ("metrics.acc > ", 14, ["expected a value after '>'"]),
        ("metrics.acc <> and", 15, ["expected a value after '<>'", "'and'"]),
        ("metrics.acc == 1", 13, ["expected a value after '='", "'='"]),
        ("metrics.acc > 1 params.lr = 'x'", 16, ["expected AND or OR", "'params.lr'"]),
        ("(metrics.acc > 1", 0, ["never closed"]),
        ("(metrics.acc > 1 status = 'x')", 17, ["expected AND, OR or ')'", "'status'"]),
        ("metrics.acc > 1)", 15, ["unmatched ')'"]),
        ("()", 1, ["expected an identifier", "')'"]),
        ("params.opt IN ()", 14, ["empty IN list"]),
        ("params.opt NOT IN 'a'", 18, ["parenthesised list", "found \"'a'\""]),
        ("params.opt IN ('a', 'b'", 14, ["never closed"]),
        ("params.opt IN ('a',", 14, ["never closed"]),
        ("params.opt IN ('a' 'b')", 19, ["expected ',' or ')'", "\"'b'\""]),
        ("params.opt IN ('a',)", 19, ["expected a value in the IN list", "')'"]),
        ("colour = 'red'", 0, ["unknown attribute 'colour'", "run_name", "params.colour"]),
        ("attributes.colour = 'red'", 0, ["unknown attribute 'colour'", "parent_run_id"]),
        ("metrics.acc = 'high'", 14, ["metrics.acc", "'high'", "numbers"]),
        ("metrics.acc LIKE '1%'", 12, ["metrics.acc does not support LIKE", ">="]),
        ("metrics.acc IN (1, 2)", 12, ["does not support IN"]),
        ("tags.team = 3", 12, ["tags.team", "number 3", "strings"]),
        ("attributes.start_time > 'yesterday'", 24, ["start_time", "'yesterday'", "numbers"]),
        ("params.lr LIKE 1", 15, ["LIKE on params.lr needs strings", "number 1"]),
        ("params.lr IN (1, 2)", 14, ["IN on params.lr needs strings", "number 1"]),
        ("metrics.acc > 1 ; DROP TABLE runs", 16, ["unexpected character ';'"]),
        ("metrics.acc > 1e", 14, ["invalid number '1e'"]),
        ("metrics.acc > 1.2.3", 14, ["invalid number '1.2.3'"]),
        ("metrics.acc > 12abc", 14, ["invalid number '12abc'"]),
        ("metrics.acc > 1e999", 14, ["out of range", "'1e999'"]),
        ("metrics.`` > 1", 8, ["empty key"]),
        ("params.\"a'b\" = 'x'", 7, ['"a\'b"', "letters, digits"]),
        ("metrics. > 1", 8, ["expected a key after 'metrics.'"]),
        ("metrics.'acc' > 1", 8, ["expected a key after 'metrics.'", "backticks"]),
        ("params.opt NOT LIKE 'a'", 15, ["expected IN after NOT", "'LIKE'"]),
        ("params.opt IS 'a'", 14, ["expected NULL after IS", "\"'a'\""]),
        ("params.opt IS NOT", 17, ["expected NULL after IS NOT", "end of the input"]),
        ("AND metrics.acc > 1", 0, ["expected an identifier", "'AND'"]),
        ("metrics.acc > 1 AND", 19, ["expected an identifier", "end of the input"]),
        ("metrics.acc > 1 AND OR status = 'x'", 20, ["expected an identifier", "'OR'"]),
        ("`status` = 'x'", 0, ["backticks quote a key"]),
        ("'status' = 'x'", 0, ["expected an identifier", "\"'status'\""]),
    ],
)
def test_errors(text, position, fragments):
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.position == position
    assert error.text == text
    message = str(error)
    assert message.startswith(f"Invalid filter at position {position}: ")
    for fragment in fragments:
        assert fragment in message
    filter_line, caret_line = message.splitlines()[-2:]
    assert filter_line == "  " + re.sub(r"\s", " ", text)
    assert caret_line == "  " + " " * position + "^"


def test_deep_nesting_is_a_filter_error_not_a_recursion_error():
    with pytest.raises(FilterError, match="nested more than") as info:
        parse_filter("(" * 5000 + "metrics.acc > 1" + ")" * 5000)
    assert info.value.position == 100
    assert parse_filter("(" * 100 + "metrics.acc > 1" + ")" * 100) is not None


def test_filter_error_pickles():
    with pytest.raises(FilterError) as info:
        parse_filter("metrics.acc >")
    copy = pickle.loads(pickle.dumps(info.value))  # noqa: S301 -- our own object
    assert (copy.text, copy.position, str(copy)) == ("metrics.acc >", 13, str(info.value))


# -- values are bound, never pasted --------------------------------------------

EVIL = "x'); DROP TABLE runs; --"


@pytest.mark.parametrize(
    "text",
    [
        "params.opt = 'x''); DROP TABLE runs; --'",
        'params.opt = "x\'); DROP TABLE runs; --"',
        "params.opt LIKE 'x\\'); DROP TABLE runs; --'",
        "params.opt IN ('nothing', 'x''); DROP TABLE runs; --')",
    ],
)
def test_values_are_matched_literally(con, text):
    con.execute("UPDATE runs SET p_opt = ? WHERE run_id = 'r2'", [EVIL])
    sql, params = compile_filter(parse_filter(text), column)
    assert EVIL in params
    for part in ("DROP", "x'", "--", ";"):
        assert part not in sql
    assert matching(con, text) == {"r2"}
    assert con.execute("SELECT count(*) FROM runs").fetchall() == [(4,)]


@pytest.mark.parametrize("text", ['metrics."a"" OR 1=1 --" > 1', "tags.`a\"b` = 'x'"])
def test_keys_that_could_break_out_of_an_alias_are_rejected(text):
    with pytest.raises(FilterError, match="letters, digits"):
        parse_filter(text)


# -- property: the compiler agrees with a plain Python evaluator ------------------

CMP = {"=": operator.eq, "!=": operator.ne, "<": operator.lt,
       "<=": operator.le, ">": operator.gt, ">=": operator.ge}  # fmt: skip
STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
TARGETS = [("metric", "acc"), ("metric", "loss"), ("param", "lr"), ("param", "opt"),
           ("tag", "team"), ("attribute", "status")]  # fmt: skip
PROPERTY_COLUMNS = ["m_acc", "m_loss", "p_lr", "p_opt", "t_team", "status"]
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

numbers = st.sampled_from([-1.5, 0.0, 0.001, 0.5, 1.0, 2.0, 10.0]) | st.floats(
    -100, 100, allow_nan=False, allow_infinity=False
)
# No digits in the free text, so only the listed strings look like numbers.
strings = st.sampled_from(["0.001", "0.5", "1", "-2", "1e-3", "10", "2.0", "adam", "Adam", ""]) | (
    st.text(alphabet="ab_%'\"\\ AB", max_size=4)
)
# One tuple per run, in TARGETS order: acc, loss, lr, opt, team, status.
runs_strategy = st.lists(
    st.tuples(*[st.none() | numbers] * 2, *[st.none() | strings] * 3, st.sampled_from(STATUSES)),
    max_size=8,
)


@st.composite
def comparisons(draw):
    entity, key = draw(st.sampled_from(TARGETS))
    if draw(st.integers(0, 4)) == 0:
        return ("cmp", entity, key, draw(st.sampled_from(["IS NULL", "IS NOT NULL"])), None)
    if entity == "metric" or (entity == "param" and draw(st.booleans())):
        return ("cmp", entity, key, draw(st.sampled_from(list(CMP))), draw(numbers))
    op = draw(st.sampled_from([*CMP, "LIKE", "ILIKE", "IN", "NOT IN"]))
    values = strings
    if key == "status":
        values = st.sampled_from(STATUSES)
        if op in {"LIKE", "ILIKE"}:
            values = st.sampled_from(["F%", "%ING", "_AILED", "%", "running"]) | strings
    if op in {"IN", "NOT IN"}:
        return ("cmp", entity, key, op, tuple(draw(st.lists(values, min_size=1, max_size=3))))
    return ("cmp", entity, key, op, draw(values))


trees = st.recursive(
    comparisons(),
    lambda children: st.tuples(
        st.sampled_from(["AND", "OR"]), st.lists(children, min_size=2, max_size=3)
    ),
    max_leaves=8,
)


def like(pattern, value):
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def holds(node, run: dict[tuple[str, str], Any]) -> bool:
    if node[0] in {"AND", "OR"}:
        results = [holds(child, run) for child in node[1]]
        return all(results) if node[0] == "AND" else any(results)
    _, entity, key, op, value = node
    actual = run[entity, key]
    if op in {"IS NULL", "IS NOT NULL"}:
        return (actual is None) == (op == "IS NULL")
    if isinstance(value, float) and isinstance(actual, str):
        actual = float(actual) if NUMBER.fullmatch(actual) else None
    return actual is not None and compare(op, actual, value)


def compare(op, actual, value):
    if op in {"LIKE", "ILIKE"}:
        return like(value.lower(), actual.lower()) if op == "ILIKE" else like(value, actual)
    if op in {"IN", "NOT IN"}:
        return (actual in value) == (op == "IN")
    return CMP[op](actual, value)


def space(rnd, *, required=False):
    return rnd.choice([" ", "  ", "\n ", "\t"] if required else ["", " ", "  "])


def keyword(rnd, word):
    return "".join(rnd.choice([char.upper(), char.lower()]) for char in word)


PREFIXES = {"metric": ["metrics.", "metric."], "param": ["params.", "param."],
            "tag": ["tags.", "tag."],
            "attribute": ["", "attributes.", "attribute.", "attr."]}  # fmt: skip


def render_identifier(rnd, entity, key):
    prefix = rnd.choice(PREFIXES[entity])
    quote = rnd.choice(["", "`", '"']) if prefix else ""
    return f"{prefix}{quote}{key}{quote}"


def render_value(rnd, value):
    if isinstance(value, float):
        if value.is_integer() and rnd.random() < 0.5:
            return str(int(value))
        return repr(value)
    quote = rnd.choice("'\"")
    body = value.replace("\\", "\\\\")
    body = body.replace(quote, rnd.choice([quote * 2, "\\" + quote]))
    return quote + body + quote


def render_comparison(rnd, entity, key, op, value):
    left = render_identifier(rnd, entity, key)
    if op in CMP:
        symbol = rnd.choice(["!=", "<>"]) if op == "!=" else op
        return f"{left}{space(rnd)}{symbol}{space(rnd)}{render_value(rnd, value)}"
    words = space(rnd, required=True).join(keyword(rnd, word) for word in op.split())
    if value is None:
        return f"{left}{space(rnd, required=True)}{words}"
    if isinstance(value, tuple):
        items = ("," + space(rnd)).join(render_value(rnd, item) for item in value)
        right = f"({space(rnd)}{items}{space(rnd)})"
    else:
        right = render_value(rnd, value)
    return f"{left}{space(rnd, required=True)}{words}{space(rnd, required=True)}{right}"


def render(rnd, node, parent=None):
    if node[0] == "cmp":
        text = render_comparison(rnd, *node[1:])
    else:
        glue = space(rnd, required=True) + keyword(rnd, node[0]) + space(rnd, required=True)
        text = glue.join(render(rnd, child, node[0]) for child in node[1])
    if (parent == "AND" and node[0] == "OR") or rnd.random() < 0.15:
        text = f"({space(rnd)}{text}{space(rnd)})"
    return text


def normalise(node):
    """Flatten nested AND/OR of the same kind, as the parser does."""
    if node[0] == "cmp":
        return node
    flat = []
    for child in map(normalise, node[1]):
        flat.extend(child[1] if child[0] == node[0] else [child])
    return (node[0], flat)


def from_parsed(expr):
    if isinstance(expr, BoolOp):
        return (expr.op, [from_parsed(operand) for operand in expr.operands])
    return ("cmp", expr.entity, expr.key, expr.op, expr.value)


def property_column(entity, key):
    return f'"{PROPERTY_COLUMNS[TARGETS.index((entity, key))]}"'


@pytest.fixture(scope="module")
def property_db():
    # One connection for all examples: connecting costs far more than a query.
    columns = ", ".join(
        f"{name} {'DOUBLE' if name[0] == 'm' else 'VARCHAR'}" for name in PROPERTY_COLUMNS
    )
    with duckdb.connect() as db:
        db.execute(f"CREATE TABLE runs (run_id INTEGER, {columns})")
        yield db


@settings(max_examples=200, deadline=None)
@given(runs=runs_strategy, tree=trees, rnd=st.randoms(use_true_random=False))
def test_compiled_filter_matches_python_evaluation(property_db, runs, tree, rnd):
    text = render(rnd, tree)
    expr = parse_filter(text)
    assert expr is not None
    assert from_parsed(expr) == normalise(tree), text
    sql, params = compile_filter(expr, property_column)
    property_db.execute("DELETE FROM runs")
    if runs:
        rows = [(i, *run) for i, run in enumerate(runs)]
        property_db.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    result = property_db.execute(f"SELECT run_id FROM runs WHERE {sql}", params).fetchall()
    expected = {
        i for i, run in enumerate(runs) if holds(tree, dict(zip(TARGETS, run, strict=True)))
    }
    assert {row[0] for row in result} == expected, (text, sql, params)


# -- random text never escapes as anything but FilterError -----------------------

_PIECES = [
    "metrics.acc", "params.lr", "tags.t", "status", "created", "foo.bar", "metrics.`a b`",
    "=", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "ilike", "IN", "NOT", "IS", "NULL",
    "AND", "or", "(", ")", ",", "'x'", '"y"', "'RUNNING'", "1", "-2.5", "1e3", "'", "`",
    ";", ".", "",
]  # fmt: skip
NULL_OF = {"metric": "DOUBLE", "param": "VARCHAR", "tag": "VARCHAR"}


def null_column(entity, key):
    kind = NULL_OF.get(entity, "BIGINT" if key in {"start_time", "end_time"} else "VARCHAR")
    return f"CAST(NULL AS {kind})"


@st.composite
def damaged_filters(draw):
    text = render(draw(st.randoms(use_true_random=False)), draw(trees))
    start = draw(st.integers(0, len(text)))
    stop = draw(st.integers(start, min(len(text), start + 3)))
    return text[:start] + draw(st.sampled_from(_PIECES)) + text[stop:]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=12).map(" ".join)
    | st.text(alphabet="metrics.acc<>=!'\"`() ,0123456789eE-+ANDORaninsul", max_size=30)
    | damaged_filters()
)
def test_any_text_parses_or_raises_filter_error(property_db, text):
    error = None
    try:
        expr = parse_filter(text)
    except FilterError as caught:
        error, expr = caught, None
    if error is not None:
        assert 0 <= error.position <= len(text)
        assert error.text == text
    elif expr is not None:
        sql, params = compile_filter(expr, null_column)
        property_db.execute(f"SELECT count(*) FROM (SELECT 1) WHERE {sql}", params).fetchall()
