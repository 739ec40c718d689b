"""The filter grammar's lexer (query/filter_lexer.py): tokens read on demand, each with
its offset, and errors that point at the offending character."""

from __future__ import annotations

import pytest

from canvasback.query.filter_lexer import FilterError, Lexer, Token, describe


def tokens(text: str) -> list[Token]:
    lexer = Lexer(text, "filter")
    out = [lexer.advance()]
    while out[-1].kind != "end":
        out.append(lexer.advance())
    return out


def test_each_kind_of_token_with_its_offset_and_value():
    found = tokens("metrics.`my acc` >= -1.5e2 AND (tags.t IN ('a''b', \"c\"))")
    assert [(t.kind, t.text, t.pos, t.value) for t in found] == [
        ("ident", "metrics.`my acc`", 0, "my acc"),
        ("op", ">=", 17, None),
        ("number", "-1.5e2", 20, -150.0),
        ("word", "AND", 27, None),
        ("(", "(", 31, None),
        ("ident", "tags.t", 32, "t"),
        ("word", "IN", 39, None),
        ("(", "(", 42, None),
        ("string", "'a''b'", 43, "a'b"),
        (",", ",", 49, None),
        ("string", '"c"', 51, "c"),
        (")", ")", 54, None),
        (")", ")", 55, None),
        ("end", "", 56, None),
    ]
    assert found[0].prefix == "metrics"


def test_peek_reads_ahead_once_and_the_end_is_never_consumed():
    lexer = Lexer("status = 'x'", "filter")
    assert lexer.peek() is lexer.peek()
    assert lexer.keyword() == "STATUS"
    assert lexer.advance().text == "status"
    assert lexer.keyword() is None  # an operator is not a word
    assert [lexer.advance().kind for _ in range(4)] == ["op", "string", "end", "end"]
    assert describe(lexer.peek()) == "the end of the input"
    assert describe(Token("op", "<>", 3)) == "'<>'"


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("params.p = 'open", 11, "unterminated string: no closing '"),
        ('tags."open = 1', 5, 'unterminated quoted key: no closing "'),
        ("metrics.acc > 3x", 14, "invalid number '3x'"),
        ("metrics.acc > 1e400", 14, "number '1e400' is out of range"),
        ("metrics.acc ; 1", 12, "unexpected character ';'"),
        ("`acc` > 1", 0, "backticks quote a key after a prefix"),
        ("metrics.`` > 1", 8, "empty key"),
    ],
)
def test_errors_name_the_offset_and_the_reason(text, position, reason):
    with pytest.raises(FilterError) as info:
        tokens(text)
    assert (info.value.position, info.value.text, info.value.what) == (position, text, "filter")
    assert info.value.reason.startswith(reason)


def test_an_error_message_shows_the_input_on_one_line_with_a_caret():
    error = FilterError("bad", "a\nb\tc", 4, "order_by")
    assert str(error) == "Invalid order_by at position 4: bad\n  a b c\n      ^"
    assert isinstance(error, ValueError)
