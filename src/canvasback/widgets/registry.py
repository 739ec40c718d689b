"""``RegistryPanel``: the model registry in the notebook (:func:`registry_panel` makes one).

The models, the versions of the one shown (with their source run's key metrics and
params, a page at a time), aliases (with their protection and gates), stages, tags,
descriptions, the alias history (forced moves marked) and hooks (a version's failed
deliveries, sent again from there). The selected version's lineage (datasets, run,
logged model, aliases), and the last two selected side by side (params that differ,
metrics, evaluation results, lineage, the gates each would meet).

The registry is small next to the runs, so it is pushed: JSON traits for the models and
the history, Arrow bytes for the page of versions, and every view of the widget shows
what Python last set.

Actions (move or remove an alias, change a stage, edit a description or a tag, register
the runs selected in a run table) arrive as requests and call the registry's Python API,
the calls a user makes (an alias move, the function ``set_registered_model_alias`` hands
it to, checking the version against what the panel last read); a failed one sets
:attr:`RegistryPanel.error` and changes nothing: a move refused by gates names each gate
and the values that fail it there. A protected alias moves only when the request says
``force`` (the front end asks its user to confirm first), and the move is kept as forced.
After an action the store is read once, and every panel of it in the kernel reloads from
that read; each view polls Python for a cheap signature of the registry
(:func:`registry_signature`), so a change made by plain Python or by another process
shows up within the poll interval.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, Final

import traitlets

from canvasback.registry import aliases, names, panel_reads
from canvasback.registry.client import Client as RegistryClient
from canvasback.registry.entities import STAGES, GateFailedError
from canvasback.tracking.context import Slot, current_context
from canvasback.widgets import _registry_compare, _registry_lineage, _registry_static, _static
from canvasback.widgets import _registry_hooks as hook_state
from canvasback.widgets import _registry_state as state
from canvasback.widgets._base import BaseWidget, RpcReply, rpc
from canvasback.widgets._sources import resolve_client, run_ids

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Mapping

    from canvasback.registry.entities import ModelVersion
    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog
    from canvasback.tracking.client import Client

__all__ = ["RegistryPanel", "registry_panel"]

_LOG = logging.getLogger(__name__)

MAX_PAGE: Final = 200
MAX_TABLE_RUNS: Final = 50
"""Runs of a linked table's selection listed for registering (the first ones)."""
POLL_MS: Final = 2000
# Versions selected before a panel drives a linked run table (and so its charts): one
# selected version is a target of actions, two or more are a comparison.
COMPARE_FROM: Final = 2
_RELOAD_TRAITS: Final = (
    "model",
    "page",
    "page_size",
    "metric_keys",
    "param_keys",
    "version_filter",
)

# The kernel's open panels: an action in one reloads the others of its store.
_PANELS: Final[Slot[weakref.WeakSet[RegistryPanel]]] = Slot(
    "open registry panels", lambda _ctx: weakref.WeakSet()
)


class RegistryPanel(_static.StaticRepr, BaseWidget):
    """Registered models, versions, aliases, stages and history; see :func:`registry_panel`."""

    _shared_bundle: ClassVar[str | None] = "registry"

    model = traitlets.Unicode("").tag(sync=True)
    """The registered model shown (empty: the first one)."""
    models = traitlets.List(traitlets.Dict()).tag(sync=True)
    """Every registered model: name, description, version counts, stages, aliases, tags."""
    versions = traitlets.Bytes(b"").tag(sync=True, echo_update=False)
    """Arrow IPC of the page of versions shown (see ``registry.panel_reads.version_page``)."""
    version_total = traitlets.Int(0).tag(sync=True)
    page = traitlets.Int(0, min=0).tag(sync=True)
    page_size = traitlets.Int(25, min=1, max=MAX_PAGE).tag(sync=True)
    metric_keys = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Metrics of the source runs shown as columns (by default the most logged few)."""
    param_keys = traitlets.List(traitlets.Unicode()).tag(sync=True)
    version_filter = traitlets.Unicode("").tag(sync=True)
    """A ``search_model_versions`` filter of the versions shown: ``tags.validated = 'yes'``."""
    filter_error = traitlets.Unicode("").tag(sync=True)
    """Why ``version_filter`` was not applied (every version is shown then)."""
    available_metrics = traitlets.List(traitlets.Unicode()).tag(sync=True)
    available_params = traitlets.List(traitlets.Unicode()).tag(sync=True)
    history = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The shown model's alias moves, oldest first: alias, from, to, time, user, host, forced."""
    alias_guards = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The shown model's aliases set, protected or gated: version, protection, gates."""
    lineage = traitlets.Dict().tag(sync=True)
    """The lineage of the last selected version (``{}``: none selected)."""
    comparison = traitlets.Dict().tag(sync=True)
    """The last two selected versions side by side (``{}``: fewer selected)."""
    hooks = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The hooks that fire for the shown model (its own, every model's); no secret."""
    failed_deliveries = traitlets.Dict().tag(sync=True)
    """Failed hook deliveries of the shown model's versions, by version (``{}``: none)."""
    selected_versions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Selected versions as ``"<model>/<version>"`` (names cannot hold '/')."""
    selected_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """The source runs of the selected versions: what ``compare(panel)`` follows."""
    table_runs = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The linked run table's selected runs, with their model folders, to register."""
    linked = traitlets.Bool(default_value=False).tag(sync=True)
    stages = traitlets.List(traitlets.Unicode(), default_value=list(STAGES)).tag(sync=True)
    error = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    """The last failed action: ``{"action", "message"}``; None after a success."""
    notice = traitlets.Unicode("").tag(sync=True)
    """What the last action did, in words."""
    revision = traitlets.Int(0).tag(sync=True)
    """Bumped at every reload."""
    poll_ms = traitlets.Int(POLL_MS, min=0).tag(sync=True)
    """How often each view asks whether the registry changed; 0 turns polling off."""

    def __init__(
        self,
        *,
        store: str | os.PathLike[str] | Client | Store | None = None,
        table: object = None,
        **kwargs: Any,  # noqa: ANN401 - trait values of any type
    ) -> None:
        if table is not None and store is None:
            store = getattr(table, "store", None)
        self._client = RegistryClient(resolve_client(store).store.address)
        self._signature: tuple[int, ...] | None = None
        # The registry's signature and the selection the lineage and comparison were read
        # for: a reload for another page, filter or columns does not read them again.
        self._selection_read: tuple[tuple[int, ...], tuple[str, ...]] | None = None
        self._ready = False
        self._table: Any = None
        super().__init__(**kwargs)
        if self.model:
            self._client.get_registered_model(names.model_name(self.model))  # names what exists
        self.reload()
        self._ready = True
        if table is not None:
            self.link_table(table)
        current_context().get(_PANELS).add(self)

    @classmethod
    def _accepted_kwargs(cls) -> set[str]:
        return {*super()._accepted_kwargs(), "store", "table"}

    # -- Python API ------------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The store whose registry the panel shows."""
        return self._client.store

    @property
    def client(self) -> RegistryClient:
        """The client the panel's actions go through (MlflowClient's registry methods)."""
        return self._client

    @property
    def selected(self) -> list[ModelVersion]:
        """The selected versions, as ``get_model_version`` returns them."""
        out = []
        for key in self.selected_versions:
            name, _, version = key.rpartition("/")
            with contextlib.suppress(Exception):  # deleted since it was selected
                out.append(self._client.get_model_version(name, version))
        return out

    def link_table(self, table: object) -> None:
        """Register from ``table``'s selection, and drive it when versions are compared."""
        self.unlink_table()
        if not hasattr(table, "observe") or not hasattr(table, "selected_ids"):
            msg = f"table must be a run table (with selected_ids), not {type(table).__name__}"
            raise TypeError(msg)
        self._table = table
        table.observe(self._on_table_selection, names=["selected_ids"])
        self.linked = True
        self._load_table_runs()

    def unlink_table(self) -> None:
        """Stop following a linked run table."""
        table, self._table = self._table, None
        if table is not None:
            with contextlib.suppress(Exception):  # the table may be closed already
                table.unobserve(self._on_table_selection, names=["selected_ids"])
        self.linked = False
        self.table_runs = []

    def refresh(self) -> None:
        """Read the registry again (other processes' changes show up), and the runs too."""
        self._selection_read = None  # a source run's metrics may have changed meanwhile
        self.reload()

    def reload(self) -> None:
        """Load the models, the shown model's versions and its alias history."""
        self._reload_from(self.store.read())

    def _reload_from(self, catalog: Catalog) -> None:
        signature = panel_reads.registry_signature(catalog)
        models, by_name = state.models(catalog)
        shown = self.model if self.model in by_name else next(iter(by_name), "")
        shown_versions = state.versions(
            catalog,
            by_name.get(shown),
            page=self.page,
            page_size=self.page_size,
            metric_keys=self.metric_keys,
            param_keys=self.param_keys,
            version_filter=self.version_filter,
        )
        live = panel_reads.versions_by_key(catalog, list(self.selected_versions))
        kept = [k for k in self.selected_versions if k in live]
        model_id = by_name.get(shown)
        guards = (
            [] if model_id is None else state.alias_guards(self.store, catalog, model_id, shown)
        )
        hook_traits = hook_state.of_model(self.store, catalog, model_id)
        # Observers stay quiet meanwhile: this is the one reload, not one per trait.
        self._ready, ready = False, self._ready
        try:
            with self.hold_sync():
                self.models = models
                self.model = shown
                for name, value in shown_versions.items():
                    setattr(self, name, value)
                self.selected_versions = kept
                self.selected_ids = state.runs_of(kept, live)
                self.alias_guards = guards
                for name, value in hook_traits.items():
                    setattr(self, name, value)
                self._load_selection(catalog, signature)
                self.revision += 1
        finally:
            self._ready = ready
        self._signature = signature

    def close(self) -> None:
        """Stop following a run table, then close the widget."""
        self.unlink_table()
        current_context().get(_PANELS).discard(self)
        super().close()

    # -- observers -------------------------------------------------------------------
    @traitlets.observe(*_RELOAD_TRAITS)
    def _on_view_change(self, change: Mapping[str, Any]) -> None:
        if not self._ready:
            return
        if change["name"] in ("model", "version_filter"):  # a new list: from its start
            self._ready = False
            try:
                self.page = 0
            finally:
                self._ready = True
        self.reload()

    @traitlets.observe("selected_versions")
    def _on_selection(self, change: Mapping[str, Any]) -> None:
        if not self._ready:
            return
        keys = list(change["new"])
        catalog = self.store.read()
        with self.hold_sync():
            self.selected_ids = state.runs_of(keys, panel_reads.versions_by_key(catalog, keys))
            self._load_selection(catalog, panel_reads.registry_signature(catalog))
        table = self._table
        if table is not None and len(change["new"]) >= COMPARE_FROM and self.selected_ids:
            table.selected_ids = list(self.selected_ids)

    def _load_selection(self, catalog: Catalog, signature: tuple[int, ...]) -> None:
        keys = list(self.selected_versions)
        if self._selection_read == (signature, tuple(keys)):
            return
        self._selection_read = (signature, tuple(keys))
        self.lineage = _registry_lineage.of_version(self.store, catalog, keys[-1]) if keys else {}
        self.comparison = _registry_compare.comparison(self.store, catalog, keys)

    def _on_table_selection(self, _change: object) -> None:
        self._load_table_runs()

    def _load_table_runs(self) -> None:
        table = self._table
        ids = run_ids(table)[:MAX_TABLE_RUNS] if table is not None else []
        self.table_runs = state.table_runs(self.store.read(), ids) if ids else []

    # -- actions ---------------------------------------------------------------------
    def _act(self, action: str, work: Callable[[], str]) -> RpcReply:
        """Run one action through the registry API; on success, every panel reloads."""
        try:
            notice = work()
        except Exception as exc:
            error: dict[str, Any] = {"action": action, "message": f"{type(exc).__name__}: {exc}"}
            if isinstance(exc, GateFailedError):
                error["failures"] = [dataclasses.asdict(f) for f in exc.failures]
            self.set_trait("error", error)
            raise
        with self.hold_sync():
            self.set_trait("error", None)
            self.notice = notice
        # One read of the store after the write, and every panel of it reloads from that.
        catalog = self.store.read()
        panels = current_context().get(_PANELS)
        for panel in list(panels):
            if panel.store.root == self.store.root:
                shared = catalog if panel.store is self.store else None
                panel._reload_if_changed(shared, force=panel is self)  # noqa: SLF001 - same class
        return {"notice": notice, "revision": self.revision}, []

    def _reload_if_changed(self, catalog: Catalog | None = None, *, force: bool = False) -> bool:
        """Reload if the registry changed since the last load (``catalog``: read already)."""
        if self.comm is None and not force:
            return False  # closed
        catalog = self.store.read() if catalog is None else catalog
        if force or panel_reads.registry_signature(catalog) != self._signature:
            self._reload_from(catalog)
            return True
        return False

    @rpc("set_alias")
    def _set_alias(self, request: dict[str, Any]) -> RpcReply:
        name, alias, version = str(request["model"]), request["alias"], request["version"]
        force = request.get("force", False)

        def work() -> str:
            # The version is looked up as the panel last read the store (what its user
            # chose from); the store is read once, after the move, for every panel.
            move = aliases.move(self.store, name, alias, version, refresh=False, force=force)
            before, after = move.from_version, move.to_version
            moved = f" (from version {before})" if before and before != after else ""
            forced = f"; forced past {move.overrode}" if move.forced else ""
            return f"@{move.alias} now points at {name} version {after}{moved}{forced}"

        return self._act("set_alias", work)

    @rpc("delete_alias")
    def _delete_alias(self, request: dict[str, Any]) -> RpcReply:
        name, alias = str(request["model"]), str(request["alias"])
        force = request.get("force", False)

        def work() -> str:
            self._client.delete_registered_model_alias(name, alias, force=force)
            return f"@{alias} removed from {name}{' (forced)' if force else ''}"

        return self._act("delete_alias", work)

    @rpc("set_stage")
    def _set_stage(self, request: dict[str, Any]) -> RpcReply:
        name, version, stage = str(request["model"]), request["version"], request["stage"]
        archive = bool(request.get("archive_existing", False))

        def work() -> str:
            moved = self._client.transition_model_version_stage(
                name, version, str(stage), archive_existing_versions=archive
            )
            others = f"; other {moved.current_stage} versions archived" if archive else ""
            return f"{name} version {moved.version} is now in {moved.current_stage}{others}"

        return self._act("set_stage", work)

    @rpc("set_description")
    def _set_description(self, request: dict[str, Any]) -> RpcReply:
        name, version = str(request["model"]), request.get("version")
        text = request.get("description")
        if text is not None and not isinstance(text, str):
            msg = f"Invalid description {text!r}: a string (or null to clear it) is required"
            raise TypeError(msg)

        def work() -> str:
            if version is None:
                self._client.update_registered_model(name, text or None)
                return f"Description of {name} saved"
            self._client.update_model_version(name, version, text or None)
            return f"Description of {name} version {version} saved"

        return self._act("set_description", work)

    @rpc("set_tag")
    def _set_tag(self, request: dict[str, Any]) -> RpcReply:
        name, version = str(request["model"]), request.get("version")
        key, value = request["key"], request.get("value")

        def work() -> str:
            if value is None:
                if version is None:
                    self._client.delete_registered_model_tag(name, key)
                else:
                    self._client.delete_model_version_tag(name, version, key)
                return f"Tag {key!r} removed"
            if version is None:
                self._client.set_registered_model_tag(name, key, value)
            else:
                self._client.set_model_version_tag(name, version, key, value)
            return f"Tag {key!r} set"

        return self._act("set_tag", work)

    @rpc("register")
    def _register(self, request: dict[str, Any]) -> RpcReply:
        name = request.get("name")
        wanted = request.get("runs") or []

        def work() -> str:
            checked = names.model_name(name)
            if not isinstance(wanted, list) or not wanted:
                msg = "Nothing to register: select runs that logged a model in the run table"
                raise ValueError(msg)
            # Every model is found before the first version is written: all or nothing.
            uris = []
            for item in wanted:
                run_id, path = str(item["run_id"]), str(item.get("path") or "")
                uri = f"runs:/{run_id}/{path}" if path else f"runs:/{run_id}"
                self._client.locate_model(uri)
                uris.append(uri)
            made = [self._client.register_model(uri, checked).version for uri in uris]
            self.model = checked
            shown = ", ".join(made)
            return f"Registered {len(made)} version{'s' * (len(made) != 1)} of {checked}: {shown}"

        return self._act("register", work)

    @rpc("retry_hooks")
    def _retry_hooks(self, request: dict[str, Any]) -> RpcReply:
        name, version = str(request["model"]), request.get("version")
        return self._act("retry_hooks", lambda: hook_state.retry(self._client, name, version))

    @rpc("dataset_versions")
    def _dataset_versions(self, request: dict[str, Any]) -> RpcReply:
        digest = request.get("digest")
        if not isinstance(digest, str) or not digest:
            msg = f"Invalid dataset digest {digest!r}: the digest of a dataset a run logged"
            raise ValueError(msg)
        found = _registry_lineage.versions_on_dataset(self.store.read(), digest)
        return {"digest": digest, "versions": found}, []

    @rpc("open_run")
    def _open_run(self, request: dict[str, Any]) -> RpcReply:
        run_id, table = str(request["run_id"]), self._table
        if table is None:
            return {"opened": False}, []
        table.selected_ids = [run_id]
        return {"opened": True}, []

    @rpc("refresh")
    def _refresh_request(self, _request: dict[str, Any]) -> RpcReply:
        self.reload()
        return {"revision": self.revision}, []

    @rpc("poll")
    def _poll(self, _request: dict[str, Any]) -> RpcReply:
        changed = self._reload_if_changed()
        return {"changed": changed, "revision": self.revision}, []

    # -- static view -----------------------------------------------------------------
    def _static_html(self) -> str | None:
        return _registry_static.panel_html(self)


def registry_panel(
    name: str | None = None,
    *,
    table: object = None,
    store: str | os.PathLike[str] | Client | Store | None = None,
    **traits: Any,  # noqa: ANN401 - further trait values (metric_keys, page_size, ...)
) -> RegistryPanel:
    """The model registry as a panel: models, versions, aliases, stages and history.

    Parameters
    ----------
    name
        The registered model to open; None opens the first one.
    table
        A run table: its selected runs can be registered from the panel, and selecting
        two or more versions selects their source runs in it.
    store
        A store folder or a ``Client``; None is the table's store, else the current one.
    **traits
        Initial ``metric_keys``, ``param_keys``, ``page_size`` or ``poll_ms``.

    Examples
    --------
    >>> panel = canvasback.registry_panel("digits")  # doctest: +SKIP
    >>> canvasback.compare(panel)  # the selected versions' source runs  # doctest: +SKIP

    """
    return RegistryPanel(store=store, table=table, model=name or "", **traits)
