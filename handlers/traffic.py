"""One INFO line and one count for every request from Slack: what kind, which button, modal or command, and
who, so an operator can follow the desk's traffic (the request id ties it to the rest of the request's lines)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.observe import metrics

logger = logging.getLogger("bot.slack")


def describe(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """(request type, what it asked for, who) of a Slack request body."""
    if "command" in body:  # a slash command: its first word says which
        words = str(body.get("text") or "").split()
        return "command", f"{body['command']} {words[0] if words else ''}".strip(), body.get("user_id")
    kind = str(body.get("type") or "unknown")
    user = (body.get("user") or {}).get("id") if isinstance(body.get("user"), dict) else body.get("user_id")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return kind, str(actions[0].get("action_id", "")), user
    if kind in ("view_submission", "view_closed"):
        return kind, str((body.get("view") or {}).get("callback_id", "")), user
    if kind == "event_callback":
        event = body.get("event") or {}
        return kind, str(event.get("type", "")), event.get("user")
    return kind, "", user


def log_request(body: dict[str, Any], next: Callable[[], None]) -> None:  # noqa: A002 - Bolt's name
    kind, what, user = describe(body)
    metrics.SLACK_REQUESTS.labels(kind).inc()
    extra = {"kind": kind, **({"user_id": user} if user else {})}
    logger.info("Slack %s %s%s", kind, what or "-", f" from {user}" if user else "", extra=extra)
    next()
