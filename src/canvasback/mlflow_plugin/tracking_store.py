"""The tracking store of the ``canvasback`` scheme: MLflow's tracking calls on canvasback.

``MLFLOW_TRACKING_URI=canvasback:///path/to/store`` (or ``canvasback:s3://bucket/prefix``
for a store on S3-compatible object storage) makes MLflow (the fluent API,
``MlflowClient``, autologging, model logging) read and write that store through this
class, which MLflow finds by the ``mlflow.tracking_store`` entry point. It is MLflow's
``AbstractStore`` over canvasback's client: experiments, runs, logging and search
(:mod:`.experiments`, :mod:`.runs`), and logged models (:mod:`.logged_models`); what
it does not do is refused by name, and the GenAI reads MLflow's UI makes are answered
empty (:mod:`.refusals`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlflow.store.tracking.abstract_store import AbstractStore

from canvasback.mlflow_plugin import clients, proxied, uris
from canvasback.mlflow_plugin.errors import answer_empty, refuse, translated
from canvasback.mlflow_plugin.experiments import ExperimentStoreMethods
from canvasback.mlflow_plugin.logged_models import LoggedModelStoreMethods
from canvasback.mlflow_plugin.refusals import EMPTY_TRACKING, REFUSED_TRACKING
from canvasback.mlflow_plugin.runs import RunStoreMethods
from canvasback.tracking.experiments import DEFAULT_EXPERIMENT_NAME

if TYPE_CHECKING:
    from canvasback.registry import Client


@refuse(REFUSED_TRACKING)
@answer_empty(EMPTY_TRACKING)
class TrackingStore(
    ExperimentStoreMethods,
    RunStoreMethods,
    LoggedModelStoreMethods,
    AbstractStore,
):
    """MLflow's tracking store over a canvasback store (``canvasback:///path``, ``canvasback:s3://...``).

    Parameters
    ----------
    store_uri
        The store: ``canvasback:///path/to/store``, ``canvasback:relative/path`` or
        ``canvasback:s3://bucket/prefix``.
    artifact_uri
        MLflow's default artifact root (``mlflow server --default-artifact-root``). A run's
        artifacts live in its store, whatever the root; the ``mlflow-artifacts:`` root of
        a server that proxies artifacts into the store makes their URIs the proxy's
        (:mod:`.proxied`).

    """

    def __init__(self, store_uri: str | None = None, artifact_uri: str | None = None) -> None:
        super().__init__()
        self.root = uris.store_root(store_uri or "")
        self.artifacts = proxied.store_artifacts(self.root, artifact_uri)
        # MLflow's fluent API starts runs in experiment "0" without asking for it first:
        # the store has its Default experiment from the start, as MLflow's own stores do.
        self.client.experiment_id_for(DEFAULT_EXPERIMENT_NAME)

    @property
    def client(self) -> Client:
        """The canvasback client of the store (shared with the registry store)."""
        return clients.client_for(self.root)

    # MLflow's search_runs (inherited) calls this one: its errors need MLflow's codes too.
    _search_runs = translated(RunStoreMethods._search_runs)  # noqa: SLF001
