"""MLflow's webhooks as canvasback's registry hooks: the same records, the same deliveries.

A webhook MLflow creates is a URL hook of every model (``registry/hooks.py``): its name
is the hook's label, its description and status (ACTIVE, DISABLED) the hook's settings,
its secret the hook's (kept in the store, as ``secret=`` keeps it). canvasback's
registry fires it on every change, in whichever process makes the change (a notebook,
a script, MLflow through the plugin, MLflow's server), each delivery logged and tried
again as every hook's. The other way, every URL hook is a webhook MLflow lists: one
added by canvasback without a label is named by its id, and its model (a hook may
follow one model; MLflow's webhooks have none) shows in canvasback's ``list_hooks``.

What a hook cannot be is refused before anything is written: an event canvasback's
registry does not fire (``registered_model.created``, ``model_version_tag.deleted``,
prompts'), and a change of a webhook's URL, events or secret (a hook keeps them as
added: delete it and create another). A command hook is no webhook: MLflow's calls do
not find it. MLflow's checks of a webhook's URL apply as in its own stores (https only,
and public addresses only, unless ``MLFLOW_WEBHOOK_ALLOWED_SCHEMES`` and
``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS`` say otherwise): a server's clients cannot make it
post to the machines around it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mlflow.entities.webhook import (
    VALID_ENTITY_ACTIONS,
    Webhook,
    WebhookEvent,
    WebhookStatus,
    WebhookTestResult,
)
from mlflow.exceptions import MlflowNotImplementedException
from mlflow.store.entities.paged_list import PagedList
from mlflow.utils.search_utils import SearchUtils
from mlflow.utils.validation import _validate_webhook_name, _validate_webhook_url

from canvasback.registry import hook_events, hooks
from canvasback.registry.entities import RegistryNotFoundError
from canvasback.tracking import validation

if TYPE_CHECKING:
    from collections.abc import Sequence

    from canvasback.registry import Client
    from canvasback.registry.hooks import Hook

DEFAULT_MAX_RESULTS: Final = 100
MAX_RESULTS: Final = 1000
"""MLflow's stores' page sizes for webhooks: 100 by default, at most 1000."""

# MLflow's event -> canvasback's, for the events both have (stage_changed is canvasback's).
_MLFLOWS: Final = {
    f"{entity.value}.{action.value}"
    for entity, actions in VALID_ENTITY_ACTIONS.items()
    for action in actions
}
_FIRED: Final = {
    hook_events.mlflow_name(event): event
    for event in hook_events.EVENTS
    if hook_events.mlflow_name(event) in _MLFLOWS
}


def create(
    client: Client,
    name: str,
    url: str,
    events: Sequence[WebhookEvent],
    description: str | None,
    secret: str | None,
    status: WebhookStatus | None,
) -> Webhook:
    """A URL hook of every model, from MLflow's webhook fields."""
    _validate_webhook_name(name)
    _validate_webhook_url(url)
    hook = hooks.add(
        client.store,
        _events(events),
        url,
        secret=secret or None,
        label=name,
        description=description,
        enabled=_enabled(status) is not False,
    )
    return _webhook_of(hook)


def get(client: Client, webhook_id: str) -> Webhook:
    """The webhook with id ``webhook_id`` (a URL hook's id)."""
    return _webhook_of(_hook(client, webhook_id))


def listed(client: Client, max_results: int | None, page_token: str | None) -> PagedList[Webhook]:
    """Every webhook, newest first (as MLflow's stores list them), a page at a time."""
    size = DEFAULT_MAX_RESULTS if max_results is None else max_results
    if not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
        msg = f"Invalid max_results {max_results!r}: a whole number from 1 to {MAX_RESULTS}"
        raise validation.InvalidInputError(msg)
    start = SearchUtils.parse_start_offset_from_page_token(page_token)
    found = [w for w in map(webhook, hooks.listed(client.store)) if w is not None]
    found.sort(key=lambda w: (-w.creation_timestamp, w.webhook_id))
    page = found[start : start + size]
    more = start + size < len(found)
    return PagedList(page, SearchUtils.create_page_token(start + size) if more else None)


def update(
    client: Client,
    webhook_id: str,
    name: str | None,
    description: str | None,
    url: str | None,
    events: Sequence[WebhookEvent] | None,
    secret: str | None,
    status: WebhookStatus | None,
) -> Webhook:
    """Change a webhook's name, description or status; its URL, events, secret stay."""
    hook = _hook(client, webhook_id)
    fixed = []
    if url is not None and url != hook.target:
        fixed.append(f"url to {url!r}")
    if events is not None and set(_events(events)) != set(_mlflow_events(hook)):
        fixed.append(f"events to {[str(e) for e in events]}")
    if secret is not None and (secret or None) != hook.secret:  # "": no secret (REST's empty)
        fixed.append("secret")
    if fixed:
        msg = (
            f"update_webhook cannot change webhook {webhook_id!r}'s {', '.join(fixed)}: a "
            "canvasback hook keeps its URL, events and secret as created (its name, "
            "description and status change); delete it and create another"
        )
        raise MlflowNotImplementedException(msg)
    if name is not None:
        _validate_webhook_name(name)
    updated = hooks.update(
        client.store, webhook_id, label=name, description=description, enabled=_enabled(status)
    )
    return _webhook_of(updated)


def delete(client: Client, webhook_id: str) -> None:
    """Delete a webhook: its hook fires no more (its deliveries stay in the log)."""
    client.delete_hook(_hook(client, webhook_id).hook_id)


def test(client: Client, webhook_id: str, event: WebhookEvent | None) -> WebhookTestResult:
    """Send an example of an event (the webhook's first by default) now; nothing logged."""
    hook = _hook(client, webhook_id)
    chosen = None if event is None else _events([event])[0]
    result = client.test_hook(hook.hook_id, chosen)
    return WebhookTestResult(
        success=result.success,
        response_status=result.response_status,
        response_body=result.response_body,
        error_message=result.error_message,
    )


def webhook(hook: Hook) -> Webhook | None:
    """MLflow's webhook of a hook; None for a hook that is none.

    (A command, or a hook of ``stage_changed`` only, an event MLflow cannot name.)
    """
    events = _mlflow_events(hook)
    if hook.target_type != hooks.URL or not events:
        return None
    return Webhook(
        webhook_id=hook.hook_id,
        name=hook.label or hook.hook_id,
        url=str(hook.target),
        events=[WebhookEvent(*hook_events.EVENTS[e]) for e in events],
        creation_timestamp=hook.creation_time,
        last_updated_timestamp=hook.update_time or hook.creation_time,
        description=hook.description,
        status=WebhookStatus.ACTIVE if hook.enabled else WebhookStatus.DISABLED,
        secret=hook.secret,
    )


def _webhook_of(hook: Hook) -> Webhook:
    found = webhook(hook)
    if found is None:  # a hook a webhook call made is a webhook: here, a bug
        msg = f"hook {hook.hook_id!r} is no webhook"
        raise AssertionError(msg)
    return found


def _hook(client: Client, webhook_id: str) -> Hook:
    """The URL hook with id ``webhook_id``; a hook that is no webhook is not found."""
    try:
        hook = hooks.get(client.store, webhook_id)
    except RegistryNotFoundError:
        msg = f"Webhook with ID {webhook_id} not found."
        raise RegistryNotFoundError(msg) from None
    if webhook(hook) is None:
        what = "a command hook" if hook.target_type == hooks.COMMAND else "a stage_changed hook"
        msg = (
            f"Webhook with ID {webhook_id} not found: it is {what} of canvasback's "
            "registry, which MLflow's webhooks cannot show (canvasback's list_hooks does)"
        )
        raise RegistryNotFoundError(msg)
    return hook


def _mlflow_events(hook: Hook) -> list[str]:
    """The hook's events that MLflow names, canvasback's names in the hook's order."""
    fired = set(_FIRED.values())
    return [e for e in hook.events if e in fired]


def _events(events: Sequence[WebhookEvent]) -> tuple[str, ...]:
    """The names canvasback gives MLflow's events, each one canvasback's registry fires."""
    if not isinstance(events, list | tuple) or not events:
        msg = f"Invalid webhook events {events!r}: a non-empty list of WebhookEvent"
        raise validation.InvalidInputError(msg)
    names = []
    for event in events:
        given = str(event)
        if given not in _FIRED:
            msg = (
                f"Invalid webhook event {given!r}: canvasback's registry fires "
                f"{', '.join(_FIRED)} (no registered_model.created, "
                "model_version_tag.deleted, prompt or budget events)"
            )
            raise validation.InvalidInputError(msg)
        names.append(_FIRED[given])
    return hook_events.event_names(names)


def _enabled(status: WebhookStatus | str | None) -> bool | None:
    """Whether a status enables the hook; None for no status."""
    if status is None:
        return None
    try:
        return WebhookStatus(status).is_active()
    except ValueError:
        allowed = ", ".join(s.value for s in WebhookStatus)
        msg = f"Invalid webhook status {status!r}: {allowed}"
        raise validation.InvalidInputError(msg) from None
