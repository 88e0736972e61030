"""Every HTTP request gets a request id (in its log lines, and echoed as `X-Request-Id`), and the webhooks and
Slack's requests are counted by route and status, Slack's acknowledgement timed.

A plain ASGI middleware rather than Starlette's BaseHTTPMiddleware: that one runs the endpoint in another task,
and the request id, a context variable, would not reach the endpoint's log lines.
"""

from __future__ import annotations

import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.observe import logs, metrics

SLACK_ROUTE = "/slack/events"
COUNTED_PREFIXES = ("/webhooks/", SLACK_ROUTE)
KNOWN_ROUTES = {SLACK_ROUTE, "/webhooks/generic", "/webhooks/facebook", "/webhooks/instagram"}


class Observed:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        request_id = _given_id(scope) or uuid.uuid4().hex[:16]
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
                if path == SLACK_ROUTE:  # the acknowledgement leaves now
                    metrics.ACK_SECONDS.observe(time.perf_counter() - started)
            await send(message)

        with logs.context(request_id=request_id):
            try:
                await self.app(scope, receive, send_observed)
            finally:
                if path.startswith(COUNTED_PREFIXES):
                    route = path if path in KNOWN_ROUTES else "other"
                    metrics.WEBHOOKS.labels(route, str(status)).inc()


def _given_id(scope: Scope) -> str | None:
    """A proxy's X-Request-Id, when it is a short plain token (it goes into every log line of the request)."""
    for name, value in scope.get("headers") or ():
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if 0 < len(text) <= 64 and all(c.isalnum() or c in "-_." for c in text):
                return text
    return None
