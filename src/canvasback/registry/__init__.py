"""The model registry: registered models, numbered versions, aliases, stages and tags.

Its calls are functions of one concern each over a store (``registered_models``,
``versions``, ``aliases``), which :class:`Client` hands MlflowClient's methods to.
Writes are claims (``claims``) and rows and events of the store (``writes``); reads are
functions of ``reads`` (the registry panel's of ``panel_reads``). The registry's tables,
event kinds and views (``registered_models``, ``model_versions``, ``aliases``,
``alias_history``, ``registered_model_tags``, ``model_version_tags``) are declared to
the store by ``tables.py``, imported with this package.
"""

from __future__ import annotations

# Declares the registry's tables to the store: imported with the package, so before
# any store can be read.
from canvasback.registry import tables  # noqa: F401
from canvasback.registry.client import Client, client
from canvasback.registry.entities import (
    STAGES,
    AliasMove,
    ModelVersion,
    RegisteredModel,
    RegistryNotFoundError,
)
from canvasback.registry.fluent import (
    register_model,
    search_model_versions,
    search_registered_models,
)

__all__ = [
    "STAGES",
    "AliasMove",
    "Client",
    "ModelVersion",
    "RegisteredModel",
    "RegistryNotFoundError",
    "client",
    "register_model",
    "search_model_versions",
    "search_registered_models",
]
