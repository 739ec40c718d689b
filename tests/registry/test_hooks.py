"""Hooks on registry events, delivered to a real HTTP server on 127.0.0.1 (a fresh port).

Every delivery is logged in the store and read back through ``get_hook_deliveries``:
the tests wait on that log, or on what the server received, never on the clock.
"""

from __future__ import annotations

import json

import pytest
from mlflow.entities.webhook import WebhookAction, WebhookEntity
from mlflow.webhooks.types import EVENT_TO_PAYLOAD_CLASS
from tests.registry.hook_receiver import HANG, Receiver

import canvasback as cb
from canvasback.exceptions import InvalidInputError
from canvasback.registry import RegistryNotFoundError, hook_events, hooks


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch):
    monkeypatch.setenv("CANVASBACK_HOOK_BACKOFF", "0.01")
    monkeypatch.delenv("CANVASBACK_TRUST_HOOK_COMMANDS", raising=False)


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(*answers, listening=True):
        receiver = Receiver(answers)
        made.append(receiver)
        return receiver.start() if listening else receiver

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def churn(client, model_run):
    """Model ``churn`` with versions 1 and 2."""
    run_id = model_run()
    for _ in range(2):
        client.create_model_version("churn", f"runs:/{run_id}/model", run_id=run_id)
    return run_id


def settled(client, wait, count=1, name="churn", **select):
    """A model's deliveries once ``count`` are done: delivered, or failed for good here."""

    def done():
        found = client.get_hook_deliveries(name, **select)
        final = [d for d in found if d.status != "pending" and d.retry_at is None]
        return found if len(final) >= count else None

    return wait(done, what=f"{count} deliveries of {name} settled")


def attempts(delivery_id):
    """The logged rows of one delivery, in order: (attempt, status, HTTP status)."""
    return cb.sql(
        "SELECT attempt, status, http_status FROM hook_deliveries WHERE delivery_id = ? "
        "ORDER BY timestamp, attempt",
        params=[delivery_id],
    ).fetchall()


def mlflow_fields(event):
    """The fields of MLflow's payload for an event (its TypedDict's keys)."""
    entity, action = hook_events.EVENTS[event]
    payload = EVENT_TO_PAYLOAD_CLASS[WebhookEntity(entity), WebhookAction(action)]
    return payload.__required_keys__ | payload.__optional_keys__


def test_each_event_posts_mlflow_s_body_signed_with_the_secret(client, churn, receivers, wait):
    receiver = receivers()
    events = ["version_created", "alias_moved", "tag_set", "stage_changed", "alias_removed"]
    client.add_hook(events, receiver.url, name="churn", secret="s3cret")  # noqa: S106  # a test's secret

    client.create_model_version("churn", f"runs:/{churn}/model", run_id=churn, tags={"a": "b"})
    client.set_registered_model_alias("churn", "champion", 2)
    client.set_model_version_tag("churn", 2, "validated", "yes")
    client.transition_model_version_stage("churn", 2, "Staging")
    client.delete_registered_model_alias("churn", "champion")

    wait(lambda: len(receiver.got) == 5, what="five deliveries")
    got = sorted(receiver.got, key=lambda r: r.json["timestamp"])
    expected = {
        "version_created": {
            "name": "churn",
            "version": "3",
            "source": f"runs:/{churn}/model",
            "run_id": churn,
            "tags": {"a": "b"},
            "description": None,
        },
        "alias_moved": {"name": "churn", "alias": "champion", "version": "2"},
        "tag_set": {"name": "churn", "version": "2", "key": "validated", "value": "yes"},
        "stage_changed": {
            "name": "churn",
            "version": "2",
            "from_stage": "None",
            "to_stage": "Staging",
        },
        "alias_removed": {"name": "churn", "alias": "champion"},
    }
    for event, request in zip(events, got, strict=True):
        body = request.json
        assert (body["entity"], body["action"]) == hook_events.EVENTS[event]
        assert body["data"] == expected[event]
        if event != "stage_changed":  # MLflow has no stage event
            assert set(body["data"]) == mlflow_fields(event)
        assert request.headers["content-type"] == "application/json"
        assert request.delivery_id == body["delivery_id"]
        assert request.headers["x-mlflow-timestamp"].isdigit()
        assert request.signed_with("s3cret")
        assert not request.signed_with("another secret")
    logged = settled(client, wait, count=5)
    assert {d.delivery_id for d in logged} == {r.delivery_id for r in got}
    assert {d.status for d in logged} == {"delivered"}


@pytest.mark.usefixtures("churn")
def test_a_target_that_fails_twice_gets_three_attempts_with_one_key(client, receivers, wait):
    receiver = receivers(500, 500)
    client.add_hook("alias_moved", receiver.url, name="churn")

    client.set_registered_model_alias("churn", "champion", 1)

    [delivery] = settled(client, wait)
    assert (delivery.status, delivery.attempts, delivery.http_status) == ("delivered", 3, 200)
    assert len(receiver.got) == 3
    assert {r.delivery_id for r in receiver.got} == {delivery.delivery_id}
    assert len({r.body for r in receiver.got}) == 1  # the same bytes every time
    assert attempts(delivery.delivery_id) == [
        (0, "pending", None),
        (1, "failed", 500),
        (2, "failed", 500),
        (3, "delivered", 200),
    ]


@pytest.mark.usefixtures("churn")
def test_a_target_that_is_down_is_logged_and_delivered_by_retry_hooks(client, receivers, wait):
    receiver = receivers(listening=False)
    client.add_hook("alias_moved", receiver.url, name="churn", max_attempts=2)

    client.set_registered_model_alias("churn", "champion", 2)

    [failed] = settled(client, wait)
    assert (failed.status, failed.attempts, failed.http_status) == ("failed", 2, None)
    assert "refused" in failed.error.lower()
    assert client.get_hook_deliveries("churn", version=2, failed_only=True) == [failed]
    assert client.get_hook_deliveries("churn", version=1) == []
    assert receiver.got == []

    receiver.start()
    [done] = client.retry_hooks()

    assert (done.outcome, done.delivery.delivery_id) == ("delivered", failed.delivery_id)
    assert [r.delivery_id for r in receiver.got] == [failed.delivery_id]
    assert receiver.got[0].json["data"] == {"name": "churn", "alias": "champion", "version": "2"}
    [delivered] = client.get_hook_deliveries("churn")
    assert (delivered.status, delivered.attempts) == ("delivered", 3)
    assert client.get_hook_deliveries("churn", failed_only=True) == []
    assert client.retry_hooks() == []


@pytest.mark.usefixtures("churn")
def test_retry_hooks_of_one_model_or_version_leaves_the_others(client, model_run, receivers, wait):
    receiver = receivers(listening=False)
    client.add_hook("alias_moved", receiver.url, max_attempts=1)
    run_id = model_run()
    client.create_model_version("fraud", f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias("churn", "champion", 1)
    client.set_registered_model_alias("churn", "challenger", 2)
    client.set_registered_model_alias("fraud", "champion", 1)
    settled(client, wait, count=2)
    settled(client, wait, name="fraud")
    receiver.start()

    [one] = client.retry_hooks("churn", version=2)
    assert (one.outcome, one.delivery.version) == ("delivered", "2")
    assert [d.version for d in client.get_hook_deliveries("churn", failed_only=True)] == ["1"]
    [model] = client.retry_hooks("churn")
    assert (model.outcome, model.delivery.version) == ("delivered", "1")
    assert len(client.get_hook_deliveries("fraud", failed_only=True)) == 1
    assert [r.json["data"]["name"] for r in receiver.got] == ["churn", "churn"]
    with pytest.raises(InvalidInputError, match="Invalid hook retry of version 2: name its model"):
        client.retry_hooks(version=2)
    with pytest.raises(RegistryNotFoundError):
        client.retry_hooks("ghost")
    [rest] = client.retry_hooks()
    assert rest.delivery.name == "fraud"


@pytest.mark.usefixtures("churn")
def test_a_hanging_target_neither_blocks_nor_undoes_the_move(client, receivers, wait):
    receiver = receivers(HANG)
    client.add_hook("alias_moved", receiver.url, name="churn", timeout=60)

    # The server holds the request until it is released, after the move has returned:
    # a move that waited for its hooks would never return.
    client.set_registered_model_alias("churn", "champion", 2)

    assert client.get_model_version_by_alias("churn", "champion").version == "2"
    wait(lambda: receiver.got, what="the request to reach the server")
    [under_way] = client.get_hook_deliveries("churn")
    assert (under_way.status, under_way.attempts) == ("pending", 0)
    receiver.release.set()
    [delivery] = settled(client, wait)
    assert delivery.status == "delivered"
    assert [m.to_version for m in client.get_alias_history("churn", "champion")] == ["2"]


@pytest.mark.usefixtures("churn")
def test_an_attempt_ends_at_the_hook_s_timeout(client, receivers, wait):
    receiver = receivers(HANG)
    client.add_hook("alias_moved", receiver.url, name="churn", timeout=0.2, max_attempts=1)

    client.set_registered_model_alias("churn", "champion", 1)

    [delivery] = settled(client, wait)
    assert (delivery.status, delivery.error) == ("failed", "no answer within 0.2 s")
    assert client.get_model_version_by_alias("churn", "champion").version == "1"


@pytest.mark.usefixtures("churn")
def test_a_hook_follows_its_model_through_a_rename_or_every_model(
    client, model_run, receivers, wait
):
    own, every = receivers(), receivers()
    mine = client.add_hook("alias_moved", own.url, name="churn")
    anyone = client.add_hook("alias_moved", every.url)
    run_id = model_run()
    client.create_model_version("fraud", f"runs:/{run_id}/model", run_id=run_id)

    assert client.list_hooks() == [mine, anyone]
    assert client.list_hooks("fraud") == [anyone]
    client.set_registered_model_alias("fraud", "champion", 1)
    client.rename_registered_model("churn", "attrition")
    client.set_registered_model_alias("attrition", "champion", 1)

    settled(client, wait, name="fraud")
    settled(client, wait, name="attrition", count=2)
    assert [r.json["data"]["name"] for r in own.got] == ["attrition"]
    assert sorted(r.json["data"]["name"] for r in every.got) == ["attrition", "fraud"]
    assert [h.name for h in client.list_hooks("attrition")] == ["attrition", None]


@pytest.mark.usefixtures("churn")
def test_a_deleted_hook_fires_no_more(client, receivers):
    receiver = receivers()
    hook = client.add_hook("alias_moved", receiver.url, name="churn")

    client.delete_hook(hook.hook_id)
    client.set_registered_model_alias("churn", "champion", 1)

    # A delivery is logged before the move returns: none was, so none will be sent.
    assert client.get_hook_deliveries("churn") == []
    assert client.list_hooks() == []
    with pytest.raises(RegistryNotFoundError, match=f"No hook with id '{hook.hook_id}'"):
        client.delete_hook(hook.hook_id)


@pytest.mark.usefixtures("churn")
def test_a_disabled_hook_fires_nothing_until_enabled_and_keeps_its_label(
    client, store, receivers, wait
):
    receiver = receivers()
    added = hooks.add(
        client.store, "alias_moved", receiver.url, label="deploy", description="CD", enabled=False
    )
    client.set_registered_model_alias("churn", "champion", 1)
    assert client.get_hook_deliveries("churn") == []  # logged before the move returns: none

    hooks.update(client.store, added.hook_id, enabled=True, description="")
    client.set_registered_model_alias("churn", "champion", 2)
    [delivery] = settled(client, wait)
    assert (delivery.hook_id, delivery.status) == (added.hook_id, "delivered")
    assert [r.json["data"]["version"] for r in receiver.got] == ["2"]

    [hook] = cb.MlflowClient(store).list_hooks()
    assert (hook.label, hook.description, hook.enabled) == ("deploy", None, True)
    assert hook.update_time >= hook.creation_time
    assert cb.sql("SELECT label, description, enabled FROM hooks").fetchall() == [
        ("deploy", None, True)
    ]
    with pytest.raises(InvalidInputError, match="Invalid hook label '': a non-empty name"):
        hooks.update(client.store, added.hook_id, label="")
    with pytest.raises(RegistryNotFoundError, match="No hook with id 'none'"):
        hooks.update(client.store, "none", enabled=False)


@pytest.mark.usefixtures("churn")
def test_mlflow_s_event_names_name_the_same_events(client, receivers):
    hook = client.add_hook(
        ["model_version_alias.created", "model_version.created", "alias_moved"],
        receivers().url,
    )
    assert hook.events == ("alias_moved", "version_created")
    assert client.list_hooks()[0].events == ("alias_moved", "version_created")


@pytest.mark.usefixtures("churn")
def test_a_secret_env_signs_with_the_delivering_process_s_variable(
    client, receivers, wait, monkeypatch, store
):
    receiver = receivers()
    secret = "a-secret-kept-out-of-the-store-1f9c"  # noqa: S105  # a test's secret
    monkeypatch.setenv("CHURN_HOOK_SECRET", secret)
    variable = "CHURN_HOOK_SECRET"
    hook = client.add_hook("alias_moved", receiver.url, name="churn", secret_env=variable)
    assert (hook.signed, hook.secret_env, hook.secret) == (True, "CHURN_HOOK_SECRET", None)

    client.set_registered_model_alias("churn", "champion", 1)
    settled(client, wait)
    assert receiver.got[0].signed_with(secret)
    assert not any(secret.encode() in p.read_bytes() for p in store.rglob("*") if p.is_file())

    monkeypatch.delenv("CHURN_HOOK_SECRET")
    client.set_registered_model_alias("churn", "champion", 2)
    unsigned = settled(client, wait, count=2)[0]
    assert unsigned.status == "failed"
    assert unsigned.error == (
        "not sent: environment variable CHURN_HOOK_SECRET (the hook's secret_env) "
        "is not set in this process"
    )
    assert len(receiver.got) == 1


@pytest.mark.usefixtures("churn")
def test_a_command_hook_of_the_store_runs_only_where_trusted(
    client, tmp_path, wait, monkeypatch, store
):
    out = tmp_path / "body.json"
    hook = client.add_hook("alias_moved", f"cat > '{out}'", name="churn")
    assert (hook.target_type, hook.target) == ("command", f"cat > '{out}'")
    cb.reset()  # a new process, as it were: it did not add the hook
    client = cb.MlflowClient(store)

    client.set_registered_model_alias("churn", "champion", 1)

    [refused] = settled(client, wait)
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert "CANVASBACK_TRUST_HOOK_COMMANDS=1" in refused.error
    assert not out.exists()

    monkeypatch.setenv("CANVASBACK_TRUST_HOOK_COMMANDS", "1")
    [done] = client.retry_hooks()

    assert done.outcome == "delivered"
    body = json.loads(out.read_text())
    assert body["delivery_id"] == refused.delivery_id
    assert body["data"] == {"name": "churn", "alias": "champion", "version": "1"}
    [delivered] = client.get_hook_deliveries("churn")
    assert (delivered.status, delivered.exit_code, delivered.attempts) == ("delivered", 0, 2)


@pytest.mark.usefixtures("churn")
def test_a_failing_command_is_logged_with_its_exit_status_and_stderr(client, wait):
    client.add_hook("alias_moved", ["sh", "-c", "echo no deploy today >&2; exit 3"], max_attempts=2)

    client.set_registered_model_alias("churn", "champion", 1)

    [delivery] = settled(client, wait)
    assert (delivery.status, delivery.exit_code, delivery.attempts) == ("failed", 3, 2)
    assert delivery.error == "exit status 3: no deploy today"


@pytest.mark.usefixtures("churn")
def test_test_hook_sends_an_example_now(client, receivers):
    receiver = receivers()
    hook = client.add_hook(["tag_set", "alias_moved"], receiver.url, name="churn", secret="s")  # noqa: S106

    result = client.test_hook(hook.hook_id, "alias_moved")

    assert (result.success, result.response_status, result.response_body) == (True, 200, "ok")
    [request] = receiver.got
    assert request.signed_with("s")
    assert request.json["data"] == {"name": "churn", "alias": "example_alias", "version": "1"}
    assert client.get_hook_deliveries("churn") == []  # a test is not logged


BAD = [
    ({"event": "model_deployed"}, "Invalid hook event 'model_deployed': one of version_created"),
    ({"event": []}, "Invalid hook event []"),
    ({"target": "ftp://example.com/x"}, "'ftp://example.com/x': a URL must be http:// or https://"),
    ({"target": "http:///hook"}, "'http:///hook': a URL must be http:// or https:// with a host"),
    ({"target": ""}, "Invalid hook command '': the command is empty"),
    ({"target": "   "}, "Invalid hook command '   ': the command is empty"),
    ({"target": []}, "Invalid hook command []: a non-empty list of strings"),
    ({"target": ["", "x"]}, "Invalid hook command ['', 'x']"),
    ({"target": 42}, "Invalid hook target 42: an http(s) URL, or a command"),
    ({"secret": "s", "target": ["deploy"]}, "a secret signs a URL hook's deliveries only"),
    ({"secret": "s", "secret_env": "S"}, "Give a hook secret or secret_env 'S', not both"),
    ({"secret_env": "not a name"}, "Invalid hook secret_env 'not a name'"),
    ({"timeout": 0}, "Invalid hook timeout 0: seconds, more than 0 and at most 300"),
    ({"timeout": True}, "Invalid hook timeout True"),
    ({"max_attempts": 11}, "Invalid hook max_attempts 11: a whole number from 1 to 10"),
]


@pytest.mark.parametrize(("given", "message"), BAD, ids=[m for _, m in BAD])
@pytest.mark.usefixtures("churn")
def test_bad_input_is_refused_naming_it_and_nothing_is_written(client, given, message):
    arguments = {"event": "alias_moved", "target": "https://ci.example.com/hook", **given}
    event, target = arguments.pop("event"), arguments.pop("target")

    with pytest.raises(InvalidInputError) as raised:
        client.add_hook(event, target, name="churn", **arguments)

    assert message in str(raised.value)
    assert client.list_hooks() == []
    assert cb.sql("SELECT count(*) FROM hooks").fetchall() == [(0,)]


@pytest.mark.usefixtures("churn")
def test_a_hook_of_a_model_that_is_none_is_refused(client):
    with pytest.raises(RegistryNotFoundError, match="No registered model named 'fraud'"):
        client.add_hook("alias_moved", "https://ci.example.com/hook", name="fraud")
    assert client.list_hooks() == []


def test_a_registration_reads_the_store_for_hooks_only_once_it_has_some(
    client, model_run, receivers, wait, monkeypatch
):
    run_id, refreshes = model_run(), []
    catalog = client.store.catalog
    refresh = catalog.refresh

    def spy(*args, **kwargs):
        refreshes.append("refresh")
        refresh(*args, **kwargs)

    monkeypatch.setattr(catalog, "refresh", spy)
    client.create_model_version("churn", f"runs:/{run_id}/model", run_id=run_id)
    assert refreshes == []  # no hook was ever added to the store: none is looked for

    receiver = receivers()
    client.add_hook("version_created", receiver.url)
    refreshes.clear()
    client.create_model_version("churn", f"runs:/{run_id}/model", run_id=run_id)

    assert refreshes == ["refresh"]  # a hook added by any process since is found
    [delivery] = settled(client, wait)
    assert (delivery.event, delivery.version, delivery.status) == (
        "version_created",
        "2",
        "delivered",
    )


@pytest.mark.usefixtures("churn")
def test_retry_hooks_leaves_a_delivery_to_its_process_and_drops_a_deleted_hook_s(
    client, receivers, wait, monkeypatch
):
    monkeypatch.setenv("CANVASBACK_HOOK_BACKOFF", "600")  # its retry is due in a minute
    down = receivers(listening=False)
    hook = client.add_hook("alias_moved", down.url, name="churn")
    client.set_registered_model_alias("churn", "champion", 1)
    [failed] = wait(
        lambda: [d for d in client.get_hook_deliveries("churn") if d.status == "failed"],
        what="the first attempt",
    )
    assert failed.retry_at is not None

    [waiting] = client.retry_hooks()
    client.delete_hook(hook.hook_id)
    [dropped] = client.retry_hooks()

    assert (waiting.outcome, waiting.delivery.delivery_id) == ("waiting", failed.delivery_id)
    assert (dropped.outcome, dropped.detail) == ("dropped", "its hook was deleted")
    assert down.got == []
    [still] = client.get_hook_deliveries("churn")
    assert (still.status, still.attempts) == ("failed", 1)  # retry_hooks sent nothing


@pytest.mark.usefixtures("churn")
def test_archiving_and_a_version_s_deletion_fire_for_each_version_and_alias(
    client, receivers, wait
):
    client.transition_model_version_stage("churn", 1, "Production")
    client.set_registered_model_alias("churn", "champion", 2)
    client.set_registered_model_alias("churn", "shadow", 2)
    receiver = receivers()
    client.add_hook(["stage_changed", "alias_removed"], receiver.url, name="churn")

    client.transition_model_version_stage("churn", 2, "Production", archive_existing_versions=True)
    client.delete_model_version("churn", 2)

    settled(client, wait, count=4)
    data = sorted((r.json["action"], sorted(r.json["data"].items())) for r in receiver.got)
    assert data == [
        ("deleted", [("alias", "champion"), ("name", "churn")]),
        ("deleted", [("alias", "shadow"), ("name", "churn")]),
        (
            "transitioned",
            [
                ("from_stage", "None"),
                ("name", "churn"),
                ("to_stage", "Production"),
                ("version", "2"),
            ],
        ),
        (
            "transitioned",
            [
                ("from_stage", "Production"),
                ("name", "churn"),
                ("to_stage", "Archived"),
                ("version", "1"),
            ],
        ),
    ]
    removed = [d for d in client.get_hook_deliveries("churn") if d.event == "alias_removed"]
    assert [d.version for d in removed] == ["2", "2"]  # the version the aliases left
