"""One canvasback client per store and process, shared by the plugin's three parts.

MLflow builds its tracking store, registry store and artifact repositories apart (and
anew, for artifacts, per call); they must share one client so that a run created
through the tracking store has one live handle, which the artifact repository writes
through and ``update_run_info`` ends.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from canvasback._config import S3Address
from canvasback.registry import Client
from canvasback.store import open_store

if TYPE_CHECKING:
    from canvasback._config import StoreAddress

_CLIENTS: dict[StoreAddress, Client] = {}
_LOCK = threading.Lock()


def client_for(root: StoreAddress) -> Client:
    """The client of a store (made again if its store was closed meanwhile)."""
    store = open_store(root)
    with _LOCK:
        client = _CLIENTS.get(root)
        if client is None or client.store is not store:
            client = _CLIENTS[root] = Client(root)
        return client


def known_roots() -> list[StoreAddress]:
    """The stores this process has clients of, deepest first."""
    with _LOCK:
        return sorted(_CLIENTS, key=_depth, reverse=True)


def _depth(root: StoreAddress) -> int:
    return len(root.prefix.split("/")) if isinstance(root, S3Address) else len(root.parts)
