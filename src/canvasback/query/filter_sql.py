"""Compile parsed search filters to DuckDB SQL with bound parameters.

Literals never reach the SQL text: each becomes a ``?`` placeholder. Column expressions
come from the caller, which decides how a run's metric, param or tag value is joined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasback.query.filter import NULL_TESTS, OPERATORS, BoolOp, Comparison

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from canvasback.query.filter import Entity, Expr


def compile_filter(expr: Expr, column: Callable[[Entity, str], str]) -> tuple[str, list[object]]:
    """Compile an expression to a DuckDB boolean SQL expression.

    Parameters
    ----------
    expr
        A tree from `parse_filter`.
    column
        Maps ``(entity, key)`` to the SQL expression (a column or quoted alias, pasted
        as is) holding that value for the current run: DOUBLE for metrics, VARCHAR for
        params, tags and most attributes, BIGINT for ``start_time``/``end_time``.

    Returns
    -------
    sql : str
        The boolean expression, with a ``?`` placeholder for every literal.
    params : list of object
        The values to bind, in placeholder order.

    Raises
    ------
    ValueError
        If a hand-built tree holds an operator outside the grammar.

    Notes
    -----
    A missing value is NULL, so comparisons with it are NULL and the run does not match.
    A param compared with a number goes through ``TRY_CAST(... AS DOUBLE)``, so a param
    that does not parse as a number never matches; nor does one that parses as NaN, as
    NaN metrics match no comparison.

    """
    params: list[object] = []
    return _compile(expr, column, params), params


def _compile(expr: Expr, column: Callable[[Entity, str], str], params: list[object]) -> str:
    if isinstance(expr, BoolOp):
        if expr.op not in ("AND", "OR"):
            msg = f"unknown boolean operator {expr.op!r}"
            raise ValueError(msg)
        if not expr.operands:
            return "TRUE" if expr.op == "AND" else "FALSE"
        return "(" + f" {expr.op} ".join(_compile(e, column, params) for e in expr.operands) + ")"
    if expr.op not in OPERATORS:
        msg = f"unknown comparison operator {expr.op!r}"
        raise ValueError(msg)
    if expr.entity == "dataset":
        return _compile_dataset(expr, column, params)
    col = column(expr.entity, expr.key)
    if expr.op in NULL_TESTS:
        return f"{col} {expr.op}"
    if isinstance(expr.value, tuple):
        params.extend(expr.value)
        return f"{col} {expr.op} ({', '.join('?' * len(expr.value))})"
    if expr.entity == "param" and isinstance(expr.value, int | float):
        # A param "nan" compares with nothing, as a NaN metric does (DuckDB would sort
        # NaN above every number and match it with every > and >=).
        col = f"nullif(TRY_CAST({col} AS DOUBLE), 'NaN'::DOUBLE)"
    params.append(expr.value)
    return f"{col} {expr.op} ?"


def _compile_dataset(
    expr: Comparison, column: Callable[[Entity, str], str], params: list[object]
) -> str:
    """A run matches when any dataset it logged matches (``datasets`` view, alias ``d``)."""
    run_id = column("attribute", "run_id")
    test = f"d.{expr.key} {expr.op}"  # the key is one of name, digest, context (parsed)
    if expr.op not in NULL_TESTS:
        values = expr.value if isinstance(expr.value, tuple) else (expr.value,)
        params.extend(values)
        marks = ", ".join("?" * len(values))
        test += f" ({marks})" if isinstance(expr.value, tuple) else " ?"
    return f"EXISTS (SELECT 1 FROM datasets d WHERE d.run_id = {run_id} AND {test})"


def referenced(expr: Expr | None) -> list[tuple[Entity, str]]:
    """List the distinct ``(entity, key)`` pairs an expression uses.

    Parameters
    ----------
    expr
        A tree from `parse_filter`, or None.

    Returns
    -------
    list of (entity, key)
        Each pair once, in order of first use; empty for None.

    """
    return list(dict.fromkeys(_walk(expr)))


def _walk(expr: Expr | None) -> Iterator[tuple[Entity, str]]:
    if isinstance(expr, Comparison):
        yield expr.entity, expr.key
    elif isinstance(expr, BoolOp):
        for operand in expr.operands:
            yield from _walk(operand)
