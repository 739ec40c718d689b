"""Search filters and ``order_by`` evaluated over records held in memory.

For the few things a store keeps as claims rather than tables (logged models: a few per
run), a search reads the records and tests each against the parsed filter here, with
the meaning the SQL compiler gives it (``filter_sql``): a missing value matches no
comparison, a string compared with a number is read as one (or does not match), ``LIKE``
is case-sensitive with ``%`` and ``_``, ``ILIKE`` is not. Nothing of the filter text is
executed: it is parsed into a tree first (``filter.parse_filter``).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Protocol

from canvasback.query.filter import BoolOp, Comparison

if TYPE_CHECKING:
    from collections.abc import Sequence

    from canvasback.query.filter import Entity, Expr, OrderKey

Value = str | float | int | None


class Record(Protocol):
    """What a filter reads of a record: one value per (entity, key)."""

    def value(self, entity: Entity, key: str) -> Value:
        """The record's value for ``metrics.key``, ``params.key``, ... (None: it has none)."""


def matches(expr: Expr | None, record: Record) -> bool:
    """Whether a record passes a parsed filter (None: every record does)."""
    if expr is None:
        return True
    if isinstance(expr, BoolOp):
        results = (matches(operand, record) for operand in expr.operands)
        return all(results) if expr.op == "AND" else any(results)
    return _compare(expr, record.value(expr.entity, expr.key))


def _number(value: Value) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _like(pattern: str, text: str, *, ignore_case: bool) -> bool:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch("".join(parts), text, re.IGNORECASE if ignore_case else 0) is not None


def _compare(test: Comparison, value: Value) -> bool:  # noqa: PLR0911  # one case per operator
    op, literal = test.op, test.value
    if op == "IS NULL":
        return value is None
    if op == "IS NOT NULL":
        return value is not None
    if value is None:
        return False
    if op in ("IN", "NOT IN"):
        assert isinstance(literal, tuple)  # the parser gives IN a tuple  # noqa: S101
        found = str(value) in {str(v) for v in literal}
        return found if op == "IN" else not found
    if op in ("LIKE", "ILIKE"):
        return _like(str(literal), str(value), ignore_case=op == "ILIKE")
    left: str | float | None
    right: str | float
    if isinstance(literal, float | int) or isinstance(value, float | int):
        left, number = _number(value), _number(literal)  # type: ignore[arg-type]
        if left is None or number is None or math.isnan(left):
            return False
        right = number
    else:
        left, right = str(value), str(literal)
    return {
        "=": left == right,
        "!=": left != right,
        "<": left < right,  # type: ignore[operator]
        "<=": left <= right,  # type: ignore[operator]
        ">": left > right,  # type: ignore[operator]
        ">=": left >= right,  # type: ignore[operator]
    }[op]


def sort(records: Sequence[Record], order: Sequence[OrderKey]) -> list[Record]:
    """Records in ``order_by``'s order; a missing value sorts last either way."""
    ordered = list(records)
    for key in reversed(order):  # stable sorts: the last key first

        def value(record: Record, key: OrderKey = key) -> Value:
            return record.value(key.entity, key.key)

        present = [r for r in ordered if value(r) is not None]
        missing = [r for r in ordered if value(r) is None]
        present.sort(key=lambda r: _sort_key(value(r)), reverse=not key.ascending)
        ordered = present + missing
    return ordered


def _sort_key(value: Value) -> tuple[int, float, str]:
    number = _number(value) if isinstance(value, int | float) else None
    return (0, number, "") if number is not None else (1, 0.0, str(value))
