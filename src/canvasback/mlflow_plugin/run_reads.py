"""Runs read as MLflow's ``Run``: one by the client's reads, a page by the public views.

MLflow's ``Run`` carries every latest metric with its step and time, the params, the
tags, the datasets and models the run used and the models it made. One run (``get_run``)
is read through canvasback's client, a few small queries on the catalog. A search page
of up to thousands of runs is read in five queries of ``sql()`` over the public views
(``runs``, ``latest_metrics``, ``params``, ``tags``, ``datasets``), each bound to the
page's run ids: the views' copies are made once per state of the store, whereas the
client's reads cost a dozen milliseconds a run. Both give the same ``Run``
(``tests/mlflow_plugin/test_stores.py`` compares them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from mlflow.entities import LoggedModelInput, LoggedModelOutput, Run, RunInputs, RunOutputs

from canvasback.mlflow_plugin import entities
from canvasback.tracking import logged_models
from canvasback.tracking.entities import RunInfo

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback._config import StoreAddress
    from canvasback.registry import Client

Rows = dict[str, list[dict[str, Any]]]

_RUN_NAME_TAG: Final = "mlflow.runName"
_VIEWS: Final = {
    "runs": "run_id, run_name, status, start_time, end_time, user_id, experiment_id, "
    "parent_run_id, lifecycle_stage",
    "latest_metrics": "run_id, key, step, timestamp, value",
    "params": "run_id, key, value",
    "tags": "run_id, key, value",
    "datasets": "run_id, name, digest, context, source_type, source, schema, profile",
}


def _rows(client: Client, view: str, run_ids: list[str]) -> Rows:
    query = f"SELECT {_VIEWS[view]} FROM {view} WHERE list_contains(?, run_id)"
    if view == "datasets":
        query += " ORDER BY timestamp, name"
    by_run: Rows = {}
    for row in client.sql(query, [run_ids]).to_arrow_table().to_pylist():
        by_run.setdefault(row["run_id"], []).append(row)
    return by_run


def _run(
    client: Client,
    root: StoreAddress,
    info: RunInfo,
    metrics: list[tuple[str, int, int, float]],
    params: Mapping[str, str],
    tags: Mapping[str, str],
    datasets: list[dict[str, Any]],
) -> Run:
    store = client.store
    inputs = RunInputs(
        [entities.dataset_input(row) for row in datasets],
        [LoggedModelInput(m) for m in logged_models.inputs(store, info.run_id)],
    )
    outputs = RunOutputs(
        [LoggedModelOutput(m, step) for m, step in logged_models.outputs(store, info.run_id)]
    )
    data = entities.run_data(metrics, params, tags)
    return Run(entities.run_info(info, root), data, inputs, outputs)


def one_run(client: Client, root: StoreAddress, run_id: str) -> Run:
    """A run by id (canvasback's not-found error if the store has none)."""
    found = client.get_run(run_id)
    metrics = [(m.key, m.step, m.timestamp, m.value) for m in client.latest_metrics(run_id)]
    datasets = _rows(client, "datasets", [run_id]).get(run_id, [])
    return _run(client, root, found.info, metrics, found.data.params, found.data.tags, datasets)


def page_of_runs(client: Client, root: StoreAddress, run_ids: list[str]) -> list[Run]:
    """The runs of a search page, in its order."""
    if not run_ids:
        return []
    rows = {view: _rows(client, view, run_ids) for view in _VIEWS}
    runs = []
    for run_id in run_ids:
        (attributes,) = rows["runs"][run_id]
        tags = {r["key"]: r["value"] for r in rows["tags"].get(run_id, [])}
        info = RunInfo(
            **{
                **attributes,
                "status": attributes["status"] or "RUNNING",
                "run_name": tags.get(_RUN_NAME_TAG, attributes["run_name"]),
                "artifact_uri": "",  # the run's canvasback: URI is made from the root
            }
        )
        metrics = [
            (r["key"], r["step"], r["timestamp"], r["value"])
            for r in sorted(rows["latest_metrics"].get(run_id, []), key=lambda r: r["key"])
        ]
        params = {r["key"]: r["value"] for r in rows["params"].get(run_id, [])}
        datasets = rows["datasets"].get(run_id, [])
        runs.append(_run(client, root, info, metrics, params, tags, datasets))
    return runs


# MLflow's stores answer the runs page's dataset filter with at most this many.
_MAX_DATASET_SUMMARIES: Final = 1000


def dataset_summaries(
    client: Client, experiment_ids: list[str]
) -> list[tuple[str, str, str, str | None]]:
    """(experiment id, name, digest, context) of the datasets the experiments' runs used."""
    query = (
        "SELECT DISTINCT r.experiment_id, d.name, d.digest, d.context "
        "FROM datasets d JOIN runs r USING (run_id) WHERE list_contains(?, r.experiment_id) "
        "ORDER BY ALL LIMIT ?"
    )
    rows = client.sql(query, [experiment_ids, _MAX_DATASET_SUMMARIES]).fetchall()
    return [(str(e), str(n), str(g), c) for e, n, g, c in rows]
