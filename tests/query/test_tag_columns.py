"""A filter's keys as SQL over one view (query/tag_columns.py): attributes as its
columns, each tag key one left join of its tags view, the key a bound parameter."""

from __future__ import annotations

import duckdb
import pytest

from canvasback.query import filter as grammar
from canvasback.query.filter_sql import compile_filter
from canvasback.query.tag_columns import TaggedColumns


def columns() -> TaggedColumns:
    return TaggedColumns({"name": "x.name"}, "item_tags", "{t}.item_id = x.item_id")


def test_an_attribute_is_its_column_and_a_tag_is_joined_once_per_key():
    mapped = columns()
    assert mapped("attribute", "name") == "x.name"
    assert mapped("tag", "owner") == "t0.value"
    assert mapped("tag", "team") == "t1.value"
    assert mapped("tag", "owner") == "t0.value"  # the same join again
    assert mapped.joins == [
        "LEFT JOIN (SELECT * FROM item_tags WHERE key = ?) t0 ON t0.item_id = x.item_id",
        "LEFT JOIN (SELECT * FROM item_tags WHERE key = ?) t1 ON t1.item_id = x.item_id",
    ]
    assert mapped.params == ["owner", "team"]
    with pytest.raises(KeyError):
        mapped("attribute", "colour")  # the grammar lets through only the view's attributes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tags.owner = 'ana'", ["a"]),
        ("tags.owner = 'ana' and tags.team = 'x'", []),
        ("tags.owner IS NULL", ["c"]),
        ("name LIKE 'b%' or tags.`a key` = 'v'", ["b", "c"]),
        # A key with an SQL comment in it is a value, bound, never pasted.
        ("tags.`x -- y` = 'v' and name = 'beta'", ["b"]),
    ],
)
def test_a_compiled_filter_over_the_joins_finds_the_items(text, expected):
    expr = grammar.parse_filter(text, grammar.EXPERIMENTS)
    mapped = TaggedColumns({"name": "x.name"}, "item_tags", "{t}.item_id = x.item_id")
    where, params = compile_filter(expr, mapped)
    with duckdb.connect() as con:
        con.execute("CREATE TABLE items (item_id VARCHAR, name VARCHAR)")
        con.execute("CREATE TABLE item_tags (item_id VARCHAR, key VARCHAR, value VARCHAR)")
        con.execute("INSERT INTO items VALUES ('a', 'alpha'), ('b', 'beta'), ('c', 'gamma')")
        con.execute(
            "INSERT INTO item_tags VALUES ('a', 'owner', 'ana'), ('b', 'owner', 'bo'), "
            "('a', 'team', 'y'), ('c', 'a key', 'v'), ('b', 'x -- y', 'v')"
        )
        rows = con.execute(
            f"SELECT x.item_id FROM items x {' '.join(mapped.joins)} WHERE {where} "
            "ORDER BY x.item_id",
            [*mapped.params, *params],
        ).fetchall()
    assert [r[0] for r in rows] == expected
