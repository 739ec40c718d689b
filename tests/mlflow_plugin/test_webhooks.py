"""MLflow's webhooks through the plugin are canvasback's registry hooks, delivered once.

The store's calls are made as MLflow's client makes them, in this process; then MLflow
itself, in a child process, creates a webhook and moves an alias, and MLflow's server
does so for a client that knows only its URL. Deliveries go to a real HTTP server on
127.0.0.1 (``tests/registry/hook_receiver.py``); MLflow's URL checks are told to allow
it (``MLFLOW_WEBHOOK_ALLOWED_SCHEMES``, ``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS``), as a
deployment on a private network would. A child's (or the server's) exit sends what it
has not sent yet, so what the receiver holds once it has exited is all it will get.
"""

from __future__ import annotations

import json
import sys

import pytest
from mlflow.entities.webhook import WebhookEvent, WebhookStatus
from mlflow.exceptions import MlflowException, MlflowNotImplementedException
from mlflow.webhooks.delivery import _generate_hmac_signature
from tests.registry.hook_receiver import Receiver

import canvasback as cb
from canvasback.mlflow_plugin import uris
from canvasback.mlflow_plugin.registry_store import RegistryStore

ALIAS_SET = WebhookEvent("model_version_alias", "created")
VERSION_MADE = WebhookEvent("model_version", "created")
SECRET = "s3cret"  # noqa: S105  # a test's secret


@pytest.fixture(autouse=True)
def _local_receivers(monkeypatch):
    monkeypatch.setenv("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https")
    monkeypatch.setenv("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true")


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make():
        receiver = Receiver().start()
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def client(store):
    """canvasback's client of the store, which holds model ``churn`` with versions 1, 2."""
    with cb.start_run(live=False) as run:
        cb.log_text("flavors: {}\n", "model/MLmodel")
    client = cb.MlflowClient(store)
    for _ in range(2):
        client.create_model_version("churn", f"runs:/{run.info.run_id}/model")
    return client


@pytest.fixture
def registry(store, client):  # noqa: ARG001  # the store with its model
    return RegistryStore(uris.store_uri(store))


def signed_by_mlflow(request, secret: str) -> bool:
    """Whether the request's signature is the one MLflow's own code makes for it."""
    headers, body = request.headers, request.body.decode()
    delivery_id, timestamp = headers["x-mlflow-delivery-id"], headers["x-mlflow-timestamp"]
    expected = _generate_hmac_signature(secret, delivery_id, timestamp, body)
    return headers.get("x-mlflow-signature") == expected


def settled(client, wait, count):
    """Model churn's deliveries once ``count`` are delivered or failed for good."""

    def done():
        found = client.get_hook_deliveries("churn")
        final = [d for d in found if d.status != "pending" and d.retry_at is None]
        return found if len(final) >= count else None

    return wait(done, what=f"{count} deliveries settled")


def test_a_webhook_made_through_mlflow_is_a_hook_canvasback_fires_signed(
    registry, client, receivers, wait
):
    receiver = receivers()
    made = registry.create_webhook(
        "deploy", receiver.url, [ALIAS_SET], description="CD", secret=SECRET
    )

    [hook] = client.list_hooks()
    assert (hook.hook_id, hook.label, hook.description) == (made.webhook_id, "deploy", "CD")
    assert (hook.events, hook.name, hook.target, hook.secret) == (
        ("alias_moved",),
        None,
        receiver.url,
        SECRET,
    )
    assert (made.name, made.url, made.events, made.status) == (
        "deploy",
        receiver.url,
        [ALIAS_SET],
        WebhookStatus.ACTIVE,
    )
    assert made.creation_timestamp == hook.creation_time

    registry.set_registered_model_alias("churn", "champion", "1")
    [delivery] = settled(client, wait, 1)
    [request] = receiver.got
    assert (delivery.status, delivery.delivery_id) == ("delivered", request.delivery_id)
    assert signed_by_mlflow(request, SECRET)
    assert (request.json["entity"], request.json["action"]) == ("model_version_alias", "created")
    assert request.json["data"] == {"name": "churn", "alias": "champion", "version": "1"}


def test_canvasbacks_url_hooks_are_mlflows_webhooks_newest_first_a_page_at_a_time(
    registry, client, receivers
):
    url = receivers().url
    first = client.add_hook(["stage_changed", "version_created"], url, name="churn")
    client.add_hook("stage_changed", url)  # no event MLflow can name: no webhook
    client.add_hook("alias_moved", ["true"])  # a command: no webhook
    made = registry.create_webhook("deploy", url, [ALIAS_SET, VERSION_MADE])

    pages, token = [], None
    while True:
        page = registry.list_webhooks(max_results=1, page_token=token)
        pages.append(list(page))
        token = page.token
        if not token:
            break
    assert [[w.webhook_id for w in p] for p in pages] == [[made.webhook_id], [first.hook_id]]
    [[newest], [oldest]] = pages
    assert (oldest.name, oldest.events, oldest.description) == (
        first.hook_id,  # no label: named by its id
        [VERSION_MADE],
        None,
    )
    assert set(newest.events) == {ALIAS_SET, VERSION_MADE}
    assert registry.get_webhook(first.hook_id).url == url

    command = client.list_hooks()[2]
    with pytest.raises(MlflowException, match="it is a command hook") as missing:
        registry.get_webhook(command.hook_id)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException, match="max_results 0: a whole number from 1 to 1000"):
        registry.list_webhooks(max_results=0)


def test_update_renames_describes_and_disables_and_refuses_what_a_hook_keeps(
    registry, client, receivers, wait
):
    receiver = receivers()
    made = registry.create_webhook("deploy", receiver.url, [ALIAS_SET], secret=SECRET)

    for given in (
        {"url": "http://127.0.0.1:1/elsewhere"},
        {"events": [VERSION_MADE]},
        {"secret": "another"},
    ):
        with pytest.raises(MlflowNotImplementedException, match="delete it and create another"):
            registry.update_webhook(made.webhook_id, name="renamed", **given)
    assert registry.get_webhook(made.webhook_id).name == "deploy"  # nothing was changed

    updated = registry.update_webhook(
        made.webhook_id,
        name="renamed",
        description="paused",
        url=receiver.url,  # as it is: no change asked
        events=[ALIAS_SET],
        secret=SECRET,
        status=WebhookStatus.DISABLED,
    )
    assert (updated.name, updated.description, updated.status) == (
        "renamed",
        "paused",
        WebhookStatus.DISABLED,
    )
    assert updated.last_updated_timestamp >= made.creation_timestamp
    assert registry.get_webhook(made.webhook_id).status == WebhookStatus.DISABLED

    # A delivery is logged before the move returns: a disabled hook logged none.
    registry.set_registered_model_alias("churn", "champion", "1")
    assert client.get_hook_deliveries("churn") == []

    registry.update_webhook(made.webhook_id, status=WebhookStatus.ACTIVE)
    registry.set_registered_model_alias("churn", "champion", "2")
    [delivery] = settled(client, wait, 1)
    assert delivery.status == "delivered"
    assert [r.json["data"]["version"] for r in receiver.got] == ["2"]


@pytest.mark.parametrize(
    ("event", "url", "message"),
    [
        (
            WebhookEvent("registered_model", "created"),
            None,
            (
                "Invalid webhook event 'registered_model.created': canvasback's registry fires "
                "model_version.created, model_version_alias.created, "
                "model_version_alias.deleted, model_version_tag.set"
            ),
        ),
        (ALIAS_SET, "ftp://127.0.0.1/hook", "Invalid webhook URL scheme: 'ftp'"),
    ],
)
def test_what_no_hook_can_be_is_refused_and_nothing_is_written(
    registry, client, receivers, event, url, message
):
    with pytest.raises(MlflowException, match=message) as refused:
        registry.create_webhook("deploy", url or receivers().url, [event])
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.list_hooks() == []


def test_test_webhook_posts_an_example_now_and_delete_stops_it(registry, client, receivers):
    receiver = receivers()
    made = registry.create_webhook("deploy", receiver.url, [ALIAS_SET], secret=SECRET)

    result = registry.test_webhook(made.webhook_id, VERSION_MADE)

    assert (result.success, result.response_status, result.response_body) == (True, 200, "ok")
    [request] = receiver.got
    assert signed_by_mlflow(request, SECRET)
    assert (request.json["entity"], request.json["action"]) == ("model_version", "created")

    registry.delete_webhook(made.webhook_id)
    assert list(registry.list_webhooks()) == []
    assert client.list_hooks() == []
    with pytest.raises(MlflowException, match=f"Webhook with ID {made.webhook_id} not found"):
        registry.get_webhook(made.webhook_id)


CHILD = """
import json, sys
from mlflow import MlflowClient
from mlflow.entities.webhook import WebhookEvent

client = MlflowClient()
made = client.create_webhook(
    "deploy", sys.argv[1], [WebhookEvent("model_version_alias", "created")], secret=sys.argv[2]
)
client.set_registered_model_alias("churn", "champion", "1")
print(json.dumps({
    "id": made.webhook_id,
    "listed": sorted(w.name for w in client.list_webhooks()),
}))
"""


@pytest.mark.slow
def test_mlflow_s_client_makes_a_webhook_and_its_alias_move_fires_each_hook_once(
    store, client, receivers, run_python, mlflow_entry_points, mlflow_env, monkeypatch
):
    for name, value in mlflow_env(mlflow_entry_points, uris.store_uri(store)).items():
        monkeypatch.setenv(name, value)
    theirs, ours = receivers(), receivers()
    added = client.add_hook("alias_moved", ours.url, name="churn")

    out = run_python(CHILD, theirs.url, SECRET, timeout=300).stdout
    found = json.loads(out.strip().splitlines()[-1])

    # The child has exited, its deliveries sent: one to each hook, whichever API made it.
    assert found["listed"] == sorted(["deploy", added.hook_id])
    [request] = theirs.got
    assert signed_by_mlflow(request, SECRET)
    assert request.json["data"] == {"name": "churn", "alias": "champion", "version": "1"}
    [unsigned] = ours.got
    assert "x-mlflow-signature" not in unsigned.headers
    logged = {d.hook_id: d for d in client.get_hook_deliveries("churn")}
    assert logged[found["id"]].delivery_id == request.delivery_id
    assert logged[added.hook_id].delivery_id == unsigned.delivery_id
    assert {d.status for d in logged.values()} == {"delivered"}
    assert client.list_hooks()[1].label == "deploy"


SERVER_CLIENT = """
import json, sys
from mlflow import MlflowClient
from mlflow.entities.webhook import WebhookEvent

client = MlflowClient()
made = client.create_webhook(
    "deploy", sys.argv[1], [WebhookEvent("model_version_alias", "created")], secret=sys.argv[2]
)
client.set_registered_model_alias("churn", "champion", "1")
print(json.dumps({"id": made.webhook_id}))
"""


@pytest.mark.slow
def test_mlflow_s_server_delivers_a_change_through_the_plugin_once(
    store, client, receivers, tmp_path, mlflow_entry_points, mlflow_env, server_helpers, wait
):
    """MLflow's server posts to the webhooks the store lists for each change it makes;
    canvasback's registry has fired them already: the store lists none for that."""
    free_port, running_server = server_helpers
    receiver = receivers()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_env = mlflow_env(mlflow_entry_points)
    args = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri"]
    args += [uris.store_uri(store), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    folder = tmp_path / "server"
    folder.mkdir()
    script = tmp_path / "client.py"
    script.write_text(SERVER_CLIENT)

    with running_server(args, f"{url}/health", env=server_env, cwd=folder) as log:
        import subprocess  # noqa: PLC0415  # the client, a program of its own

        done = subprocess.run(
            [sys.executable, str(script), receiver.url, SECRET],
            env=mlflow_env(mlflow_entry_points, url),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{done.stderr[-3000:]}\nserver:\n{log.read_text()[-3000:]}"
        wait(lambda: receiver.got, what="the server's delivery")
    # The server has exited: every delivery either side of it meant to send is sent.

    found = json.loads(done.stdout.strip().splitlines()[-1])
    [request] = receiver.got
    assert signed_by_mlflow(request, SECRET)
    assert request.json["data"] == {"name": "churn", "alias": "champion", "version": "1"}
    [delivery] = client.get_hook_deliveries("churn")
    assert (delivery.hook_id, delivery.delivery_id) == (found["id"], request.delivery_id)
    assert delivery.status == "delivered"
