"""Versions whose number was claimed but whose row never reached the store.

``create_model_version`` claims a number, then writes the version's row and flushes; a
process killed between the two leaves a claim whose content (source, run, time, user) is
the whole version. ``recover_versions`` writes the missing rows from those claims, for
claims older than a grace period (a younger one may be a registration in progress).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Final

from canvasback.registry.client_methods import VERSION_CLAIMS
from canvasback.store import layout
from canvasback.tracking.queries import registry as rq

if TYPE_CHECKING:
    from canvasback.store import Store

GRACE_SECONDS: Final = 60.0


def recover_versions(store: Store, *, grace_seconds: float = GRACE_SECONDS) -> int:
    """Write the rows of orphaned version claims; returns how many were written."""
    catalog = store.read()
    base = f"{layout.CLAIMS_DIR}/{VERSION_CLAIMS}"
    written = 0
    now = time.time()
    for model in store.fs.list(base):
        if not model.is_dir:
            continue
        have = rq.version_numbers_written(catalog, model.name)
        for claim in store.fs.list(f"{base}/{model.name}"):
            if not claim.name.isdigit() or int(claim.name) in have:
                continue
            if now - claim.mtime_ns / 1e9 < grace_seconds:
                continue
            data = json.loads(store.fs.read_bytes(f"{base}/{model.name}/{claim.name}"))
            row = (
                model.name,
                int(claim.name),
                data["source"],
                data.get("run_id"),
                int(data["time"]),
                data.get("user", "unknown"),
            )
            store.writer.append("model_versions", layout.REGISTRY_PARTITION, row)
            written += 1
    store.flush()
    return written
