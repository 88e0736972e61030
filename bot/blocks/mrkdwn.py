"""Slack mrkdwn made safe and labelled: escaping customer text, quoting, clipping, links, platform labels.

Every builder in bot/blocks/ goes through these, so a customer's post can never ping a channel or forge a link.
"""

from __future__ import annotations

import re
from typing import Any

Blocks = list[dict[str, Any]]

PLATFORM_LABELS = {
    "twitter": ":bird: X",
    "x": ":bird: X",
    "facebook": ":large_blue_square: Facebook",
    "instagram": ":camera: Instagram",
    "reddit": ":large_orange_circle: Reddit",
    "google": ":star: Google review",
    "trustpilot": ":star: Trustpilot",
}
PRIORITY_BADGES = {
    "urgent": ":red_circle: Urgent",
    "high": ":large_orange_circle: High",
    "normal": ":large_yellow_circle: Normal",
    "low": ":large_green_circle: Low",
}
STATUS_LABELS = {"open": "Open", "resolved": "Resolved", "ignored": "Ignored"}
SECTION_LIMIT = 2900


def platform_label(platform: str) -> str:
    return PLATFORM_LABELS.get(platform, platform.capitalize())


def stars(count: Any) -> str:
    """A review rating as five stars (★★☆☆☆); "no rating" when the platform gave none."""
    if not isinstance(count, int) or not 0 <= count <= 5:
        return "no rating"
    return "★" * count + "☆" * (5 - count)


def sentiment_label(score: float) -> str:
    mood = "negative" if score <= -0.05 else "positive" if score >= 0.05 else "neutral"
    return f"{score:+.2f} ({mood})"


def clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(text: str) -> str:
    return "\n".join("> " + line for line in clip(text).splitlines() or [""])


SAFE_URL = re.compile(r"^https?://[^\s|<>]+$", re.IGNORECASE)


def link(url: str | None, label: str) -> str:
    """A Slack link, or nothing: a URL with `|`, `<`, `>` or spaces could forge mrkdwn, so it is dropped."""
    return f" · <{url}|{label}>" if url and SAFE_URL.match(url) else ""


def escape(text: str) -> str:
    """Slack mrkdwn control characters, so a customer's post cannot ping @channel or fake a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def option(text: str, value: str) -> dict[str, Any]:
    """One choice of a select, radio or checkbox element."""
    return {"text": {"type": "plain_text", "text": text}, "value": value}
