"""The HTTP app driven in-process (no socket, no uvicorn), for tests that send hundreds of requests.

The app still talks to the real fake Slack over HTTP and to the test's database; only the hop from
client to app is a function call, and an exception escaping the app fails the test instead of
becoming a 500.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import anyio.from_thread
import httpx
from sqlalchemy import func, select
from starlette.applications import Starlette

from bot.app import build_bolt_app
from bot.models import Base
from bot.runtime import Runtime
from bot.web.routes import build_http_app
from tests.support.waiting import TrackingExecutor


class InProcessClient:
    """A synchronous face on `httpx.AsyncClient(transport=ASGITransport(app))`, one event loop for all requests."""

    def __init__(self, app: Starlette) -> None:
        self._app = app
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        transport = httpx.ASGITransport(app=app)  # raises what the app raises: a crash fails the test
        self._client = httpx.AsyncClient(transport=transport, base_url="http://care.test")

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        call = functools.partial(self._client.request, method, path, **kwargs)  # type: ignore[arg-type]
        return self._portal.call(call)

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._portal_cm.__exit__(None, None, None)


def serve_inprocess(rt: Runtime, listeners: TrackingExecutor) -> Iterator[InProcessClient]:
    """The whole app (Bolt included, outbox workers off) behind an in-process client, closed afterwards."""
    client = InProcessClient(build_http_app(rt, build_bolt_app(rt, listener_executor=listeners), start_workers=False))
    try:
        yield client
    finally:
        client.close()


def row_counts(rt: Runtime) -> dict[str, int]:
    """Rows in every table of the app's schema: what 'nothing was written' means."""
    with rt.read() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }
