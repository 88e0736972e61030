"""Slack mrkdwn made safe and labelled: escaping customer text, quoting, clipping, links, platform labels.

Every builder in bot/blocks/ goes through these, so a customer's post can never ping a channel or forge a link.
"""

from __future__ import annotations

import re
from typing import Any

from bot.blocks import limits
from bot.services.triage import tone_words

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


def platform_label(platform: str) -> str:
    return PLATFORM_LABELS.get(platform, platform.capitalize())


def stars(count: Any) -> str:
    """A review rating as five stars (★★☆☆☆); "no rating" when the platform gave none."""
    if not isinstance(count, int) or not 0 <= count <= 5:
        return "no rating"
    return "★" * count + "☆" * (5 - count)


def verdict(reason: str | None, score: float, *, needs_reply: bool | None) -> str:
    """A post's triage reason without its leading priority (the case's own is shown beside it), inert: the
    reason quotes the customer's words. A post stored before reasons were kept shows its tone in words,
    never as "+0.13 (positive)": VADER calls many complaints positive."""
    if reason:
        return inert(reason.split(" · ", 1)[-1])
    return f"tone {tone_words(score, needs_reply=needs_reply is not False)}"


def clip(text: str, limit: int) -> str:
    """Raw text shortened before escaping (an excerpt); rendered text is fitted with bot.blocks.limits.fit."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(escaped: str, limit: int = limits.SECTION_TEXT) -> str:
    """An escaped text as a mrkdwn quote, fitted to `limit` after the `> ` of every line (an excerpt: where the
    whole text must be shown, use limits.quoted_parts)."""
    return limits.fit("\n".join(limits.quote_lines(escaped, limit)), limit)


SAFE_URL = re.compile(r"^https?://[^\s|<>]+$", re.IGNORECASE)


def link(url: str | None, label: str) -> str:
    """A Slack link, or nothing: a URL with `|`, `<`, `>` or spaces could forge mrkdwn, so it is dropped.
    Its `&` are escaped, as Slack itself writes them in a message's links."""
    return f" · <{escape(url)}|{label}>" if url and SAFE_URL.match(url) else ""


def escape(text: str) -> str:
    """Slack mrkdwn control characters, so a text cannot ping @channel or fake a link (for staff's own words)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# A formatting mark at the edge of a word (where Slack would read it as *bold*, _italic_, ~strike~ or `code`)
FORMATTING = re.compile(r"(?<![^\W_])[*_~`]|[*_~`](?![^\W_])")
LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}


def inert(text: str) -> str:
    """The one rule for a customer's words (post, name, handle, excerpt) wherever they reach Slack.

    `&`, `<`, `>` are escaped, so no `<!channel>`, `<@U…>`, `<#C…>`, `<!subteam^…>` or `<https://…|label>`
    is live; and a formatting mark at a word's edge becomes its look-alike (∗ ˍ ∼ ˋ), so a customer's
    `*bold*`, `_x_`, `~x~` or backticks read as typed instead of dressing their words as ours. Marks inside
    a word (jane_doe) are left alone: Slack does not format them.
    """
    return escape(FORMATTING.sub(lambda m: LOOKALIKES[m.group()], text))


def option(text: str, value: str) -> dict[str, Any]:
    """One choice of a select, radio or checkbox element."""
    return {"text": {"type": "plain_text", "text": text}, "value": value}
