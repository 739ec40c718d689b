"""canvasback: a Jupyter-native experiment tracker and model registry.

Log runs with MLflow's API (``import canvasback as mlflow`` works for the common calls);
everything lands in a folder of Parquet files queried by DuckDB. Importing canvasback
loads neither pandas, DuckDB, pyarrow nor any widget code: each loads on first use.
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import Any

from canvasback import _notebook, artifacts, data, entities, exceptions
from canvasback.projects import (
    capture_hook,
    diff_runs,
    reproduce,
    run,
    run_notebook,
    run_project,
    set_capture,
    sweep,
)
from canvasback.projects import search_space as search
from canvasback.projects.sweep_watch import add_sweep_view_hook
from canvasback.projects.trial_prune import trial_hook
from canvasback.query.filter import FilterError
from canvasback.registry import (
    AliasMove,
    Client,
    ModelVersion,
    RegisteredModel,
    RegistryNotFoundError,
    client,
    register_model,
    search_model_versions,
    search_registered_models,
)
from canvasback.registry import Client as MlflowClient
from canvasback.store.read.catalog import CorruptSegmentWarning
from canvasback.store.read.snapshots import CorruptSnapshotWarning
from canvasback.store.read.user_sql import StatementRefusedError
from canvasback.tracking.client import RunNotFoundError
from canvasback.tracking.context import add_run_create_hook, add_run_start_hook, reset
from canvasback.tracking.current import (
    create_experiment,
    get_experiment,
    get_experiment_by_name,
    get_store,
    get_tracking_uri,
    search_experiments,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_store,
    set_tracking_uri,
)
from canvasback.tracking.entities import (
    Experiment,
    FileInfo,
    Metric,
    Param,
    RunData,
    RunInfo,
    RunTag,
)
from canvasback.tracking.experiments import ExperimentNotFoundError
from canvasback.tracking.fluent import (
    ActiveRunError,
    active_run,
    compact,
    delete_run,
    delete_tag,
    end_run,
    flush,
    get_artifact_uri,
    get_metric_history,
    get_parent_run,
    get_run,
    last_active_run,
    load_table,
    log,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_history,
    log_image,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    restore_run,
    search_runs,
    set_tag,
    set_tags,
    sql,
    start_run,
)
from canvasback.tracking.fluent_logged_models import (
    get_logged_model,
    search_logged_models,
    set_logged_model_tags,
)
from canvasback.tracking.run import Run, RunEndedError
from canvasback.tracking.system_metrics import (
    disable_system_metrics_logging,
    enable_system_metrics_logging,
    set_system_metrics_node_id,
    set_system_metrics_samples_before_logging,
    set_system_metrics_sampling_interval,
)
from canvasback.tracking.validation import InvalidInputError
from canvasback.tracking.write_once import ParamConflictError

# A run started in a notebook shows its live view: the one place tracking meets widgets.
add_run_start_hook(_notebook.live_view_hook)
# Every new run records its code version and environment (canvasback.projects.capture).
add_run_create_hook(capture_hook)
# A notebook or command run for a sweep's trial reports its metric to the trial's pruner.
add_run_start_hook(trial_hook)
# A sweep run in a notebook shows its points live in its cell (instead of a progress bar).
add_sweep_view_hook(_notebook.sweep_view_hook)

# Widgets load on first use, so that training scripts never import anywidget or need the
# JavaScript bundles: canvasback.runs(...) imports canvasback.widgets then.
_WIDGETS = (
    "runs",
    "compare",
    "dashboard",
    "RunTable",
    "Compare",
    "LiveRun",
    "Dashboard",
    "ChartView",
    "RegistryPanel",
    "registry_panel",
)


class _CalledRegistryPackage(types.ModuleType):
    """``canvasback.registry`` called, as the panel function it used to be: deprecated.

    The package is the registry's; ``canvasback.registry_panel(...)`` opens its panel.
    A module cannot be called unless its class says so, so for one release the package
    gets this class, whose call warns and opens the panel. Remove both in the next one.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - the panel's arguments
        warnings.warn(
            "canvasback.registry(...) is deprecated and goes in the next release: call "
            "canvasback.registry_panel(...) instead (canvasback.registry is the registry "
            "package)",
            DeprecationWarning,
            stacklevel=2,
        )
        from canvasback.widgets.registry import registry_panel  # noqa: PLC0415  # lazy by design

        return registry_panel(*args, **kwargs)


sys.modules["canvasback.registry"].__class__ = _CalledRegistryPackage


# MLflow's module paths for models (mlflow.sklearn, mlflow.pyfunc, mlflow.models) load on
# first use too: scikit-learn and skops are imported only by a script that logs a model.
_MODEL_MODULES = ("sklearn", "pyfunc", "models")


def log_model(model: Any, name: str = "model", **kwargs: Any) -> Any:  # noqa: ANN401
    """Log a model into the active run: a scikit-learn estimator, or a custom model."""
    if type(model).__module__.split(".")[0] == "sklearn":
        from canvasback import sklearn  # noqa: PLC0415  # lazy by design

        return sklearn.log_model(model, name=name, **kwargs)
    from canvasback import pyfunc  # noqa: PLC0415

    return pyfunc.log_model(name=name, python_model=model, **kwargs)


def load_model(model_uri: str, **kwargs: Any) -> Any:  # noqa: ANN401  # a PyFuncModel
    """Load any model URI (``models:/Name@champion``, ``runs:/...``) for ``predict``."""
    from canvasback.models import loading  # noqa: PLC0415  # lazy by design

    return loading.load_model(model_uri, **kwargs)


def evaluate(model: Any = None, data: Any = None, **kwargs: Any) -> Any:  # noqa: ANN401
    """Evaluate a model on data, as ``mlflow.evaluate``: metrics, charts, all on a run.

    See :func:`canvasback.models.evaluation.evaluate`; returns an ``EvaluationResult``.
    """
    from canvasback.models.evaluation import evaluate as run_evaluation  # noqa: PLC0415

    return run_evaluation(model, data, **kwargs)


# Importers load on first use too: MLflow's client, TensorBoard's reader and tqdm are
# imported only by an import.
_IMPORTERS = ("import_mlflow", "import_tensorboard")
# Autologging too (canvasback.integrations): a library is patched once it is imported.
_INTEGRATIONS = ("autolog", "AutologgingWarning")


def __getattr__(name: str) -> Any:  # noqa: ANN401  # a widget function or class
    if name == "__version__":  # importlib.metadata costs ~30 ms: only when asked
        return _version()
    if name in _IMPORTERS:
        import canvasback.importers  # noqa: PLC0415  # lazy by design

        return getattr(canvasback.importers, name)
    if name in _INTEGRATIONS:
        import canvasback.integrations  # noqa: PLC0415  # lazy by design

        return getattr(canvasback.integrations, name)
    if name in _MODEL_MODULES:
        import importlib  # noqa: PLC0415

        return importlib.import_module(f"canvasback.{name}")
    if name in _WIDGETS:
        import canvasback.widgets  # noqa: PLC0415  # lazy by design

        return canvasback.widgets.load(name)
    msg = f"module 'canvasback' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    # Completion shows the lazy widget names beside the eagerly imported ones.
    return sorted({*globals(), *_WIDGETS, *_MODEL_MODULES, *_IMPORTERS, *_INTEGRATIONS})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("canvasback")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0.0.0"


__all__ = [
    "ActiveRunError",
    "AliasMove",
    "AutologgingWarning",
    "Client",
    "CorruptSegmentWarning",
    "CorruptSnapshotWarning",
    "Experiment",
    "ExperimentNotFoundError",
    "FileInfo",
    "FilterError",
    "InvalidInputError",
    "Metric",
    "MlflowClient",
    "ModelVersion",
    "Param",
    "ParamConflictError",
    "RegisteredModel",
    "RegistryNotFoundError",
    "Run",
    "RunData",
    "RunEndedError",
    "RunInfo",
    "RunNotFoundError",
    "RunTag",
    "StatementRefusedError",
    "__version__",
    "active_run",
    "artifacts",
    "autolog",
    "client",
    "compact",
    "create_experiment",
    "data",
    "delete_run",
    "delete_tag",
    "diff_runs",
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "end_run",
    "entities",
    "evaluate",
    "exceptions",
    "flush",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_logged_model",
    "get_metric_history",
    "get_parent_run",
    "get_run",
    "get_store",
    "get_tracking_uri",
    "import_mlflow",
    "import_tensorboard",
    "last_active_run",
    "load_model",
    "load_table",
    "log",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_history",
    "log_image",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "register_model",
    "reproduce",
    "reset",
    "restore_run",
    "run",
    "run_notebook",
    "run_project",
    "search",
    "search_experiments",
    "search_logged_models",
    "search_model_versions",
    "search_registered_models",
    "search_runs",
    "set_capture",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_logged_model_tags",
    "set_store",
    "set_system_metrics_node_id",
    "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "sql",
    "start_run",
    "sweep",
]
