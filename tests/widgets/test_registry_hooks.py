"""The registry panel's hooks, on a real store, with real deliveries.

A target that is down is a port bound by ``tests/registry/hook_receiver.py``'s server
and not listened on yet (a connection to it is refused); with ``max_attempts=1`` its
delivery fails at once. The tests wait on the delivery log, never on the clock.
"""

from __future__ import annotations

import json

import pytest
from tests.registry.hook_receiver import Receiver

import canvasback as cb
from canvasback.registry import hook_log, hooks
from canvasback.widgets import _registry_static

SCRIPT = "<script>window.owned = 1</script>"
SECRET = "s3cret-never-shown"  # noqa: S105  # a test's secret


@pytest.fixture(autouse=True)
def _untrusted(monkeypatch):
    monkeypatch.delenv("CANVASBACK_TRUST_HOOK_COMMANDS", raising=False)


@pytest.fixture
def client(store):
    return cb.Client(store=store)


@pytest.fixture
def digits(client):
    """Model ``digits`` with versions 1 and 2, and model ``other`` with version 1."""
    run = client.create_run("0", run_name="first")
    run.log_text("flavors: {}\n", "model/MLmodel")
    run.end()
    for name in ("digits", "digits", "other"):
        client.register_model(f"runs:/{run.info.run_id}/model", name)
    client.flush()
    return run.info.run_id


@pytest.fixture
def down():
    """A receiver whose port refuses connections until it is started."""
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def panels():
    made = []

    def make(*args, **kwargs):
        panel = cb.registry_panel(*args, **kwargs)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.close()


def ok(panel, kind, **request):
    reply, _buffers = panel.handle_request(kind, request)
    assert "error" not in reply, reply.get("error")
    return reply["reply"]


def _spy(monkeypatch, owner, name, calls):
    """Wrap ``owner.name`` so each call is recorded, then made as before."""
    real = getattr(owner, name)

    def spy(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)


def failed(client, wait, count=1, name="digits"):
    """The model's failed deliveries once ``count`` failed for good (no retry to come)."""

    def done():
        found = client.get_hook_deliveries(name, failed_only=True)
        final = [d for d in found if d.retry_at is None]
        return found if len(final) >= count else None

    return wait(done, what=f"{count} failed deliveries of {name}")


@pytest.mark.usefixtures("digits")
def test_a_failed_delivery_shows_on_its_version_and_retry_delivers_it(client, down, panels, wait):
    hook = client.add_hook("alias_moved", down.url, name="digits", max_attempts=1)
    client.set_registered_model_alias("digits", "champion", 2)
    [delivery] = failed(client, wait)

    panel = panels("digits", poll_ms=0)

    assert panel.failed_deliveries == {
        "2": [
            {
                "delivery_id": delivery.delivery_id,
                "hook_id": hook.hook_id,
                "hook": down.url.removeprefix("http://"),
                "event": "alias_moved",
                "timestamp": delivery.time,
                "attempts": 1,
                "error": delivery.error,
            }
        ]
    }
    assert "refused" in delivery.error.lower()
    # The receiver listens now: Retry sends it again, with its id, and the badge goes.
    down.start()
    reply = ok(panel, "retry_hooks", model="digits", version="2")

    assert reply["notice"] == "Retried 1 hook delivery of digits version 2: 1 delivered"
    assert [r.delivery_id for r in down.got] == [delivery.delivery_id]
    assert panel.failed_deliveries == {}
    assert panel.error is None
    [delivered] = client.get_hook_deliveries("digits")
    assert (delivered.status, delivered.attempts) == ("delivered", 2)


@pytest.mark.usefixtures("digits")
def test_retry_of_a_version_leaves_the_other_versions_failures(client, down, panels, wait):
    client.add_hook("alias_moved", down.url, name="digits", max_attempts=1)
    client.set_registered_model_alias("digits", "champion", 1)
    client.set_registered_model_alias("digits", "challenger", 2)
    failed(client, wait, count=2)
    panel = panels("digits", poll_ms=0)
    assert sorted(panel.failed_deliveries) == ["1", "2"]

    down.start()
    ok(panel, "retry_hooks", model="digits", version="1")

    assert sorted(panel.failed_deliveries) == ["2"]
    assert [r.json["data"]["version"] for r in down.got] == ["1"]
    # Version null: every failed delivery of the model.
    reply = ok(panel, "retry_hooks", model="digits", version=None)
    assert reply["notice"] == "Retried 1 hook delivery of digits: 1 delivered"
    assert panel.failed_deliveries == {}


@pytest.mark.usefixtures("digits")
def test_a_retry_that_fails_again_says_so_and_keeps_the_badge(client, down, panels, wait):
    client.add_hook("alias_moved", down.url, name="digits", max_attempts=1)
    client.set_registered_model_alias("digits", "champion", 2)
    failed(client, wait)
    panel = panels("digits", poll_ms=0)

    reply = ok(panel, "retry_hooks", model="digits", version="2")

    assert reply["notice"] == "Retried 1 hook delivery of digits version 2: 1 failed again"
    [again] = panel.failed_deliveries["2"]
    assert again["attempts"] == 2
    assert ok(panel, "retry_hooks", model="other", version=None)["notice"] == (
        "No failed hook deliveries of other to retry"
    )


@pytest.mark.usefixtures("digits")
def test_hooks_and_attempts_made_elsewhere_show_at_the_next_poll(client, down, panels, wait):
    panel = panels("digits", poll_ms=0)
    client.add_hook("alias_moved", down.url, name="digits", max_attempts=1)
    assert ok(panel, "poll")["changed"] is True
    assert [h["target"] for h in panel.hooks] == [down.url]
    client.set_registered_model_alias("digits", "champion", 1)
    failed(client, wait)
    ok(panel, "poll")
    [first] = panel.failed_deliveries["1"]
    assert first["attempts"] == 1

    # An attempt changes no registry fact, only the delivery log: the poll sees it.
    [again] = client.retry_hooks()
    assert again.outcome == "failed"
    assert ok(panel, "poll")["changed"] is True
    assert [f["attempts"] for f in panel.failed_deliveries["1"]] == [2]


@pytest.mark.usefixtures("digits")
def test_the_model_s_hooks_are_listed_without_their_secrets(client, panels):
    own = client.add_hook("alias_moved", "https://ana:pw@ci.example.com/deploy?token=abc&x=1",
                          name="digits", secret=SECRET)  # fmt: skip
    every = client.add_hook(["version_created", "tag_set"], ["/opt/ci/notify", "--to", "ml ops"])
    client.add_hook("alias_moved", "https://elsewhere.example.com/", name="other")
    signed_env = client.add_hook("stage_changed", "http://ci.example.com/x", secret_env="CI_KEY")  # noqa: S106  # a variable's name

    panel = panels("digits", poll_ms=0)

    shown = {h["hook_id"]: h for h in panel.hooks}
    assert list(shown) == [own.hook_id, every.hook_id, signed_env.hook_id]
    mine = shown[own.hook_id]
    assert mine["target"] == "https://ana:***@ci.example.com/deploy?token=***&x=***"
    assert (mine["events"], mine["every_model"], mine["signed"]) == (["alias_moved"], False, True)
    assert mine["user_id"] == own.user_id
    assert mine["creation_time"] == own.creation_time
    command = shown[every.hook_id]
    assert command["target"] == "/opt/ci/notify --to 'ml ops'"
    assert (command["target_type"], command["every_model"], command["runs_here"]) == (
        "command",
        True,
        True,  # added by this process
    )
    assert shown[signed_env.hook_id]["secret_env"] == "CI_KEY"  # noqa: S105  # a name
    state = json.dumps(panel.get_state(), default=str)
    assert SECRET not in state
    assert "pw@" not in state
    assert "token=abc" not in state


def test_a_store_without_hooks_reads_no_hook_table(client, digits, panels, monkeypatch):
    del digits
    reads = []
    for owner, name in ((hooks, "live"), (hook_log, "deliveries")):
        _spy(monkeypatch, owner, name, reads)
    panel = panels("digits", poll_ms=0)
    client.set_registered_model_alias("digits", "champion", 1)
    ok(panel, "poll")

    assert (panel.hooks, panel.failed_deliveries) == ([], {})
    assert reads == []
    # Once a hook is added (by any process: the marker is in the store), it reads them.
    client.add_hook("alias_moved", "https://ci.example.com/")
    ok(panel, "refresh")
    assert reads == ["live", "deliveries"]
    assert len(panel.hooks) == 1


@pytest.mark.usefixtures("digits")
def test_the_saved_view_shows_hooks_and_failed_deliveries_escaped(client, down, panels, wait):
    hostile = f"{down.url}/{SCRIPT.replace(' ', '')}"
    client.add_hook("alias_moved", hostile, name="digits", max_attempts=1)
    fails = ["sh", "-c", f"echo '{SCRIPT}' >&2; exit 3"]
    client.add_hook("tag_set", fails, name="digits", max_attempts=1)
    client.set_registered_model_alias("digits", "champion", 2)
    client.set_model_version_tag("digits", 1, "checked", "no")
    [tagged, moved] = failed(client, wait, count=2)
    assert tagged.error == f"exit status 3: {SCRIPT}"
    panel = panels("digits", poll_ms=0)

    html = _registry_static.panel_html(panel)

    assert "<script>window" not in html
    assert "&lt;script&gt;window.owned = 1&lt;/script&gt;" in html  # the error, as text
    assert "&lt;script&gt;window.owned=1&lt;/script&gt;" in html  # the URL, as text
    assert "<h3>Hooks</h3>" in html
    assert "<h3>Failed hook deliveries</h3>" in html
    section = html[html.index("Failed hook deliveries") :]
    section = section[: section.index("<h3>")]
    assert section.index(">v2<") < section.index(">v1<")  # newest version first
    assert moved.error.split(":")[0] in html
