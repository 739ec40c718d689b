"""The MLflow plugin leaves no method of MLflow's base classes out, and MLflow finds it.

MLflow's ``AbstractStore`` classes declare their abstract methods with a Python 2
metaclass idiom (``__metaclass__ = ABCMeta``) that Python 3 ignores: a store that leaves
a method out is built anyway, and the method silently returns None (or raises a bare
``NotImplementedError``). So every public method of each base class (and the methods
MLflow's clients call beyond it) must be the plugin's own (implemented or refused with a
reason), or one MLflow implements over the plugin's (listed in ``refusals.INHERITED_*``).
"""

from __future__ import annotations

import importlib
import inspect
import tomllib
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowNotImplementedException
from mlflow.store.artifact.artifact_repo import ArtifactRepository as ArtifactBase
from mlflow.store.model_registry.abstract_store import AbstractStore as RegistryBase
from mlflow.store.tracking.abstract_store import AbstractStore as TrackingBase

from canvasback.mlflow_plugin import refusals
from canvasback.mlflow_plugin.artifact_repo import ArtifactRepository
from canvasback.mlflow_plugin.registry_store import RegistryStore
from canvasback.mlflow_plugin.tracking_store import TrackingStore

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

# Methods MLflow's clients call on a store that its abstract class does not declare
# (MlflowClient.delete_tag, log_model_params, get_model_version_stages), and the private
# ones its base implementations call (search_runs calls _search_runs, download_artifacts
# calls _download_file).
PLUGINS = {
    "tracking": (
        TrackingStore,
        TrackingBase,
        refusals.INHERITED_TRACKING,
        {"delete_tag", "log_logged_model_params", "_search_runs"},
    ),
    "registry": (
        RegistryStore,
        RegistryBase,
        refusals.INHERITED_REGISTRY,
        {"get_model_version_stages"},
    ),
    "artifacts": (
        ArtifactRepository,
        ArtifactBase,
        refusals.INHERITED_ARTIFACTS,
        {"_download_file"},
    ),
}
ENTRY_POINTS = {
    "mlflow.tracking_store": (TrackingStore, TrackingBase),
    "mlflow.model_registry_store": (RegistryStore, RegistryBase),
    "mlflow.artifact_repository": (ArtifactRepository, ArtifactBase),
}


def public_names(base: type) -> set[str]:
    """Every public attribute of a class and its bases that is a method or a property."""
    return {
        name
        for klass in base.__mro__
        if klass is not object
        for name, value in vars(klass).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    }


def owner(cls: type, name: str) -> type:
    return next(klass for klass in cls.__mro__ if name in vars(klass))


def is_plugins(cls: type, name: str) -> bool:
    return owner(cls, name).__module__.startswith("canvasback.")


@pytest.mark.parametrize("kind", PLUGINS)
def test_every_method_is_the_plugins_or_inherited_from_the_list(kind):
    cls, base, inherited, extra = PLUGINS[kind]
    names = public_names(base) | extra
    missing = sorted(n for n in names if not is_plugins(cls, n) and n not in inherited)
    assert missing == [], f"{cls.__name__} neither implements nor refuses {missing}"
    assert len(names) > 15  # the enumeration found MLflow's methods


@pytest.mark.parametrize("kind", PLUGINS)
def test_the_inherited_list_names_only_mlflows_working_implementations(kind):
    cls, base, inherited, _extra = PLUGINS[kind]
    for name in sorted(inherited):
        assert name in public_names(base), f"{name} is no method of {base.__name__}"
        assert not is_plugins(cls, name), f"{name} is listed as inherited but overridden"
        value = vars(owner(cls, name))[name]
        function = value.fget if isinstance(value, property) else value
        source = inspect.getsource(function)
        assert "NotImplementedError" not in source, f"MLflow's {name} does nothing"
        assert "MlflowNotImplementedException" not in source, f"MLflow's {name} does nothing"


@pytest.mark.parametrize("kind", PLUGINS)
def test_each_refused_method_raises_mlflows_not_implemented_naming_itself_and_why(kind):
    cls = PLUGINS[kind][0]
    refused = cls.REFUSED
    assert refused, f"{cls.__name__} refuses nothing"
    for name, reason in refused.items():
        assert reason.strip(), f"{name} is refused without a reason"
        with pytest.raises(MlflowNotImplementedException) as caught:
            getattr(cls, name)(object(), "any", arguments="given")
        assert caught.value.message.startswith(f"{name} is not supported")
        assert reason in caught.value.message


@pytest.mark.parametrize("kind", PLUGINS)
def test_no_method_is_both_implemented_and_refused(kind):
    cls = PLUGINS[kind][0]
    for klass in cls.__mro__[1:]:
        if klass.__module__.startswith("canvasback."):
            assert not set(vars(klass)) & set(cls.REFUSED), klass
            assert not set(vars(klass)) & getattr(cls, "EMPTY", set()), klass
    assert not set(cls.REFUSED) & getattr(cls, "EMPTY", set())


WEBHOOK_METHODS = (
    "create_webhook",
    "get_webhook",
    "list_webhooks",
    "list_webhooks_by_event",
    "update_webhook",
    "delete_webhook",
    "test_webhook",
)


def test_every_webhook_method_is_the_plugins_own_neither_refused_nor_empty():
    """Webhooks are canvasback's hooks (tests/mlflow_plugin/test_webhooks.py)."""
    assert set(WEBHOOK_METHODS) <= public_names(RegistryBase)
    for name in WEBHOOK_METHODS:
        assert owner(RegistryStore, name) is RegistryStore, name
        assert name not in RegistryStore.REFUSED, name
        assert name not in getattr(RegistryStore, "EMPTY", set()), name


def test_the_genai_reads_of_the_uis_pages_answer_empty_and_their_writes_are_refused():
    """The store keeps no traces, scorers, evaluation datasets, issues or review queues:
    a search or list of them answers empty (the UI's pages show their empty state); a
    call that would make one, or read one by id, is refused."""
    assert set(refusals.EMPTY_TRACKING) == TrackingStore.EMPTY
    empty = {
        name: getattr(TrackingStore, name)(object(), ["0"], "any")
        for name in sorted(TrackingStore.EMPTY)
    }
    traces, token = empty.pop("search_traces")
    assert (traces, token) == ([], None)
    for name, answer in empty.items():
        assert list(answer) == [], name
        assert getattr(answer, "token", None) is None, name
    assert {"start_trace", "log_spans", "get_trace", "create_dataset", "register_scorer"} <= set(
        TrackingStore.REFUSED
    )
    assert (
        TrackingBase.list_scorers_across_experiments(
            TrackingStore.__new__(TrackingStore), ["0", "1"]
        )
        == []
    )


def test_pyproject_declares_mlflows_three_entry_points_to_the_plugin_classes():
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]
    groups = {g: targets for g, targets in declared.items() if g.startswith("mlflow.")}
    assert set(groups) == set(ENTRY_POINTS)
    for group, targets in groups.items():
        assert list(targets) == ["canvasback"], group  # the URI scheme
        module, _, name = targets["canvasback"].partition(":")
        loaded = getattr(importlib.import_module(module), name)
        cls, base = ENTRY_POINTS[group]
        assert loaded is cls
        assert issubclass(loaded, base)
