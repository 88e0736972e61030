"""Requests exactly as Slack sends them: v0-signed, JSON for events, form-encoded `payload=` for interactivity."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.tools.slack_standin import signed_headers as standin_signed_headers

SIGNING_SECRET = "test-signing-secret"


def signed_headers(
    body: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    return standin_signed_headers(body, secret=secret, timestamp=timestamp, content_type=content_type)


def post_interaction(
    base_url: str,
    payload: dict[str, Any],
    *,
    client: httpx.Client | None = None,
    retry: int | None = None,
    **sign: Any,
) -> httpx.Response:
    """POST an interactivity payload; `retry=1` sends it as Slack's first retry (X-Slack-Retry-Num)."""
    body = urlencode({"payload": json.dumps(payload)})
    send = client.post if client is not None else httpx.post
    headers = signed_headers(body, **sign)
    if retry is not None:
        headers |= {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"}
    return send(f"{base_url}/slack/events", content=body, headers=headers, timeout=10)


def post_command(
    base_url: str,
    *,
    text: str,
    user: str = "U0ALICE",
    channel: str = "C0CARE",
    response_url: str = "http://127.0.0.1:9/unused",
    **sign: Any,
) -> httpx.Response:
    body = urlencode(
        {
            "command": "/care",
            "text": text,
            "user_id": user,
            "channel_id": channel,
            "team_id": "T0STANDIN",
            "response_url": response_url,
            "trigger_id": "111.222.trigger",
        }
    )
    return httpx.post(f"{base_url}/slack/events", content=body, headers=signed_headers(body, **sign), timeout=10)


def post_event(base_url: str, event: dict[str, Any], *, event_id: str | None = None, **sign: Any) -> httpx.Response:
    """An Events API callback (JSON), e.g. `{"type": "app_home_opened", "user": ..., "tab": "home"}`.

    Each call is a new event unless `event_id` repeats one (as Slack's retries do)."""
    body = json.dumps(
        {
            "token": "unused",
            "team_id": "T0STANDIN",
            "api_app_id": "A0CARE",
            "type": "event_callback",
            "event": event,
            "event_id": event_id or f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0STANDIN", "user_id": "UCAREBOT", "is_bot": True}],
        }
    )
    headers = signed_headers(body, content_type="application/json", **sign)
    return httpx.post(f"{base_url}/slack/events", content=body, headers=headers, timeout=10)


def block_action(
    action_id: str, value: str, *, user: str = "U0ALICE", channel: str = "C0CARE", message_ts: str = "1.1"
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": "T0STANDIN", "domain": "standin"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0STANDIN"},
        "api_app_id": "A0CARE",
        "trigger_id": f"{int(time.time())}.{user}.trigger",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "care"},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "case_actions",
                "type": "button",
                "value": value,
                "text": {"type": "plain_text", "text": action_id},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


_VIEWS = itertools.count(1)


def view_payload(
    kind: str,
    view: dict[str, Any],
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    user: str = "U0ALICE",
    view_id: str | None = None,
    view_hash: str = "1700000000.abcdef",
) -> dict[str, Any]:
    """A `view_submission` or `view_closed` for a modal the bot opened, with the given state values.

    Each call is a modal of its own (a fresh view id) unless `view_id` names one: the same id, hash and
    values are what Slack sends again when a submission is repeated.
    """
    return {
        "type": kind,
        "team": {"id": "T0STANDIN", "domain": "standin"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0STANDIN"},
        "api_app_id": "A0CARE",
        "view": {
            **view,
            "id": view_id or f"V{next(_VIEWS):08d}",
            "state": {"values": values},
            "hash": view_hash,
        },
    }


def text_value(block: str, action: str, value: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    return {block: {action: {"type": "plain_text_input", "value": value}}}


def radio_value(choice: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    selected = {"value": choice, "text": {"type": "plain_text", "text": choice}} if choice else None
    return {
        "choice": {"value": {"type": "radio_buttons", "selected_option": selected}},
        "comment": {"value": {"type": "plain_text_input", "value": None}},
    }
