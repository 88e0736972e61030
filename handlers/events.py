"""Events API listeners."""

from __future__ import annotations

from typing import Any

from slack_bolt import App


def register(app: App) -> None:
    app.event("message")(on_message)


def on_message(body: dict[str, Any]) -> None:
    """Staff talking in a case thread stays internal, always: messages are acknowledged and never relayed.

    The manifest does not subscribe to message events; this listener only keeps a workspace that
    does from seeing errors (and Slack from retrying) if someone adds them.
    """
