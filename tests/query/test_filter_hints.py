"""The hint for a filter that names a key no run has (query/filter_hints.py)."""

from __future__ import annotations

from canvasback.query.filter import parse_filter
from canvasback.query.filter_hints import closest_keys, missing_key_hint, missing_keys

KNOWN = {
    "run_name",
    "metrics.acc",
    "metrics.val_loss",
    "params.learning_rate",
    "params.lr_decay",
    "params.optimizer",
    "params.batch_size",
    "tags.team",
}


def test_missing_keys_are_the_metrics_params_and_tags_no_run_has():
    expr = parse_filter(
        "params.lr > 0.1 and (metrics.acc > 0.5 or tags.owner = 'x') and status = 'FINISHED'"
    )
    assert missing_keys(expr, KNOWN) == ["params.lr", "tags.owner"]
    assert missing_keys(None, KNOWN) == []


def test_the_closest_keys_by_spelling_initials_or_a_part():
    assert closest_keys("params.lr", KNOWN) == ["params.learning_rate", "params.lr_decay"]
    assert closest_keys("params.optimiser", KNOWN) == ["params.optimizer"]
    assert closest_keys("params.acc", KNOWN) == ["metrics.acc"]  # the key, in another entity
    assert closest_keys("metrics.val_los", KNOWN)[0] == "metrics.val_loss"
    assert closest_keys("params.zzz", KNOWN) == []


def test_the_hint_names_the_key_and_the_closest():
    hint = missing_key_hint(parse_filter("params.lr > 0.1"), KNOWN)
    assert hint == (
        "No run in this table has params.lr. Closest: params.learning_rate, params.lr_decay."
    )
    assert missing_key_hint(parse_filter("params.acc > 0.1"), KNOWN).endswith(
        "Closest: metrics.acc."
    )
    assert missing_key_hint(parse_filter("params.optimizer = 'adam'"), KNOWN) == ""
    assert missing_key_hint(None, KNOWN) == ""


def test_without_a_close_key_the_hint_lists_the_entity_s_keys():
    hint = missing_key_hint(parse_filter("params.zzz = 'a'"), KNOWN)
    assert hint == (
        "No run in this table has params.zzz; its params: params.batch_size, "
        "params.learning_rate, params.lr_decay, params.optimizer."
    )
    assert missing_key_hint(parse_filter("tags.x = 'a'"), {"run_name"}) == (
        "No run in this table has tags.x, nor any tags."
    )
