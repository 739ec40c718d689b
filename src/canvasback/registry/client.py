"""``Client``: MlflowClient's tracking and registry methods over one store.

The tracking half is :class:`canvasback.tracking.client.Client`, which this class
extends; each registry method hands its call to the module of its concern
(``registered_models``, ``versions``, ``aliases``), which does it over the client's
store. :func:`client` is the one of the current store: made over the fluent API's
client (sharing its runs) and kept in the process's context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canvasback.registry import (
    aliases,
    claims,
    gates,
    hook_delivery,
    hook_dispatch,
    hook_log,
    hooks,
    lineage,
    names,
    protection,
    reads,
    registered_models,
    sources,
    versions,
)
from canvasback.registry.entities import ModelVersion, PagedList, RegistryNotFoundError
from canvasback.tracking import current, fluent_logged_models, logged_model_reads, validation
from canvasback.tracking.client import Client as TrackingClient
from canvasback.tracking.context import Slot, current_context

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from canvasback.registry.entities import AliasMove, RegisteredModel
    from canvasback.registry.gates import AliasGate, Candidate
    from canvasback.registry.hook_delivery import HookTestResult
    from canvasback.registry.hook_dispatch import Redelivery
    from canvasback.registry.hook_log import HookDelivery
    from canvasback.registry.hooks import Hook
    from canvasback.registry.lineage import Lineage
    from canvasback.registry.protection import AliasProtection
    from canvasback.tracking.logged_model_reads import LoggedModel


class Client(TrackingClient):
    """Tracking and model registry operations on one store (MLflow's ``MlflowClient``).

    Parameters
    ----------
    store
        The store folder; defaults to ``CANVASBACK_STORE``, else ``MLFLOW_TRACKING_URI``'s,
        else ``./canvasback-store``.

    """

    # -- registered models -----------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model; its name must be new in this store."""
        return registered_models.create(self.store, name, tags, description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its tags, aliases and latest version per stage."""
        return registered_models.get(self.store, name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Registered models that match (``name LIKE 'churn%' AND tags.team = 'a'``)."""
        return registered_models.search(
            self.store, filter_string, max_results, order_by, page_token
        )

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Change a registered model's description."""
        return registered_models.update(self.store, name, description)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Give a registered model a new name; its versions and aliases stay with it.

        The new name is claimed with the intent (model, log slot, token), then the slot
        is taken: the rename is done exactly when it gets the slot. A rename or deletion
        of the model that took it first, or a call that wanted the new name and gave the
        intent up, makes this call raise.
        """
        return registered_models.rename(self.store, name, new_name)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model and its versions; the name is free again."""
        registered_models.delete(self.store, name)

    def set_registered_model_tag(self, name: str, key: str, value: object) -> None:
        """Set a tag on a registered model."""
        registered_models.set_tag(self.store, name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        registered_models.delete_tag(self.store, name, key)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each stage (or in each of ``stages``)."""
        return registered_models.latest_versions(self.store, name, stages)

    # -- versions --------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """A new version of a registered model (created if needed) for a model folder."""
        del run_link  # a run is linked by its id: the widgets open it in place
        return versions.create(self.store, name, source, run_id, tags, description)

    def get_model_version(self, name: str, version: object) -> ModelVersion:
        """One version of a registered model."""
        return versions.get(self.store, name, version)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Versions that match (``name = 'churn' AND tags.validated = 'yes'``)."""
        return versions.search(self.store, filter_string, max_results, order_by, page_token)

    def update_model_version(
        self, name: str, version: object, description: str | None = None
    ) -> ModelVersion:
        """Change a version's description."""
        return versions.update(self.store, name, version, description)

    def delete_model_version(self, name: str, version: object) -> None:
        """Delete a version (its number is never given again); its aliases go with it."""
        versions.delete(self.store, name, version)

    def set_model_version_tag(self, name: str, version: object, key: str, value: object) -> None:
        """Set a tag on a model version."""
        versions.set_tag(self.store, name, version, key, value)

    def delete_model_version_tag(self, name: str, version: object, key: str) -> None:
        """Remove a tag from a model version."""
        versions.delete_tag(self.store, name, version, key)

    def transition_model_version_stage(
        self, name: str, version: object, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to a stage; optionally archive the others in that stage."""
        return versions.transition_stage(
            self.store, name, version, stage, archive_existing_versions=archive_existing_versions
        )

    def get_model_version_download_uri(self, name: str, version: object) -> str:
        """The source of a version (where its model folder is)."""
        return versions.download_uri(self.store, name, version)

    # -- aliases ---------------------------------------------------------------------
    def set_registered_model_alias(
        self, name: str, alias: str, version: object, force: bool = False
    ) -> None:
        """Point an alias at a version (moving it from the version it pointed at).

        A protected alias moves only with ``force=True``, and the version must pass the
        alias's gates (``force=True`` passes only a gate set with ``allow_force=True``);
        a refused move raises, naming why, and writes nothing. A forced move is kept in
        the alias's history as forced, with what it passed over.
        """
        aliases.move(self.store, name, alias, version, force=force)

    def delete_registered_model_alias(self, name: str, alias: str, force: bool = False) -> None:
        """Remove an alias (a protected one only with ``force=True``)."""
        aliases.remove(self.store, name, alias, force=force)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""
        return aliases.version_by_alias(self.store, name, alias)

    def get_alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of a model's aliases (or of one), oldest first: when, from, to, who."""
        return aliases.history(self.store, name, alias)

    def protect_alias(self, name: str, alias: str, reason: str | None = None) -> None:
        """Protect an alias (set or not yet): it then moves, or goes, only with ``force=True``.

        Not a security boundary: anyone who can write to the store can unprotect it. Every
        move is attributed (user, host, time) and kept, a forced one marked so.
        """
        protection.protect(self.store, name, alias, reason)

    def unprotect_alias(self, name: str, alias: str) -> None:
        """Let a protected alias move without ``force`` again."""
        protection.unprotect(self.store, name, alias)

    def get_protected_aliases(self, name: str) -> dict[str, AliasProtection]:
        """A model's protected aliases: alias -> who protected it, from where, when, why."""
        model_id = claims.held(self.store, name).entity_id
        return protection.of_model(self.store.read(), model_id, name)

    def set_alias_gate(
        self, name: str, alias: str, gate: str, filter_string: str, allow_force: bool = False
    ) -> None:
        """Store a gate: a filter the version must pass before ``alias`` points at it.

        ``filter_string`` is in the search grammar, over the candidate version's source
        run and its own tags (``metrics.val_acc >= 0.9 AND tags.validated = 'yes'``;
        ``tags.`` reads the version's tag, else the run's). Stored with the model, every
        process applies it. ``force=True`` passes it only if ``allow_force`` is True.
        """
        gates.set_filter(self.store, name, alias, gate, filter_string, allow_force=allow_force)

    def register_alias_gate(
        self,
        name: str,
        alias: str,
        gate: str,
        check: Callable[[Candidate], object],
        allow_force: bool = False,
    ) -> None:
        """Register a Python gate: ``check(candidate)`` must return True before a move.

        It lives in this process only (until it ends or ``canvasback.reset()``): other
        processes do not apply it. Filters (:meth:`set_alias_gate`) are stored.
        """
        gates.register(self.store, name, alias, gate, check, allow_force=allow_force)

    def delete_alias_gate(self, name: str, alias: str, gate: str) -> None:
        """Remove a gate of an alias (this process's callable, or a stored filter)."""
        gates.delete(self.store, name, alias, gate)

    def get_alias_gates(self, name: str, alias: str | None = None) -> list[AliasGate]:
        """The gates of a model's aliases (or of one): stored filters, this process's checks."""
        return gates.listed(self.store, name, alias)

    # -- lineage ---------------------------------------------------------------------
    def get_lineage(self, name: str, version: object) -> Lineage:
        """Where a version comes from, and the aliases that point or pointed at it.

        Its run, the datasets the run logged, the code and environment it captured, the
        logged model it was registered from, and each alias move onto or off it. The
        other way, the versions trained on a dataset:
        ``search_model_versions("datasets.digest = '<digest>'")``.
        """
        return lineage.get(self.store, name, version)

    # -- hooks -----------------------------------------------------------------------
    def add_hook(
        self,
        event: str | Sequence[str],
        target: str | Sequence[str],
        *,
        name: str | None = None,
        secret: str | None = None,
        secret_env: str | None = None,
        timeout: float = hooks.DEFAULT_TIMEOUT,
        max_attempts: int = hooks.DEFAULT_ATTEMPTS,
    ) -> Hook:
        """Call ``target`` on every ``event`` of model ``name`` (None: of every model).

        ``event``: ``version_created``, ``alias_moved``, ``alias_removed``,
        ``stage_changed``, ``tag_set`` (or MLflow's names, ``model_version.created``...),
        or a list of them. ``target``: an http(s) URL, which gets MLflow's webhook POST
        (signed with ``secret``, or with the value of the environment variable
        ``secret_env`` in the delivering process), or a command (an argv list, or a
        string the shell runs) that reads the same JSON on stdin. Stored in the store:
        every process's changes fire it, each delivery at least once, logged; a failing
        target never blocks nor undoes a change. See :mod:`canvasback.registry.hooks`.
        """
        return hooks.add(
            self.store,
            event,
            target,
            name=name,
            secret=secret,
            secret_env=secret_env,
            timeout=timeout,
            max_attempts=max_attempts,
        )

    def list_hooks(self, name: str | None = None) -> list[Hook]:
        """Every hook, or those that fire for model ``name`` (its own and every model's)."""
        return hooks.listed(self.store, name)

    def delete_hook(self, hook_id: str) -> None:
        """Delete a hook: it fires no more (its deliveries stay in the log)."""
        hooks.delete(self.store, hook_id)

    def test_hook(self, hook_id: str, event: str | None = None) -> HookTestResult:
        """Send an example of an event (the hook's first by default) now; nothing is logged."""
        hook = hooks.get(self.store, hook_id)
        return hook_delivery.test(hook, event, trusted=hooks.trusted(hook))

    def retry_hooks(self, name: str | None = None, version: object = None) -> list[Redelivery]:
        """Send again, once each, every delivery whose latest attempt failed.

        Every one in the store, or only those of model ``name`` (of one ``version``).
        """
        if name is None:
            if version is not None:
                msg = f"Invalid hook retry of version {version!r}: name its model too"
                raise validation.InvalidInputError(msg)
            return hook_dispatch.redeliver(self.store)
        model_id = claims.held(self.store, name).entity_id
        number = None if version is None else names.version_number(version)
        return hook_dispatch.redeliver(self.store, model_id, number)

    def get_hook_deliveries(
        self, name: str, version: object = None, failed_only: bool = False
    ) -> list[HookDelivery]:
        """A model's (or a version's) hook deliveries, newest first, with their state."""
        model_id = claims.held(self.store, name).entity_id
        number = None if version is None else names.version_number(version)
        return hook_log.deliveries(self.store.read(), model_id, number, failed_only=failed_only)

    # -- model URIs ------------------------------------------------------------------
    def register_model(
        self, model_uri: str, name: str, tags: Mapping[str, Any] | None = None
    ) -> ModelVersion:
        """Register the model at ``model_uri`` as the next version of ``name``."""
        names.model_name(name)
        location = self.locate_model(model_uri)
        return self.create_model_version(name, location.source, run_id=location.run_id, tags=tags)

    # -- logged models (MLflow 3) -----------------------------------------------------
    def get_logged_model(self, model_id: str) -> LoggedModel:
        """A logged model by id (``models:/<model_id>``)."""
        return logged_model_reads.get(self, model_id)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags on a logged model."""
        logged_model_reads.set_tags(self, model_id, tags)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str | Mapping[str, Any]] | None = None,
    ) -> PagedList:
        """Logged models of the experiments that match (one page: all of them)."""
        clauses = fluent_logged_models.order_clauses(order_by)
        found = logged_model_reads.search(self, experiment_ids, filter_string, clauses, max_results)
        return PagedList(found, None)

    def locate_model(self, model_uri: str) -> sources.ModelLocation:
        """The local folder of any model URI: ``runs:/``, ``models:/`` or a folder."""
        if not isinstance(model_uri, str) or not model_uri:
            msg = f"Invalid model URI {model_uri!r}: runs:/<run_id>/<path> or models:/<name>/..."
            raise RegistryNotFoundError(msg)
        version = self.version_of_uri(model_uri)
        if version is None:
            return sources.locate(self.store, model_uri)
        return sources.locate(self.store, str(version.source))

    def version_of_uri(self, model_uri: str) -> ModelVersion | None:
        """The version a ``models:/<name>/<version|alias|latest>`` URI names, else None."""
        if not model_uri.startswith(sources.MODELS_PREFIX):
            return None
        body = sources.models_uri_body(model_uri)
        name, at, alias = body.partition("@")
        if at:
            return self.get_model_version_by_alias(name, alias)
        name, slash, version = body.rpartition("/")
        if not slash:
            return None  # models:/m-<id>: a logged model, not a registered one
        if version.lower() == "latest":
            model_id = claims.held(self.store, name).entity_id
            rows = reads.versions_of(self.store.read(), [model_id])
            if not rows:
                msg = f"Registered model {name!r} has no versions yet ({model_uri!r})"
                raise RegistryNotFoundError(msg)
            return self.get_model_version(name, rows[-1]["version"])
        if version in [s.lower() for s in ("Staging", "Production", "Archived", "None")]:
            latest = self.get_latest_versions(name, [version])
            if not latest:
                msg = f"Registered model {name!r} has no version in stage {version!r}"
                raise RegistryNotFoundError(msg)
            return latest[0]
        return self.get_model_version(name, version)


# The registry's client of the current store, by the fluent API's client it shares runs
# with: set_store makes a new fluent client, and with it a new registry client.
_CLIENTS: Slot[dict[TrackingClient, Client]] = Slot("the registry's client", lambda _ctx: {})


def client() -> Client:
    """The client of the current store, with the registry's methods.

    It shares the fluent API's store and runs: a run it ends is ended for the fluent API.
    """
    tracking = current.client()
    ctx = current_context()
    clients = ctx.get(_CLIENTS)
    found = clients.get(tracking)
    if found is None:
        with ctx.lock:
            found = clients.get(tracking)
            if found is None:
                clients.clear()  # the client of a store no longer current
                found = clients[tracking] = Client.sharing(tracking)
    return found
