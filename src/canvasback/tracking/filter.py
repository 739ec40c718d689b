"""Parse run search filters and compile them to parameterised DuckDB SQL.

The grammar is MLflow's ``search_runs`` filter language plus ``OR``, parentheses
and numeric comparison of params::

    metrics.acc > 0.9 AND (params.opt IN ('adam', 'sgd') OR tags.`team name` LIKE 'vis%')

``AND`` binds tighter than ``OR``. Keywords are case-insensitive. Inside a string a
backslash escapes only the closing quote or another backslash, so Windows paths and
LIKE patterns keep their backslashes; a doubled quote also stands for the quote.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NoReturn, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Sequence

Entity = Literal["metric", "param", "tag", "attribute"]

ATTRIBUTES = ("run_id", "run_name", "status", "start_time", "end_time", "artifact_uri",
              "user_id", "lifecycle_stage", "experiment_id", "parent_run_id")  # fmt: skip
"""Attribute names a filter or ``order_by`` may use (besides the aliases)."""

NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})
"""Attributes held as milliseconds since the epoch; every other attribute is a string."""

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")

_ATTRIBUTE_ALIASES = {"created": "start_time", "Created": "start_time"}
_PREFIXES: dict[str, Entity] = {
    **dict.fromkeys(("metrics", "metric"), "metric"),
    **dict.fromkeys(("params", "param"), "param"),
    **dict.fromkeys(("tags", "tag"), "tag"),
    **dict.fromkeys(("attributes", "attribute", "attr"), "attribute"),
}
_COMPARATORS = ("=", "!=", "<", "<=", ">", ">=")
NULL_TESTS = ("IS NULL", "IS NOT NULL")
_STRING_OPS = (*_COMPARATORS, "LIKE", "ILIKE", "IN", "NOT IN")
OPERATORS = frozenset((*_STRING_OPS, *NULL_TESTS))
_KEYWORDS = frozenset({"AND", "OR", "LIKE", "ILIKE", "IN", "NOT", "IS", "NULL", "ASC", "DESC"})
# Each level of parentheses costs a few Python frames; the cap keeps hostile input
# from ending in RecursionError instead of FilterError.
_MAX_DEPTH = 100

_SPACE = re.compile(r"\s+")
_SPACE_CHAR = re.compile(r"\s")
_WORD = re.compile(r"[^\W\d]\w*")
_BARE_KEY = re.compile(r"\w+(?:\.\w+)*")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_TAIL = re.compile(r"[\w.]+")
_OPERATOR = re.compile(r"!=|<>|<=|>=|=|<|>")
# MLflow's rule for metric, param and tag names; it also keeps keys safe to splice
# into quoted SQL aliases by whoever implements ``column``.
_KEY_CHARS = re.compile(r"[/\w.\- :]+")
_PREFIX_HELP = "use metrics., params., tags. or attributes."
_QUOTE_HELP = "quote keys with spaces, dashes, slashes or colons in backticks or double quotes"


class FilterError(ValueError):
    """A filter or ``order_by`` clause that does not parse or breaks a typing rule.

    ``reason`` says what is wrong, ``text`` is the whole input, ``position`` the 0-based
    offset of the offending spot in it, ``what`` is ``"filter"`` or ``"order_by"``. The
    message repeats the input with a caret under that spot.
    """

    def __init__(self, reason: str, text: str, position: int, what: str = "filter") -> None:
        self.reason = reason
        self.text = text
        self.position = position
        self.what = what
        # Line breaks would push the caret off the column it points at.
        shown = _SPACE_CHAR.sub(" ", text)
        super().__init__(
            f"Invalid {what} at position {position}: {reason}\n  {shown}\n  {' ' * position}^"
        )

    def __reduce__(self) -> tuple[type[FilterError], tuple[str, str, int, str]]:
        return (type(self), (self.reason, self.text, self.position, self.what))


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
class _Token:
    kind: str  # ident, word, string, number, op, "(", ")", ",", end
    text: str
    pos: int
    value: str | float | None = None
    prefix: str = ""


def _describe(tok: _Token) -> str:
    return "the end of the input" if tok.kind == "end" else repr(tok.text)


class _Parser:
    """Recursive-descent parser over a lazily lexed token stream.

    Lexing on demand makes errors come out in order of position: a bad prefix at the
    start is reported before an unterminated string further on.
    """

    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.cursor = 0
        self.depth = 0
        self.ahead: _Token | None = None

    def fail(self, reason: str, pos: int) -> NoReturn:
        raise FilterError(reason, self.text, pos, self.what)

    def peek(self) -> _Token:
        if self.ahead is None:
            self.ahead = self.lex()
        return self.ahead

    def advance(self) -> _Token:
        tok = self.peek()
        if tok.kind != "end":
            self.ahead = None
        return tok

    def keyword(self) -> str | None:
        tok = self.peek()
        return tok.text.upper() if tok.kind == "word" else None

    def lex(self) -> _Token:
        text, n = self.text, len(self.text)
        space = _SPACE.match(text, self.cursor)
        i = space.end() if space else self.cursor
        if i >= n:
            self.cursor = n
            return _Token("end", "", n)
        ch = text[i]
        if ch in "(),":
            tok = _Token(ch, ch, i)
        elif ch in "'\"":
            value, end = self.quoted(i, "string")
            tok = _Token("string", text[i:end], i, value)
        elif match := _OPERATOR.match(text, i):
            tok = _Token("op", match.group(), i)
        elif match := _NUMBER.match(text, i):
            tok = self.number(match)
        elif match := _WORD.match(text, i):
            if match.end() < n and text[match.end()] == ".":
                tok = self.identifier_token(match)
            else:
                tok = _Token("word", match.group(), i)
        elif ch == "`":
            self.fail("backticks quote a key after a prefix, as in metrics.`my key`", i)
        else:
            self.fail(f"unexpected character {ch!r}", i)
        self.cursor = tok.pos + len(tok.text)
        return tok

    def quoted(self, start: int, what: str) -> tuple[str, int]:
        text, quote = self.text, self.text[start]
        out: list[str] = []
        i = start + 1
        while i < len(text):
            ch = text[i]
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if ch == "\\" and nxt in (quote, "\\"):
                out.append(nxt)
                i += 2
            elif ch == quote and nxt == quote:
                out.append(quote)
                i += 2
            elif ch == quote:
                return "".join(out), i + 1
            else:
                out.append(ch)
                i += 1
        msg = f"unterminated {what}: no closing {quote}"
        raise FilterError(msg, text, start, self.what)

    def number(self, match: re.Match[str]) -> _Token:
        end = match.end()
        if end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "_."):
            tail = _NUMBER_TAIL.match(self.text, end)
            shown = self.text[match.start() : tail.end() if tail else end]
            self.fail(f"invalid number {shown!r}", match.start())
        value = float(match.group())
        if not math.isfinite(value):
            self.fail(f"number {match.group()!r} is out of range", match.start())
        return _Token("number", match.group(), match.start(), value)

    def identifier_token(self, match: re.Match[str]) -> _Token:
        prefix, text = match.group(), self.text
        i = match.end() + 1
        if i < len(text) and text[i] in '`"':
            key, end = self.quoted(i, "quoted key")
            if not key:
                self.fail("empty key", i)
            if not _KEY_CHARS.fullmatch(key):
                self.fail(f"key {key!r} may only hold letters, digits and _ - . / : or spaces", i)
        elif bare := _BARE_KEY.match(text, i):
            key, end = bare.group(), bare.end()
        else:
            self.fail(f"expected a key after {prefix + '.'!r}; {_QUOTE_HELP}", i)
        return _Token("ident", text[match.start() : end], match.start(), key, prefix)

    def identifier(self) -> tuple[Entity, str, _Token]:
        tok = self.advance()
        if tok.kind == "ident":
            entity = _PREFIXES.get(tok.prefix.lower())
            if entity is None:
                self.fail(f"unknown prefix {tok.prefix!r} in {tok.text!r}; {_PREFIX_HELP}", tok.pos)
            key = str(tok.value)
        elif tok.kind == "word" and tok.text.upper() not in _KEYWORDS:
            entity, key = "attribute", tok.text
        else:
            found = _describe(tok)
            self.fail(
                f"expected an identifier such as metrics.acc or status, found {found}", tok.pos
            )
        if entity != "attribute":
            return entity, key, tok
        key = _ATTRIBUTE_ALIASES.get(key, key)
        if key not in ATTRIBUTES:
            allowed = ", ".join((*ATTRIBUTES, "created"))
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
            self.fail(f"expected AND, OR or ')', found {_describe(closing)}", closing.pos)
        return inner

    def comparison(self) -> Comparison:
        entity, key, ident = self.identifier()
        op, op_pos = self.operator(ident)
        values: list[_Token] = []
        value: str | float | tuple[str | float, ...] | None = None
        if op in ("IN", "NOT IN"):
            values = self.value_list(op)
            value = tuple(_literal(tok) for tok in values)
        elif op not in NULL_TESTS:
            tok = self.advance()
            if tok.kind not in ("string", "number"):
                shown = "<>" if self.text.startswith("<>", op_pos) else op
                found = "" if tok.kind == "end" else f", found {_describe(tok)}"
                self.fail(f"expected a value after {shown!r}{found}", tok.pos)
            values = [tok]
            value = _literal(tok)
        self.check(entity, key, ident.text, op, op_pos, values)
        return Comparison(entity, key, op, value, ident.pos)

    def operator(self, ident: _Token) -> tuple[str, int]:
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
                msg = f"expected {wanted} after {' '.join(words)}, found {_describe(found)}"
                self.fail(msg, found.pos)
            return " ".join([*words, wanted]), tok.pos
        msg = (
            f"expected an operator after {ident.text!r} (=, !=, <>, <, <=, >, >=, LIKE, ILIKE, "
            f"IN, NOT IN, IS NULL, IS NOT NULL), found {_describe(tok)}"
        )
        raise FilterError(msg, self.text, tok.pos, self.what)

    def value_list(self, op: str) -> list[_Token]:
        opening = self.advance()
        if opening.kind != "(":
            msg = f"{op} needs a parenthesised list, as in ('a', 'b'), found {_describe(opening)}"
            self.fail(msg, opening.pos)
        items: list[_Token] = []
        while True:
            tok = self.advance()
            if tok.kind == ")" and not items:
                self.fail(f"empty {op} list; give at least one value", opening.pos)
            if tok.kind not in ("string", "number", "end"):
                self.fail(f"expected a value in the {op} list, found {_describe(tok)}", tok.pos)
            items.append(tok)
            sep = self.advance()
            if sep.kind == ")":
                return items
            if "end" in (tok.kind, sep.kind):
                self.fail(f"the {op} list opened here is never closed", opening.pos)
            if sep.kind != ",":
                self.fail(f"expected ',' or ')' in the {op} list, found {_describe(sep)}", sep.pos)

    def check(
        self, entity: Entity, key: str, name: str, operator: str, op_pos: int, values: list[_Token]
    ) -> None:
        """Apply the typing rules: which operators and literal types suit the identifier."""
        numeric = entity == "metric" or (entity == "attribute" and key in NUMERIC_ATTRIBUTES)
        allowed = (*(_COMPARATORS if numeric else _STRING_OPS), *NULL_TESTS)
        if operator not in allowed:
            self.fail(f"{name} does not support {operator}; it allows {', '.join(allowed)}", op_pos)
        status = entity == "attribute" and key == "status" and operator not in ("LIKE", "ILIKE")
        for tok in values:
            shown = f"the {'number' if tok.kind == 'number' else 'string'} {tok.text}"
            if numeric and tok.kind == "string":
                self.fail(f"{name} compares only with numbers, got {shown}", tok.pos)
            if not numeric and tok.kind == "number" and entity != "param":
                self.fail(f"{name} compares only with strings, got {shown}", tok.pos)
            if tok.kind == "number" and operator not in _COMPARATORS:
                self.fail(f"{operator} on {name} needs strings, got {shown}", tok.pos)
            if status and tok.value not in RUN_STATUSES:
                self.fail(f"{name} must be one of {', '.join(RUN_STATUSES)}, got {shown}", tok.pos)


def _literal(tok: _Token) -> str | float:
    return tok.text if tok.value is None else tok.value


def _combine(op: Literal["AND", "OR"], operands: list[Expr]) -> Expr:
    same = [e.operands if isinstance(e, BoolOp) and e.op == op else (e,) for e in operands]
    flat = tuple(e for group in same for e in group)
    return flat[0] if len(flat) == 1 else BoolOp(op, flat)


def parse_filter(text: str | None) -> Expr | None:
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
    parser = _Parser(text, "filter")
    expr = parser.expression()
    tok = parser.peek()
    if tok.kind == ")":
        parser.fail("unmatched ')'", tok.pos)
    if tok.kind != "end":
        parser.fail(f"expected AND or OR, found {_describe(tok)}", tok.pos)
    return expr


def parse_order_by(clauses: Sequence[str] | None) -> list[OrderKey]:
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
        parser = _Parser(clause, "order_by")
        entity, key, _ = parser.identifier()
        ascending = True
        if parser.keyword() in ("ASC", "DESC"):
            ascending = parser.advance().text.upper() == "ASC"
        tok = parser.peek()
        if tok.kind != "end":
            parser.fail(f"expected ASC or DESC after the key, found {_describe(tok)}", tok.pos)
        keys.append(OrderKey(entity, key, ascending))
    return keys
