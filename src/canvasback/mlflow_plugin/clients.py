"""One canvasback client per store and process, shared by the plugin's three parts.

MLflow builds its tracking store, registry store and artifact repositories apart (and
anew, for artifacts, per call); they must share one client so that a run created
through the tracking store has one live handle, which the artifact repository writes
through and ``update_run_info`` ends.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from canvasback.registry import Client
from canvasback.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

_CLIENTS: dict[Path, Client] = {}
_LOCK = threading.Lock()


def client_for(root: Path) -> Client:
    """The client of a store folder (made again if its store was closed meanwhile)."""
    store = open_store(root)
    with _LOCK:
        client = _CLIENTS.get(root)
        if client is None or client.store is not store:
            client = _CLIENTS[root] = Client(root)
        return client


def known_roots() -> list[Path]:
    """The store folders this process has clients of, deepest first."""
    with _LOCK:
        return sorted(_CLIENTS, key=lambda p: len(p.parts), reverse=True)
