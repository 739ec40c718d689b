"""Records of the model registry, with MLflow's names and fields.

A version number is a string in MLflow's entities (``"3"``); canvasback keeps that, and
every method that takes a version also takes an int.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from canvasback.exceptions import INVALID_STATE, RESOURCE_DOES_NOT_EXIST, MlflowException

if TYPE_CHECKING:
    from collections.abc import Sequence

RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"

STAGES = ("None", "Staging", "Production", "Archived")
"""MLflow's model version stages, kept for compatibility (aliases are the modern way)."""


class RegistryNotFoundError(MlflowException, LookupError):
    """A registered model, version or alias that the registry does not hold."""

    error_code = RESOURCE_DOES_NOT_EXIST


class RegistryConflictError(MlflowException, ValueError):
    """A registered model name that is taken, or a call that lost a race for it."""

    error_code = RESOURCE_ALREADY_EXISTS


class AliasMoveRefusedError(MlflowException):
    """An alias move (or removal) refused before anything was written."""

    error_code = INVALID_STATE


class ProtectedAliasError(AliasMoveRefusedError):
    """A protected alias asked to move, or to go, without ``force=True``."""


@dataclass(frozen=True)
class GateFailure:
    """A gate of an alias that refused a version, and why: the values that fail it."""

    alias: str
    gate: str
    why: str


class GateFailedError(AliasMoveRefusedError):
    """A gate of the alias that the candidate version does not pass.

    ``failures`` holds each gate that refused, with the values that fail it, for a
    caller that shows them one by one (the registry panel); the message says the same.
    """

    def __init__(self, message: object = "", failures: Sequence[GateFailure] = ()) -> None:
        super().__init__(message)
        self.failures: tuple[GateFailure, ...] = tuple(failures)


class PagedList(list[Any]):
    """A page of search results; ``token`` fetches the next page (None: no more)."""

    def __init__(self, items: list[Any], token: str | None) -> None:
        super().__init__(items)
        self.token = token


@dataclass(frozen=True)
class ModelVersion:
    """One version of a registered model: a model folder (``source``) given a number."""

    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int | None = None
    description: str | None = None
    user_id: str | None = None
    current_stage: str = "None"
    source: str | None = None
    run_id: str | None = None
    status: str = "READY"
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_link: str | None = None
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RegisteredModel:
    """A named model with numbered versions, aliases and tags."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int | None = None
    description: str | None = None
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    """Alias -> version (as a string), as MLflow's ``RegisteredModel.aliases``."""


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: from which version to which (None: set first / removed).

    ``forced``: moved with ``force=True`` past its protection or a gate that allows it;
    ``overrode`` says what was passed over.
    """

    name: str
    alias: str
    from_version: str | None
    to_version: str | None
    timestamp: int
    user_id: str
    host: str
    forced: bool = False
    overrode: str | None = None
