"""Hooks across processes: fired by another process's change, sent at its exit, retried by
``canvasback hooks retry``; a Python command reading the body on stdin.

Each test starts a child Python (the ``slow`` tier).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests.registry.hook_receiver import Receiver

pytestmark = pytest.mark.slow


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(*, listening=True):
        receiver = Receiver()
        made.append(receiver)
        return receiver.start() if listening else receiver

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def churn(client, model_run):
    """Model ``churn`` with version 1."""
    run_id = model_run()
    client.create_model_version("churn", f"runs:/{run_id}/model", run_id=run_id)


MOVE = """
import sys
import canvasback as cb
cb.MlflowClient(sys.argv[1]).set_registered_model_alias("churn", "champion", 1)
"""


@pytest.mark.usefixtures("churn")
def test_a_move_in_another_process_fires_a_hook_added_in_this_one(
    client, store, receivers, run_python
):
    receiver = receivers()
    client.add_hook("alias_moved", receiver.url, name="churn", secret="between-us")  # noqa: S106

    run_python(MOVE, store)  # it exits at once: its exit sends what it has not sent yet

    [request] = receiver.got
    assert request.signed_with("between-us")
    assert request.json["data"] == {"name": "churn", "alias": "champion", "version": "1"}
    [delivery] = client.get_hook_deliveries("churn")
    assert (delivery.delivery_id, delivery.status) == (request.delivery_id, "delivered")


def canvasback(*args):
    return subprocess.run(
        [sys.executable, "-m", "canvasback", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.usefixtures("churn")
def test_what_the_changing_process_could_not_deliver_canvasback_hooks_retry_does(
    client, store, receivers, run_python, monkeypatch
):
    receiver = receivers(listening=False)  # its port is taken, and refuses connections
    client.add_hook("alias_moved", receiver.url, name="churn")
    monkeypatch.setenv("CANVASBACK_HOOK_BACKOFF", "600")  # the child's retry is not due

    run_python(MOVE, store)

    [failed] = client.get_hook_deliveries("churn")
    # Refused, and at exit (bounded) refused again if it was tried before: left to `retry`.
    assert (failed.status, failed.retry_at) == ("failed", None)
    assert failed.attempts in (1, 2)
    assert "refused" in failed.error.lower()
    down = canvasback("hooks", "retry", "--store", store)
    assert down.returncode == 1, down.stderr
    assert down.stderr == "1 of 1 deliveries not delivered\n"

    receiver.start()
    up = canvasback("hooks", "retry", "--store", store)

    assert up.returncode == 0, up.stderr
    assert failed.delivery_id in up.stdout
    assert "delivered" in up.stdout
    assert [r.delivery_id for r in receiver.got] == [failed.delivery_id]
    [delivered] = client.get_hook_deliveries("churn")
    assert (delivered.status, delivered.http_status) == ("delivered", 200)
    assert delivered.attempts == failed.attempts + 2  # the two runs of `hooks retry`


WRITE_STDIN = (
    "import os, pathlib, sys; "
    "pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read()); "
    "pathlib.Path(sys.argv[2]).write_text(os.environ['CANVASBACK_DELIVERY_ID'])"
)


@pytest.mark.usefixtures("churn")
def test_a_python_command_hook_gets_the_body_on_stdin(client, tmp_path, wait):
    body, key = tmp_path / "body.json", tmp_path / "delivery_id"
    command = [sys.executable, "-c", WRITE_STDIN, str(body), str(key)]
    hook = client.add_hook("alias_moved", command, name="churn")
    assert hook.target == tuple(command)

    client.set_registered_model_alias("churn", "champion", 1)

    def delivered():
        found = client.get_hook_deliveries("churn")
        return found if found and found[0].status == "delivered" else None

    [delivery] = wait(delivered, what="the command's delivery")
    assert delivery.exit_code == 0
    sent = json.loads(body.read_text())
    assert sent["delivery_id"] == delivery.delivery_id == key.read_text()
    assert sent["data"] == {"name": "churn", "alias": "champion", "version": "1"}
    assert (sent["entity"], sent["action"]) == ("model_version_alias", "created")
