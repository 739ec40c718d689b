"""The writer's row conversion: small columns are built without pa.array, with the same result."""

from __future__ import annotations

import math

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
