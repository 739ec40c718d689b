"""Experiment calls racing in real processes, and killed (SIGKILL) at every write.

A child process runs one experiment call and stops right after a chosen write to the
store (a claim or a segment file); the test then lets another process act and resumes
the child, or kills it with SIGKILL. One name belongs to one experiment at every moment
(a deleted experiment keeps its name, as in MLflow), every call that lost a race raises,
and whatever a killed call left is settled, by the next call that writes or by
``recover``, to the state before or after the whole call.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import subprocess
import sys
from typing import Any

import pytest
from tests.paused_calls import kill, resume, starter

import canvasback as cb
from canvasback.tracking.experiment_claims import NAME_CLAIMS, recover_experiments

pytestmark = pytest.mark.slow


@pytest.fixture
def start(tmp_path, spawn_python, wait):
    """Start an experiment call in a child; it stops after the ``pause`` write and waits."""
    return starter(
        tmp_path,
        spawn_python,
        wait,
        watch=("create_exclusive", "write_parquet", "write_bytes", "delete"),
        flush=True,
        entity=False,
    )


@pytest.fixture
def client(store):
    return cb.MlflowClient(store)


@pytest.fixture
def experiment(client):
    """The id of an experiment named "a", tagged."""
    return client.create_experiment("a", tags={"team": "x"})


def names_everywhere(client, candidates) -> dict[str, str]:
    """The held names among ``candidates`` -> their experiment's id; every read agrees."""
    by_lookup = {}
    for name in candidates:
        found = client.get_experiment_by_name(name)
        if found is not None:
            assert found.name == name
            assert client.get_experiment(found.experiment_id).name == name
            assert found.creation_time > 0  # never a phantom
            by_lookup[name] = found.experiment_id
    by_search = {e.name: e.experiment_id for e in client.search_experiments(view_type="ALL")}
    by_sql = dict(client.sql("SELECT name, experiment_id FROM experiments").fetchall())
    wanted = set(candidates)
    assert by_lookup == {n: i for n, i in by_search.items() if n in wanted}, by_search
    assert by_lookup == {n: i for n, i in by_sql.items() if n in wanted}, by_sql
    assert len(by_search) == len(client.search_experiments(view_type="ALL"))  # no name twice
    return by_lookup


def assert_free(client, *free: str) -> None:
    """Names no experiment holds: each can be created (and then holds)."""
    for name in free:
        assert client.get_experiment_by_name(name) is None
        made = client.create_experiment(name)
        assert client.get_experiment_by_name(name).experiment_id == made
        with pytest.raises(cb.InvalidInputError, match="already exists"):
            client.create_experiment(name)


# -- two processes, one experiment ---------------------------------------------------
def test_two_renames_of_one_experiment_one_wins(client, store, experiment, start, wait):
    first = start(store, "rename_experiment", experiment, "b", pause=(NAME_CLAIMS, 1))
    assert first.stopped()  # inside its rename, its new name claimed
    client.rename_experiment(experiment, "c")
    outcome = resume(first, wait)
    assert outcome.get("raised") == "InvalidInputError", outcome
    assert "renamed to 'c' by another call" in outcome["message"]
    assert names_everywhere(client, ["a", "b", "c"]) == {"c": experiment}
    assert_free(client, "a", "b")


def test_a_rename_racing_a_delete_raises(client, store, experiment, start, wait):
    rename = start(store, "rename_experiment", experiment, "b", pause=(NAME_CLAIMS, 1))
    client.delete_experiment(experiment)
    outcome = resume(rename, wait)
    assert outcome.get("raised") == "InvalidInputError", outcome
    assert "was deleted by another call" in outcome["message"]
    assert names_everywhere(client, ["a", "b"]) == {"a": experiment}  # deleted, named "a"
    assert client.get_experiment(experiment).lifecycle_stage == "deleted"
    assert_free(client, "b")
    with pytest.raises(cb.InvalidInputError, match="'a' already exists"):
        client.create_experiment("a")  # a deleted experiment keeps its name, as in MLflow


def test_a_delete_racing_a_rename_one_wins(client, store, experiment, start, wait):
    delete = start(store, "delete_experiment", experiment, pause=("", 1))  # its first write
    with pytest.raises(cb.InvalidInputError, match="deleted experiment 'a'"):
        client.rename_experiment(experiment, "b")  # the delete came first
    assert "returned" in resume(delete, wait)
    assert names_everywhere(client, ["a", "b"]) == {"a": experiment}
    assert client.get_experiment(experiment).lifecycle_stage == "deleted"
    client.restore_experiment(experiment)
    client.rename_experiment(experiment, "b")
    assert names_everywhere(client, ["a", "b"]) == {"b": experiment}


def test_a_create_of_the_old_name_racing_renames_keeps_one_experiment_per_name(
    client, store, experiment, start, wait
):
    rename = start(store, "rename_experiment", experiment, "b", pause=(NAME_CLAIMS, 1))
    client.rename_experiment(experiment, "c")  # "a" is free now
    other = client.create_experiment("a")
    outcome = resume(rename, wait)  # lost to the rename to "c": "a" is not its to free
    assert outcome.get("raised") == "InvalidInputError", outcome
    with pytest.raises(cb.InvalidInputError, match="'a' already exists"):
        client.create_experiment("a")
    assert names_everywhere(client, ["a", "b", "c"]) == {"a": other, "c": experiment}
    assert_free(client, "b")


def test_claiming_a_name_gives_up_a_rename_to_it_under_way(client, store, experiment, start, wait):
    rename = start(store, "rename_experiment", experiment, "b", pause=(NAME_CLAIMS, 1))
    created = client.create_experiment("b", tags={"new": "yes"})
    outcome = resume(rename, wait)
    assert outcome.get("raised") == "InvalidInputError", outcome
    assert "'b' was claimed by another call while 'a' was being renamed" in outcome["message"]
    assert names_everywhere(client, ["a", "b"]) == {"a": experiment, "b": created}
    assert client.get_experiment(created).tags == {"new": "yes"}


def _rename_at_once(root: str, experiment_id: str, new_name: str, barrier: object) -> bool:
    import canvasback as child_cb  # noqa: PLC0415  # a fresh interpreter (spawn)
    from canvasback.exceptions import MlflowException  # noqa: PLC0415

    client = child_cb.MlflowClient(root)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        client.rename_experiment(experiment_id, new_name)
    except MlflowException:
        return False
    return True


def test_processes_renaming_one_experiment_at_once_leave_one_name_every_round(store, client):
    racers, rounds = 4, 5
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(racers)
    with ctx.Pool(racers) as pool:
        for r in range(rounds):
            experiment_id = client.create_experiment(f"e{r}")
            targets = [f"e{r}-to-{i}" for i in range(racers)]
            work = pool.starmap_async(
                _rename_at_once, [(str(store), experiment_id, t, barrier) for t in targets]
            )
            won = work.get(timeout=300)
            # A rename that read the log after another's commit comes after it, and
            # wins too; the name is the last winner's, and every other name is free.
            winners = [t for t, w in zip(targets, won, strict=True) if w]
            held = names_everywhere(client, [f"e{r}", *targets])
            assert len(held) == 1, (r, won, held)
            assert set(held) <= set(winners), (r, won, held)
            assert held == {next(iter(held)): experiment_id}
            assert_free(client, f"e{r}", *(t for t in targets if t not in held))


# -- kill -9 at every write ------------------------------------------------------------
OPS: dict[str, tuple[str, list[object], dict[str, object]]] = {
    "rename": ("rename_experiment", ["{id}", "b{k}"], {}),
    "delete": ("delete_experiment", ["{id}"], {}),
    "restore": ("restore_experiment", ["{id}"], {}),
    "create": ("create_experiment", ["n{k}"], {"tags": {"t": "v"}}),
}


def _state(client, names: list[str]) -> dict[str, Any]:
    """Each held name among ``names``: its experiment's lifecycle and tags."""
    out = {}
    for name, experiment_id in names_everywhere(client, names).items():
        found = client.get_experiment(experiment_id)
        tags = {k: v for k, v in found.tags.items() if k != "settled"}
        out[name] = (found.lifecycle_stage, tags)
    return out


def _expected(op: str, k: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The state before and after the whole call, for the experiments of round ``k``."""
    stage = "deleted" if op == "restore" else "active"
    before = {f"a{k}": (stage, {"team": "x"})}
    after = {
        "rename": {f"b{k}": before[f"a{k}"]},
        "delete": {f"a{k}": ("deleted", {"team": "x"})},
        "restore": {f"a{k}": ("active", {"team": "x"})},
        "create": {**before, f"n{k}": ("active", {"t": "v"})},
    }[op]
    return before, after


def _kill_at_every_write(op, store, start, settle) -> list[str]:
    """Kill the call after its 1st, 2nd, ... write; ``settle`` then; check each state."""
    method, args, kwargs = OPS[op]
    client = cb.MlflowClient(store)
    seen = []
    for k in itertools.count(1):
        names = [f"a{k}", f"b{k}", f"n{k}"]
        experiment_id = client.create_experiment(f"a{k}", tags={"team": "x"})
        if op == "restore":
            client.delete_experiment(experiment_id)
        before, after = _expected(op, k)
        args_k = [a.format(k=k, id=experiment_id) if isinstance(a, str) else a for a in args]
        call = start(store, method, *args_k, pause=("", k), then="kill", **kwargs)
        if not call.stopped():  # the call made fewer writes: every point was tried
            assert call.finished()
            break
        seen.append((call.folder / "paused").read_text())
        kill(call)
        settle(client, names)
        state = _state(client, names)
        assert state in (before, after), (op, k, seen[-1], state)
        if state == after and op == "rename":
            assert client.get_experiment_by_name(f"b{k}").experiment_id == experiment_id
        assert_free(client, *(n for n in names if n not in state))
        for name in state:
            with pytest.raises(cb.InvalidInputError, match="already exists"):
                client.create_experiment(name)
    assert seen, f"{op} wrote nothing"
    return seen


def _recover(client, _names: list[str]) -> None:
    assert recover_experiments(client.store, grace_seconds=0) >= 0


def _next_writer(client, names: list[str]) -> None:
    """The next call that writes to each experiment found by name (a tag of its own)."""
    for name in names:
        found = client.get_experiment_by_name(name)
        if found is not None:
            client.set_experiment_tag(found.experiment_id, "settled", "yes")


@pytest.mark.parametrize("op", list(OPS))
def test_a_kill_at_any_write_is_settled_by_recover(op, store, start):
    points = _kill_at_every_write(op, store, start, _recover)
    assert len(points) >= 2  # a claim, then at least one segment file


@pytest.mark.parametrize("op", list(OPS))
def test_a_kill_at_any_write_is_settled_by_the_next_writer(op, store, start):
    _kill_at_every_write(op, store, start, _next_writer)


def test_canvasback_recover_settles_a_rename_killed_after_it_won(client, store, experiment, start):
    rename = start(
        store, "rename_experiment", experiment, "b", pause=("experiment-logs", 1), then="kill"
    )
    assert rename.stopped()
    kill(rename)
    # Decided by the claims already: "b" names the experiment, "a" nothing.
    assert client.get_experiment_by_name("b").experiment_id == experiment
    assert client.get_experiment(experiment).name == "b"
    assert client.get_experiment_by_name("a") is None
    result = subprocess.run(
        [sys.executable, "-m", "canvasback.cli", "recover", str(store)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "made 1 experiment repair(s)" in result.stdout
    assert names_everywhere(client, ["a", "b"]) == {"b": experiment}
    assert_free(client, "a")


def test_claims_of_earlier_versions_keep_their_meaning(store):
    """A store's older claims: a name's claim held the bare experiment id, a rename gave
    the old name's claim back (deleted it), and a rename that lost a race left its new
    name claimed for an experiment named otherwise."""
    client = cb.MlflowClient(store)
    experiment_id = client.create_experiment("seed")  # the Default experiment, and ids
    for name, held_by in (("a", "7"), ("b", "7")):  # "a" is the name; "b" a leftover
        digest = hashlib.sha256(name.encode()).hexdigest()
        assert client.store.claim(NAME_CLAIMS, digest, held_by.encode())
    assert client.store.claim("experiment-ids", "7", b"a")
    client.store.writer.append("experiments", "7", ("7", "a", "artifacts", 1))
    client.store.flush()
    assert client.get_experiment_by_name("a").experiment_id == "7"
    with pytest.raises(cb.InvalidInputError, match="already exists"):
        client.create_experiment("a")
    assert names_everywhere(client, ["a", "b"]) == {"a": "7"}
    assert_free(client, "b")
    client.rename_experiment("7", "c")
    assert names_everywhere(client, ["a", "c"]) == {"c": "7"}
    assert_free(client, "a")
    client.delete_experiment(experiment_id)
    client.rename_experiment("7", "seed2")
    assert names_everywhere(client, ["seed", "seed2"]) == {"seed": experiment_id, "seed2": "7"}
