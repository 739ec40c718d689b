"""A widget shown by a cell that goes on running keeps telling its views Python is there.

Its views step aside for the saved static copy when Python is silent for 5 s (a notebook
reopened with no kernel); a busy kernel answers no ping, so the signs of life come from
a thread, and stop when the cell ends. Checked on a real kernel's messages.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

import pytest

import canvasback as cb
from canvasback.widgets import presence

if TYPE_CHECKING:
    from pathlib import Path


_DEADLINE_S = 60


@pytest.fixture
def kernel(tmp_path: Path):
    from jupyter_client.manager import start_new_kernel  # noqa: PLC0415 - kernel tier only

    env = {**os.environ, "CANVASBACK_STORE": str(tmp_path / "store")}
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _messages_until(client, done, deadline_s: float = _DEADLINE_S) -> list[dict]:
    """iopub messages, until ``done(messages)`` holds (or the deadline fails the test)."""
    seen: list[dict] = []
    end = time.monotonic() + deadline_s
    while not done(seen):
        left = end - time.monotonic()
        assert left > 0, f"gave up waiting; saw {[m['msg_type'] for m in seen][-20:]}"
        try:
            seen.append(client.get_iopub_msg(timeout=min(left, 1.0)))
        except Exception:  # noqa: BLE001, S112 - queue.Empty: look at the deadline again
            continue
    return seen


def _alive_count(messages: list[dict]) -> int:
    return sum(
        1
        for m in messages
        if m["msg_type"] == "comm_msg"
        and m["content"]["data"].get("method") == "custom"
        and m["content"]["data"].get("content", {}).get("kind") == "alive"
    )


@pytest.mark.kernel
def test_a_table_shown_by_a_long_cell_hears_python_until_the_cell_ends(kernel, tmp_path):
    go_on = tmp_path / "go-on"
    code = f"""
import pathlib, time
import canvasback as cb
with cb.start_run(run_name="one", capture=False):
    cb.log_metric("acc", 0.5)
table = cb.RunTable()
display(table)
# The cell trains until the test lets it go.
while not pathlib.Path({str(go_on)!r}).exists():
    time.sleep(0.05)
"""
    msg_id = kernel.execute(code)
    # Three signs of life while the cell still runs: more than the front end's 5 s.
    seen = _messages_until(kernel, lambda ms: _alive_count(ms) >= 3)
    assert not any(
        m["msg_type"] == "status"
        and m["content"]["execution_state"] == "idle"
        and m["parent_header"].get("msg_id") == msg_id
        for m in seen
    )
    go_on.touch()
    _messages_until(
        kernel,
        lambda ms: any(
            m["msg_type"] == "status"
            and m["content"]["execution_state"] == "idle"
            and m["parent_header"].get("msg_id") == msg_id
            for m in ms
        ),
    )
    # Once the cell has ended the thread goes (the next cell finds none).
    check = """
import threading, time
end = time.monotonic() + 30
while any(t.name == "canvasback-presence" for t in threading.enumerate()):
    assert time.monotonic() < end, "the presence thread outlived its cell"
    time.sleep(0.05)
print("gone")
"""
    reply_id = kernel.execute(check)
    out = _messages_until(
        kernel,
        lambda ms: any(
            m["msg_type"] in ("stream", "error") and m["parent_header"].get("msg_id") == reply_id
            for m in ms
        ),
    )
    texts = [
        m["content"].get("text", "") or m["content"].get("evalue", "")
        for m in out
        if m["parent_header"].get("msg_id") == reply_id and m["msg_type"] in ("stream", "error")
    ]
    assert texts == ["gone\n"]


@pytest.mark.usefixtures("store")
def test_outside_a_kernel_nothing_speaks():
    presence.speak_while_cell_runs([cb.RunTable()])
    assert not any(t.name == "canvasback-presence" for t in threading.enumerate())
