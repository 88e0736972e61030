"""The fake Slack refuses what Slack refuses: a message past the documented limits gets Slack's error, so a
builder that overflows fails in tests as it would in a workspace."""

from __future__ import annotations

import json

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
