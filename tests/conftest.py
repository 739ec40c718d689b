"""Shared fixtures: a fresh store and a fresh context per test, child-process helpers.

And the test tiers. ``make test-fast`` runs the unit tier: every test without one of the
markers ``slow``, ``kernel``, ``wheel``, ``browser``, ``jupyterlab`` or ``s3`` (pyproject.toml says
what each means). A test gets its marker from the fixtures it uses (``TIER_OF_FIXTURE``:
a test that starts a child Python or a browser is in that tier without saying so), or
from a mark on it or on its module, for what fixtures cannot show (a kernel started by
``run_notebook``, a subprocess started by hand); a unit-tier test that starts a child
Python fails, saying so. ``make test`` runs every tier across pytest-xdist workers, each
module on one worker (its module fixtures made once; each worker starts its own browser
and Jupyter servers, in seconds), then the tests marked ``serial`` alone.
"""

from __future__ import annotations

import contextlib
import importlib.util
import multiprocessing.util
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

import canvasback

if TYPE_CHECKING:
    from collections.abc import Iterator

TIERS: Final = ("slow", "kernel", "wheel", "browser", "jupyterlab", "s3")
TIER_OF_FIXTURE: Final = {
    "run_python": "slow",
    "spawn_python": "slow",
    "jupyterlab": "jupyterlab",
    "notebook7": "jupyterlab",
    "browser": "browser",
    "seaweedfs": "s3",
    "own_seaweedfs": "s3",
}
# Under xdist (`--dist loadfile`: a module's tests on one worker), the modules of the
# longest tiers start first and the unit tests fill in at the end.
FIRST_TO_LAST: Final = ("jupyterlab", "kernel", "wheel", "slow", "s3", "browser")


def tiers_of(item: pytest.Item) -> set[str]:
    """The tiers a test is in, by its marks and its fixtures; empty for the unit tier."""
    fixtures = set(getattr(item, "fixturenames", ()))
    used = {tier for name, tier in TIER_OF_FIXTURE.items() if name in fixtures}
    if "jupyterlab" in used:
        used.discard("browser")  # a server's tests drive Chromium too, but are not harness tests
    if item.path.suffix == ".ipynb":
        used.add("kernel")  # a notebook under nbval runs in a kernel
    return used | {tier for tier in TIERS if item.get_closest_marker(tier) is not None}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tiers; under xdist, order the modules longest tier first."""
    rank: dict[Path, int] = {}
    for item in items:
        tiers = tiers_of(item)
        for tier in sorted(tiers):
            if item.get_closest_marker(tier) is None:
                item.add_marker(tier)
        first = min((FIRST_TO_LAST.index(t) for t in tiers), default=len(FIRST_TO_LAST))
        rank[item.path] = min(rank.get(item.path, first), first)
    if hasattr(config, "workerinput"):  # every worker sorts alike: xdist checks it
        items.sort(key=lambda item: rank[item.path])  # stable: a module stays in one piece


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    """A unit-tier test that starts another Python interpreter fails, saying what to mark.

    An interpreter costs about a second to start, and the unit tier promises none: a test
    that needs one, in its body or in a fixture of any scope, is marked ``slow`` (or
    ``kernel``); ``run_python`` and ``spawn_python`` mark theirs. Git and other small
    programs are fine, and so is a fork, which starts no interpreter.
    """
    del nextitem
    if tiers_of(item):
        return (yield)
    with _no_child_python():
        return (yield)


@contextlib.contextmanager
def _no_child_python() -> Iterator[None]:
    def refuse(program: object) -> None:
        if Path(os.fsdecode(os.fspath(program))).name.startswith("python"):
            pytest.fail(
                f"this test starts a child Python ({program}): mark it @pytest.mark.slow "
                "(or kernel for a Jupyter kernel), or use the run_python / spawn_python "
                "fixtures, which do (tests/conftest.py)"
            )

    execute_child = subprocess.Popen._execute_child
    spawnv_passfds = multiprocessing.util.spawnv_passfds

    def checked_execute_child(popen, args, executable, *rest):
        args = [args] if isinstance(args, str | bytes | os.PathLike) else list(args)
        refuse(executable or args[0])
        return execute_child(popen, args, executable, *rest)

    def checked_spawnv_passfds(path, args, passfds):
        refuse(path)
        return spawnv_passfds(path, args, passfds)

    subprocess.Popen._execute_child = checked_execute_child
    multiprocessing.util.spawnv_passfds = checked_spawnv_passfds
    try:
        yield
    finally:
        subprocess.Popen._execute_child = execute_child
        multiprocessing.util.spawnv_passfds = spawnv_passfds


@pytest.fixture(autouse=True)
def _no_shared_store(monkeypatch):
    """A test's runs go to the store it names, never to ``CANVASBACK_STORE``.

    ``make test`` sets that variable for the notebooks it runs under nbval: the tests here
    must neither write to that store nor find a default there that a user would not.
    ``MLFLOW_TRACKING_URI`` names the default store too, when no ``CANVASBACK_STORE`` does.
    """
    monkeypatch.delenv("CANVASBACK_STORE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(autouse=True)
def _no_system_metrics_settings(monkeypatch):
    """No run samples the machine unless its test asks, whatever the shell's settings."""
    for name in (
        "CANVASBACK_SYSTEM_METRICS",
        "CANVASBACK_SYSTEM_METRICS_INTERVAL",
        "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING",
        "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL",
        "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING",
        "MLFLOW_SYSTEM_METRICS_NODE_ID",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _capture_off_by_default(monkeypatch):
    """Runs record their code and environment only in the tests of that capture.

    Elsewhere the tags and artifacts a test counts are the ones it logged itself;
    ``tests/test_projects_*.py`` switch capture back on (as it is by default).
    """
    monkeypatch.setenv("CANVASBACK_CAPTURE", "none")


@pytest.fixture(autouse=True)
def jupyter_data_dir(monkeypatch, tmp_path_factory):
    """A Jupyter data directory of the test's own, so nothing is written to the home's.

    ``run_notebook`` signs the notebooks it executes with the notary kept there. Not
    created: as on a machine where Jupyter never ran, the first signature creates it.
    """
    path = tmp_path_factory.mktemp("jupyter") / "data"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def _fresh_context():
    """Each test leaves the process as a new one: no active run, store or experiment."""
    yield
    canvasback.reset()


@pytest.fixture
def store(tmp_path):
    """Point the fluent API at a fresh store folder; returns its path."""
    return canvasback.set_store(tmp_path / "store")


@pytest.fixture
def run_python(tmp_path):
    """Run a Python snippet in a child process (``sys.executable``); returns the result."""
    counter = iter(range(1_000_000))

    def run(code: str, *args: object, timeout: float = 60, check: bool = True):
        script = tmp_path / f"child_{next(counter)}.py"
        script.write_text(textwrap.dedent(code))
        result = subprocess.run(
            [sys.executable, str(script), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=child_env(),
        )
        if check and result.returncode != 0:
            pytest.fail(f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    return run


@pytest.fixture
def spawn_python(tmp_path):
    """Start a Python snippet in a child process; returns the Popen (killed at teardown)."""
    children: list[subprocess.Popen[str]] = []
    counter = iter(range(1_000_000))

    def spawn(code: str, *args: object, **popen_kwargs):
        script = tmp_path / f"spawned_{next(counter)}.py"
        script.write_text(textwrap.dedent(code))
        popen_kwargs.setdefault("stdout", subprocess.PIPE)
        popen_kwargs.setdefault("stderr", subprocess.PIPE)
        child = subprocess.Popen(
            [sys.executable, str(script), *map(str, args)],
            text=True,
            env=child_env(),
            **popen_kwargs,
        )
        children.append(child)
        return child

    yield spawn
    for child in children:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CANVASBACK_STORE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_for(condition, *, timeout: float = 30.0, what: str = "condition"):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def wait():
    """The ``wait_for`` helper, as a fixture (tests are not a package)."""
    return wait_for


PYPROJECT: Final = Path(__file__).resolve().parents[1] / "pyproject.toml"


@pytest.fixture(scope="session")
def mlflow_entry_points(tmp_path_factory) -> Path:
    """A folder for a child's ``PYTHONPATH`` that gives MLflow canvasback's plugin.

    MLflow finds plugins by the entry points of the distributions on ``sys.path``: the
    folder holds a ``.dist-info`` whose ``entry_points.txt`` is written from
    ``pyproject.toml``'s table, as an install writes it (``make setup`` installs
    canvasback with them), so a child finds the plugin of this checkout's code.
    """
    groups = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]
    folder = tmp_path_factory.mktemp("entry-points")
    dist = folder / "canvasback_mlflow_entry_points-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: canvasback-mlflow-entry-points\nVersion: 0\n"
    )
    lines = []
    for group, targets in groups.items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in targets.items()]
        lines.append("")
    (dist / "entry_points.txt").write_text("\n".join(lines))
    return folder


def mlflow_child_env(entry_points: Path, tracking_uri: str | None = None) -> dict[str, str]:
    """A child's environment in which MLflow finds the plugin (and a store, if given)."""
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(entry_points), env.get("PYTHONPATH", "")])
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    # MLflow starts its servers as programs (uvicorn): this venv's, as a user's shell has.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("MLFLOW_REGISTRY_URI", None)
    if tracking_uri is None:
        env.pop("MLFLOW_TRACKING_URI", None)
    else:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    return env


@pytest.fixture(scope="session")
def mlflow_env():
    """The ``mlflow_child_env`` helper, as a fixture (tests are not a package)."""
    return mlflow_child_env


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_server(
    args: list[str], ready_url: str, *, env: dict[str, str], cwd: Path, timeout: float = 120
) -> Iterator[Path]:
    """A server process (its own process group), once ``ready_url`` answers 200.

    Yields its log file; stops the group (the server and the workers it started) after.
    """
    log_path = cwd / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout
        while not _answers(ready_url):
            if proc.poll() is not None or time.monotonic() > deadline:
                state = "exited" if proc.poll() is not None else "did not answer"
                pytest.fail(f"{' '.join(args[:4])} {state}:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)  # the next probe; the condition is the server's answer
        yield log_path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _load(name: str, path: Path):
    # Tests are not a package (--import-mode=importlib): load a helper by its path.
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# A SeaweedFS server for the tests on S3-compatible object storage (the ``s3`` tier);
# the same helper starts the benchmarks' and the scale-out notebook's.
seaweed_server = _load("seaweed_server", Path(__file__).with_name("seaweed_server.py"))


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory) -> Iterator[seaweed_server.SeaweedFS]:
    """A SeaweedFS server with an S3 endpoint, for the session."""
    weed = seaweed_server.WeedServer(tmp_path_factory.mktemp("seaweedfs"))
    try:
        server = weed.start()
    except seaweed_server.SeaweedFSError as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        weed.stop()


@pytest.fixture
def own_seaweedfs(tmp_path_factory) -> Iterator[seaweed_server.WeedServer]:
    """A SeaweedFS server of the test's own, which it may stop and start again (same data
    and ports: ``weed.stop()``, ``weed.start()``)."""
    weed = seaweed_server.WeedServer(tmp_path_factory.mktemp("own-seaweedfs"))
    try:
        weed.start()
    except seaweed_server.SeaweedFSError as exc:
        pytest.fail(str(exc))
    try:
        yield weed
    finally:
        weed.stop()


@pytest.fixture
def s3_bucket(seaweedfs) -> Iterator[str]:
    """A fresh bucket of the session's server, removed after the test."""
    name = seaweedfs.new_bucket()
    yield name
    with contextlib.suppress(OSError):
        seaweedfs.delete_bucket(name)


@pytest.fixture
def s3_env(seaweedfs, monkeypatch, tmp_path) -> dict[str, str]:
    """The AWS variables set to reach the server (children inherit them), caches in the test's."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    for key, value in seaweedfs.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return seaweedfs.env


@pytest.fixture(scope="session")
def server_helpers():
    """``free_port`` and ``running_server``, as a fixture (tests are not a package)."""
    return free_port, running_server
