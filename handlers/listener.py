"""What every listener uses: the runtime from Bolt's context, who clicked which case, and ack-then-work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext

from bot.runtime import Clicked, Runtime
from handlers.errors import guarded


def runtime(context: BoltContext) -> Runtime:
    """The app's parts, as `register_all` put them in the request's context."""
    found: Runtime = context["rt"]
    return found


def clicked_case_id(body: dict[str, Any]) -> int:
    return int(body["actions"][0]["value"])


def user_id(body: dict[str, Any]) -> str:
    return str(body["user"]["id"])


def _ack(ack: Ack) -> None:
    ack()


def ack_then(register: Callable[..., Any], work: Callable[..., None]) -> None:
    """Acknowledge in the request thread at once; do `work` afterwards in Bolt's listener pool.

    With `process_before_response=True` the ack never waits for a free pool thread, so a burst of
    clicks while Slack is slow is still acknowledged in milliseconds.
    """
    register(ack=_ack, lazy=[guarded(work)])


def clicked_message(body: dict[str, Any]) -> Clicked | None:
    """(channel, message ts, response_url) of a button clicked in a channel message, if the payload has them."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts, url = container.get("message_ts"), body.get("response_url")
    if container.get("type") != "message" or container.get("is_ephemeral") or not (channel and ts and url):
        return None
    return str(channel), str(ts), str(url)
