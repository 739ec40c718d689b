"""The model registry: registered models, numbered versions, aliases, stages and tags.

Writes are claims, rows and events of the store (see ``client_methods``); reads are
functions of ``canvasback.tracking.queries.registry``; the registry's tables are
DuckDB views (``registered_models``, ``model_versions``, ``aliases``,
``alias_history``, ``registered_model_tags``, ``model_version_tags``).
"""

from __future__ import annotations

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
