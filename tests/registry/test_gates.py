"""Gates on a real store: a stored filter every process applies, a callable of one
process; refusals that name the gate and the failing values and write nothing; force,
which passes a gate only when the gate allows it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

import canvasback as cb
from canvasback.query.filter_lexer import FilterError
from canvasback.registry import RegistryNotFoundError, tables, writes
from canvasback.registry.entities import GateFailedError, RegistryConflictError
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from canvasback.registry.gates import Candidate

ACCURACY = "metrics.val_acc >= 0.9 AND tags.validated = 'yes'"


@pytest.fixture
def churn(client):
    """'churn' v1 from a run with val_acc 0.85, v2 from one with 0.93; @champion on v1."""
    for acc in (0.85, 0.93):
        with cb.start_run(live=False) as run:
            cb.log_metric("val_acc", acc)
            cb.log_param("note", "'); DROP TABLE runs; --")
            cb.set_tag("validated", "no")
            cb.log_text("flavors: {}\n", "model/MLmodel")
        cb.register_model(f"runs:/{run.info.run_id}/model", "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    return client


def files_of(store) -> dict[str, int]:
    return {
        str(p.relative_to(store)): p.stat().st_size for p in Path(store).rglob("*") if p.is_file()
    }


def test_a_filter_gate_names_the_failing_values_and_writes_nothing(churn, store):
    churn.set_alias_gate("churn", "champion", "min-acc", ACCURACY)
    before = files_of(store)
    with pytest.raises(GateFailedError) as refused:
        churn.set_registered_model_alias("churn", "champion", 2)
    message = str(refused.value)
    assert f"gate 'min-acc' ({ACCURACY}) fails" in message
    # v2's accuracy passes; the tag fails, read from the run (the version has none).
    assert "metrics.val_acc is" not in message
    assert "tags.validated is 'no' (the run's tag) (needs = 'yes')" in message
    assert "force=True does not pass gate 'min-acc'" in message
    assert "delete_alias_gate('churn', 'champion', 'min-acc')" in message
    assert files_of(store) == before
    with pytest.raises(GateFailedError):  # force passes no gate that does not allow it
        churn.set_registered_model_alias("churn", "champion", 2, force=True)
    assert files_of(store) == before

    churn.set_model_version_tag("churn", 2, "validated", "yes")  # the version's tag wins
    churn.set_registered_model_alias("churn", "champion", 2)
    assert churn.get_model_version_by_alias("churn", "champion").version == "2"
    assert not churn.get_alias_history("churn")[-1].forced


def test_every_failing_comparison_is_named_with_its_value(churn):
    churn.set_model_version_tag("churn", 1, "validated", "maybe")
    churn.set_alias_gate("churn", "champion", "min-acc", ACCURACY)
    with pytest.raises(GateFailedError) as refused:
        churn.set_registered_model_alias("churn", "champion", 1)
    message = str(refused.value)
    assert "metrics.val_acc is 0.85 (needs >= 0.9)" in message
    assert "tags.validated is 'maybe' (the version's tag) (needs = 'yes')" in message
    churn.set_alias_gate("churn", "champion", "min-acc", "metrics.loss < 1 OR params.lr = '0.1'")
    with pytest.raises(GateFailedError) as refused:
        churn.set_registered_model_alias("churn", "champion", 1)
    assert "metrics.loss is missing (needs < 1.0); params.lr is missing (needs = '0.1')" in str(
        refused.value
    )


def test_a_gate_that_allows_force_is_passed_with_force_and_the_move_says_so(churn):
    churn.set_alias_gate("churn", "champion", "min-acc", "metrics.val_acc >= 0.9", allow_force=True)
    churn.set_registered_model_alias("churn", "champion", 2)  # passes: 0.93
    with pytest.raises(GateFailedError, match="force=True passes gate 'min-acc'"):
        churn.set_registered_model_alias("churn", "champion", 1)
    churn.set_registered_model_alias("churn", "champion", 1, force=True)
    forced = churn.get_alias_history("churn")[-1]
    assert (forced.to_version, forced.forced) == ("1", True)
    assert forced.overrode == (
        "gate 'min-acc' (metrics.val_acc >= 0.9) fails: metrics.val_acc is 0.85 (needs >= 0.9)"
    )


def test_a_filter_is_compared_never_run(churn):
    # The param's value reads as SQL; it is a string compared with a string.
    gate = "params.note = '''); DROP TABLE runs; --'"
    churn.set_alias_gate("churn", "champion", "odd", gate)
    churn.set_registered_model_alias("churn", "champion", 2)
    churn.set_alias_gate("churn", "champion", "odd", "params.note = 'x'' OR ''1''=''1'")
    with pytest.raises(GateFailedError, match=r"params.note is .* \(needs = \"x' OR '1'='1\"\)"):
        churn.set_registered_model_alias("churn", "champion", 1)
    assert cb.sql("SELECT count(*) FROM runs").fetchall() == [(2,)]


def test_a_stored_gate_holds_in_every_process_and_goes_when_deleted(churn, store, run_python):
    churn.set_alias_gate("churn", "champion", "min-acc", "metrics.val_acc >= 0.9")
    move = """
        import sys, canvasback as cb
        from canvasback.exceptions import MlflowException
        try:
            cb.MlflowClient(sys.argv[1]).set_registered_model_alias("churn", "champion", 1)
        except MlflowException as exc:
            print(type(exc).__name__, exc)
        else:
            print("moved")
        """
    churn.set_registered_model_alias("churn", "champion", 2)
    refused = run_python(move, store).stdout
    assert refused.startswith("GateFailedError Refusing to move @champion of 'churn' to version 1")
    assert "metrics.val_acc is 0.85" in refused
    churn.delete_alias_gate("churn", "champion", "min-acc")
    assert churn.get_alias_gates("churn") == []
    assert run_python(move, store).stdout.strip() == "moved"


def test_a_callable_gate_lives_in_its_process_only(churn, store, run_python):
    seen = []

    def reviewed(candidate: Candidate) -> bool:
        seen.append(candidate)
        return candidate.version_tags.get("reviewed") == "yes"

    churn.register_alias_gate("churn", "champion", "review", reviewed)
    with pytest.raises(GateFailedError, match=r"gate 'review' \(a Python check of this process\)"):
        churn.set_registered_model_alias("churn", "champion", 2)
    candidate = seen[0]
    assert (candidate.name, candidate.alias, candidate.version) == ("churn", "champion", 2)
    assert candidate.metrics == {"val_acc": 0.93}
    assert candidate.run_tags["validated"] == "no"
    assert candidate.status == "FINISHED"
    churn.set_model_version_tag("churn", 2, "reviewed", "yes")
    churn.set_registered_model_alias("churn", "champion", 2)

    moved = run_python(
        """
        import sys, canvasback as cb
        client = cb.MlflowClient(sys.argv[1])
        client.set_registered_model_alias("churn", "champion", 1)  # no such gate here
        print(client.get_alias_gates("churn"))
        """,
        store,
    )
    assert moved.stdout.strip() == "[]"
    assert [g.gate for g in churn.get_alias_gates("churn", "champion")] == ["review"]
    cb.reset()  # a new context: the callable is gone
    assert cb.MlflowClient(store).get_alias_gates("churn") == []


@pytest.mark.parametrize(
    ("returns", "why"),
    [
        (False, "it returned False"),
        ("yes", "it returned 'yes', not True or False"),
        (np.float64(1.0), "it returned np.float64(1.0), not True or False"),
    ],
)
def test_a_callable_that_does_not_say_true_refuses(churn, returns, why):
    churn.register_alias_gate("churn", "champion", "check", lambda _c: returns)
    with pytest.raises(GateFailedError, match=f"gate 'check' .* fails: {re.escape(why)}"):
        churn.set_registered_model_alias("churn", "champion", 2)


def test_a_callable_that_raises_refuses_and_numpy_true_passes(churn):
    def broken(_candidate):
        missing = "val_loss"
        raise KeyError(missing)

    churn.register_alias_gate("churn", "champion", "check", broken)
    with pytest.raises(GateFailedError, match="it raised KeyError: 'val_loss'"):
        churn.set_registered_model_alias("churn", "champion", 2)
    churn.delete_alias_gate("churn", "champion", "check")
    churn.register_alias_gate(
        "churn", "champion", "check", lambda c: np.float64(c.metrics["val_acc"]) > 0.9
    )
    churn.set_registered_model_alias("churn", "champion", 2)


def test_gates_are_listed_with_their_kind(churn):
    churn.set_alias_gate("churn", "champion", "min-acc", "metrics.val_acc >= 0.9")
    churn.set_alias_gate(
        "churn", "challenger", "some-acc", "metrics.val_acc > 0.5", allow_force=True
    )
    churn.register_alias_gate("churn", "champion", "review", bool)
    found = churn.get_alias_gates("churn")
    assert [(g.alias, g.gate, g.filter_string, g.allow_force) for g in found] == [
        ("challenger", "some-acc", "metrics.val_acc > 0.5", True),
        ("champion", "min-acc", "metrics.val_acc >= 0.9", False),
        ("champion", "review", None, False),
    ]
    assert found[2].check is bool
    assert all(g.user_id for g in found[:2])
    rows = cb.sql("SELECT alias, gate, filter, allow_force FROM alias_gates ORDER BY gate")
    assert rows.fetchall() == [
        ("champion", "min-acc", "metrics.val_acc >= 0.9", False),
        ("challenger", "some-acc", "metrics.val_acc > 0.5", True),
    ]


def test_bad_gates_are_refused_when_set_and_nothing_is_written(churn, store):
    before = files_of(store)
    with pytest.raises(FilterError, match="expected a value after '>='"):
        churn.set_alias_gate("churn", "champion", "g", "metrics.val_acc >=")
    with pytest.raises(FilterError, match=r"datasets\. keys are not searchable here"):
        churn.set_alias_gate("churn", "champion", "g", "datasets.name = 'x'")
    with pytest.raises(InvalidInputError, match=r"Invalid gate filter '': a filter such as"):
        churn.set_alias_gate("churn", "champion", "g", "")
    with pytest.raises(InvalidInputError, match=r"Invalid gate name 'a/b'"):
        churn.set_alias_gate("churn", "champion", "a/b", "metrics.val_acc > 0")
    with pytest.raises(InvalidInputError, match=r"Invalid check 3 for gate 'g'"):
        churn.register_alias_gate("churn", "champion", "g", 3)
    with pytest.raises(RegistryNotFoundError, match="@champion of 'churn' has no gate 'g'"):
        churn.delete_alias_gate("churn", "champion", "g")
    assert files_of(store) == before


def test_one_name_is_one_gate_of_either_kind(churn):
    churn.set_alias_gate("churn", "champion", "g", "metrics.val_acc > 0")
    with pytest.raises(RegistryConflictError, match="is a filter stored in the store"):
        churn.register_alias_gate("churn", "champion", "g", bool)
    churn.register_alias_gate("churn", "champion", "h", bool)
    with pytest.raises(RegistryConflictError, match="is a Python check registered in this"):
        churn.set_alias_gate("churn", "champion", "h", "metrics.val_acc > 0")


def test_a_stored_gate_that_does_not_parse_or_is_damaged_refuses(churn):
    # As a later canvasback, or a hand, might write it: the gate fails closed.
    model_id = cb.sql("SELECT model_id FROM registered_models").fetchall()[0][0]
    value = '{"filter": "metrics.val_acc >>> 1", "allow_force": false}'
    writes.event(churn.store, model_id, tables.EVENT_ALIAS_GATE, "champion/future", value)
    churn.store.flush()
    with pytest.raises(GateFailedError, match=r"gate 'future' .* its filter does not parse here"):
        churn.set_registered_model_alias("churn", "champion", 2)
    writes.event(churn.store, model_id, tables.EVENT_ALIAS_GATE, "champion/future", "{damaged")
    churn.store.flush()
    with pytest.raises(GateFailedError, match=r"gate 'future' .* its stored value holds no filter"):
        churn.set_registered_model_alias("churn", "champion", 2)
    rows = cb.sql("SELECT gate, filter, allow_force FROM alias_gates").fetchall()
    assert rows == [("future", None, False)]
