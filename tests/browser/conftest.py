"""Browser fixtures: Debian's Chromium driven by Playwright, offline.

Two tiers share them:

* ``harness``: a built widget bundle rendered in ``harness.html`` against an in-page
  stand-in model, served from 127.0.0.1. About a second per test; most UI tests go here.
* ``jupyterlab``: a real JupyterLab server (session-scoped, isolated config, every
  network feature off) with a real kernel, for a few end-to-end smoke tests.

Any request that leaves loopback is aborted and recorded; tests assert there were none.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Locator, Page

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
STATIC = PROJECT / "src" / "canvasback" / "static"
SCREENSHOTS = PROJECT / "artifacts" / "screenshots"

CHROMIUM = os.environ.get("CANVASBACK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, and Chromium refuses its sandbox as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Everything but loopback, so the tests behave the same on a machine that is online.
EXTERNAL = re.compile(r"^(https?|wss?)://(?!127\.0\.0\.1[:/]|localhost[:/])")

# Generous: the first JupyterLab page load on a cold machine takes twice the warm time.
LAB_START_TIMEOUT_S = 90
NOTEBOOK_TIMEOUT_MS = 90_000
WIDGET_TIMEOUT_MS = 30_000


# --------------------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CANVASBACK_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only browser tests need it

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@dataclass
class OfflinePage:
    """A page whose non-loopback requests are aborted; ``blocked`` lists them."""

    page: Page
    blocked: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str, **kwargs: Any) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), **kwargs)
        return path


@pytest.fixture
def offline_page(browser: Browser) -> Iterator[OfflinePage]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Fail in seconds, not Playwright's 30 s; slow JupyterLab steps pass their own timeouts.
    context.set_default_timeout(15_000)
    page = context.new_page()
    offline = OfflinePage(page)

    def abort(route: Any) -> None:
        offline.blocked.append(route.request.url)
        route.abort()

    context.route(EXTERNAL, abort)
    page.on("console", lambda message: offline.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: offline.errors.append(str(error)))
    yield offline
    context.close()


# --------------------------------------------------------------------------- harness
class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves ``/static/*`` from the built bundles and everything else from tests/browser."""

    extensions_map = {  # noqa: RUF012 - the stdlib declares it as a plain class attribute
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
    }

    def translate_path(self, path: str) -> str:
        route = urllib.parse.urlsplit(path).path
        if route.startswith("/static/"):
            return str(STATIC / Path(route).name)
        return super().translate_path(path)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="session")
def static_server() -> Iterator[str]:
    """Base URL of a 127.0.0.1 server; Chromium will not import ES modules from file://."""
    handler = functools.partial(_Handler, directory=str(HERE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _encode_state(value: object) -> object:
    """JSON for the harness, with bytes marked so that it turns them into DataViews."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {key: _encode_state(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode_state(item) for item in value]
    return value


@dataclass
class Harness:
    offline: OfflinePage
    url: str

    @property
    def page(self) -> Page:
        return self.offline.page

    def mount(self, entry: str, state: dict[str, Any]) -> Page:
        """Render ``static/<entry>.js`` with ``state``; raises if the widget throws."""
        bundle = STATIC / f"{entry}.js"
        assert bundle.is_file(), f"{bundle} is missing: run `npm ci && npm run build`"
        self.page.goto(f"{self.url}/harness.html")
        self.page.wait_for_selector("body[data-ready=true]", state="attached")
        self.page.evaluate(
            "([url, state]) => mount(url, state)", [f"/static/{entry}.js", _encode_state(state)]
        )
        return self.page

    def update(self, key: str, value: object) -> None:
        """Change a trait as Python would; bytes arrive as DataViews."""
        self.page.evaluate(
            "([key, value]) => model.update(key, value)", [key, _encode_state(value)]
        )

    def saved(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.page.evaluate("model.saved")
        return result


@pytest.fixture
def harness(offline_page: OfflinePage, static_server: str) -> Harness:
    return Harness(offline_page, static_server)


# --------------------------------------------------------------------------- JupyterLab
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    runtime_dir: Path
    log: Path
    app: str = "lab"  # or "notebook": Jupyter Notebook 7, whose pages differ

    def api(self, path: str) -> Any:
        request = urllib.request.Request(  # noqa: S310 - a loopback URL we built
            f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def notebook_url(self, name: str) -> str:
        if self.app == "notebook":
            return f"{self.url}/notebooks/{name}?token={self.token}"
        # ?reset drops any saved workspace layout; the token logs the browser in.
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"


def _configure_lab(base: Path) -> dict[str, Path]:
    dirs = {name: base / name for name in ("config", "runtime", "settings", "workspaces")}
    for path in dirs.values():
        path.mkdir()
    (dirs["config"] / "jupyter_server_config.py").write_text(
        "c.LabApp.news_url = None\n"
        "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'\n"
        "c.LabApp.extension_manager = 'readonly'\n"
        # Lets tests wait for "kernel idle" through window.jupyterapp.
        "c.LabApp.expose_app_in_browser = True\n"
        "c.JupyterNotebookApp.expose_app_in_browser = True\n"
    )
    _write_json(
        dirs["config"] / "labconfig" / "page_config.json",
        {
            "disabledExtensions": {"@jupyterlab/extensionmanager-extension": True},
            "buildCheck": False,
            "buildAvailable": False,
        },
    )
    settings = dirs["settings"] / "@jupyterlab"
    _write_json(
        settings / "apputils-extension" / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    # Without it, JupyterLab 4 leaves off-screen cells out of the DOM.
    _write_json(
        settings / "notebook-extension" / "tracker.jupyterlab-settings",
        {"windowingMode": "none"},
    )
    return dirs


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[Lab]:
    """A JupyterLab server on 127.0.0.1 with a random token and isolated config dirs."""
    yield from _jupyter_server(tmp_path_factory, browser, "lab")


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[Lab]:
    """A Jupyter Notebook 7 server, configured as the JupyterLab one is."""
    yield from _jupyter_server(tmp_path_factory, browser, "notebook")


def _jupyter_server(
    tmp_path_factory: pytest.TempPathFactory, browser: Browser, app: str
) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("jupyterlab" if app == "lab" else "notebook7")
    root = base / "notebooks"
    root.mkdir()
    dirs = _configure_lab(base)
    token = secrets.token_hex(16)
    port = _free_port()
    # Its kernels log to a store their notebooks name, or to one beside them: never to the
    # store that `make test` gives its own notebooks (CANVASBACK_STORE).
    env = {
        **{key: value for key, value in os.environ.items() if key != "CANVASBACK_STORE"},
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(base / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        # The kernelspec runs `python`: it must be this venv's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab" if app == "lab" else "notebook",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--ServerApp.allow_root=True",  # CI runs as root; the server would exit at once
    ]
    log_path = base / "jupyterlab.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    lab = Lab(f"http://127.0.0.1:{port}", token, root, dirs["runtime"], log_path, app)
    try:
        _wait_until_up(lab, proc, browser)
        yield lab
    finally:
        # The server leads its own process group, which holds the kernels it started.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # one log per xdist worker
        shutil.copy(log_path, SCREENSHOTS.parent / f"{base.name}{worker}.log")


# The server answers on its port: any HTTP response will do (no-cors, so it stays opaque).
_SERVER_ANSWERS = """async (url) => {
    await fetch(url, {mode: 'no-cors', cache: 'no-store'});
    return [true, 'answered'];
}"""


def _wait_until_up(lab: Lab, proc: subprocess.Popen[bytes], browser: Browser) -> None:
    """Wait, in a blank page of its own, until the server answers HTTP on its port."""
    context = browser.new_context()
    try:
        wait_for_probe(
            context.new_page(), _SERVER_ANSWERS, f"{lab.url}/api/status", LAB_START_TIMEOUT_S * 1000
        )
    except AssertionError as error:
        state = "exited" if proc.poll() is not None else "did not answer"
        msg = f"JupyterLab {state} ({error}):\n{lab.log.read_text()[-3000:]}"
        raise RuntimeError(msg) from None
    finally:
        context.close()


# --------------------------------------------------------------------------- notebooks
_KERNEL_IDLE = """() => {
    const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = widget && widget.sessionContext && widget.sessionContext.session
        && widget.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""

_ALL_CELLS_RAN = """() => {
    const selector = '.jp-Notebook .jp-CodeCell .jp-InputArea-prompt';
    const prompts = [...document.querySelectorAll(selector)];
    return prompts.length > 0 && prompts.every((p) => /\\[\\d+\\]/.test(p.textContent));
}"""


# A predicate for ``wait_for_function`` around an async check, which Playwright does not
# await itself. CHECK is ``async (arg) => [done, detail]``: each poll starts it unless one
# is in flight, and the predicate holds once one resolved with ``done``. The last
# ``detail`` stays in ``window.__cbProbes[key]`` for the error message.
_PROBE = """([key, arg]) => {
    const probes = (window.__cbProbes ??= {});
    const probe = (probes[key] ??= {pending: false, done: false, detail: undefined});
    if (probe.done) return true;
    if (!probe.pending) {
        probe.pending = true;
        (CHECK)(arg)
            .then(([done, detail]) => { probe.done = done; probe.detail = detail; },
                  (error) => { probe.detail = String(error); })
            .finally(() => { probe.pending = false; });
    }
    return false;
}"""


def wait_for_probe(page: Page, check: str, arg: object, timeout: float) -> None:
    """Wait until the async JS ``check(arg)`` resolves ``[true, ...]`` (see ``_PROBE``).

    Raises
    ------
    AssertionError
        On timeout, with the check's last detail.

    """
    from playwright.sync_api import Error  # noqa: PLC0415 - only browser tests need it

    key = secrets.token_hex(8)
    try:
        page.wait_for_function(
            _PROBE.replace("CHECK", check), arg=[key, arg], timeout=timeout, polling=100
        )
    except Error as error:
        detail = page.evaluate("(key) => window.__cbProbes?.[key]?.detail", key)
        msg = f"timed out after {timeout:.0f} ms; last: {detail!r}"
        raise AssertionError(msg) from error


# The repr of an expression in a notebook's own kernel, through the page's connection.
_KERNEL_ANSWERS = """async ([path, expression, expected]) => {
    const panel = Array.from(window.jupyterapp.shell.widgets('main'))
        .find((widget) => widget.context && widget.context.path === path);
    const session = panel && panel.sessionContext.session;
    if (!session || !session.kernel) return [false, 'no kernel'];
    const reply = await session.kernel.requestExecute({
        code: '', silent: true, store_history: false, user_expressions: {value: expression},
    }).done;
    const result = reply.content.user_expressions.value;
    const value = result.status === 'ok'
        ? result.data['text/plain'] : `${result.ename}: ${result.evalue}`;
    return [value === expected, value];
}"""


@dataclass
class LabPage:
    """Drives notebooks in the session's JupyterLab the way a user does, offline."""

    lab: Lab
    offline: OfflinePage

    @property
    def page(self) -> Page:
        return self.offline.page

    def make_notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code cells; the kernelspec avoids the kernel picker dialog."""
        notebook = {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "id": f"cell-{i}",
                    "metadata": {},
                    "outputs": [],
                    "source": source,
                }
                for i, source in enumerate(cells)
            ],
            "metadata": {
                "kernelspec": {
                    "display_name": "Python 3 (ipykernel)",
                    "language": "python",
                    "name": "python3",
                },
                "language_info": {"name": "python"},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (self.lab.root / name).write_text(json.dumps(notebook, indent=1))
        return name

    def open(self, name: str) -> None:
        """Open a notebook (relative to the server root) and wait until its kernel is idle."""
        self.page.goto(self.lab.notebook_url(name))
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=NOTEBOOK_TIMEOUT_MS)
        self.page.wait_for_function(_KERNEL_IDLE, timeout=NOTEBOOK_TIMEOUT_MS)

    def run_all(self) -> None:
        """Run every cell, as Run > Run All Cells does, and wait until all have finished."""
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        self.page.wait_for_function(_ALL_CELLS_RAN, timeout=NOTEBOOK_TIMEOUT_MS)
        self.page.wait_for_function(_KERNEL_IDLE, timeout=NOTEBOOK_TIMEOUT_MS)

    def cell(self, index: int) -> Locator:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def kernel_eval(self, notebook: str, expression: str) -> str:
        """``repr`` of ``expression`` evaluated in the notebook's own kernel."""
        from jupyter_client import BlockingKernelClient  # noqa: PLC0415 - only lab tests need it

        (session,) = [s for s in self.lab.api("/api/sessions") if s["path"] == notebook]
        connection = self.lab.runtime_dir / f"kernel-{session['kernel']['id']}.json"
        client = BlockingKernelClient(connection_file=str(connection))
        client.load_connection_file()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=30)
            reply = client.execute_interactive(
                "",
                user_expressions={"value": expression},
                timeout=30,
                output_hook=lambda _msg: None,
            )
        finally:
            client.stop_channels()
        result = reply["content"]["user_expressions"]["value"]
        if result["status"] != "ok":
            error = f"{result.get('ename')}: {result.get('evalue')}"
            msg = f"{expression!r} failed in the kernel: {error}"
            raise AssertionError(msg)
        text: str = result["data"]["text/plain"]
        return text

    def wait_for_kernel(
        self, notebook: str, expression: str, expected: str, timeout: float = 15_000
    ) -> None:
        """Wait until ``repr(expression)`` in the notebook's kernel is ``expected``."""
        try:
            wait_for_probe(self.page, _KERNEL_ANSWERS, [notebook, expression, expected], timeout)
        except AssertionError as error:
            msg = f"kernel: {expression!r} is not {expected!r}: {error}"
            raise AssertionError(msg) from None

    def screenshot(self, name: str) -> Path:
        # JupyterLab scrolls inside its own panel, which a full-page screenshot misses.
        self.page.evaluate(
            """() => document.querySelectorAll('.jp-WindowedPanel-outer')
                .forEach((panel) => { panel.scrollTop = 0; })"""
        )
        return self.offline.screenshot(name)


@pytest.fixture
def lab_page(jupyterlab: Lab, offline_page: OfflinePage) -> LabPage:
    return LabPage(jupyterlab, offline_page)


@pytest.fixture
def notebook7_page(notebook7: Lab, offline_page: OfflinePage) -> LabPage:
    """A page of the Notebook 7 server; the same driver, since its notebook view is Lab's."""
    return LabPage(notebook7, offline_page)
