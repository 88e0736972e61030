"""Issue 12, as an operator meets it: the real `care-bot serve`, with LOG_FORMAT=json, after a scripted run
(complaints through the webhook, one refused for its signature, a repeated delivery, a Slack 429, Reddit
refusing our credentials, a click and a slash command). `/metrics` then holds the expected series with the
expected values, and every line of the log is one JSON object, with a line for each kind of event."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.blocks import ids
from bot.tools.slack_standin import SlackStandIn
from tests.fakes.platform_standin import PlatformStandIn, Reply
from tests.support.env import CHANNEL, WEBHOOK_SECRET
from tests.support.serve import Served, start_serve, valid_settings, wait_healthy
from tests.support.slack_requests import block_action, post_command, post_interaction
from tests.support.waiting import wait_for
from tests.support.webhooks import post_webhook, webhook_body


@dataclass
class Run:
    served: Served
    slack: SlackStandIn
    metrics: dict[tuple[str, frozenset[tuple[str, str]]], float]
    log: list[dict[str, Any]]
    raw_log: str

    def value(self, name: str, **labels: str) -> float | None:
        return self.metrics.get((name, frozenset(labels.items())))

    def lines(self, contains: str) -> list[dict[str, Any]]:
        return [line for line in self.log if contains in line["message"]]


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = httpx.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def reddit_state(url: str) -> str | None:
    """What /readyz says of the Reddit connector (its state is stored once the poll's failure is)."""
    body = httpx.get(f"{url}/readyz", timeout=10).json()
    state: str | None = body["connectors"]["reddit"]["state"]
    return state


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("operable")
    with SlackStandIn() as slack, PlatformStandIn() as reddit:
        slack.add_user("U0ALICE", "Alice Moreau")
        # Reddit answers a bad app secret with 401 on the token endpoint (its OAuth2 wiki)
        reddit.route(
            "POST", "/api/v1/access_token", lambda request, match: Reply(401, {"message": "Unauthorized", "error": 401})
        )
        slack.fail("chat.postMessage", status=429, retry_after=1)  # the first post is rate limited
        env = valid_settings(
            tmp,
            SLACK_BOT_TOKEN=slack.state.token,
            SLACK_API_URL=slack.api_url,
            CARE_CHANNEL=CHANNEL,
            CARE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            LOG_FORMAT="json",
            REDDIT_API_URL=reddit.url,
            REDDIT_AUTH_URL=reddit.url,
            REDDIT_CLIENT_ID="care-app-id",
            REDDIT_CLIENT_SECRET="wrong-secret",
            REDDIT_USERNAME="AcmeCare",
            REDDIT_PASSWORD="hunter2",
            REDDIT_SUBREDDITS="acme",
            REDDIT_KEYWORDS="acme",
            REDDIT_POLL_SECONDS="1",
        )
        served = start_serve(tmp, env)
        try:
            wait_healthy(served)
            jane = webhook_body()
            omar = webhook_body(id="1790000000000000002", author={"id": "43", "handle": "omar", "name": "Omar Ali"})
            assert post_webhook(served.url, jane).status_code == 202
            assert post_webhook(served.url, jane).status_code == 202  # a repeated delivery: stored once
            assert post_webhook(served.url, omar).status_code == 202
            assert post_webhook(served.url, jane, secret="not-the-secret").status_code == 401
            wait_for(lambda: len(slack.channel(CHANNEL)) == 2, timeout=20)
            wait_for(lambda: reddit_state(served.url) == "credentials refused", timeout=20)
            case_id = "1"
            assert post_interaction(served.url, block_action(ids.ACTION_CLAIM, case_id)).status_code == 200
            assert post_command(served.url, text="stats").status_code == 200
            wait_for(lambda: "claimed by U0ALICE" in served.output(), timeout=20)
            metrics = scrape(served.url)
        finally:
            served.proc.send_signal(signal.SIGTERM)
            served.proc.wait(20)
        raw = served.output()
        yield Run(served, slack, metrics, [json.loads(line) for line in raw.splitlines() if line.strip()], raw)


def test_webhooks_are_counted_by_route_and_status(run: Run) -> None:
    assert run.value("care_webhooks_received_total", route="/webhooks/generic", status="202") == 3
    assert run.value("care_webhooks_received_total", route="/webhooks/generic", status="401") == 1
    assert run.value("care_signature_refusals_total", route="/webhooks/generic") == 1
    assert run.value("care_webhooks_received_total", route="/slack/events", status="200") == 2


def test_posts_and_cases_are_counted_once(run: Run) -> None:
    assert run.value("care_mentions_ingested_total", platform="twitter") == 2  # the repeat is not counted
    assert run.value("care_cases_opened_total", platform="twitter") == 2
    assert run.value("care_staff_actions_total", kind="claimed") == 1


def test_deliveries_and_the_slack_429_are_counted(run: Run) -> None:
    assert run.value("care_deliveries_total", kind="post_parent", outcome="delivered") == 2
    assert run.value("care_deliveries_total", kind="post_parent", outcome="rate_limited") == 1
    assert run.value("care_slack_api_errors_total", method="chat.postMessage", status="429", error="ratelimited") == 1
    posts = run.value("care_slack_api_seconds_count", method="chat.postMessage")
    assert posts is not None and posts >= 3  # the refused one, and the two that went out
    acks = run.value("care_slack_ack_seconds_count")
    assert acks == 2  # the click and the command


def test_the_failing_platform_shows_in_polls_api_errors_and_its_state(run: Run) -> None:
    refused = run.value("care_polls_total", connector="reddit", outcome="refused")
    assert refused is not None and refused >= 1
    errors = run.value("care_platform_api_errors_total", connector="reddit", method="POST", status="401")
    assert errors is not None and errors >= 1
    assert run.value("care_connector_state", connector="reddit", state="credentials refused") == 1
    assert run.value("care_connector_lag_seconds", connector="reddit") is None  # it never polled successfully


def test_the_queue_figures_come_from_the_database(run: Run) -> None:
    assert run.value("care_outbox_pending", lane="platform") == 0
    assert run.value("care_outbox_oldest_pending_seconds", lane="platform") == 0
    pending = run.value("care_outbox_pending", lane="slack")
    assert pending is not None and pending >= 0


def test_every_log_line_is_one_json_object_with_a_line_for_each_event(run: Run) -> None:
    assert run.log, "serve logged nothing"
    for line in run.log:
        assert {"time", "level", "logger", "message"} <= set(line)
    accepted = run.lines("webhook accepted")
    assert len(accepted) == 3 and all(line["level"] == "INFO" for line in accepted)
    assert all(line.get("request_id") and line.get("platform") == "twitter" for line in accepted)
    assert [line["case_id"] for line in run.lines("opened from twitter")] == [1, 2]
    delivered = run.lines("delivered post_parent")
    assert len(delivered) == 2 and all(line.get("outbox_id") for line in delivered)
    assert run.lines("Slack block_actions case_claim from U0ALICE")
    assert run.lines("Slack command /care stats from U0ALICE")
    claimed = run.lines("case 1: claimed by U0ALICE")
    assert claimed and claimed[0]["case_id"] == 1 and claimed[0]["user_id"] == "U0ALICE"
    refusal = run.lines("refused a request to /webhooks/generic")
    assert len(refusal) == 1 and refusal[0]["level"] == "WARNING"
    assert "jane" not in json.dumps(refusal[0]).lower(), "a refused request's body is never logged"
    polls = [line for line in run.log if line.get("connector") == "reddit" and line["level"] == "ERROR"]
    assert polls, "Reddit refusing our credentials is an ERROR naming the connector"
    assert any(line["logger"].startswith("uvicorn") for line in run.log), "uvicorn's lines share the format"


def test_no_secret_reaches_the_log(run: Run) -> None:
    for secret in (run.slack.state.token, WEBHOOK_SECRET, "wrong-secret", "hunter2"):
        assert secret not in run.raw_log
