"""The registry panel's hooks: the shown model's hooks, its versions' failed deliveries.

Read as trait values from the catalog (``registry.hooks``, ``registry.hook_log``). A
store where no hook was ever added has no marker claim (``hooks.present``): its panel
looks at that one small file and reads no hook table. A hook's secret never leaves
Python: a hook shows whether it signs, and its URL without a password or query values.
"""

from __future__ import annotations

import shlex
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from canvasback.registry import hook_dispatch, hook_log, hooks

if TYPE_CHECKING:
    from canvasback.registry.client import Client
    from canvasback.registry.hooks import Hook
    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog

LABEL_CHARS: Final = 48
"""A hook's label (a delivery's ``hook``) is cut to this many characters."""
MAX_PER_VERSION: Final = 100
"""Failed deliveries sent per version (the newest); ``get_hook_deliveries`` has all."""
_HIDDEN: Final = "***"


def of_model(store: Store, catalog: Catalog, model_id: str | None) -> dict[str, Any]:
    """The traits ``hooks`` and ``failed_deliveries`` of a model (empty for None)."""
    if model_id is None or not hooks.present(store):
        return {"hooks": [], "failed_deliveries": {}}
    live = hooks.live(catalog)
    return {
        "hooks": [_shown(h) for h in live.values() if h.model_id in (None, model_id)],
        "failed_deliveries": failed_deliveries(catalog, model_id, live),
    }


def failed_deliveries(
    catalog: Catalog, model_id: str, live: dict[str, Hook]
) -> dict[str, list[dict[str, Any]]]:
    """The model's deliveries whose latest attempt failed, by version (text), newest first.

    Each is ``{"delivery_id", "hook_id", "hook", "event", "timestamp", "attempts",
    "error"}``: ``hook`` the hook's target, short; ``timestamp`` its latest attempt's.
    """
    by_version: dict[str, list[dict[str, Any]]] = {}
    for d in hook_log.deliveries(catalog, model_id, failed_only=True):
        if d.version is None:  # every event names its version; an old row might not
            continue
        shown = by_version.setdefault(d.version, [])
        if len(shown) >= MAX_PER_VERSION:
            continue
        hook = live.get(d.hook_id)
        shown.append(
            {
                "delivery_id": d.delivery_id,
                "hook_id": d.hook_id,
                "hook": f"deleted hook {d.hook_id[:8]}" if hook is None else label(hook),
                "event": d.event,
                "timestamp": d.time,
                "attempts": d.attempts,
                "error": _error(d),
            }
        )
    return by_version


def retry(client: Client, name: str, version: object) -> str:
    """Send a model's (or a version's) failed deliveries again; what came of it, in words."""
    done = client.retry_hooks(name, version)
    of = f"{name} version {version}" if version is not None else name
    if not done:
        return f"No failed hook deliveries of {of} to retry"
    counts: dict[str, int] = {}
    for redelivery in done:
        counts[redelivery.outcome] = counts.get(redelivery.outcome, 0) + 1
    words = {
        hook_log.DELIVERED: "delivered",
        hook_log.FAILED: "failed again",
        hook_dispatch.WAITING: "left to the process that retries it",
        hook_dispatch.DROPPED: "dropped (hook deleted)",
    }
    outcomes = ", ".join(f"{n} {words.get(o, o)}" for o, n in counts.items())
    noun = "delivery" if len(done) == 1 else "deliveries"
    return f"Retried {len(done)} hook {noun} of {of}: {outcomes}"


def label(hook: Hook) -> str:
    """The hook in a few words: its URL's host and path, or its command."""
    if hook.target_type == hooks.URL:
        parts = urlsplit(str(hook.target))
        text = f"{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"
    elif isinstance(hook.target, tuple):  # the program's name, not its folder
        program, *args = hook.target
        text = shlex.join([PurePath(program).name or program, *args])
    else:
        text = hook.target
    return text if len(text) <= LABEL_CHARS else f"{text[: LABEL_CHARS - 1]}…"


def target_text(hook: Hook) -> str:
    """The hook's target as shown: a URL's password and query values hidden."""
    if isinstance(hook.target, tuple):
        return shlex.join(hook.target)
    if hook.target_type != hooks.URL:
        return hook.target
    parts = urlsplit(hook.target)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if parts.username is not None:
        password = f":{_HIDDEN}" if parts.password is not None else ""
        host = f"{parts.username}{password}@{host}"
    query = "&".join(f"{k}={_HIDDEN}" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def _shown(hook: Hook) -> dict[str, Any]:
    return {
        "hook_id": hook.hook_id,
        "events": list(hook.events),
        "every_model": hook.model_id is None,
        "target_type": hook.target_type,
        "target": target_text(hook),
        "signed": hook.signed,
        "secret_env": hook.secret_env,
        "runs_here": hooks.trusted(hook),
        "user_id": hook.user_id,
        "creation_time": hook.creation_time,
    }


def _error(delivery: hook_log.HookDelivery) -> str:
    if delivery.error:
        return delivery.error
    if delivery.http_status is not None:
        return f"HTTP {delivery.http_status}"
    if delivery.exit_code is not None:
        return f"exit code {delivery.exit_code}"
    return "failed"
