"""One attempt to deliver a body to a hook's target: an HTTP POST, or a command.

A URL gets MLflow's webhook request (``mlflow/webhooks/delivery.py``): the JSON body,
``Content-Type: application/json``, ``X-MLflow-Delivery-Id`` (the delivery's id, the
same on every attempt: the receiver's idempotency key), ``X-MLflow-Timestamp`` (the
attempt's Unix time, in seconds) and, when the hook has a secret,
``X-MLflow-Signature: v1,<base64 of HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``.
A 2xx answer delivers it; a redirect is not followed (the body is signed for its URL).
A command gets the body on stdin, and the event and delivery id in
``CANVASBACK_HOOK_EVENT`` and ``CANVASBACK_DELIVERY_ID``; exit status 0 delivers it.

Every attempt is bounded by the hook's timeout: a request waits that long for each
answer from the server, a command runs that long before its process group is killed.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from canvasback.registry import hook_events, hooks

if TYPE_CHECKING:
    from canvasback.registry.hooks import Hook

SIGNATURE_HEADER: Final = "X-MLflow-Signature"
TIMESTAMP_HEADER: Final = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER: Final = "X-MLflow-Delivery-Id"
SIGNATURE_VERSION: Final = "v1"
_KEPT: Final = 2000  # characters of an answer's body, or a command's stderr, kept
# Answers that say "later": worth trying again. Any other refusal will not change.
_TRANSIENT: Final = frozenset({408, 425, 429})
_SERVER_ERROR: Final = 500


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    delivered: bool
    http_status: int | None = None
    exit_code: int | None = None
    error: str | None = None
    response_body: str | None = None
    transient: bool = True
    """Whether trying again may go otherwise (a timeout, a 5xx: yes; a 404: no)."""


@dataclass(frozen=True)
class HookTestResult:
    """What a test delivery came to (MLflow's ``WebhookTestResult``, and a command's)."""

    success: bool
    response_status: int | None = None
    response_body: str | None = None
    exit_code: int | None = None
    error_message: str | None = None


def signature(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    """MLflow's signature of a delivery: ``v1,<base64 HMAC-SHA256>``."""
    signed = f"{delivery_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def send(hook: Hook, event: str, delivery_id: str, body: str, *, trusted: bool) -> Outcome:
    """Deliver ``body`` to the hook's target once; never raises for the target's sake."""
    if hook.target_type == hooks.URL:
        return _post(hook, delivery_id, body)
    if not trusted:
        return Outcome(delivered=False, error=hooks.untrusted_reason(), transient=False)
    return _run(hook, event, delivery_id, body)


def test(hook: Hook, event: str | None, *, trusted: bool) -> HookTestResult:
    """Send an example of an event's body (the hook's first event by default) now."""
    chosen = hook.events[0] if event is None else hook_events.event_names(event)[0]
    delivery_id = f"test-{os.urandom(8).hex()}"
    data = hook_events.example(chosen, hook.name)
    body = hook_events.body(chosen, data, delivery_id, time.time_ns() // 1_000_000)
    outcome = send(hook, chosen, delivery_id, body, trusted=trusted)
    return HookTestResult(
        success=outcome.delivered,
        response_status=outcome.http_status,
        response_body=outcome.response_body,
        exit_code=outcome.exit_code,
        error_message=outcome.error,
    )


@functools.cache
def _opener() -> tuple[Any, str]:
    """An opener (urllib's) that follows no redirect, and the User-Agent: made on first use.

    (urllib, http.client and ssl load when a hook first posts, not with the registry.)
    """
    import urllib.request  # noqa: PLC0415
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_args: object, **_kwargs: object) -> None:
            return None  # a 3xx then raises HTTPError: not delivered

    try:
        agent = f"canvasback/{version('canvasback')}"
    except PackageNotFoundError:
        agent = "canvasback"
    return urllib.request.build_opener(NoRedirect()), agent


def _post(hook: Hook, delivery_id: str, body: str) -> Outcome:
    import http.client  # noqa: PLC0415  # loaded with the first post
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    opener, agent = _opener()
    secret = hook.secret
    if hook.secret_env is not None:
        secret = os.environ.get(hook.secret_env) or None
        if secret is None:
            error = (
                f"not sent: environment variable {hook.secret_env} (the hook's secret_env) "
                "is not set in this process"
            )
            return Outcome(delivered=False, error=error, transient=False)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": agent,
        DELIVERY_ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: timestamp,
    }
    if secret is not None:
        headers[SIGNATURE_HEADER] = signature(secret, delivery_id, timestamp, body)
    url = str(hook.target)
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310  # http(s) only, checked when the hook was added
    try:
        with opener.open(request, timeout=hook.timeout) as response:
            text = response.read(_KEPT).decode(errors="replace")
            return Outcome(delivered=True, http_status=response.status, response_body=text)
    except urllib.error.HTTPError as exc:
        text = ""
        with contextlib.suppress(OSError, http.client.HTTPException):
            text = exc.read(_KEPT).decode(errors="replace")
        transient = exc.code >= _SERVER_ERROR or exc.code in _TRANSIENT
        return Outcome(
            delivered=False,
            http_status=exc.code,
            error=f"HTTP {exc.code} {exc.reason}",
            response_body=text or None,
            transient=transient,
        )
    except (OSError, http.client.HTTPException) as exc:  # URLError, refused, timed out
        return Outcome(delivered=False, error=_reason(exc, hook.timeout))


def _reason(exc: BaseException, timeout: float) -> str:
    cause = getattr(exc, "reason", exc)  # a URLError's cause
    if isinstance(cause, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    return str(cause)


def _run(hook: Hook, event: str, delivery_id: str, body: str) -> Outcome:
    shell = isinstance(hook.target, str)
    env = {**os.environ, "CANVASBACK_HOOK_EVENT": event, "CANVASBACK_DELIVERY_ID": delivery_id}
    try:
        child = subprocess.Popen(  # noqa: S603  # the hook's own command: see hooks.trusted
            hook.target if shell else list(hook.target),
            shell=shell,  # a string target is a shell command by definition
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=os.name == "posix",  # its own group: a timeout stops it all
        )
    except OSError as exc:
        return Outcome(delivered=False, error=f"could not start the command: {exc}")
    try:
        _, err = child.communicate(body.encode(), timeout=hook.timeout)
    except subprocess.TimeoutExpired:
        _stop(child)
        return Outcome(delivered=False, error=f"still running after {hook.timeout:g} s: stopped")
    if child.returncode == 0:
        return Outcome(delivered=True, exit_code=0)
    tail = err.decode(errors="replace").strip()[-_KEPT:]
    error = f"exit status {child.returncode}" + (f": {tail}" if tail else "")
    return Outcome(delivered=False, exit_code=child.returncode, error=error)


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Kill a command that ran out of time, and its children (its process group)."""
    with contextlib.suppress(OSError):
        if os.name == "posix":
            os.killpg(child.pid, signal.SIGKILL)
        else:
            child.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.communicate(timeout=5)  # the pipes close once the group is gone
