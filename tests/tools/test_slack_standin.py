"""The fake Slack refuses what Slack refuses: a message past the documented limits gets Slack's error, so a
builder that overflows fails in tests as it would in a workspace."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.tools.slack_standin import SlackStandIn


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"text": "t", "blocks": [section("a" * 3001)]}, "invalid_blocks"),
        ({"text": "t", "blocks": [section("a")] * 51}, "invalid_blocks"),
        (
            {"text": "t", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]},
            "invalid_blocks",
        ),
        (
            {
                "text": "t",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {"type": "button", "text": {"type": "plain_text", "text": "b"}, "value": "v" * 2001}
                        ],
                    }
                ],
            },
            "invalid_blocks",
        ),
    ],
)
def test_a_message_past_slacks_limits_is_refused_and_not_stored(message: dict[str, object], error: str) -> None:
    with SlackStandIn() as slack:
        client = WebClient(token="xoxb-standin-token", base_url=slack.api_url)
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel="C0CARE", **message)  # type: ignore[arg-type]
        assert refused.value.response["error"] == error
        assert slack.channel("C0CARE") == []


def test_limits_are_counted_as_slack_counts_them_and_an_update_can_clear_blocks() -> None:
    with SlackStandIn() as slack:
        client = WebClient(token="xoxb-standin-token", base_url=slack.api_url)
        posted = client.chat_postMessage(channel="C0CARE", text="t", blocks=[section("a" * 3000)])
        with pytest.raises(SlackApiError):  # 1,500 emoji are 3,000 UTF-16 units: one more is over
            client.chat_update(channel="C0CARE", ts=posted["ts"], text="t", blocks=[section("😀" * 1500 + "a")])
        client.chat_update(channel="C0CARE", ts=posted["ts"], text="[removed on request]", blocks=[])
        [message] = slack.channel("C0CARE")
        assert message.text == "[removed on request]" and not message.blocks
        assert json.dumps(message.as_api()).count("aaaa") == 0


# -- the per-channel posting limit, a slow Slack and an outage (what benchmarks/lane_bench.py switches on) ------------
def raw_post(slack: SlackStandIn, channel: str, text: str = "t") -> httpx.Response:
    return httpx.post(
        slack.api_url + "chat.postMessage",
        json={"channel": channel, "text": text},
        headers={"authorization": "Bearer xoxb-standin-token"},
        timeout=10,
    )


def test_the_per_channel_limit_is_off_unless_switched_on() -> None:
    with SlackStandIn() as slack:
        assert [raw_post(slack, "C0CARE").status_code for _ in range(5)] == [200] * 5
        assert slack.rate_limited_posts() == 0 and len(slack.post_times("C0CARE")) == 5


def test_a_post_faster_than_the_channels_limit_is_refused_with_retry_after_and_counted() -> None:
    with SlackStandIn() as slack:
        slack.limit_posts(60.0)  # long enough that no test machine is slow enough to let a second post through
        assert raw_post(slack, "C0CARE", "first").status_code == 200
        refused = raw_post(slack, "C0CARE", "too soon")
        assert refused.status_code == 429
        assert refused.json() == {"ok": False, "error": "ratelimited"}
        assert 59 <= int(refused.headers["retry-after"]) <= 60  # whole seconds, as Slack sends them
        assert raw_post(slack, "C0OTHER", "another channel").status_code == 200  # the limit is per channel
        client = WebClient(token="xoxb-standin-token", base_url=slack.api_url)
        ts = slack.channel("C0CARE")[0].ts
        client.chat_update(channel="C0CARE", ts=ts, text="edited")  # chat.update is not bound by it
        assert [m.text for m in slack.channel("C0CARE")] == ["edited"]  # the refused post was not stored
        assert slack.rate_limited_posts("C0CARE") == 1 and slack.rate_limited_posts("C0OTHER") == 0
        assert len(slack.post_times("C0CARE")) == 1 and len(slack.refused_times("C0CARE")) == 1


def test_a_burst_is_tolerated_up_to_its_size() -> None:
    with SlackStandIn() as slack:
        slack.limit_posts(60.0, burst=3)
        assert [raw_post(slack, "C0CARE").status_code for _ in range(4)] == [200, 200, 200, 429]
        slack.limit_posts(None)
        assert raw_post(slack, "C0CARE").status_code == 200


def test_slack_sdk_sees_the_limit_as_slack_answers_it() -> None:
    with SlackStandIn() as slack:
        slack.limit_posts(60.0)
        client = WebClient(token="xoxb-standin-token", base_url=slack.api_url)
        client.chat_postMessage(channel="C0CARE", text="one")
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel="C0CARE", text="two")
        assert refused.value.response.status_code == 429 and refused.value.response["error"] == "ratelimited"


def test_an_outage_answers_5xx_to_every_method_until_it_is_over_and_nothing_counts() -> None:
    with SlackStandIn() as slack:
        slack.limit_posts(60.0)
        slack.outage(60.0)
        assert raw_post(slack, "C0CARE").status_code == 503
        assert httpx.post(slack.api_url + "auth.test", timeout=10).status_code == 503
        slack.recover()
        assert raw_post(slack, "C0CARE").status_code == 200  # the outage took no place in the channel's limit
        assert slack.rate_limited_posts() == 0


def test_star_slows_every_method_and_a_methods_own_delay_wins() -> None:
    """Only lower bounds (a delay the test asked for is always waited out), so a loaded machine cannot fail it."""
    with SlackStandIn() as slack:
        slack.slow("*", 0.2)
        slack.slow("auth.test", 0.5)
        started = time.monotonic()
        raw_post(slack, "C0CARE")
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        httpx.post(slack.api_url + "auth.test", timeout=10)
        assert time.monotonic() - started >= 0.5


def test_a_seeded_message_is_in_the_channel_without_a_call() -> None:
    with SlackStandIn() as slack:
        seeded = slack.seed_message("C0CARE", "posted earlier", metadata={"event_type": "x", "event_payload": {}})
        assert slack.channel("C0CARE") == [seeded] and slack.state.calls == []
        assert slack.history("C0CARE") == [seeded]
