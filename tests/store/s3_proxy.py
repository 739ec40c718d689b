"""An HTTP proxy in front of an S3 server that breaks it on purpose, for the store's tests.

``strip``: it drops the ``If-None-Match`` header from every request, as a gateway that
does not know conditional writes would. Clients sign that header (SigV4), so the server
refuses the request (403) unless the proxy signs it again: with ``resign=(key,
secret)`` it does, as a gateway holding credentials of its own, and the server then
overwrites whatever is there. ``conflicts``: it
answers the first N conditional PUTs itself with AWS's ``409 ConditionalRequestConflict``
(another conditional write of the key in flight), never passing them on. ``hold()``
keeps every request from then on waiting, unanswered, until ``release()`` (a server
that does not answer); ``stop()`` closes the port and every connection (nothing
listens there any more).

``fail(kind, ...)`` breaks the requests that come next (``count`` of them, or every one
until ``heal()``; of some methods or paths only, or each by some ``chance``, if given),
as servers and networks do:
``"drop"`` closes the connection before the request is passed on (the server never
sees it), ``"drop-answer"`` passes it on and closes the connection instead of answering
(the server did it; the client cannot know), ``"500"`` and ``"503"`` answer S3's
``InternalError`` and ``SlowDown`` themselves, ``"cut"`` passes the request on and
sends the head and half the body, then closes, and ``"delay"`` answers ``seconds``
late. ``refuse(seconds)`` closes the port for that long, then listens on it again
(connections are refused meanwhile). Everything else is passed through as it came (the
Host header too, so request signatures hold). Threads, one per client connection;
HTTP/1.1 with keep-alive.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import random
import re
import socket
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar, Self
from urllib.parse import urlsplit

CONFLICT_MESSAGE = "A conflicting operation occurred. If using PutObject you can retry the request."
# The answers a server gives itself, as S3 words them.
ERRORS: dict[str, tuple[int, str, str]] = {
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "503": (503, "SlowDown", "Please reduce your request rate."),
}
FAULTS: frozenset[str] = frozenset({"drop", "drop-answer", "cut", "delay", *ERRORS})
# Hop-by-hop headers are the proxy's own business (RFC 9110 7.6.1).
_HOP: frozenset[str] = frozenset({"connection", "keep-alive", "transfer-encoding", "te"})


_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), ?"
    r"SignedHeaders=(?P<signed>[^,]+), ?Signature=[0-9a-f]+"
)


def resigned(method: str, path: str, headers: dict[str, str], secret: str) -> str:
    """The Authorization header of a request whose headers changed: AWS SigV4, again."""
    found = _AUTH.fullmatch(headers["authorization"])
    if found is None:
        msg = f"not a SigV4 Authorization header: {headers['authorization'][:40]!r}"
        raise ValueError(msg)
    signed = [h for h in found["signed"].split(";") if h in headers]
    uri, _, query = path.partition("?")
    pairs = sorted(q if "=" in q else f"{q}=" for q in query.split("&") if q)
    canonical = "\n".join(
        [
            method,
            uri,
            "&".join(pairs),
            "".join(f"{h}:{' '.join(headers[h].split())}\n" for h in signed),
            ";".join(signed),
            headers["x-amz-content-sha256"],
        ]
    )
    scope = found["scope"]
    date, region, service, _ = scope.split("/")
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            headers["x-amz-date"],
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"AWS4-HMAC-SHA256 Credential={found['key']}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )


@dataclass
class Fault:
    """A way to break requests: which kind, how many more (None: until healed), of what."""

    kind: str
    count: int | None
    methods: frozenset[str] | None
    within: str | None  # a part of the paths it breaks
    seconds: float
    chance: float = 1.0  # of breaking each request it may break
    # Drawn from a fixed seed: a run of one process's requests breaks alike every time.
    draws: random.Random = field(default_factory=lambda: random.Random(0))  # noqa: S311

    def breaks(self, method: str, path: str) -> bool:
        """Whether it breaks this request."""
        if (self.methods is not None and method not in self.methods) or (
            self.within is not None and self.within not in path
        ):
            return False
        return self.chance >= 1.0 or self.draws.random() < self.chance


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # a reply's head and body leave at once
    proxy: ClassVar[S3Proxy]

    def log_message(self, format, *args):  # noqa: A002  # the base class's name
        del format, args  # quiet: the tests say what went wrong

    def setup(self) -> None:
        super().setup()
        with self.proxy.lock:
            self.proxy.connections.add(self.connection)

    def finish(self) -> None:
        with self.proxy.lock:
            self.proxy.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _relay(self) -> None:
        proxy = self.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        conditional = self.headers.get("If-None-Match") is not None
        if not proxy.answering.is_set():
            with proxy.lock:
                proxy.held.append((self.command, self.path))
            proxy.answering.wait(timeout=120)
        with proxy.lock:
            proxy.requests.append((self.command, self.path, conditional))
            answer_conflict = conditional and self.command == "PUT" and proxy.conflicts > 0
            if answer_conflict:
                proxy.conflicts -= 1
        fault = proxy.take_fault(self.command, self.path)
        kind = None if fault is None else fault.kind
        if kind == "drop":
            self._hang_up()
        elif kind in ERRORS:
            self._answer_error(*ERRORS[kind])
        elif answer_conflict:
            self._answer_error(409, "ConditionalRequestConflict", CONFLICT_MESSAGE)
        else:
            response, data = self._pass_on(body, conditional=conditional)
            if kind == "drop-answer":
                self._hang_up()
                return
            if fault is not None and kind == "delay":
                proxy.closing.wait(fault.seconds)
            self._answer(response, data, cut=kind == "cut")

    def _pass_on(self, body: bytes, *, conditional: bool) -> tuple[http.client.HTTPResponse, bytes]:
        """The server's answer to this request (its header stripped and signed again if so)."""
        proxy = self.proxy
        upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            headers = {
                name.lower(): value
                for name, value in self.headers.items()
                if name.lower() not in _HOP
                and not (proxy.strip and name.lower() == "if-none-match")
            }
            if conditional and proxy.strip and proxy.resign is not None:
                headers["authorization"] = resigned(
                    self.command, self.path, headers, proxy.resign[1]
                )
            for name, value in headers.items():
                upstream.putheader(name, value)
            upstream.endheaders(body or None)
            response = upstream.getresponse()
            return response, response.read()
        finally:
            upstream.close()

    def _answer(self, response: http.client.HTTPResponse, data: bytes, *, cut: bool) -> None:
        """Send the server's answer on; ``cut``: half its body, then hang up."""
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in _HOP and name.lower() != "content-length":
                self.send_header(name, value)
        if self.command != "HEAD" or response.getheader("Content-Length") is None:
            self.send_header("Content-Length", str(len(data)))
        else:  # a HEAD's length is the object's, with no body
            self.send_header("Content-Length", response.getheader("Content-Length"))
        self.end_headers()
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self._hang_up()
        elif self.command != "HEAD":
            self.wfile.write(data)

    def _hang_up(self) -> None:
        """Close the connection now, whatever was said on it."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def _answer_error(self, status: int, code: str, message: str) -> None:
        """Answer as S3 does when it refuses: a status and an XML error body."""
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>"
        ).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay  # noqa: N815  # the base's names


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """Quiet about connections a client or a fault closed: the tests say what went wrong."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class S3Proxy:
    """A proxy on 127.0.0.1 (a free port) in front of ``upstream``; a context manager."""

    def __init__(
        self,
        upstream: str,
        *,
        strip: bool = False,
        resign: tuple[str, str] | None = None,
        conflicts: int = 0,
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.strip = strip
        self.resign = resign
        self.conflicts = conflicts
        self.requests: list[tuple[str, str, bool]] = []  # (method, path, had If-None-Match)
        self.held: list[tuple[str, str]] = []  # requests kept waiting by hold()
        self.faults: list[Fault] = []
        self.broken: list[tuple[str, str, str]] = []  # (fault, method, path) of each broken
        self.answering = threading.Event()
        self.answering.set()
        self.listening = threading.Event()  # cleared while the port is closed
        self.closing = threading.Event()  # set once for good: delays end
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        self._handler = type("Handler", (_Handler,), {"proxy": self})
        self._address: tuple[str, int] = ("127.0.0.1", 0)
        self._server, self._thread = self._listen()
        self._address = self._server.server_address[:2]  # type: ignore[assignment]
        self._reopen: threading.Timer | None = None

    def _listen(self) -> tuple[ThreadingHTTPServer, threading.Thread]:
        server = _Server(self._address, self._handler)  # reuses the address
        server.daemon_threads = True
        return server, threading.Thread(target=server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._address
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        self.listening.set()
        return self

    def hold(self) -> None:
        """From now on, keep every request waiting, unanswered (until :meth:`release`)."""
        self.answering.clear()

    def release(self) -> None:
        """Answer the requests held, and every later one."""
        self.answering.set()

    def fail(
        self,
        kind: str,
        *,
        count: int | None = None,
        methods: tuple[str, ...] | None = None,
        within: str | None = None,
        seconds: float = 0.0,
        chance: float = 1.0,
    ) -> None:
        """Break the next ``count`` requests this way (None: all, until :meth:`heal`).

        Only those of ``methods`` and with ``within`` in their path, if given; each
        with that ``chance`` (drawn from a fixed seed).
        """
        if kind not in FAULTS:
            msg = f"unknown fault {kind!r}: one of {sorted(FAULTS)}"
            raise ValueError(msg)
        with self.lock:
            chosen = None if methods is None else frozenset(methods)
            self.faults.append(Fault(kind, count, chosen, within, seconds, chance))

    def heal(self) -> None:
        """Break no more requests."""
        with self.lock:
            self.faults.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The fault this request meets, if any (counted, and recorded in ``broken``)."""
        with self.lock:
            for fault in self.faults:
                if fault.breaks(method, path):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count == 0:
                            self.faults.remove(fault)
                    self.broken.append((fault.kind, method, path))
                    return fault
        return None

    def refuse(self, seconds: float) -> None:
        """Close the port and every connection; listen on the same port again ``seconds`` later."""
        self._close_port()
        self._reopen = threading.Timer(seconds, self._open_port)
        self._reopen.daemon = True
        self._reopen.start()

    def _open_port(self) -> None:
        if self.closing.is_set():
            return
        self._server, self._thread = self._listen()
        self._thread.start()
        self.listening.set()

    def _close_port(self) -> None:
        self.listening.clear()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        with self.lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=10)

    def stop(self) -> None:
        """Close the port and every connection: nothing listens there any more."""
        self.closing.set()
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen.join(timeout=10)
        self._close_port()
        self.release()  # held handlers end (on a closed connection)

    def __exit__(self, *exc: object) -> None:
        self.stop()
