"""Shared fixtures: a real fake Slack over HTTP, a fresh database (SQLite, or PostgreSQL when
TEST_DATABASE_URL names one), a manual clock, and the whole app served by uvicorn on 127.0.0.1.

The plain helpers the tests import (settings, webhooks, signed Slack requests, waiting) are in tests/support/."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.app import build_bolt_app
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.runtime import Runtime, build_runtime
from bot.tools.slack_standin import SlackStandIn
from bot.web.routes import build_http_app
from bot.web.server import BackgroundServer
from tests.support.env import make_env
from tests.support.waiting import TrackingExecutor

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        # the workspace's users, and so the care channel's members: the care team (CARE_TEAM unset)
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
