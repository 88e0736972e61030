"""Shared fixtures: a real fake Slack over HTTP, a fresh database (SQLite, or PostgreSQL when
TEST_DATABASE_URL names one), a manual clock, and the whole app served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
import os
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.app import build_bolt_app

from bot.runtime import build_runtime
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.web.routes import build_http_app
from bot.runtime import Runtime
from bot.web.server import BackgroundServer
from bot.tools.slack_standin import SlackStandIn
from connectors import signing
from tests.slack_requests import SIGNING_SECRET

WEBHOOK_SECRET = "test-webhook-secret"
CHANNEL = "C0CARE"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        standin.add_user("U0ALICE", "Alice Moreau")
        standin.add_user("U0BOB", "Bob Kimani")
        yield standin


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'care.db'}"
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def make_env(slack: SlackStandIn, database_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": slack.state.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "CARE_CHANNEL": CHANNEL,
        "CARE_ESCALATE_TO": "U0LEAD,S0MANAGERS",
        "DATABASE_URL": database_url,
        "CARE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CARE_GENERIC_REPLY_URL": slack.reply_url,
        "CARE_ENV_FILE": "/nonexistent/.env",
    }
    env.update(overrides)
    return env


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def env(slack: SlackStandIn, database_url: str) -> dict[str, str]:
    return make_env(slack, database_url)


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return load_settings(env)


@pytest.fixture
def rt(settings: Settings, clock: ManualClock) -> Iterator[Runtime]:
    runtime = build_runtime(settings, clock=clock, sleep=lambda seconds: clock.advance(seconds))
    yield runtime
    runtime.close()


class TrackingExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, with a way to wait until every listener has finished its after-ack work."""

    def __init__(self) -> None:
        super().__init__(max_workers=8, thread_name_prefix="bolt-test")
        self._futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        self._futures.append(future)
        return future

    def wait_idle(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while any(not f.done() for f in list(self._futures)):
            if time.monotonic() > deadline:
                raise AssertionError("listeners did not finish in time")
            time.sleep(0.01)


@pytest.fixture
def listeners() -> Iterator[TrackingExecutor]:
    executor = TrackingExecutor()
    yield executor
    executor.shutdown(wait=True)


@pytest.fixture
def app_url(rt: Runtime, listeners: TrackingExecutor) -> Iterator[str]:
    """The app over real HTTP; outbox workers are not started, tests drain them explicitly."""
    bolt = build_bolt_app(rt, listener_executor=listeners)
    server = BackgroundServer(build_http_app(rt, bolt, start_workers=False)).start()
    yield server.url
    server.stop()


def webhook_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "platform": "twitter", "id": "1790000000000000001",
        "author": {"id": "42", "handle": "jane_doe", "name": "Jane Doe"},
        "text": "@acme my refund is three weeks late and nobody answers. Unacceptable.",
        "url": "https://x.com/jane_doe/status/1790000000000000001",
        "created_at": "2026-11-22T10:00:00Z",
    }
    body.update(overrides)
    return body


def post_webhook(base_url: str, payload: Any, *, secret: str = WEBHOOK_SECRET,
                 raw: bytes | None = None, signature: str | None = None) -> httpx.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"content-type": "application/json"}
    sig = signature if signature is not None else signing.sign(secret, body)
    if sig:
        headers["x-care-signature"] = sig
    return httpx.post(f"{base_url}/webhooks/generic", content=body, headers=headers, timeout=10)


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Wait for work a listener does after its ack (in Bolt's threads); fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


__all__ = ["timedelta", "make_env", "post_webhook", "webhook_body", "wait_for", "CHANNEL", "WEBHOOK_SECRET"]
