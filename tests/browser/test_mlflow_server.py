"""``mlflow server`` and ``mlflow ui`` on a canvasback store: MLflow's REST API and web UI.

The store is logged to with canvasback's own API (experiments, runs with a metric's
history, a model registered with the alias ``champion``); MLflow's own server is started
on it as a user starts it (``--backend-store-uri canvasback:///<store>``, on a free port
of 127.0.0.1, one worker), finding the plugin by its entry points. Its REST API is asked
what the UI's pages ask, and Chromium opens the UI's experiments, runs, run and
registered-model pages and finds the store's records there. The experiment's GenAI
pages (overview, traces) show their empty state: the plugin answers their reads empty
(``refusals.EMPTY_TRACKING``).
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import canvasback
from canvasback.tracking import uris

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow  # MLflow's server in a child process, seconds to start

START_TIMEOUT_S = 120  # MLflow imports for ~10 s on a cold, busy machine
PAGE_TIMEOUT_MS = 30_000
MLFLOW_DOCS = "https://mlflow.org/docs/"
CHAMPION = re.compile(r"@\s*champion")  # the alias tag reads "@ champion" (a no-break space)


@dataclass
class Seeded:
    """What canvasback logged: the ids the pages and the API calls look for."""

    root: Path
    experiment_id: str
    trained: str
    baseline: str
    model_id: str
    losses: list[float] = field(default_factory=list)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    root = tmp_path_factory.mktemp("served") / "store"
    features, labels = load_iris(return_X_y=True, as_frame=True)
    losses = [1.0 / (step + 1) for step in range(4)]
    canvasback.set_store(root)
    try:
        experiment_id = canvasback.set_experiment("served").experiment_id
        with canvasback.start_run(run_name="baseline", live=False) as baseline:
            canvasback.log_metric("loss", 0.9)
        with canvasback.start_run(run_name="trained", live=False) as trained:
            canvasback.log_params({"C": 0.5})
            for step, loss in enumerate(losses):
                canvasback.log_metric("loss", loss, step=step)
            model = LogisticRegression(max_iter=300).fit(features, labels)
            info = canvasback.sklearn.log_model(
                model, name="model", registered_model_name="served-clf"
            )
        canvasback.MlflowClient().set_registered_model_alias("served-clf", "champion", 1)
        canvasback.flush()
    finally:
        canvasback.reset()
    return Seeded(
        root, experiment_id, trained.info.run_id, baseline.info.run_id, info.model_id, losses
    )


@dataclass
class Server:
    url: str
    log: Path

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=30) as answer:  # noqa: S310
            return json.loads(answer.read())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(  # noqa: S310 - a loopback URL we built
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return json.loads(answer.read())


def start_mlflow(
    command: str, root: Path, folder: Path, env: dict[str, str], helpers: Any
) -> Iterator[Server]:
    """``mlflow <command>`` on the store, until it answers ``/health``; stopped after."""
    free_port, running_server = helpers
    port = free_port()
    args = [sys.executable, "-m", "mlflow", command, "--backend-store-uri", uris.store_uri(root)]
    args += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    url = f"http://127.0.0.1:{port}"
    # In a folder of its own: MLflow's server may write beside it (./mlartifacts).
    with running_server(args, f"{url}/health", env=env, cwd=folder) as log:
        yield Server(url, log)


@pytest.fixture(scope="module")
def server(
    seeded: Seeded,
    tmp_path_factory: pytest.TempPathFactory,
    mlflow_entry_points: Path,
    mlflow_env: Any,
    server_helpers: Any,
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("mlflow-server")
    env = mlflow_env(mlflow_entry_points)
    yield from start_mlflow("server", seeded.root, folder, env, server_helpers)


API = "/api/2.0/mlflow"


def check_rest_api(server: Server, seeded: Seeded) -> None:
    """The calls of the UI's pages, answered from the store."""
    experiments = server.post(f"{API}/experiments/search", {"max_results": 10})["experiments"]
    assert [e["name"] for e in experiments] == ["served", "Default"]
    assert experiments[0]["experiment_id"] == seeded.experiment_id

    runs = server.post(f"{API}/runs/search", {"experiment_ids": [seeded.experiment_id]})["runs"]
    assert {r["info"]["run_name"]: r["info"]["run_id"] for r in runs} == {
        "trained": seeded.trained,
        "baseline": seeded.baseline,
    }

    run = server.get(f"{API}/runs/get?run_id={seeded.trained}")["run"]
    latest = {m["key"]: (m["value"], m["step"]) for m in run["data"]["metrics"]}
    assert latest == {"loss": (seeded.losses[-1], len(seeded.losses) - 1)}
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"C": "0.5"}
    history = server.get(f"{API}/metrics/get-history?run_id={seeded.trained}&metric_key=loss")
    assert [m["value"] for m in history["metrics"]] == seeded.losses

    model = server.get(f"{API}/registered-models/get?name=served-clf")["registered_model"]
    assert model["aliases"] == [{"alias": "champion", "version": "1"}]
    version = server.get(f"{API}/registered-models/alias?name=served-clf&alias=champion")
    assert version["model_version"]["run_id"] == seeded.trained
    assert version["model_version"]["source"] == f"runs:/{seeded.trained}/model"


def test_mlflow_server_answers_the_rest_api_from_the_store(server, seeded):
    check_rest_api(server, seeded)
    # The datasets filter of the runs page: MLflow answers 500 if the store lacks it.
    summaries = server.post(
        "/ajax-api/2.0/mlflow/experiments/search-datasets",
        {"experiment_ids": [seeded.experiment_id]},
    )
    assert summaries == {}  # the runs logged no dataset


def test_mlflow_ui_serves_the_same_store(
    seeded, tmp_path, mlflow_entry_points, mlflow_env, server_helpers
):
    env = mlflow_env(mlflow_entry_points)
    for server in start_mlflow("ui", seeded.root, tmp_path, env, server_helpers):
        check_rest_api(server, seeded)


# --------------------------------------------------------------------------- the web UI
@dataclass
class UiPage:
    """A page of MLflow's UI in Chromium, with the API answers it got that failed."""

    offline: Any
    url: str
    failed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        def record(response: Any) -> None:
            # 5xx is the server's failure, 501 the plugin refusing a read a page makes;
            # MLflow's UI asks for /users/current, which only its auth app serves (404).
            # The assistant's calls read no store, and MLflow's own first two of them at
            # once can race importing its auth module (a 500 of MLflow's, not the store's).
            if response.status >= 500 and "/mlflow/assistant/" not in response.url:
                self.failed.append(f"{response.status} {response.request.method} {response.url}")

        self.offline.page.on("response", record)

    def open(self, route: str) -> Any:
        page = self.offline.page
        page.goto(f"{self.url}/#{route}")
        return page

    def check_clean(self) -> None:
        assert self.failed == []
        assert self.offline.errors == []
        # The GenAI pages' empty state plays a video from MLflow's docs site: offline, it
        # is aborted (and the page is whole without it). Nothing else leaves loopback.
        assert [u for u in self.offline.blocked if not u.startswith(MLFLOW_DOCS)] == []


@pytest.fixture
def ui(offline_page, server) -> Iterator[UiPage]:
    page = UiPage(offline_page, server.url)
    yield page
    page.check_clean()


def test_the_experiments_page_and_the_runs_page_list_the_store(ui, seeded):
    page = ui.open("/experiments")
    page.get_by_role("link", name="served", exact=True).wait_for(timeout=PAGE_TIMEOUT_MS)
    page.get_by_role("link", name="Default", exact=True).wait_for()

    page.set_viewport_size({"width": 1600, "height": 900})  # the grid draws visible columns
    page = ui.open(f"/experiments/{seeded.experiment_id}/runs")
    for name in ("trained", "baseline"):
        page.get_by_text(name, exact=True).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    # The Models column names the version the run registered (the grid draws a row in
    # parts, the pinned name apart from the other columns: each part has the run's id).
    trained = page.locator(f"[role=row][row-id='{seeded.trained}']")
    expect(trained.filter(has_text="served-clf")).to_contain_text(re.compile(r"served-clf\s*v1"))
    ui.offline.screenshot("mlflow-ui-runs")


def test_the_run_page_shows_its_metric_param_and_model(ui, seeded):
    page = ui.open(f"/experiments/{seeded.experiment_id}/runs/{seeded.trained}")
    page.get_by_text("trained", exact=True).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    rows = page.get_by_role("row")
    metric = rows.filter(has=page.get_by_text("loss", exact=True)).first
    expect(metric).to_contain_text(str(seeded.losses[-1]))
    expect(rows.filter(has=page.get_by_text("C", exact=True)).first).to_contain_text("0.5")
    page.get_by_text("served-clf").first.wait_for()
    ui.offline.screenshot("mlflow-ui-run")


def test_the_registered_model_page_shows_the_champion(ui, seeded):
    del seeded
    page = ui.open("/models/served-clf")
    page.get_by_text(CHAMPION).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.get_by_text("Version 1").first.wait_for()
    ui.offline.screenshot("mlflow-ui-model")


def test_the_experiments_genai_pages_show_their_empty_state(ui, seeded):
    """Their reads (traces, trace metrics, scorers) answer empty, not refused."""
    page = ui.offline.page
    for route, call, shown in (
        ("traces", "/traces/search", "Start tracing"),
        ("overview", "/traces/metrics", "first trace"),
    ):
        with page.expect_response(lambda r, call=call: call in r.url) as answer:
            ui.open(f"/experiments/{seeded.experiment_id}/{route}")
        assert answer.value.status == 200, answer.value.text()
        page.get_by_text(re.compile(shown)).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    ui.offline.screenshot("mlflow-ui-overview")
