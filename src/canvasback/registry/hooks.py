"""Hooks on registry events: which events, of which model, go to which target.

A hook is a row of ``registry_hooks`` (its deletion an event of it), so every process
that changes the registry fires it, whichever process added it. It follows events of
one registered model (by id: it follows the model through renames, and goes with its
deletion) or of every model (``name=None``, as MLflow's webhooks do). Its target is
an http(s) URL (a signed POST of MLflow's webhook body) or a command (an argv list, or
a string the shell runs) that reads the body on stdin.

A command is code that any process moving an alias would run, and anyone who can write
to the store can add one: a process runs a command hook only if it added the hook
itself, or if ``CANVASBACK_TRUST_HOOK_COMMANDS=1`` says it trusts the store's (as
pickled models load only with ``trusted=True``). Elsewhere the delivery is logged as
failed, saying so, for a trusting process's ``canvasback hooks retry``.

A store where a hook was ever added has the claim ``registry-hooks/added``: a change in
a store without it fires nothing, and asks no more of the store than that one small
file (a registration reads no table).

A secret signs a URL hook's deliveries (MLflow's HMAC scheme). ``secret=`` keeps it in
the store, where anyone who can read the store can read it; ``secret_env=`` keeps only
the name of an environment variable, read by the delivering process when it signs.

Its settings (MLflow's webhook fields) are events of it, changed at will: a label (a
webhook's name), a description, and whether it is enabled (a disabled hook fires
nothing until it is enabled again). Its events, target and secret are kept as added.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from canvasback.registry import claims, hook_events, reads, tables, writes
from canvasback.registry.entities import RegistryNotFoundError
from canvasback.store.read.relations import FACTS, rows
from canvasback.tracking import validation
from canvasback.tracking.context import Slot, current_context

if TYPE_CHECKING:
    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog

TRUST_VARIABLE: Final = "CANVASBACK_TRUST_HOOK_COMMANDS"
DEFAULT_TIMEOUT: Final = 10.0
MAX_TIMEOUT: Final = 300.0
DEFAULT_ATTEMPTS: Final = 4
MAX_ATTEMPTS: Final = 10
URL: Final = "url"
COMMAND: Final = "command"

_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_VARIABLE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TARGETS: Final = "an http(s) URL, or a command: a list of arguments or a shell command string"
MARKER: Final = "registry-hooks"
"""The claims namespace of ``added``: a hook was added to the store once (never removed)."""
# The command hooks this process added: it runs them without the variable's word.
_OWN: Slot[set[str]] = Slot("the command hooks this process added", lambda _ctx: set())
# The stores this process found the marker in (a marker is never removed).
_MARKED: Slot[set[str]] = Slot("the stores that have hooks", lambda _ctx: set())

_HOOKS: Final = f"""
    SELECT h.hook_id, h.name, h.model_id, h.events, h.target_type, h.target, h.signed,
           h.secret_env, h.timeout, h.max_attempts, h.creation_time, h.user_id, r.secret,
           h.label, h.description, h.enabled, h.update_time
    FROM hooks h JOIN {rows(tables.REGISTRY_HOOKS.name)} r ON r.hook_id = h.hook_id
"""
# The hooks of one model and of every model, straight from their rows (an event's
# firing needs no model's name: the view would resolve every registry fact for it).
_OF_MODEL: Final = f"""
    SELECT *, secret IS NOT NULL OR secret_env IS NOT NULL AS signed
    FROM {rows(tables.REGISTRY_HOOKS.name)}
    WHERE (model_id IS NULL OR model_id = ?)
      AND hook_id NOT IN (SELECT entity_id FROM {FACTS}
                          WHERE experiment_id = '{tables.PARTITION}'
                            AND kind = '{tables.EVENT_HOOK_LIFECYCLE}')
      AND hook_id NOT IN (SELECT hook_id FROM ({tables.HOOK_SETTINGS}) WHERE NOT enabled)
    ORDER BY creation_time, hook_id
"""


@dataclass(frozen=True)
class Hook:
    """A hook: the events it follows, of which model, and where they go."""

    hook_id: str
    events: tuple[str, ...]
    name: str | None
    """The registered model it follows (its name now); None: every model."""
    target: str | tuple[str, ...]
    """A URL, an argv tuple, or a shell command string."""
    target_type: str
    """``"url"`` or ``"command"``."""
    signed: bool
    secret_env: str | None
    timeout: float
    max_attempts: int
    creation_time: int
    user_id: str | None
    model_id: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False, compare=False)
    label: str | None = None
    """Its name, if it was given one (MLflow's webhooks have one)."""
    description: str | None = None
    enabled: bool = True
    update_time: int | None = field(default=None, repr=False)
    """When it was added or its settings last changed (ms)."""


def add(
    store: Store,
    event: object,
    target: object,
    *,
    name: str | None = None,
    secret: str | None = None,
    secret_env: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_attempts: int = DEFAULT_ATTEMPTS,
    label: str | None = None,
    description: str | None = None,
    enabled: bool = True,
) -> Hook:
    """Store a hook; every argument is checked before anything is written."""
    events = hook_events.event_names(event)
    target_type, checked = _target(target)
    _signing(secret, secret_env, target_type)
    seconds = _timeout(timeout)
    attempts = _attempts(max_attempts)
    # Only what differs from a new hook's defaults is written.
    settings = _settings(label, description or None, None if enabled is True else enabled)
    model_id = None if name is None else claims.held(store, name).entity_id
    hook_id, now, (user, _host) = uuid.uuid4().hex, time.time_ns() // 1_000_000, writes.who()
    store.claim(MARKER, "added", b"")  # first: a marker with no hook is harmless
    if settings:  # before its row: no read sees the hook without them (enabled, say)
        _write_settings(store, hook_id, settings)
    stored_target = json.dumps(list(checked) if isinstance(checked, tuple) else checked)
    row = (hook_id, model_id, json.dumps(events), target_type, stored_target, secret)
    writes.hook_row(store, (*row, secret_env, seconds, attempts, now, user))
    store.flush()
    if target_type == COMMAND:
        ctx = current_context()
        with ctx.lock:
            ctx.get(_OWN).add(hook_id)
    return Hook(
        hook_id=hook_id,
        events=events,
        name=name,
        target=checked,
        target_type=target_type,
        signed=secret is not None or secret_env is not None,
        secret_env=secret_env,
        timeout=seconds,
        max_attempts=attempts,
        creation_time=now,
        user_id=user,
        model_id=model_id,
        secret=secret,
        label=label,
        description=description or None,
        enabled=enabled,
        update_time=now,
    )


def update(
    store: Store,
    hook_id: str,
    *,
    label: str | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> Hook:
    """Change a hook's settings (None: as it is; ``description=""`` clears it)."""
    settings = _settings(label, description, enabled)
    get(store, hook_id)
    if settings:
        _write_settings(store, hook_id, settings)
    return get(store, hook_id)


def listed(store: Store, name: str | None = None) -> list[Hook]:
    """Every hook, or the hooks that fire for model ``name`` (its own, every model's)."""
    catalog = store.read()
    if name is None:
        return _hooks(catalog, "", [])
    model_id = claims.held(store, name).entity_id
    return _hooks(catalog, "WHERE h.model_id IS NULL OR h.model_id = ?", [model_id])


def present(store: Store) -> bool:
    """Whether a hook was ever added to the store: one small file read, no table."""
    ctx = current_context()
    marked = ctx.get(_MARKED)
    if store.url in marked:
        return True
    if store.read_claim(MARKER, "added") is None:
        return False
    with ctx.lock:
        marked.add(store.url)
    return True


def matching(catalog: Catalog, model_id: str, name: str, event: str) -> list[Hook]:
    """The hooks that follow ``event`` of model ``name``, as ``catalog`` holds them."""
    found = reads.rows_of(catalog, _OF_MODEL, [model_id])
    of_model = [_hook({**r, "name": None if r["model_id"] is None else name}) for r in found]
    return [h for h in of_model if event in h.events]


def live(catalog: Catalog) -> dict[str, Hook]:
    """Every hook not deleted, by id."""
    return {h.hook_id: h for h in _hooks(catalog, "", [])}


def get(store: Store, hook_id: str) -> Hook:
    """A hook by id, in a fresh read; raises, naming the hooks there are, if it is none."""
    known = live(store.read())
    if hook_id not in known:
        shown = ", ".join(sorted(known)) or "none"
        msg = f"No hook with id {hook_id!r}; the hooks are {shown}"
        raise RegistryNotFoundError(msg)
    return known[hook_id]


def delete(store: Store, hook_id: str) -> None:
    """Delete a hook: it fires no more (its deliveries' log stays)."""
    get(store, hook_id)
    writes.event(store, hook_id, tables.EVENT_HOOK_LIFECYCLE, "", "deleted")
    store.flush()


def trusted(hook: Hook) -> bool:
    """Whether this process may run the hook: a URL, or a command it added or trusts."""
    if hook.target_type != COMMAND or os.environ.get(TRUST_VARIABLE) == "1":
        return True
    return hook.hook_id in current_context().get(_OWN)


def untrusted_reason() -> str:
    """Why a command hook was not run, and how to run it."""
    return (
        "not run: a command hook runs only in the process that added it, or where "
        f"{TRUST_VARIABLE}=1 trusts the store's hooks (then: canvasback hooks retry)"
    )


def _hooks(catalog: Catalog, where: str, params: list[Any]) -> list[Hook]:
    found = reads.rows_of(catalog, f"{_HOOKS} {where} ORDER BY h.creation_time, h.hook_id", params)
    return [_hook(r) for r in found]


def _hook(row: reads.Row) -> Hook:
    target = json.loads(row["target"])
    return Hook(
        hook_id=row["hook_id"],
        events=tuple(json.loads(row["events"])),
        name=row["name"],
        target=tuple(target) if isinstance(target, list) else target,
        target_type=row["target_type"],
        signed=row["signed"],
        secret_env=row["secret_env"],
        timeout=row["timeout"],
        max_attempts=row["max_attempts"],
        creation_time=row["creation_time"],
        user_id=row["user_id"],
        model_id=row["model_id"],
        secret=row["secret"],
        label=row.get("label"),
        description=row.get("description"),
        enabled=bool(row.get("enabled", True)),  # rows of _OF_MODEL are enabled ones
        update_time=row.get("update_time"),
    )


def _settings(label: object, description: object, enabled: object) -> dict[str, str | None]:
    """The setting events that ``label``, ``description`` and ``enabled`` make, checked."""
    found: dict[str, str | None] = {}
    if label is not None:
        if not isinstance(label, str) or not label.strip() or "\n" in label:
            msg = f"Invalid hook label {label!r}: a non-empty name on one line"
            raise validation.InvalidInputError(msg)
        found[tables.HOOK_LABEL] = label
    if description is not None:
        if not isinstance(description, str):
            msg = f"Invalid hook description {description!r}: a string (empty clears it)"
            raise validation.InvalidInputError(msg)
        found[tables.HOOK_DESCRIPTION] = description or None
    if enabled is not None:
        if not isinstance(enabled, bool):
            msg = f"Invalid hook enabled {enabled!r}: True or False"
            raise validation.InvalidInputError(msg)
        found[tables.HOOK_STATUS] = "active" if enabled else tables.HOOK_DISABLED
    return found


def _write_settings(store: Store, hook_id: str, settings: dict[str, str | None]) -> None:
    for key, value in settings.items():
        writes.event(store, hook_id, tables.EVENT_HOOK_SETTING, key, value)
    store.flush()


def _target(target: object) -> tuple[str, str | tuple[str, ...]]:
    """``("url", url)`` or ``("command", argv or shell string)``, checked."""
    if isinstance(target, str) and _SCHEME.match(target.strip()):
        url = target.strip()
        try:
            parts = urlsplit(url)
            _ = parts.port  # a port that is no number raises here
        except ValueError:
            parts = None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            msg = f"Invalid hook target {target!r}: a URL must be http:// or https:// with a host"
            raise validation.InvalidInputError(msg)
        if any(c.isspace() for c in url):
            msg = f"Invalid hook target {target!r}: a URL holds no whitespace"
            raise validation.InvalidInputError(msg)
        return URL, url
    if isinstance(target, str):
        if not target.strip():
            msg = f"Invalid hook command {target!r}: the command is empty; {_TARGETS}"
            raise validation.InvalidInputError(msg)
        return COMMAND, target
    if isinstance(target, list | tuple):
        if not target or not all(isinstance(a, str) for a in target) or not target[0].strip():
            msg = f"Invalid hook command {target!r}: a non-empty list of strings, the program first"
            raise validation.InvalidInputError(msg)
        return COMMAND, tuple(target)
    msg = f"Invalid hook target {target!r}: {_TARGETS}"
    raise validation.InvalidInputError(msg)


def _signing(secret: object, secret_env: object, target_type: str) -> None:
    if secret is not None and (not isinstance(secret, str) or not secret):
        msg = f"Invalid hook secret {type(secret).__name__}: a non-empty string"
        raise validation.InvalidInputError(msg)
    if secret_env is not None and (
        not isinstance(secret_env, str) or not _VARIABLE.fullmatch(secret_env)
    ):
        msg = f"Invalid hook secret_env {secret_env!r}: the name of an environment variable"
        raise validation.InvalidInputError(msg)
    if secret is not None and secret_env is not None:
        msg = f"Give a hook secret or secret_env {secret_env!r}, not both"
        raise validation.InvalidInputError(msg)
    if target_type == COMMAND and (secret is not None or secret_env is not None):
        msg = "Invalid hook secret for a command: a secret signs a URL hook's deliveries only"
        raise validation.InvalidInputError(msg)


def _timeout(value: object) -> float:
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
    if not (math.isfinite(number) and 0 < number <= MAX_TIMEOUT):
        msg = f"Invalid hook timeout {value!r}: seconds, more than 0 and at most {MAX_TIMEOUT:g}"
        raise validation.InvalidInputError(msg)
    return number


def _attempts(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ATTEMPTS:
        msg = f"Invalid hook max_attempts {value!r}: a whole number from 1 to {MAX_ATTEMPTS}"
        raise validation.InvalidInputError(msg)
    return value
