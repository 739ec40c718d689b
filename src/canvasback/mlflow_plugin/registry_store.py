"""The model registry store of the ``canvasback`` scheme: MLflow's registry on canvasback's.

Registered models, versions, aliases (with canvasback's alias history), stages and tags
are canvasback's registry's, through its client: a version MLflow registers is the same
version ``canvasback.registry(...)`` shows. A version's source is kept as canvasback
keeps it (``runs:/<run_id>/<path>`` for a model in a run, however MLflow named it), so a
version registered either way loads either way. Webhooks are canvasback's registry hooks
(``webhooks.py``), fired by canvasback's registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlparse

from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
)
from mlflow.store.model_registry.abstract_store import AbstractStore

from canvasback.mlflow_plugin import clients, entities, proxied, uris, webhooks
from canvasback.mlflow_plugin.errors import refuse, translate_errors
from canvasback.mlflow_plugin.refusals import REFUSED_REGISTRY
from canvasback.registry.sources import MODELS_PREFIX
from canvasback.store import layout
from canvasback.tracking import logged_models, validation

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlflow.entities.model_registry import (
        ModelVersion,
        ModelVersionTag,
        RegisteredModel,
        RegisteredModelTag,
    )
    from mlflow.entities.webhook import Webhook, WebhookEvent, WebhookStatus, WebhookTestResult

    from canvasback.registry import Client

# The clause MLflow's client adds to every search of registered models, so that prompts
# (models tagged so) stay out. MLflow's stores read a model without that tag as not a
# prompt; canvasback's grammar, as MLflow's for every other tag, matches no model
# without the tag, so the clause is read as MLflow's stores read it.
_NOT_PROMPT: Final = "tag.`mlflow.prompt.is_prompt` != 'true'"
_NOT_PROMPT_CANVASBACK: Final = (
    "(tags.`mlflow.prompt.is_prompt` IS NULL OR tags.`mlflow.prompt.is_prompt` != 'true')"
)
# Sources canvasback resolves to a model folder of its store; any other is kept as given.
_LOCAL_SCHEMES: Final = frozenset({"runs", "models", uris.SCHEME, "file", ""})


def models_filter(filter_string: str | None) -> str | None:
    """A registered-model filter from MLflow's client, in canvasback's grammar."""
    if not filter_string:
        return filter_string
    if filter_string == _NOT_PROMPT:
        return _NOT_PROMPT_CANVASBACK
    suffix = f" AND {_NOT_PROMPT}"
    if filter_string.endswith(suffix):
        return f"({filter_string.removesuffix(suffix)}) AND {_NOT_PROMPT_CANVASBACK}"
    return filter_string


@refuse(REFUSED_REGISTRY)
@translate_errors
class RegistryStore(AbstractStore):
    """MLflow's model registry store over a canvasback store (its tracking URI's)."""

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None) -> None:
        super().__init__(store_uri, tracking_uri)
        self.root = uris.store_root(store_uri or "")
        # MLflow gives a registry store no artifact root: its server's is read.
        self.artifacts = proxied.store_artifacts(self.root, proxied.server_artifact_root())

    @property
    def client(self) -> Client:
        """The canvasback client of the store (shared with the tracking store)."""
        return clients.client_for(self.root)

    # -- registered models -----------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model (RESOURCE_ALREADY_EXISTS if the name is taken)."""
        _no_deployment_job(deployment_job_id)
        given = {t.key: t.value for t in tags or []}
        created = self.client.create_registered_model(name, given, description)
        return entities.registered_model(created, self.client.store)

    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Change a registered model's description."""
        _no_deployment_job(deployment_job_id)
        model = self.client.update_registered_model(name, description)
        return entities.registered_model(model, self.client.store)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model; its versions and aliases stay with it."""
        model = self.client.rename_registered_model(name, new_name)
        return entities.registered_model(model, self.client.store)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model and its versions."""
        self.client.delete_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Registered models that match, a page at a time (by name by default)."""
        found = self.client.search_registered_models(
            models_filter(filter_string),
            max_results or SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
            order_by,
            page_token,
        )
        store = self.client.store
        return PagedList([entities.registered_model(m, store) for m in found], found.token)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its latest versions, tags and aliases."""
        return entities.registered_model(self.client.get_registered_model(name), self.client.store)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each stage (or in each of ``stages``)."""
        store = self.client.store
        return [
            entities.model_version(v, store) for v in self.client.get_latest_versions(name, stages)
        ]

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        """Set a tag on a registered model."""
        self.client.set_registered_model_tag(name, tag.key, tag.value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        self.client.delete_registered_model_tag(name, key)

    # -- versions --------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[ModelVersionTag] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """The next version of a registered model (created if needed), for a model's folder.

        A model of the store (``models:/m-<id>``, ``runs:/``, a ``canvasback:`` folder,
        ``canvasback:s3://`` or the ``mlflow-artifacts:`` one a server hands out for it,
        another version's ``models:/<name>/<version>``) is checked as canvasback checks
        what it registers and kept as ``runs:/<run_id>/<path>``; a logged model with no
        files yet (MLflow's external models) as ``models:/<id>``; any other source as
        given. ``local_model_path`` is MLflow's copy of the files, which the store does
        not need: the version points at the folder the model was logged to.
        """
        del local_model_path
        source, found_run = self._source(source, model_id)
        given = {t.key: t.value for t in tags or []}
        version = self.client.create_model_version(
            name,
            source,
            run_id=run_id or found_run,
            tags=given,
            run_link=run_link,
            description=description,
        )
        return entities.model_version(version, self.client.store)

    def _source(self, source: str, model_id: str | None) -> tuple[str, str | None]:
        """How the store keeps a version's source, and the run its model is in."""
        if isinstance(source, str):
            source = uris.run_source(self.artifacts.in_store(source), self.root)
        if not isinstance(source, str) or urlparse(source).scheme not in _LOCAL_SCHEMES:
            return source, None
        logged = source.removeprefix(MODELS_PREFIX).strip("/")
        if source.startswith(MODELS_PREFIX) and logged_models.is_model_id(logged):
            model_id = logged
        details = None if model_id is None else logged_models.read(self.client.store, model_id)
        if details is not None:
            run_id, path = str(details["run_id"]), str(details["artifact_path"])
            mlmodel = f"{layout.ARTIFACTS_DIR}/{run_id}/{path}/MLmodel"
            if not self.client.store.fs.exists(mlmodel):  # an external model: no files
                return f"{MODELS_PREFIX}{model_id}", run_id
        location = self.client.locate_model(source)
        return location.source, location.run_id

    def update_model_version(
        self, name: str, version: str | int, description: str | None
    ) -> ModelVersion:
        """Change a version's description."""
        found = self.client.update_model_version(name, version, description)
        return entities.model_version(found, self.client.store)

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool
    ) -> ModelVersion:
        """Move a version to a stage, optionally archiving the others in it."""
        found = self.client.transition_model_version_stage(
            name, version, stage, archive_existing_versions
        )
        return entities.model_version(found, self.client.store)

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Delete a version (its number is never given again)."""
        self.client.delete_model_version(name, version)

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        """One version of a registered model."""
        return entities.model_version(
            self.client.get_model_version(name, version), self.client.store
        )

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Where a version's files are: its run's folder, as a ``canvasback:`` URI."""
        source = self.client.get_model_version_download_uri(name, version)
        if source.startswith(MODELS_PREFIX) and logged_models.is_model_id(
            source.removeprefix(MODELS_PREFIX)
        ):
            return source  # an external model: MLflow asks its logged model where it is
        if urlparse(source).scheme not in _LOCAL_SCHEMES:
            return source
        location = self.client.locate_model(source)
        if location.run_id is None or location.artifact_path is None:
            return location.path.as_uri()
        return self.artifacts.uri(location.run_id, location.artifact_path)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Versions that match, a page at a time."""
        found = self.client.search_model_versions(
            filter_string,
            max_results or SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
            order_by,
            page_token,
        )
        store = self.client.store
        return PagedList([entities.model_version(v, store) for v in found], found.token)

    def get_model_version_stages(self, name: str, version: str | int) -> list[str]:
        """The stages a version may move to (MLflow's client asks the store)."""
        from canvasback.registry import STAGES  # noqa: PLC0415

        self.client.get_model_version(name, version)
        return list(STAGES)

    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None:
        """Set a tag on a version."""
        self.client.set_model_version_tag(name, version, tag.key, tag.value)

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        """Remove a tag from a version."""
        self.client.delete_model_version_tag(name, version, key)

    # -- aliases ---------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point an alias at a version (canvasback keeps every move)."""
        self.client.set_registered_model_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self.client.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""
        return entities.model_version(
            self.client.get_model_version_by_alias(name, alias), self.client.store
        )

    # -- webhooks --------------------------------------------------------------------
    def create_webhook(
        self,
        name: str,
        url: str,
        events: list[WebhookEvent],
        description: str | None = None,
        secret: str | None = None,
        status: WebhookStatus | None = None,
    ) -> Webhook:
        """A webhook: a URL hook of every model, which canvasback's registry fires."""
        return webhooks.create(self.client, name, url, events, description, secret, status)

    def get_webhook(self, webhook_id: str) -> Webhook:
        """A webhook by id."""
        return webhooks.get(self.client, webhook_id)

    def list_webhooks(
        self, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Webhook]:
        """Every webhook (every URL hook), newest first, a page at a time."""
        return webhooks.listed(self.client, max_results, page_token)

    def list_webhooks_by_event(
        self, event: WebhookEvent, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Webhook]:
        """The webhooks MLflow's own dispatch should send ``event`` to: none.

        MLflow's server asks this after each registry change it makes through the store,
        and posts to what it gets. canvasback's registry has fired every hook of that
        change already (logged, retried, in this process), so an answer of the hooks
        would deliver each twice. ``list_webhooks`` lists them all.
        """
        del event, max_results, page_token
        return PagedList([], None)

    def update_webhook(
        self,
        webhook_id: str,
        name: str | None = None,
        description: str | None = None,
        url: str | None = None,
        events: list[WebhookEvent] | None = None,
        secret: str | None = None,
        status: WebhookStatus | None = None,
    ) -> Webhook:
        """Rename, describe, disable or enable a webhook (its URL, events, secret stay)."""
        return webhooks.update(
            self.client, webhook_id, name, description, url, events, secret, status
        )

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook: it fires no more."""
        webhooks.delete(self.client, webhook_id)

    def test_webhook(self, webhook_id: str, event: WebhookEvent | None = None) -> WebhookTestResult:
        """Send an example of an event (the webhook's first by default) now."""
        return webhooks.test(self.client, webhook_id, event)


def _no_deployment_job(job: Any) -> None:  # noqa: ANN401  # whatever MLflow passes
    if job:
        msg = (
            f"Invalid deployment_job_id {job!r}: deployment jobs are Databricks' "
            "(Unity Catalog); canvasback's registry has none"
        )
        raise validation.InvalidInputError(msg)
