"""Registry calls racing in real processes, and killed (SIGKILL) at every write.

A child process runs one registry call and stops right after a chosen write to the
store (a claim or a segment file); the test then lets another process act and resumes
the child, or kills it with SIGKILL. One name belongs to one live model at every moment,
every call that lost a race raises, and whatever a killed call left is settled, by the
next call that writes or by ``recover``, to the state before or after the whole call.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import multiprocessing
import subprocess
import sys
import uuid
from typing import Any

import pytest
from tests.paused_calls import kill, resume, starter

import canvasback as cb
from canvasback.registry import RegistryNotFoundError
from canvasback.registry.claims import NAME_CLAIMS
from canvasback.registry.entities import RegistryConflictError
from canvasback.registry.repair import recover_registry

pytestmark = pytest.mark.slow

SOURCE = "runs:/0123456789abcdef/model"


@pytest.fixture
def start(tmp_path, spawn_python, wait):
    """Start a registry call in a child; it stops after the ``pause`` write and waits."""
    return starter(
        tmp_path,
        spawn_python,
        wait,
        watch=("create_exclusive", "write_parquet", "write_bytes"),
        flush=False,
        entity=True,
    )


@pytest.fixture
def client(store):
    client = cb.MlflowClient(store)
    client.create_registered_model("a", tags={"team": "x"}, description="first")
    client.create_model_version("a", SOURCE)
    return client


def names_everywhere(client, candidates) -> set[str]:
    """The live names among ``candidates``; name lookups and the views must agree."""
    by_lookup = set()
    for name in candidates:
        with contextlib.suppress(RegistryNotFoundError):
            model = client.get_registered_model(name)
            assert model.name == name
            assert model.creation_timestamp > 0  # never a phantom
            by_lookup.add(name)
    by_search = {m.name for m in client.search_registered_models()} & set(candidates)
    by_sql = {r[0] for r in client.sql("SELECT name FROM registered_models").fetchall()}
    assert by_lookup == by_search == by_sql & set(candidates), (by_lookup, by_search, by_sql)
    return by_lookup


def assert_free(client, *free: str) -> None:
    """Names no model holds: each can be created (and then holds)."""
    for name in free:
        with pytest.raises(RegistryNotFoundError):
            client.get_registered_model(name)
        assert client.create_registered_model(name).name == name
        with pytest.raises(RegistryConflictError, match="already exists"):
            client.create_registered_model(name)


# -- two processes, one model --------------------------------------------------------
def test_two_renames_of_one_model_one_wins(client, store, start, wait):
    first = start(store, "rename_registered_model", "a", "b", pause=("registered-model-names", 1))
    assert first.stopped()  # inside its rename, its new name claimed
    assert client.rename_registered_model("a", "c").name == "c"
    outcome = resume(first, wait)
    assert outcome.get("raised") == "RegistryNotFoundError", outcome
    assert "renamed to 'c' by another call" in outcome["message"]
    assert names_everywhere(client, ["a", "b", "c"]) == {"c"}
    assert [v.version for v in client.get_registered_model("c").latest_versions] == ["1"]
    assert_free(client, "a", "b")


def test_a_rename_racing_a_delete_leaves_no_phantom(client, store, start, wait):
    rename = start(store, "rename_registered_model", "a", "b", pause=("registered-model-names", 1))
    client.delete_registered_model("a")
    outcome = resume(rename, wait)
    assert outcome.get("raised") == "RegistryNotFoundError", outcome
    assert "was deleted by another call" in outcome["message"]
    assert names_everywhere(client, ["a", "b"]) == set()
    assert_free(client, "a", "b")
    assert client.search_model_versions() == []  # the new "a" is a new model


def test_a_delete_racing_a_rename_one_wins(client, store, start, wait):
    delete = start(store, "delete_registered_model", "a", pause=("", 1))  # its first write
    with pytest.raises(RegistryNotFoundError, match="No registered model named 'a'"):
        client.rename_registered_model("a", "b")  # the delete won: "a" names nothing
    assert "returned" in resume(delete, wait)
    assert names_everywhere(client, ["a", "b"]) == set()
    assert_free(client, "a", "b")


def test_a_registration_racing_a_delete_raises(client, store, start, wait):
    register = start(store, "create_model_version", "a", SOURCE, pause=("model-versions", 1))
    client.delete_registered_model("a")
    outcome = resume(register, wait)
    assert outcome.get("raised") == "RegistryNotFoundError", outcome
    assert "was deleted by another call while version 2" in outcome["message"]
    assert client.search_model_versions() == []
    assert_free(client, "a")


def test_a_registration_racing_a_rename_raises_and_keeps_nothing(client, store, start, wait):
    register = start(store, "create_model_version", "a", SOURCE, pause=("model-versions", 1))
    client.rename_registered_model("a", "b")
    outcome = resume(register, wait)
    assert outcome.get("raised") == "RegistryNotFoundError", outcome
    assert "renamed to 'b' by another call while version 2" in outcome["message"]
    assert [v.version for v in client.search_model_versions("name = 'b'")] == ["1"]
    assert client.create_model_version("b", SOURCE).version == "3"  # 2 is never given again


def test_claiming_a_name_gives_up_a_rename_to_it_under_way(client, store, start, wait):
    rename = start(store, "rename_registered_model", "a", "b", pause=("registered-model-names", 1))
    created = client.create_registered_model("b", description="new")
    outcome = resume(rename, wait)
    assert outcome.get("raised") == "RegistryConflictError", outcome
    assert "'b' was claimed by another call while 'a' was being renamed" in outcome["message"]
    assert names_everywhere(client, ["a", "b"]) == {"a", "b"}
    assert client.get_registered_model("b").description == created.description == "new"
    assert [v.version for v in client.get_registered_model("a").latest_versions] == ["1"]


def _rename_at_once(root: str, name: str, new_name: str, barrier: object) -> bool:
    import canvasback as child_cb  # noqa: PLC0415  # a fresh interpreter (spawn)
    from canvasback.exceptions import MlflowException  # noqa: PLC0415

    client = child_cb.MlflowClient(root)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        client.rename_registered_model(name, new_name)
    except MlflowException:
        return False
    return True


def test_processes_renaming_one_model_at_once_one_wins_every_round(store, client):
    racers, rounds = 4, 5
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(racers)
    with ctx.Pool(racers) as pool:
        for r in range(rounds):
            client.create_registered_model(f"m{r}")
            targets = [f"m{r}-to-{i}" for i in range(racers)]
            work = pool.starmap_async(
                _rename_at_once, [(str(store), f"m{r}", t, barrier) for t in targets]
            )
            won = work.get(timeout=300)
            assert won.count(True) == 1, (r, won)
            winner = targets[won.index(True)]
            assert names_everywhere(client, [f"m{r}", *targets]) == {winner}
            assert_free(client, f"m{r}", *(t for t in targets if t != winner))


# -- kill -9 at every write ------------------------------------------------------------
OPS: dict[str, tuple[str, list[object], dict[str, object]]] = {
    "rename": ("rename_registered_model", ["a{k}", "b{k}"], {}),
    "delete": ("delete_registered_model", ["a{k}"], {}),
    "register": (
        "create_model_version",
        ["a{k}", SOURCE],
        {"tags": {"t": "v"}, "description": "second"},
    ),
    "create": ("create_registered_model", ["n{k}"], {"tags": {"t": "v"}, "description": "new"}),
}


def _state(client, names: list[str]) -> dict[str, Any]:
    """Each live model among ``names``: tags, description, versions with their tags."""
    out = {}
    for name in names_everywhere(client, names):
        model = client.get_registered_model(name)
        versions = [
            (v.version, v.tags, v.description)
            for v in client.search_model_versions(f"name = '{name}'", order_by=["version_number"])
        ]
        out[name] = (model.tags, model.description, versions)
    return out


def _expected(op: str, k: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The state before and after the whole call, for the models of round ``k``."""
    model = ({"team": "x"}, "first", [("1", {}, None)])
    before = {f"a{k}": model}
    after = {
        "rename": {f"b{k}": model},
        "delete": {},
        "register": {f"a{k}": (*model[:2], [*model[2], ("2", {"t": "v"}, "second")])},
        "create": {**before, f"n{k}": ({"t": "v"}, "new", [])},
    }[op]
    return before, after


def _kill_at_every_write(op, store, start, settle) -> list[str]:
    """Kill the call after its 1st, 2nd, ... write; ``settle`` then; check each state."""
    method, args, kwargs = OPS[op]
    client = cb.MlflowClient(store)
    seen = []
    for k in itertools.count(1):
        names = [f"a{k}", f"b{k}", f"n{k}"]
        client.create_registered_model(f"a{k}", tags={"team": "x"}, description="first")
        client.create_model_version(f"a{k}", SOURCE)
        before, after = _expected(op, k)
        args_k = [a.format(k=k) if isinstance(a, str) else a for a in args]
        call = start(store, method, *args_k, pause=("", k), then="kill", **kwargs)
        if not call.stopped():  # the call made fewer writes: every point was tried
            assert call.finished()
            break
        seen.append((call.folder / "paused").read_text())
        kill(call)
        settle(client, names)
        state = _state(client, names)
        assert state in (before, after), (op, k, seen[-1], state)
        live = set(state)
        assert_free(client, *(n for n in names if n not in live))
        for name in live:
            with pytest.raises(RegistryConflictError, match="already exists"):
                client.create_registered_model(name)
    assert seen, f"{op} wrote nothing"
    return seen


def _recover(client, _names: list[str]) -> None:
    assert recover_registry(client.store, grace_seconds=0) >= 0


def _next_writer(client, names: list[str]) -> None:
    """The next call that writes to each name (removing a tag it does not have)."""
    for name in names:
        with contextlib.suppress(RegistryNotFoundError):
            client.delete_registered_model_tag(name, "never-set")


@pytest.mark.parametrize("op", list(OPS))
def test_a_kill_at_any_write_is_settled_by_recover(op, store, start):
    points = _kill_at_every_write(op, store, start, _recover)
    assert len(points) >= 2  # a claim, then at least one segment file


@pytest.mark.parametrize("op", list(OPS))
def test_a_kill_at_any_write_is_settled_by_the_next_writer(op, store, start):
    _kill_at_every_write(op, store, start, _next_writer)


def test_canvasback_recover_settles_a_rename_killed_after_it_won(client, store, start):
    rename = start(
        store, "rename_registered_model", "a", "b", pause=("registered-model-logs", 1), then="kill"
    )
    assert rename.stopped()
    kill(rename)
    # Decided by the claims already: "b" names the model, "a" nothing.
    assert client.get_registered_model("b").name == "b"
    with pytest.raises(RegistryNotFoundError):
        client.get_registered_model("a")
    result = subprocess.run(
        [sys.executable, "-m", "canvasback.cli", "recover", str(store)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "made 1 registry repair(s)" in result.stdout
    assert names_everywhere(client, ["a", "b"]) == {"b"}
    assert_free(client, "a")


def test_claims_written_before_model_logs_keep_their_meaning(store):
    """A store's older claims: a name's claim held the bare model id, and a rename that
    lost a race left its new name claimed for a model named otherwise (a phantom)."""
    client = cb.MlflowClient(store)
    model_id = uuid.uuid4().hex
    for name in ("a", "b"):  # "a" is the model's name; "b" the phantom's claim
        digest = hashlib.sha256(name.encode()).hexdigest()
        assert client.store.claim(NAME_CLAIMS, digest, model_id.encode())
    client.store.writer.append("registered_models", "_registry", (model_id, "a", 1, "me"))
    client.store.flush()
    assert client.get_registered_model("a").creation_timestamp == 1
    with pytest.raises(RegistryConflictError, match="already exists"):
        client.create_registered_model("a")
    assert names_everywhere(client, ["a", "b"]) == {"a"}
    assert_free(client, "b")
    assert client.rename_registered_model("a", "c").name == "c"
    assert names_everywhere(client, ["a", "c"]) == {"c"}
    assert_free(client, "a")
