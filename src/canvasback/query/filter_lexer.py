"""The lexer of the search filter grammar: tokens on demand, errors with a position.

Lexing on demand makes errors come out in order of position: a bad prefix at the start
is reported before an unterminated string further on. :mod:`.filter` parses on top.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NoReturn

from canvasback.exceptions import MlflowException

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
QUOTE_HELP = "quote keys with spaces, dashes, slashes or colons in backticks or double quotes"


class FilterError(MlflowException, ValueError):
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
class Token:
    """One lexed token; ``value`` holds a string's or a number's value, or a key."""

    kind: str  # ident, word, string, number, op, "(", ")", ",", end
    text: str
    pos: int
    value: str | float | None = None
    prefix: str = ""


def describe(tok: Token) -> str:
    """How an error message names a token."""
    return "the end of the input" if tok.kind == "end" else repr(tok.text)


class Lexer:
    """A token stream over one filter or ``order_by`` text, read one token ahead."""

    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.cursor = 0
        self.depth = 0
        self.ahead: Token | None = None

    def fail(self, reason: str, pos: int) -> NoReturn:
        """Raise a FilterError at ``pos`` of the text."""
        raise FilterError(reason, self.text, pos, self.what)

    def peek(self) -> Token:
        """The next token, not consumed."""
        if self.ahead is None:
            self.ahead = self.lex()
        return self.ahead

    def advance(self) -> Token:
        """The next token, consumed (the end token is never consumed)."""
        tok = self.peek()
        if tok.kind != "end":
            self.ahead = None
        return tok

    def keyword(self) -> str | None:
        """The next token in upper case if it is a bare word, else None."""
        tok = self.peek()
        return tok.text.upper() if tok.kind == "word" else None

    def lex(self) -> Token:
        """Read one token at the cursor."""
        text, n = self.text, len(self.text)
        space = _SPACE.match(text, self.cursor)
        i = space.end() if space else self.cursor
        if i >= n:
            self.cursor = n
            return Token("end", "", n)
        ch = text[i]
        if ch in "(),":
            tok = Token(ch, ch, i)
        elif ch in "'\"":
            value, end = self.quoted(i, "string")
            tok = Token("string", text[i:end], i, value)
        elif match := _OPERATOR.match(text, i):
            tok = Token("op", match.group(), i)
        elif match := _NUMBER.match(text, i):
            tok = self.number(match)
        elif match := _WORD.match(text, i):
            if match.end() < n and text[match.end()] == ".":
                tok = self.identifier_token(match)
            else:
                tok = Token("word", match.group(), i)
        elif ch == "`":
            self.fail("backticks quote a key after a prefix, as in metrics.`my key`", i)
        else:
            self.fail(f"unexpected character {ch!r}", i)
        self.cursor = tok.pos + len(tok.text)
        return tok

    def quoted(self, start: int, what: str) -> tuple[str, int]:
        """The value of a quoted string starting at ``start``, and the offset after it."""
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

    def number(self, match: re.Match[str]) -> Token:
        """A number token; a number glued to letters or out of range is an error."""
        end = match.end()
        if end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "_."):
            tail = _NUMBER_TAIL.match(self.text, end)
            shown = self.text[match.start() : tail.end() if tail else end]
            self.fail(f"invalid number {shown!r}", match.start())
        value = float(match.group())
        if not math.isfinite(value):
            self.fail(f"number {match.group()!r} is out of range", match.start())
        return Token("number", match.group(), match.start(), value)

    def identifier_token(self, match: re.Match[str]) -> Token:
        """A ``prefix.key`` token, the key bare or quoted in backticks or double quotes."""
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
            self.fail(f"expected a key after {prefix + '.'!r}; {QUOTE_HELP}", i)
        return Token("ident", text[match.start() : end], match.start(), key, prefix)
