"""Parsed filters compiled to DuckDB SQL (query/filter_sql.py): placeholders for every
literal, the caller's column expressions pasted as given, datasets as an EXISTS."""

from __future__ import annotations

import duckdb
import pytest

from canvasback.query.filter import BoolOp, Comparison, parse_filter
from canvasback.query.filter_sql import compile_filter, referenced

COLUMNS = {("metric", "acc"): "m_acc", ("param", "lr"): "p_lr", ("attribute", "run_id"): "run_id"}


def column(entity, key):
    return f'r."{COLUMNS[entity, key]}"'


def test_numeric_param_comparison_casts_the_column():
    expr = parse_filter("params.lr > 0.005")
    assert expr == Comparison("param", "lr", ">", 0.005, 0)
    assert compile_filter(expr, column) == (
        """nullif(TRY_CAST(r."p_lr" AS DOUBLE), 'NaN'::DOUBLE) > ?""",
        [0.005],
    )


def test_compiled_sql_holds_placeholders_in_order():
    expr = parse_filter("params.o NOT IN ('a', 'b') or metrics.m <> 2 and tags.t is null")
    sql, params = compile_filter(expr, lambda entity, key: f"{entity}_{key}")
    assert sql == "(param_o NOT IN (?, ?) OR (metric_m != ? AND tag_t IS NULL))"
    assert params == ["a", "b", 2.0]


def test_hand_built_trees():
    empty_and, empty_or = BoolOp("AND", ()), BoolOp("OR", ())
    assert compile_filter(empty_and, column) == ("TRUE", [])
    assert compile_filter(empty_or, column) == ("FALSE", [])
    bad = Comparison("metric", "acc", "= 1; DROP TABLE runs; --", 1.0, 0)
    with pytest.raises(ValueError, match="unknown comparison operator"):
        compile_filter(bad, column)
    with pytest.raises(ValueError, match="unknown boolean operator 'XOR'"):
        compile_filter(BoolOp("XOR", (Comparison("metric", "acc", ">", 1.0, 0),)), column)


def test_referenced_lists_each_pair_once_in_first_use_order():
    text = (
        "metrics.acc > 1 or (params.lr = 'x' and metric.acc < 2) or created > 5 or start_time < 9"
    )
    assert referenced(parse_filter(text)) == [
        ("metric", "acc"),
        ("param", "lr"),
        ("attribute", "start_time"),
    ]
    assert referenced(None) == []


def test_a_dataset_filter_is_an_exists_over_the_runs_datasets():
    expr = parse_filter("datasets.context IN ('train', 'eval') and datasets.name = 'digits'")
    sql, params = compile_filter(expr, column)
    assert sql == (
        '(EXISTS (SELECT 1 FROM datasets d WHERE d.run_id = r."run_id" AND d.context IN (?, ?))'
        ' AND EXISTS (SELECT 1 FROM datasets d WHERE d.run_id = r."run_id" AND d.name = ?))'
    )
    assert params == ["train", "eval", "digits"]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE runs (run_id VARCHAR)")
        con.execute("CREATE TABLE datasets (run_id VARCHAR, name VARCHAR, context VARCHAR)")
        con.execute("INSERT INTO runs VALUES ('r1'), ('r2'), ('r3')")
        con.execute(
            "INSERT INTO datasets VALUES ('r1', 'digits', 'train'), ('r2', 'digits', 'test'), "
            "('r3', 'iris', 'eval')"
        )
        found = con.execute(f"SELECT run_id FROM runs r WHERE {sql}", params).fetchall()
    assert found == [("r1",)]  # r2 used digits for testing, r3 another dataset


def test_a_dataset_null_test_takes_no_parameter():
    sql, params = compile_filter(parse_filter("datasets.digest IS NOT NULL"), column)
    assert sql.endswith("AND d.digest IS NOT NULL)")
    assert params == []
