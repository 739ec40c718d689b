"""Hooks in the registry panel, in Chromium: a version's failed deliveries, and Retry.

The ``registry`` bundle runs in the harness page against a real RegistryPanel through
the bridge of ``test_registry.py``. The hook's target is a real HTTP server on
127.0.0.1 (``tests/registry/hook_receiver.py``), bound but not listening at first, so
the delivery fails (refused); once it listens, the panel's Retry delivers it.
"""

from __future__ import annotations

import pytest
from tests.browser.test_registry import ROW, RegistryBridge
from tests.registry.hook_receiver import Receiver

import canvasback as cb

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.owned=1</script>"


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def failing(tmp_path, receiver, wait):
    """digits v1 and v2; @champion moved to v2, its delivery to a target that is down failed."""
    client = cb.Client(store=tmp_path / "store")
    run = client.create_run("0", run_name="first")
    run.log_text("flavors: {}\n", "model/MLmodel")
    run.end()
    for _ in range(2):
        client.register_model(f"runs:/{run.info.run_id}/model", "digits")
    target = f"{receiver.url}/{SCRIPT}"  # markup in the URL: shown as text
    hook = client.add_hook("alias_moved", target, name="digits", max_attempts=1)
    client.set_registered_model_alias("digits", "champion", 2)
    [failed] = wait(
        lambda: [d for d in client.get_hook_deliveries("digits") if d.status == "failed"],
        what="the delivery to fail",
    )
    return {"root": tmp_path / "store", "client": client, "hook": hook, "delivery": failed}


@pytest.fixture
def bridge_for(harness):
    made = []

    def make(widget):
        made.append(widget)
        return RegistryBridge(harness, widget)

    yield make
    for widget in made:
        widget.close()


def test_a_failed_delivery_opens_from_its_badge_and_retry_delivers_it(
    bridge_for, failing, receiver
):
    bridge = bridge_for(cb.registry_panel("digits", store=failing["root"], poll_ms=0))
    page = bridge.mount()
    # The model's hook, its target as text.
    hook = page.locator(f".cb-reg-hook[data-hook-id='{failing['hook'].hook_id}']")
    assert hook.locator(".cb-reg-hook-target").inner_text() == f"{receiver.url}/{SCRIPT}"
    assert "alias_moved" in hook.inner_text()
    # The badge is on v2, not on v1.
    badge = page.locator(ROW.format(2)).locator(".cb-reg-deliveries")
    assert badge.inner_text() == "1 failed"
    assert page.locator(ROW.format(1)).locator(".cb-reg-deliveries").count() == 0
    # Opening it does not select the version.
    badge.click()
    detail = page.locator(".cb-reg-delivery-detail[data-version='2']")
    detail.wait_for()
    assert bridge.widget.selected_versions == []
    row = detail.locator(f".cb-reg-delivery[data-delivery-id='{failing['delivery'].delivery_id}']")
    cells = row.locator("td").all_inner_texts()
    assert cells[0].startswith("127.0.0.1:")
    assert cells[1] == "alias_moved"
    assert cells[3] == "1"
    assert "refused" in cells[4].lower()
    assert page.locator("#root script").count() == 0
    bridge.harness.offline.screenshot("registry_failed_delivery")

    # The target listens now: Retry sends it again, with its id, and the badge goes.
    receiver.start()
    detail.locator(".cb-reg-retry").click()
    page.wait_for_function("() => !document.querySelector('.cb-reg-deliveries')")
    assert detail.count() == 0
    assert [r.delivery_id for r in receiver.got] == [failing["delivery"].delivery_id]
    assert "retry_hooks" in bridge.kinds()
    notice = page.locator(".cb-reg-notice").inner_text()
    assert notice == "Retried 1 hook delivery of digits version 2: 1 delivered"
    [delivered] = failing["client"].get_hook_deliveries("digits")
    assert (delivered.status, delivered.attempts) == ("delivered", 2)
    assert page.evaluate("() => window.owned") is None
    assert bridge.harness.offline.errors == []


def test_retry_all_of_the_model_from_the_hooks_section(bridge_for, failing, receiver, wait):
    client = failing["client"]
    client.set_registered_model_alias("digits", "challenger", 1)
    wait(
        lambda: len(client.get_hook_deliveries("digits", failed_only=True)) == 2,
        what="the second delivery to fail",
    )
    bridge = bridge_for(cb.registry_panel("digits", store=failing["root"], poll_ms=0))
    page = bridge.mount()
    for version in (1, 2):
        assert page.locator(ROW.format(version)).locator(".cb-reg-deliveries").count() == 1
    receiver.start()
    page.locator(".cb-reg-retry-all").click()
    page.wait_for_function("() => !document.querySelector('.cb-reg-deliveries')")
    assert sorted(r.json["data"]["version"] for r in receiver.got) == ["1", "2"]
    assert page.locator(".cb-reg-retry-all").count() == 0
    assert bridge.harness.offline.errors == []
