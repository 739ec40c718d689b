"""Protected aliases on a real store: moved or removed only with force, every forced move
kept as such, refusals that write nothing; and processes that protect and move at once,
resolved as every registry fact is (last writer wins), a killed forced move included."""

from __future__ import annotations

import socket
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.paused_calls import kill, resume, starter

import canvasback as cb
from canvasback.registry import RegistryNotFoundError, aliases, reads
from canvasback.registry.entities import AliasMoveRefusedError, ProtectedAliasError
from canvasback.tracking.validation import InvalidInputError


@pytest.fixture
def churn(client, model_run):
    """Model 'churn' with versions 1, 2, 3 and @champion on version 1."""
    uri = f"runs:/{model_run()}/model"
    for _ in range(3):
        cb.register_model(uri, "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    return client


def files_of(store) -> dict[str, int]:
    """Every file of the store, with its size: what a refused call must leave as it was."""
    return {
        str(p.relative_to(store)): p.stat().st_size for p in Path(store).rglob("*") if p.is_file()
    }


def test_a_protected_alias_moves_only_with_force_and_its_history_says_so(churn, store):
    churn.protect_alias("churn", "champion", reason="serves production")
    before = files_of(store)
    with pytest.raises(ProtectedAliasError) as refused:
        churn.set_registered_model_alias("churn", "champion", 2)
    message = str(refused.value)
    assert "Refusing to move @champion of 'churn' to version 2" in message
    assert f"@champion is protected (by {churn.get_alias_history('churn')[0].user_id} " in message
    assert f"on {socket.gethostname()} since " in message
    assert '"serves production"' in message
    assert "force=True" in message
    assert "unprotect_alias('churn', 'champion')" in message
    assert files_of(store) == before  # nothing written
    assert churn.get_model_version_by_alias("churn", "champion").version == "1"

    churn.set_registered_model_alias("churn", "champion", 2, force=True)
    assert churn.get_model_version_by_alias("churn", "champion").version == "2"
    first, forced = churn.get_alias_history("churn", "champion")
    assert (first.to_version, first.forced, first.overrode) == ("1", False, None)
    assert (forced.from_version, forced.to_version, forced.forced) == ("1", "2", True)
    assert forced.overrode.startswith("@champion is protected (by ")
    assert forced.host == socket.gethostname()
    rows = cb.sql(
        "SELECT to_version, forced, overrode IS NOT NULL FROM alias_history ORDER BY timestamp"
    ).fetchall()
    assert rows == [(1, False, False), (2, True, True)]


def test_a_view_s_move_meets_a_protection_set_since_the_view_read_the_store(churn):
    store = churn.store
    catalog = store.read()  # what a registry panel last showed its user
    churn.protect_alias("churn", "champion")  # written, not read back
    assert not reads.alias_guards(catalog, catalog_model_id(catalog))  # the view's read lacks it
    with pytest.raises(ProtectedAliasError, match="@champion is protected"):
        aliases.move(store, "churn", "champion", 2, refresh=False)
    assert churn.get_model_version_by_alias("churn", "champion").version == "1"


def catalog_model_id(catalog) -> str:
    return catalog.rows("SELECT model_id FROM registered_models")[0][0]


def test_force_on_an_unprotected_alias_is_an_ordinary_move(churn):
    churn.set_registered_model_alias("churn", "champion", 3, force=True)
    assert [m.forced for m in churn.get_alias_history("churn")] == [False, False]


def test_an_alias_protected_before_it_is_set_needs_force_to_be_set(churn):
    churn.protect_alias("churn", "challenger")
    with pytest.raises(ProtectedAliasError, match="@challenger is protected"):
        churn.set_registered_model_alias("churn", "challenger", 3)
    assert "challenger" not in churn.get_registered_model("churn").aliases
    churn.set_registered_model_alias("churn", "challenger", 3, force=True)
    assert churn.get_registered_model("churn").aliases == {"champion": "1", "challenger": "3"}


def test_a_protected_alias_is_removed_only_with_force(churn, store):
    churn.protect_alias("churn", "champion")
    before = files_of(store)
    with pytest.raises(ProtectedAliasError, match=r"Refusing to remove @champion of 'churn'"):
        churn.delete_registered_model_alias("churn", "champion")
    assert files_of(store) == before
    churn.delete_registered_model_alias("churn", "champion", force=True)
    removal = churn.get_alias_history("churn", "champion")[-1]
    assert (removal.to_version, removal.forced) == (None, True)


def test_unprotect_lets_the_alias_move_again(churn):
    churn.protect_alias("churn", "champion")
    churn.protect_alias("churn", "champion", reason="again")  # the later protection holds
    assert churn.get_protected_aliases("churn")["champion"].reason == "again"
    churn.unprotect_alias("churn", "champion")
    assert churn.get_protected_aliases("churn") == {}
    churn.set_registered_model_alias("churn", "champion", 2)
    assert not churn.get_alias_history("churn")[-1].forced
    with pytest.raises(
        RegistryNotFoundError, match="'champion' of registered model 'churn' is not"
    ):
        churn.unprotect_alias("churn", "champion")


def test_deleting_what_a_protected_alias_points_at_is_refused(churn, store):
    churn.protect_alias("churn", "champion")
    churn.set_registered_model_alias("churn", "challenger", 1)
    before = files_of(store)
    with pytest.raises(ProtectedAliasError, match=r"delete version 1 of 'churn'.*@champion"):
        churn.delete_model_version("churn", 1)
    with pytest.raises(ProtectedAliasError, match=r"delete registered model 'churn'.*@champion"):
        churn.delete_registered_model("churn")
    assert files_of(store) == before
    churn.delete_model_version("churn", 2)  # no protected alias points there
    churn.unprotect_alias("churn", "champion")
    churn.delete_model_version("churn", 1)
    assert churn.get_registered_model("churn").aliases == {}


def test_protected_aliases_are_listed_with_who_when_and_why(churn):
    churn.protect_alias("churn", "champion", reason="serves production")
    found = churn.get_protected_aliases("churn")["champion"]
    assert (found.name, found.alias, found.reason) == ("churn", "champion", "serves production")
    assert found.host == socket.gethostname()
    assert found.timestamp > 0
    rows = cb.sql("SELECT name, alias, reason FROM protected_aliases").fetchall()
    assert rows == [("churn", "champion", "serves production")]
    churn.rename_registered_model("churn", "churn-2")  # protection stays with the model
    with pytest.raises(ProtectedAliasError):
        churn.set_registered_model_alias("churn-2", "champion", 2)


def test_bad_input_is_refused_before_anything_is_written(churn, store):
    before = files_of(store)
    with pytest.raises(InvalidInputError, match=r"Invalid alias 'no way'"):
        churn.protect_alias("churn", "no way")
    with pytest.raises(RegistryNotFoundError, match="No registered model named 'other'"):
        churn.protect_alias("other", "champion")
    with pytest.raises(InvalidInputError, match=r"Invalid force 'yes' .*True or False"):
        churn.set_registered_model_alias("churn", "champion", 2, force="yes")
    with pytest.raises(InvalidInputError, match=r"Invalid force 1 for alias 'champion'"):
        churn.delete_registered_model_alias("churn", "champion", force=1)
    assert files_of(store) == before


def test_a_refusal_is_an_mlflow_exception_of_state():
    assert issubclass(ProtectedAliasError, AliasMoveRefusedError)
    assert ProtectedAliasError("x").error_code == "INVALID_STATE"


# -- processes at once ---------------------------------------------------------------
@pytest.fixture
def start(tmp_path, spawn_python, wait):
    """A registry call in a child that stops after its ``pause`` write and waits."""
    return starter(
        tmp_path,
        spawn_python,
        wait,
        watch=("create_exclusive", "write_parquet", "write_bytes"),
        flush=False,
        entity=False,
    )


REGISTRY_EVENTS = "events/exp=_registry"


def test_a_protection_on_disk_in_another_process_holds_for_the_next_move(churn, store, start, wait):
    protect = start(store, "protect_alias", "churn", "champion", pause=(REGISTRY_EVENTS, 1))
    assert protect.stopped()  # its protection written, the call not returned yet
    with pytest.raises(ProtectedAliasError, match="@champion is protected"):
        churn.set_registered_model_alias("churn", "champion", 2)
    outcome = resume(protect, wait)
    assert "raised" not in outcome, outcome


def test_protect_and_unprotect_at_once_the_later_stamp_holds_everywhere(
    churn, store, start, wait, run_python
):
    protect = start(store, "protect_alias", "churn", "champion", pause=(REGISTRY_EVENTS, 1))
    churn.unprotect_alias("churn", "champion")  # after the child's protection: it wins
    assert "returned" in resume(protect, wait)
    assert churn.get_protected_aliases("churn") == {}
    child = run_python(
        """
        import sys, canvasback as cb
        print(sorted(cb.MlflowClient(sys.argv[1]).get_protected_aliases("churn")))
        """,
        store,
    )
    assert child.stdout.strip() == "[]"
    # The facts on disk say why: two events of the alias, the unprotect's stamp later.
    events = [
        row
        for path in Path(store).glob(f"{REGISTRY_EVENTS}/*.parquet")
        for row in pq.read_table(path).to_pylist()
        if row["kind"] == "alias_protection"
    ]
    latest = max(events, key=lambda e: (e["timestamp"], e["writer"], e["seq"]))
    assert len(events) == 2
    assert latest["value"] is None


def test_a_move_stamped_before_a_protection_stands(churn, store, start, wait):
    move = start(
        store, "set_registered_model_alias", "churn", "champion", 2, pause=("model_aliases", 1)
    )
    churn.protect_alias("churn", "champion")
    assert "returned" in resume(move, wait)
    assert churn.get_model_version_by_alias("churn", "champion").version == "2"
    assert [m.forced for m in churn.get_alias_history("churn")] == [False, False]
    with pytest.raises(ProtectedAliasError):  # the next one meets the protection
        churn.set_registered_model_alias("churn", "champion", 3)


def test_a_forced_move_killed_between_its_fact_and_its_row_leaves_no_move(churn, store, start):
    churn.protect_alias("churn", "champion")
    move = start(
        store,
        "set_registered_model_alias",
        "churn",
        "champion",
        3,
        pause=(REGISTRY_EVENTS, 1),
        then="kill",
        force=True,
    )
    assert move.stopped()  # its forced fact on disk, its row not written
    kill(move)
    assert [m.to_version for m in churn.get_alias_history("churn")] == ["1"]
    assert cb.sql("SELECT count(*) FROM alias_history WHERE forced").fetchall() == [(0,)]
    churn.set_registered_model_alias("churn", "champion", 2, force=True)
    history = churn.get_alias_history("churn")
    assert [(m.to_version, m.forced) for m in history] == [("1", False), ("2", True)]
