"""The model registry: registered models, numbered versions, aliases, stages and tags.

Its calls are functions of one concern each over a store (``registered_models``,
``versions``, ``aliases``), which :class:`Client` hands MlflowClient's methods to.
Writes are claims (``claims``) and rows and events of the store (``writes``); reads are
functions of ``reads`` (the registry panel's of ``panel_reads``). An alias's protection
(``protection``) and gates (``gates``) are checked before it moves; ``lineage`` says
where a version comes from. Hooks (``hooks``) tell URLs and commands of the registry's
changes: fired by ``hook_dispatch`` after each write, sent by ``hook_delivery``, every
attempt logged and read by ``hook_log``. The registry's tables, event kinds and views
(``registered_models``, ``model_versions``, ``aliases``, ``alias_history``,
``protected_aliases``, ``alias_gates``, ``registered_model_tags``,
``model_version_tags``, ``lineage``, ``hooks``, ``hook_deliveries``) are declared to the
store by ``tables.py``, imported with this package.
"""

from __future__ import annotations

# Declares the registry's tables to the store: imported with the package, so before
# any store can be read.
from canvasback.registry import tables  # noqa: F401
from canvasback.registry.client import Client, client
from canvasback.registry.entities import (
    STAGES,
    AliasMove,
    AliasMoveRefusedError,
    GateFailedError,
    ModelVersion,
    ProtectedAliasError,
    RegisteredModel,
    RegistryNotFoundError,
)
from canvasback.registry.fluent import (
    register_model,
    search_model_versions,
    search_registered_models,
)
from canvasback.registry.gates import AliasGate, Candidate
from canvasback.registry.hook_delivery import HookTestResult
from canvasback.registry.hook_log import HookDelivery
from canvasback.registry.hooks import Hook
from canvasback.registry.lineage import DatasetInput, Lineage
from canvasback.registry.protection import AliasProtection

__all__ = [
    "STAGES",
    "AliasGate",
    "AliasMove",
    "AliasMoveRefusedError",
    "AliasProtection",
    "Candidate",
    "Client",
    "DatasetInput",
    "GateFailedError",
    "Hook",
    "HookDelivery",
    "HookTestResult",
    "Lineage",
    "ModelVersion",
    "ProtectedAliasError",
    "RegisteredModel",
    "RegistryNotFoundError",
    "client",
    "register_model",
    "search_model_versions",
    "search_registered_models",
]
