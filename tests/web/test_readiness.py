"""/readyz tells a load balancer or an alert the truth: 503 with the reason while Slack has been failing (or a
Slack delivery has waited too long, or the database is gone), 200 again once Slack answers; /healthz stays the
cheap liveness check. Time is the test's clock: "failing for five minutes" is five minutes of ManualClock."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime
from bot.tools.slack_standin import SlackStandIn
from bot.web.routes import build_http_app
from bot.web.server import BackgroundServer
from tests.support.env import CHANNEL, make_env
from tests.support.webhooks import post_webhook, webhook_body


def ready(app_url: str) -> httpx.Response:
    return httpx.get(f"{app_url}/readyz", timeout=10)


def test_ready_when_all_is_well(app_url: str) -> None:
    answer = ready(app_url)
    assert answer.status_code == 200
    body = answer.json()
    assert body["ready"] is True and "reasons" not in body
    assert body["database"] == "ok"
    assert body["outbox"] == {"pending": {"platform": 0, "slack": 0}, "oldest_slack_item_seconds": None}
    assert body["connectors"] == {}  # no platform connector is configured in this desk


def test_a_slack_outage_makes_the_desk_unready_until_slack_answers_again(
    app_url: str, rt: Runtime, slack: SlackStandIn, clock: ManualClock
) -> None:
    assert post_webhook(app_url, webhook_body()).status_code == 202
    slack.outage(600)
    rt.deliverer.drain()  # the case message cannot be posted: Slack answers 503
    assert slack.channel(CHANNEL) == []
    clock.advance(minutes=2)
    early = ready(app_url)
    assert early.status_code == 200, "two minutes of failing is under CARE_READY_SLACK_FAILING (5 min)"
    assert early.json()["slack"]["state"] == "failing"
    assert "503" in early.json()["slack"]["last_error"]

    clock.advance(minutes=4)
    rt.deliverer.drain()  # tried again after the lane's pause: still failing
    late = ready(app_url)
    assert late.status_code == 503
    reasons = late.json()["reasons"]
    assert any(r.startswith("Slack has been failing for 6 min") for r in reasons), reasons
    assert "the oldest Slack delivery has waited 6 min" in reasons
    assert late.json()["outbox"]["oldest_slack_item_seconds"] == 360
    # liveness is not readiness: the process and its database are fine, a restart would not help
    assert httpx.get(f"{app_url}/healthz", timeout=10).status_code == 200

    slack.recover()
    clock.advance(minutes=1)
    rt.deliverer.drain()
    assert len(slack.channel(CHANNEL)) == 1, "the case message went out once Slack was back"
    again = ready(app_url)
    assert again.status_code == 200, again.json()
    assert again.json()["slack"]["state"] == "ok"
    assert again.json()["outbox"]["pending"]["slack"] == 0


def test_a_delivery_waiting_too_long_makes_the_desk_unready(app_url: str, clock: ManualClock) -> None:
    """The outbox workers are not running here (a stuck worker, say): the queue's age alone is the reason."""
    assert post_webhook(app_url, webhook_body()).status_code == 202
    clock.advance(minutes=4, seconds=59)
    assert ready(app_url).status_code == 200
    clock.advance(seconds=1)
    answer = ready(app_url)
    assert answer.status_code == 503
    assert answer.json()["reasons"] == ["the oldest Slack delivery has waited 5 min"]


def test_the_thresholds_are_settings(slack: SlackStandIn, tmp_path: Path, clock: ManualClock) -> None:
    settings = load_settings(
        make_env(slack, f"sqlite:///{tmp_path / 'care.db'}", CARE_READY_QUEUE_AGE="30m", CARE_READY_SLACK_FAILING="1m")
    )
    rt = build_runtime(settings, clock=clock)
    try:
        with BackgroundServer(build_http_app(rt, None, start_workers=False)) as server:
            assert post_webhook(server.url, webhook_body()).status_code == 202
            clock.advance(minutes=29)
            assert ready(server.url).status_code == 200
            clock.advance(minutes=1)
            assert ready(server.url).json()["reasons"] == ["the oldest Slack delivery has waited 30 min"]
    finally:
        rt.close()


def test_an_unreachable_database_is_not_ready(slack: SlackStandIn, tmp_path: Path, clock: ManualClock) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    rt = build_runtime(load_settings(make_env(slack, f"sqlite:///{volume / 'care.db'}")), clock=clock)
    try:
        with BackgroundServer(build_http_app(rt, None, start_workers=False)) as server:
            assert ready(server.url).status_code == 200
            volume.rename(tmp_path / "unmounted")  # the volume went away under the running app
            rt.engine.dispose()  # no pooled connection keeps the old file open
            answer = ready(server.url)
            assert answer.status_code == 503
            assert answer.json()["database"] == "unreachable"
            assert answer.json()["reasons"] == ["the database is unreachable"]
            assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 503
            (tmp_path / "unmounted").rename(volume)
            assert ready(server.url).status_code == 200
    finally:
        rt.close()
