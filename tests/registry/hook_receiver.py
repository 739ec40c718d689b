"""A real HTTP server on 127.0.0.1 for the hook tests: it answers as told, keeps what it got.

Its port is bound when it is made (a fresh one, from the system) and listened on only
once it is started: until then a connection to it is refused, as to a server that is
down, and no other server can take its port in between.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = "hang"  # an answer: hold the request until the test releases it


@dataclass(frozen=True)
class Received:
    """One request: its headers (lower-case names) and body."""

    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers["x-mlflow-delivery-id"]

    def signed_with(self, secret: str) -> bool:
        """Whether MLflow's signature of this request holds for ``secret``."""
        signed = f"{self.delivery_id}.{self.headers['x-mlflow-timestamp']}.{self.body.decode()}"
        digest = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
        expected = f"v1,{base64.b64encode(digest).decode()}"
        return hmac.compare_digest(self.headers.get("x-mlflow-signature", ""), expected)


class Receiver:
    """Answers each POST with the next of ``answers`` (an HTTP status or HANG), then 200."""

    def __init__(self, answers: tuple[int | str, ...] = ()) -> None:
        self.got: list[Received] = []
        self.release = threading.Event()
        self._answers = list(answers)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.server = ThreadingHTTPServer(
            ("127.0.0.1", 0), self._handler(), bind_and_activate=False
        )
        self.server.daemon_threads = True
        self.server.server_bind()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.got.append(Received(headers, body))
                    answer = receiver._answers.pop(0) if receiver._answers else 200
                if answer == HANG:
                    receiver.release.wait(60)
                    answer = 200
                try:
                    self.send_response(int(answer))
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

    def start(self) -> Receiver:
        """Listen and answer, from a thread."""
        self.server.server_activate()
        # A short poll: shutdown() waits for the loop to look (0.5 s by default).
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self.release.set()
        if self._thread is not None:
            self.server.shutdown()
        self.server.server_close()
