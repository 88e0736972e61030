"""A scriptable stand-in for a platform's HTTP API, served over real HTTP on 127.0.0.1.

Each platform's fake (tests/fakes/<platform>.py) registers routes on it: a handler gets the recorded
request and returns a `Reply`. Tests can queue faults (a 429 with the platform's rate-limit headers, a
5xx, a refused call) in front of any route, and read back every request the bot made, to assert the
documented endpoints were called with the right ids and text.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps({} if self.body is None else self.body).encode(), "application/json"


Handler = Callable[[Recorded, "re.Match[str]"], Reply]


class PlatformStandIn:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[tuple[str, re.Pattern[str], Reply]] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="platform-standin", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> PlatformStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- scripting -------------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """`pattern` is a regular expression matched against the whole path."""
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def fail(self, method: str, pattern: str, reply: Reply, times: int = 1) -> None:
        """Answer the next `times` matching requests with `reply` instead of the route."""
        with self._lock:
            for _ in range(times):
                self._faults.append((method.upper(), re.compile(pattern), reply))

    def requests_to(self, method: str, pattern: str) -> list[Recorded]:
        rx = re.compile(pattern)
        with self._lock:
            return [r for r in self.requests if r.method == method.upper() and rx.fullmatch(r.path)]

    # -- serving ---------------------------------------------------------------------------------
    def _answer(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            for index, (method, rx, reply) in enumerate(self._faults):
                if method == request.method and rx.fullmatch(request.path):
                    del self._faults[index]
                    return reply
        for method, rx, handler in self._routes:
            match = rx.fullmatch(request.path)
            if method == request.method and match:
                return handler(request, match)
        return Reply(404, {"error": {"message": f"no route for {request.method} {request.path}"}})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urlparse(self.path)
                recorded = Recorded(
                    method=self.command,
                    path=parsed.path,
                    query={k: v[-1] for k, v in parse_qs(parsed.query, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                reply = standin._answer(recorded)
                payload, content_type = reply.encoded()
                self.send_response(reply.status)
                headers = {"content-type": content_type, **reply.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

        return _Handler
