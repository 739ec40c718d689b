"""Parse run search filters and ``order_by`` clauses into expression trees.

The grammar is MLflow's ``search_runs`` filter language plus ``OR``, parentheses
and numeric comparison of params::

    metrics.acc > 0.9 AND (params.opt IN ('adam', 'sgd') OR tags.`team name` LIKE 'vis%')

``AND`` binds tighter than ``OR``. Keywords are case-insensitive. Inside a string a
backslash escapes only the closing quote or another backslash, so Windows paths and
LIKE patterns keep their backslashes; a doubled quote also stands for the quote.
Parsing knows nothing of SQL: ``filter_sql.compile_filter`` turns a tree into DuckDB SQL
with every value a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from canvasback.query.filter_lexer import FilterError, Lexer, Token, describe
from canvasback.store import schema

__all__ = [
    "ATTRIBUTES",
    "BoolOp",
    "Comparison",
    "Entity",
    "Expr",
    "FilterError",
    "OrderKey",
    "parse_filter",
    "parse_order_by",
]

if TYPE_CHECKING:
    from collections.abc import Sequence

Entity = Literal["metric", "param", "tag", "attribute", "dataset"]

ATTRIBUTES = schema.RUN_ATTRIBUTES
"""Attribute names a filter or ``order_by`` may use (besides the aliases)."""

NUMERIC_ATTRIBUTES = schema.TIME_ATTRIBUTES

DATASET_KEYS: Final = ("name", "digest", "context")
"""What a ``datasets.`` filter may compare: a dataset's name, digest and context."""


# MLflow's aliases, as its search grammar takes them.
_ATTRIBUTE_ALIASES = {
    **dict.fromkeys(("created", "Created"), "start_time"),
    **dict.fromkeys(("run name", "Run name", "Run Name"), "run_name"),
}
_PREFIXES: dict[str, Entity] = {
    **dict.fromkeys(("metrics", "metric"), "metric"),
    **dict.fromkeys(("params", "param", "parameters", "parameter"), "param"),
    **dict.fromkeys(("tags", "tag"), "tag"),
    **dict.fromkeys(("attributes", "attribute", "attr", "run"), "attribute"),
    **dict.fromkeys(("datasets", "dataset"), "dataset"),
}
_COMPARATORS = ("=", "!=", "<", "<=", ">", ">=")
NULL_TESTS = ("IS NULL", "IS NOT NULL")
_STRING_OPS = (*_COMPARATORS, "LIKE", "ILIKE", "IN", "NOT IN")
OPERATORS = frozenset((*_STRING_OPS, *NULL_TESTS))
_KEYWORDS = frozenset({"AND", "OR", "LIKE", "ILIKE", "IN", "NOT", "IS", "NULL", "ASC", "DESC"})
# Each level of parentheses costs a few Python frames; the cap keeps hostile input
# from ending in RecursionError instead of FilterError.
_MAX_DEPTH = 100

_PREFIX_HELP = "use metrics., params., tags. or attributes."


@dataclass(frozen=True)
class Comparison:
    """One ``identifier operator value`` test.

    ``key`` is the canonical name for attributes (``created`` becomes ``start_time``);
    ``op`` is one of ``= != < <= > >= LIKE ILIKE IN NOT IN IS NULL IS NOT NULL``;
    ``value`` is a tuple for ``IN``/``NOT IN`` and None for the null tests;
    ``position`` is the offset of the identifier in the filter text.
    """

    entity: Entity
    key: str
    op: str
    value: str | float | tuple[str | float, ...] | None
    position: int


@dataclass(frozen=True)
class BoolOp:
    """Conjunction or disjunction of two or more expressions."""

    op: Literal["AND", "OR"]
    operands: tuple[Expr, ...]


Expr: TypeAlias = Comparison | BoolOp


@dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` clause: what to sort on and in which direction."""

    entity: Entity
    key: str
    ascending: bool


@dataclass(frozen=True)
class Grammar:
    """What a filter may name: the searched view's attributes, and its entities."""

    attributes: tuple[str, ...]
    numeric: frozenset[str]
    aliases: dict[str, str]
    entities: frozenset[Entity]


RUNS: Final = Grammar(
    ATTRIBUTES,
    NUMERIC_ATTRIBUTES,
    _ATTRIBUTE_ALIASES,
    frozenset(("metric", "param", "tag", "dataset")),
)
EXPERIMENTS: Final = Grammar(
    ("name", "experiment_id", "lifecycle_stage", "creation_time", "last_update_time"),
    frozenset(("creation_time", "last_update_time")),
    {},
    frozenset(("tag",)),
)
"""``search_experiments``' filters: MLflow's experiment attributes and ``tags.``."""


class _Parser(Lexer):
    """Recursive-descent parser over the lexer's token stream."""

    def __init__(self, text: str, what: str, grammar: Grammar = RUNS) -> None:
        super().__init__(text, what)
        self.grammar = grammar

    def identifier(self) -> tuple[Entity, str, Token]:
        tok = self.advance()
        if tok.kind == "ident":
            entity = _PREFIXES.get(tok.prefix.lower())
            if entity is None:
                self.fail(f"unknown prefix {tok.prefix!r} in {tok.text!r}; {_PREFIX_HELP}", tok.pos)
            key = str(tok.value)
        elif tok.kind == "word" and tok.text.upper() not in _KEYWORDS:
            entity, key = "attribute", tok.text
        else:
            found = describe(tok)
            self.fail(
                f"expected an identifier such as metrics.acc or status, found {found}", tok.pos
            )
        grammar = self.grammar
        if entity != "attribute":
            if entity not in grammar.entities:
                self.fail(f"{tok.prefix}. keys are not searchable here; use tags.", tok.pos)
            if entity == "dataset" and key not in DATASET_KEYS:
                allowed = ", ".join(DATASET_KEYS)
                self.fail(f"unknown dataset key {key!r}; datasets have {allowed}", tok.pos)
            return entity, key, tok
        key = grammar.aliases.get(key, key)
        if key not in grammar.attributes:
            allowed = ", ".join((*grammar.attributes, *grammar.aliases))
            hint = (
                f"; logged values need a prefix, as in params.{key}" if tok.kind == "word" else ""
            )
            self.fail(f"unknown attribute {key!r}; attributes are {allowed}{hint}", tok.pos)
        return entity, key, tok

    def expression(self) -> Expr:
        operands = [self.conjunction()]
        while self.keyword() == "OR":
            self.advance()
            operands.append(self.conjunction())
        return _combine("OR", operands)

    def conjunction(self) -> Expr:
        operands = [self.primary()]
        while self.keyword() == "AND":
            self.advance()
            operands.append(self.primary())
        return _combine("AND", operands)

    def primary(self) -> Expr:
        opening = self.peek()
        if opening.kind != "(":
            return self.comparison()
        if self.depth >= _MAX_DEPTH:
            self.fail(f"parentheses nested more than {_MAX_DEPTH} deep", opening.pos)
        self.advance()
        self.depth += 1
        inner = self.expression()
        self.depth -= 1
        closing = self.advance()
        if closing.kind == "end":
            self.fail("this '(' is never closed", opening.pos)
        if closing.kind != ")":
            self.fail(f"expected AND, OR or ')', found {describe(closing)}", closing.pos)
        return inner

    def comparison(self) -> Comparison:
        entity, key, ident = self.identifier()
        op, op_pos = self.operator(ident)
        values: list[Token] = []
        value: str | float | tuple[str | float, ...] | None = None
        if op in ("IN", "NOT IN"):
            values = self.value_list(op)
            value = tuple(_literal(tok) for tok in values)
        elif op not in NULL_TESTS:
            tok = self.advance()
            if tok.kind not in ("string", "number"):
                shown = "<>" if self.text.startswith("<>", op_pos) else op
                found = "" if tok.kind == "end" else f", found {describe(tok)}"
                self.fail(f"expected a value after {shown!r}{found}", tok.pos)
            values = [tok]
            value = _literal(tok)
        self.check(entity, key, ident.text, op, op_pos, values)
        return Comparison(entity, key, op, value, ident.pos)

    def operator(self, ident: Token) -> tuple[str, int]:
        tok = self.advance()
        word = tok.text.upper() if tok.kind == "word" else ""
        if tok.kind == "op":
            return ("!=" if tok.text == "<>" else tok.text), tok.pos
        if word in ("LIKE", "ILIKE", "IN"):
            return word, tok.pos
        if word in ("NOT", "IS"):
            words = [word, "NOT"] if word == "IS" and self.keyword() == "NOT" else [word]
            if len(words) > 1:
                self.advance()
            wanted, found = ("IN" if word == "NOT" else "NULL"), self.advance()
            if found.text.upper() != wanted or found.kind != "word":
                msg = f"expected {wanted} after {' '.join(words)}, found {describe(found)}"
                self.fail(msg, found.pos)
            return " ".join([*words, wanted]), tok.pos
        msg = (
            f"expected an operator after {ident.text!r} (=, !=, <>, <, <=, >, >=, LIKE, ILIKE, "
            f"IN, NOT IN, IS NULL, IS NOT NULL), found {describe(tok)}"
        )
        raise FilterError(msg, self.text, tok.pos, self.what)

    def value_list(self, op: str) -> list[Token]:
        opening = self.advance()
        if opening.kind != "(":
            msg = f"{op} needs a parenthesised list, as in ('a', 'b'), found {describe(opening)}"
            self.fail(msg, opening.pos)
        items: list[Token] = []
        while True:
            tok = self.advance()
            if tok.kind == ")" and not items:
                self.fail(f"empty {op} list; give at least one value", opening.pos)
            if tok.kind not in ("string", "number", "end"):
                self.fail(f"expected a value in the {op} list, found {describe(tok)}", tok.pos)
            items.append(tok)
            sep = self.advance()
            if sep.kind == ")":
                return items
            if "end" in (tok.kind, sep.kind):
                self.fail(f"the {op} list opened here is never closed", opening.pos)
            if sep.kind != ",":
                self.fail(f"expected ',' or ')' in the {op} list, found {describe(sep)}", sep.pos)

    def check(
        self, entity: Entity, key: str, name: str, operator: str, op_pos: int, values: list[Token]
    ) -> None:
        """Apply the typing rules: which operators and literal types suit the identifier."""
        numeric = entity == "metric" or (entity == "attribute" and key in self.grammar.numeric)
        allowed = (*(_COMPARATORS if numeric else _STRING_OPS), *NULL_TESTS)
        if operator not in allowed:
            self.fail(f"{name} does not support {operator}; it allows {', '.join(allowed)}", op_pos)
        for tok in values:
            shown = f"the {'number' if tok.kind == 'number' else 'string'} {tok.text}"
            if numeric and tok.kind == "string":
                self.fail(f"{name} compares only with numbers, got {shown}", tok.pos)
            if not numeric and tok.kind == "number" and entity != "param":
                self.fail(f"{name} compares only with strings, got {shown}", tok.pos)
            if tok.kind == "number" and operator not in _COMPARATORS:
                self.fail(f"{operator} on {name} needs strings, got {shown}", tok.pos)


def _literal(tok: Token) -> str | float:
    return tok.text if tok.value is None else tok.value


def _combine(op: Literal["AND", "OR"], operands: list[Expr]) -> Expr:
    same = [e.operands if isinstance(e, BoolOp) and e.op == op else (e,) for e in operands]
    flat = tuple(e for group in same for e in group)
    return flat[0] if len(flat) == 1 else BoolOp(op, flat)


def parse_filter(text: str | None, grammar: Grammar = RUNS) -> Expr | None:
    """Parse a run search filter.

    Parameters
    ----------
    text
        The filter string, e.g. ``"metrics.acc > 0.9 and params.opt = 'adam'"``.

    Returns
    -------
    Expr or None
        The expression tree, or None when `text` is None, empty or only whitespace.

    Raises
    ------
    FilterError
        If the text does not parse or compares an identifier with the wrong kind of value.

    """
    if text is None or not text.strip():
        return None
    parser = _Parser(text, "filter", grammar)
    expr = parser.expression()
    tok = parser.peek()
    if tok.kind == ")":
        parser.fail("unmatched ')'", tok.pos)
    if tok.kind != "end":
        parser.fail(f"expected AND or OR, found {describe(tok)}", tok.pos)
    return expr


def parse_order_by(clauses: Sequence[str] | None, grammar: Grammar = RUNS) -> list[OrderKey]:
    """Parse MLflow ``order_by`` clauses.

    Parameters
    ----------
    clauses
        Strings such as ``"metrics.acc DESC"``, ``"params.lr"`` or
        ``"attributes.start_time ASC"``; a single string counts as one clause.

    Returns
    -------
    list of OrderKey
        One per clause, in the given order; ascending unless ``DESC``.

    Raises
    ------
    FilterError
        If a clause is not an identifier optionally followed by ``ASC`` or ``DESC``.

    """
    if clauses is None:
        return []
    if isinstance(clauses, str):
        clauses = [clauses]
    keys: list[OrderKey] = []
    for clause in clauses:
        parser = _Parser(clause, "order_by", grammar)
        entity, key, tok = parser.identifier()
        if entity == "dataset":
            parser.fail("datasets. keys filter runs but cannot order them", tok.pos)
        ascending = True
        if parser.keyword() in ("ASC", "DESC"):
            ascending = parser.advance().text.upper() == "ASC"
        tok = parser.peek()
        if tok.kind != "end":
            parser.fail(f"expected ASC or DESC after the key, found {describe(tok)}", tok.pos)
        keys.append(OrderKey(entity, key, ascending))
    return keys
