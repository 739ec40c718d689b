"""The writer's row conversion: the columns and the order pa.array and sort_by would give."""

from __future__ import annotations

import math
import random

import pyarrow as pa
import pytest

from canvasback.store import declarations
from canvasback.store.write import arrow_rows
from canvasback.store.write.arrow_rows import SMALL_COLUMN, rows_to_table

STRINGS = ["a", None, "", "é ✓", "x" * 300, None, "last"]
INTS = [0, None, -(2**63), 2**63 - 1, 7, None, None, 1, 2, 3]
FLOATS = [0.5, None, math.inf, -math.inf, -0.0, 1e-300, None, 3.25, 9.0]


@pytest.mark.parametrize(
    ("values", "arrow_type"),
    [
        (STRINGS, pa.string()),
        (INTS, pa.int64()),
        (FLOATS, pa.float64()),
        ([None, None, None], pa.int64()),
        ([None] * 17, pa.float64()),
        ([], pa.string()),
        (list(range(SMALL_COLUMN)), pa.int64()),
        (["run-1"] * 3, pa.string()),
        (["run-1"] * (SMALL_COLUMN + 1), pa.string()),
        (["run-1"] * 3 + [None], pa.string()),
        ([None, None], pa.string()),
    ],
)
def test_a_small_column_is_the_column_pa_array_makes(values, arrow_type):
    built = arrow_rows._array(values, arrow_type)
    expected = pa.array(values, type=arrow_type)
    assert built.type == expected.type
    assert built.null_count == expected.null_count
    assert built.to_pylist() == expected.to_pylist()
    assert built.equals(expected)
    built.validate(full=True)


def test_nan_stays_a_value_in_a_float_column():
    built = arrow_rows._array([math.nan, None, 1.0], pa.float64())
    assert built.null_count == 1
    assert math.isnan(built[0].as_py())


def _outcome(convert, values, arrow_type):
    try:
        return convert(values, type=arrow_type).to_pylist()
    except arrow_rows.CONVERSION_ERRORS as exc:
        return type(exc).__name__


@pytest.mark.parametrize(
    ("values", "arrow_type"),
    [
        ([True, 2], pa.int64()),
        ([1, 2.5], pa.float64()),
        ([b"raw", "text"], pa.string()),
        ([1, "two"], pa.int64()),
        ([1.0, "x"], pa.float64()),
        (["a", 3], pa.string()),
        (["a", math.nan], pa.string()),
        ([2**63], pa.int64()),
        (["\ud800"] * 3, pa.string()),
        (["\ud800"] * (SMALL_COLUMN + 1), pa.string()),
    ],
)
def test_other_values_are_read_or_refused_as_pa_array_does(values, arrow_type):
    def built(values, type):  # noqa: A002  # pa.array's keyword
        return arrow_rows._array(values, type)

    expected = _outcome(pa.array, values, arrow_type)
    assert _outcome(built, values, arrow_type) == expected


def test_rows_of_every_table_convert_alike_small_or_large():
    for table in ("runs", "metrics", "params"):
        spec = declarations.table(table)
        row = tuple(
            {"string": "v", "int64": 5, "double": 0.5}[str(f.type)] for f in spec.arrow_schema()
        )
        small = rows_to_table(table, [row] * 3)
        large = rows_to_table(table, [row] * (SMALL_COLUMN + 1))
        assert small.schema == large.schema == spec.arrow_schema()
        assert small.to_pylist() == large.to_pylist()[:3]


def test_a_small_table_is_sorted_as_arrow_sorts_it():
    """Stable, ascending, nulls last, strings by code point: Arrow's sort_by."""
    spec = declarations.table("events")
    schema = spec.arrow_schema()
    names = ["b", "a", "é", "z", "😀", "\uff5a", "", None, "a"]
    kinds = ("tag", "status", None)
    rows = [  # entity_id, kind, key, value, timestamp, writer, seq; many ties, each stays
        (names[i % 9], kinds[i % 3], names[(i * 5) % 9], f"v{i}", (i * 7) % 4 or None, "w", i)
        for i in range(60)
    ]
    by_arrow = pa.Table.from_pylist(
        [dict(zip(schema.names, row, strict=True)) for row in rows], schema=schema
    ).sort_by([(k, "ascending") for k in spec.sort])
    assert rows_to_table("events", rows).equals(by_arrow)
    columns = [list(c) for c in zip(*rows[40:], strict=True)]
    assert rows_to_table("events", rows[:40], columns).equals(by_arrow)


def test_a_first_run_in_a_new_process_does_not_import_pandas(run_python, tmp_path):
    result = run_python(
        """
        import sys
        import canvasback as cb
        cb.set_store(sys.argv[1])
        with cb.start_run(params={"lr": 0.1}):
            cb.log_metric("loss", 0.5, step=1)
            cb.set_tag("team", "a")
        cb.flush()
        print("pandas" in sys.modules)
        print("pyarrow.compute" in sys.modules)  # Arrow's sort: a small flush sorts in Python
        print(cb.MlflowClient().get_metric_history(
            cb.last_active_run().info.run_id, "loss")[0].value)
        """,
        tmp_path / "store",
    )
    pandas_imported, compute_imported, value = result.stdout.split()
    assert pandas_imported == "False"
    assert compute_imported == "False"
    assert float(value) == 0.5


def _metric_rows(seed: int, n: int) -> list[tuple]:
    rng = random.Random(seed)  # noqa: S311  # test data, not secrets
    runs = ["r2", "r1", "r10", None]
    keys = ["loss", "acc", "Acc", "é", "z", "", None]
    return [
        (rng.choice(runs), rng.choice(keys), rng.randrange(50), rng.randrange(3), rng.random())
        for _ in range(n)
    ]


def _sorted_by_reference(table: str, rows: list[tuple]) -> pa.Table:
    spec = declarations.table(table)
    schema = spec.arrow_schema()
    by_column = zip(*rows, strict=True)
    columns = [pa.array(list(c), type=f.type) for c, f in zip(by_column, schema, strict=True)]
    whole = pa.Table.from_arrays(columns, schema=schema)
    return whole.sort_by([(k, "ascending") for k in spec.flush_sort or spec.sort])


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n", [2, 40, SMALL_COLUMN + 3])
def test_a_flush_orders_rows_as_a_stable_sort_by_its_keys(seed, n):
    rows = _metric_rows(seed, n)
    assert rows_to_table("metrics", rows).equals(_sorted_by_reference("metrics", rows))
    # Rows and column-wise batches in one buffer (two chunks) sort as one table.
    half = n // 2
    columns = [list(col) for col in zip(*rows[half:], strict=True)]
    both = rows_to_table("metrics", rows[:half], columns)
    assert both.equals(_sorted_by_reference("metrics", rows))


def test_events_sort_by_text_and_time_together():
    rows = [
        (entity, "tag", key, None, ts, "w", seq)
        for seq, (entity, key, ts) in enumerate(
            [("b", "k", 3), ("a", "k", 2), ("b", "j", 1), ("a", "k", 1), ("a", "k", None)]
        )
    ]
    assert rows_to_table("events", rows).equals(_sorted_by_reference("events", rows))


def _table(**columns: list) -> pa.Table:
    return pa.table({name: pa.array(values, type=pa.string()) for name, values in columns.items()})


def test_rows_already_in_order_are_left_in_place():
    one_run = _table(run_id=["r"] * 6, key=["acc"] * 3 + ["loss"] * 3)
    assert arrow_rows.sort_order(one_run, ["run_id", "key"]) is None
    one_key = _table(run_id=["r1", "r1", "r2"], key=["k"] * 3)
    assert arrow_rows.sort_order(one_key, ["run_id", "key"]) is None
    assert arrow_rows.sort_order(_table(run_id=[], key=[]), ["run_id", "key"]) is None
    assert arrow_rows.sort_order(_table(run_id=[None] * 3), ["run_id"]) is None


def test_rows_out_of_order_get_the_stable_order():
    alternating = _table(run_id=["r"] * 4, key=["loss", "acc", "loss", "acc"])
    assert arrow_rows.sort_order(alternating, ["run_id", "key"]).to_pylist() == [1, 3, 0, 2]
    with_null = _table(run_id=["r", None, "r"], key=["b", "a", "a"])
    assert arrow_rows.sort_order(with_null, ["run_id", "key"]).to_pylist() == [2, 0, 1]
    same_ends = _table(run_id=["r", "s", "r"], key=["k"] * 3)
    assert arrow_rows.sort_order(same_ends, ["run_id", "key"]).to_pylist() == [0, 2, 1]
    null_first = _table(key=[None, "a"])
    assert arrow_rows.sort_order(null_first, ["key"]).to_pylist() == [1, 0]
