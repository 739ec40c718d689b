"""Runs read as MLflow's ``Run``: one by the client's reads, a page by the public views.

MLflow's ``Run`` carries every latest metric with its step and time, the params, the
tags, the datasets and models the run used and the models it made. One run (``get_run``)
is read through canvasback's client, a few small queries on the catalog. A search page
of up to thousands of runs is read in one statement of ``sql()`` over the public views
(``runs``, ``latest_metrics``, ``params``, ``tags``, ``datasets``), bound to the page's
run ids: one refresh and one state of the store for the whole page, whereas the
client's reads cost a dozen milliseconds a run. Both give the same ``Run``
(``tests/mlflow_plugin/test_stores.py`` compares them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from mlflow.entities import LoggedModelInput, LoggedModelOutput, Run, RunInputs, RunOutputs

from canvasback.mlflow_plugin import entities
from canvasback.store import schema
from canvasback.tracking import logged_models
from canvasback.tracking.entities import RunInfo

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.mlflow_plugin.uris import StoreArtifacts
    from canvasback.registry import Client

# A run's attributes as MLflow's RunInfo takes them; its artifact URI is the plugin's.
_ATTRIBUTES: Final = tuple(a for a in schema.RUN_ATTRIBUTES if a != "artifact_uri")

_RUN_NAME_TAG: Final = "mlflow.runName"
_DATASET_COLUMNS: Final = "name, digest, context, source_type, source, schema, profile"
# A page in one statement, so one state of the store: each run's row with its latest
# metrics, params, tags and datasets as lists.
_PAGE: Final = f"""
WITH page AS (SELECT unnest(?) AS run_id)
SELECT {", ".join(f"r.{a}" for a in _ATTRIBUTES)}, m.metrics, p.params, t.tags, d.datasets
FROM runs r SEMI JOIN page USING (run_id)
LEFT JOIN (SELECT run_id, list(struct_pack(key, step, timestamp, value) ORDER BY key)
               AS metrics
           FROM latest_metrics SEMI JOIN page USING (run_id) GROUP BY run_id) m USING (run_id)
LEFT JOIN (SELECT run_id, list(struct_pack(key, value)) AS params
           FROM params SEMI JOIN page USING (run_id) GROUP BY run_id) p USING (run_id)
LEFT JOIN (SELECT run_id, list(struct_pack(key, value)) AS tags
           FROM tags SEMI JOIN page USING (run_id) GROUP BY run_id) t USING (run_id)
LEFT JOIN (SELECT run_id, list(struct_pack({_DATASET_COLUMNS}) ORDER BY timestamp, name)
               AS datasets
           FROM datasets SEMI JOIN page USING (run_id) GROUP BY run_id) d USING (run_id)
"""


def _run(
    client: Client,
    artifacts: StoreArtifacts,
    info: RunInfo,
    metrics: list[tuple[str, int, int, float]],
    params: Mapping[str, str],
    tags: Mapping[str, str],
    datasets: list[dict[str, Any]],
    with_models: tuple[set[str], set[str]] | None = None,
) -> Run:
    """MLflow's run of a run's rows.

    ``with_models``, the runs known to have logged-model inputs and outputs, spares
    looking for the others' (a page lists them once).
    """
    store = client.store
    run_id = info.run_id
    has_inputs = with_models is None or run_id in with_models[0]
    has_outputs = with_models is None or run_id in with_models[1]
    used = logged_models.inputs(store, run_id) if has_inputs else []
    made = logged_models.outputs(store, run_id) if has_outputs else []
    inputs = RunInputs(
        [entities.dataset_input(row) for row in datasets], [LoggedModelInput(m) for m in used]
    )
    outputs = RunOutputs([LoggedModelOutput(m, step) for m, step in made])
    data = entities.run_data(metrics, params, tags)
    return Run(entities.run_info(info, artifacts), data, inputs, outputs)


def one_run(client: Client, artifacts: StoreArtifacts, run_id: str) -> Run:
    """A run by id (canvasback's not-found error if the store has none)."""
    found = client.get_run(run_id)
    metrics = [(m.key, m.step, m.timestamp, m.value) for m in client.latest_metrics(run_id)]
    query = f"SELECT {_DATASET_COLUMNS} FROM datasets WHERE run_id = ? ORDER BY timestamp, name"
    datasets = client.sql(query, [run_id]).to_arrow_table().to_pylist()
    return _run(
        client, artifacts, found.info, metrics, found.data.params, found.data.tags, datasets
    )


def page_of_runs(client: Client, artifacts: StoreArtifacts, run_ids: list[str]) -> list[Run]:
    """The runs of a search page, in its order."""
    if not run_ids:
        return []
    # The catalog's own connection, as the search that found these runs just refreshed
    # it: the user database's would register every view on a new cursor first.
    found = {row["run_id"]: row for row in client.store.catalog.arrow(_PAGE, [run_ids]).to_pylist()}
    with_models = (
        logged_models.runs_with(client.store, logged_models.INPUTS),
        logged_models.runs_with(client.store, logged_models.OUTPUTS),
    )
    runs = []
    for run_id in run_ids:
        row = found[run_id]
        tags = {t["key"]: t["value"] for t in row["tags"] or ()}
        attributes = {k: row[k] for k in _ATTRIBUTES}
        info = RunInfo(
            **{
                **attributes,
                "status": attributes["status"] or "RUNNING",
                "run_name": tags.get(_RUN_NAME_TAG, attributes["run_name"]),
                "artifact_uri": "",  # made from the store's artifacts by entities.run_info
            }
        )
        metrics = [(m["key"], m["step"], m["timestamp"], m["value"]) for m in row["metrics"] or ()]
        params = {p["key"]: p["value"] for p in row["params"] or ()}
        runs.append(
            _run(
                client,
                artifacts,
                info,
                metrics,
                params,
                tags,
                list(row["datasets"] or ()),
                with_models,
            )
        )
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
