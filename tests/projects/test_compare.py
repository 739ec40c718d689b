"""The comparison's diff-only params table shows what differs in code and environment."""

from __future__ import annotations

import pytest

import canvasback as cb
from canvasback import charts, query
from canvasback.charts.panels import params_payload


@pytest.mark.usefixtures("store")
def test_code_and_environment_differences_show_beside_the_params():
    ids = []
    for commit, python in (("abc123", "3.11.7"), ("def456", "3.11.7")):
        with cb.start_run(capture=False) as run:
            cb.log_params({"lr": "0.1", "depth": str(len(ids) + 2)})
            cb.set_tags(
                {
                    "canvasback.source.git.commit": commit,
                    "canvasback.env.python": python,
                    "team": "same",
                }
            )
        ids.append(run.run_id)
    cb.flush()
    runs = query.runs_frame(cb.client().store.read(), cb.get_store(), ids)
    table = charts.params_diff(runs, {ids[0]: "a", ids[1]: "b"})
    assert list(table.index) == ["depth", "code · git.commit"]
    assert table.loc["code · git.commit"].tolist() == ["abc123", "def456"]
    full = charts.params_diff(runs, diff_only=False)
    assert "env · python" in full.index
    assert "team" not in full.index  # other tags are not provenance
    payload = params_payload(runs, {ids[0]: "a", ids[1]: "b"})
    rows = {row["key"]: row["differs"] for row in payload["rows"]}
    assert rows == {"depth": True, "lr": False, "code · git.commit": True, "env · python": False}


def test_summaries_escape_text_from_runs():
    from canvasback.projects.reproduction import Comparison, Difference  # noqa: PLC0415
    from canvasback.projects.sweeps import PointResult, SweepResult  # noqa: PLC0415

    evil = "<img src=x onerror=alert(1)>"
    comparison = Comparison("a", "b", [Difference("params", evil, evil, None)])
    html = comparison._repr_html_()
    assert evil not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    result = SweepResult("p", [PointResult(0, {"x": evil}, "r", "FAILED", error=evil)])
    assert evil not in result._repr_html_()
    assert "0 finished, 1 failed" in result._repr_html_()


def test_projects_is_wired_into_the_package_and_its_layer():
    import tomllib  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from canvasback.projects import capture  # noqa: PLC0415
    from canvasback.tracking.context import current_context  # noqa: PLC0415

    # The package root registers it, and a reset keeps it.
    assert capture.capture_hook in current_context().hooks.run_create
    for name in ("run_notebook", "run_project", "sweep", "reproduce", "set_capture", "run"):
        assert name in cb.__all__
    config = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    (layers,) = [  # the package's layers (the store's own contract has containers)
        c["layers"]
        for c in config["tool"]["importlinter"]["contracts"]
        if c["type"] == "layers" and "containers" not in c
    ]
    layer_of = {name.strip(): i for i, layer in enumerate(layers) for name in layer.split("|")}
    assert layer_of["canvasback.widgets"] + 1 == layer_of["canvasback.projects"]
    extras = config["project"]["optional-dependencies"]
    assert "canvasback[projects]" in extras["test"]
    assert any(dep.startswith("distributed") for dep in extras["test"])
    assert any(dep.startswith("nbclient") for dep in extras["projects"])
