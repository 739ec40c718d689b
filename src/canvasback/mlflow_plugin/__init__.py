"""canvasback as MLflow's backend: MLflow's code logs into a canvasback store unchanged.

MLflow finds the three parts through its plugin entry points (``pyproject.toml``):

- ``mlflow.tracking_store``: :class:`~canvasback.mlflow_plugin.tracking_store.TrackingStore`
  for ``MLFLOW_TRACKING_URI=canvasback:///path/to/store``;
- ``mlflow.model_registry_store``:
  :class:`~canvasback.mlflow_plugin.registry_store.RegistryStore` for the same URI (the
  registry URI defaults to the tracking URI);
- ``mlflow.artifact_repository``:
  :class:`~canvasback.mlflow_plugin.artifact_repo.ArtifactRepository` for the runs'
  ``canvasback:`` artifact URIs the tracking store hands out.

Runs, experiments, logged models, registered models, versions and aliases written
through MLflow are the store's own: canvasback's API, widgets and ``sql()`` see them, and
MLflow sees what canvasback wrote. ``import canvasback`` never imports this package (nor
MLflow); MLflow imports it when it starts.
"""
