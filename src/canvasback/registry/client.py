"""``Client``: MlflowClient's tracking and registry methods over one store.

The tracking half lives in :mod:`canvasback.tracking.client`, the registry half in
:mod:`canvasback.registry.client_methods`; this class joins them, so
``canvasback.MlflowClient`` answers both as MLflow's does. :func:`client` is the one
of the current store: made over the fluent API's client (sharing its runs) and kept in
the process's context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canvasback.registry import names, reads, sources
from canvasback.registry.client_methods import RegistryMethods
from canvasback.registry.entities import ModelVersion, RegistryNotFoundError
from canvasback.tracking import current
from canvasback.tracking.client import Client as TrackingClient
from canvasback.tracking.context import Slot, current_context

if TYPE_CHECKING:
    from collections.abc import Mapping


class Client(TrackingClient, RegistryMethods):
    """Tracking and model registry operations on one store (MLflow's ``MlflowClient``).

    Parameters
    ----------
    store
        The store folder; defaults to ``CANVASBACK_STORE`` or ``./canvasback-store``.

    """

    def register_model(
        self, model_uri: str, name: str, tags: Mapping[str, Any] | None = None
    ) -> ModelVersion:
        """Register the model at ``model_uri`` as the next version of ``name``."""
        names.model_name(name)
        location = self.locate_model(model_uri)
        return self.create_model_version(name, location.source, run_id=location.run_id, tags=tags)

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
            model_id = self._model_id(name)
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
