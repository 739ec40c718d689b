"""``make demo`` opens JupyterLab with its news question answered.

JupyterLab 4 asks "Would you like to get notified about official Jupyter news?" in a
toast over the page while ``@jupyterlab/apputils-extension:notification``'s
``fetchNews`` is ``"none"`` (its default). The demo target starts JupyterLab with a
project-local settings folder whose ``overrides.json`` sets it to ``"false"``; here a
real JupyterLab is started with the target's own option and asked through its settings
API what a page would get.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a JupyterLab server in a child process

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "@jupyterlab/apputils-extension:notification"


def demo_recipe() -> str:
    """The demo target's recipe, continuation lines joined."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(r"^demo:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert match, "the Makefile has a demo target"
    return match.group(1)


def lab_options() -> list[str]:
    """The options the demo gives ``jupyter lab`` about its settings, as it runs them."""
    line = next(line for line in demo_recipe().splitlines() if "jupyter lab" in line)
    options = re.findall(r"--LabApp\.\S+", line)
    return [o.replace("$(CURDIR)", str(ROOT)) for o in options]


def test_the_demo_target_gives_jupyterlab_its_own_settings_folder():
    options = lab_options()
    folder = next(o.split("=", 1)[1] for o in options if o.startswith("--LabApp.app_settings_dir="))
    overrides = json.loads((Path(folder) / "overrides.json").read_text())
    assert overrides[PLUGIN]["fetchNews"] == "false"
    assert Path(folder).is_relative_to(ROOT)  # the project's, not the user's ~/.jupyter


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(url: str, token: str, deadline: float) -> dict:
    request = urllib.request.Request(  # noqa: S310  # a server of this test on 127.0.0.1
        f"{url}/lab/api/settings/{PLUGIN}", headers={"Authorization": f"token {token}"}
    )
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                return json.load(answer)
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_jupyterlab_started_as_the_demo_does_never_asks_about_news(tmp_path):
    token = secrets.token_hex(16)
    port = _free_port()
    # A home of its own: no user setting of this machine answers the question instead.
    env = {
        **os.environ,
        **{
            name: str(tmp_path / name.lower())
            for name in (
                "JUPYTER_CONFIG_DIR",
                "JUPYTER_DATA_DIR",
                "JUPYTER_RUNTIME_DIR",
                "JUPYTERLAB_SETTINGS_DIR",
                "JUPYTERLAB_WORKSPACES_DIR",
            )
        },
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}",
        "--ServerApp.allow_root=True",
        *lab_options(),
    ]
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        answer = _settings(f"http://127.0.0.1:{port}", token, time.monotonic() + 120)
    except (urllib.error.URLError, ConnectionError):
        pytest.fail(f"JupyterLab did not answer:\n{log.read_text()[-3000:]}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    # What a page composes: the user's settings (none here) over the schema's defaults,
    # which the overrides replaced.
    assert answer["schema"]["properties"]["fetchNews"]["default"] == "false"
    assert "fetchNews" not in answer["settings"]
