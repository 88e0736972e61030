"""SIGTERM drains `care-bot serve`: the call in flight finishes once, nothing else is left leased, the process
exits 0 within 10 s, and the next process delivers the rest exactly once. A real subprocess and a slow Slack."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.models import OutboxItem
from bot.services import outbox
from bot.tools.slack_standin import SlackStandIn
from tests.support.env import CHANNEL
from tests.support.serve import start_serve, stop, valid_settings, wait_healthy
from tests.support.webhooks import WEBHOOK_SECRET, post_webhook, webhook_body

pytestmark = pytest.mark.realtime


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token="xoxb-cli-test-token") as slack:
        yield slack


def wait_until(condition, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)
    return found


def items(tmp_path: Path) -> list[OutboxItem]:
    engine = create_engine(f"sqlite:///{tmp_path / 'care.db'}")
    try:
        with Session(engine) as s:
            return list(s.scalars(select(OutboxItem).where(OutboxItem.lane == outbox.SLACK).order_by(OutboxItem.id)))
    finally:
        engine.dispose()


def test_sigterm_finishes_the_call_in_flight_hands_back_the_rest_and_exits_0(tmp_path, standin) -> None:
    env = valid_settings(tmp_path, SLACK_API_URL=standin.api_url, CARE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    standin.slow("chat.postMessage", 3.0)
    served = start_serve(tmp_path, env)
    try:
        wait_healthy(served)
        for n in range(5):
            body = webhook_body(id=f"17900000000000{n:05d}", author={"id": f"a{n}", "handle": f"u{n}", "name": f"U{n}"})
            assert post_webhook(served.url, body).status_code == 202
        wait_until(lambda: standin.calls_to("chat.postMessage"))  # the first case message is under way
        started = time.monotonic()
        served.proc.send_signal(signal.SIGTERM)
        code = served.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"serve did not drain and exit within 10 s:\n{served.output()}") from None
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
    assert code == 0, served.output()
    assert time.monotonic() - started < 10
    assert "Traceback" not in served.output(), served.output()
    assert len(standin.channel(CHANNEL)) == 1  # the call in flight finished ...
    queued = items(tmp_path)
    assert [i.state for i in queued] == [outbox.DONE] + [outbox.PENDING] * 4  # ... and was recorded
    assert all(i.lease_until is None for i in queued)  # nothing left leased for a next process to wait out

    standin.slow("chat.postMessage", 0.0)
    again = start_serve(tmp_path, env)
    try:
        wait_healthy(again)
        wait_until(lambda: len(standin.channel(CHANNEL)) >= 5)
        time.sleep(0.5)  # room for a duplicate to show, were there one
    finally:
        assert stop(again) == 0, again.output()
    assert len(standin.channel(CHANNEL)) == 5
    assert len(standin.calls_to("chat.postMessage")) == 5  # each case message posted exactly once
    assert sorted(m.metadata["event_payload"]["outbox_id"] for m in standin.channel(CHANNEL)) == [i.id for i in queued]
