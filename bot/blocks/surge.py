"""The spike alert: one message in the care channel that says a surge is on, what it is about, and its worst.

Plain data in (bot/services/surge.py `Alert`), (fallback text, blocks) out. The figures come from the surge's
stored `shown`; the worst examples are rendered from their cases as they stand, with the case message's own
buttons (`case.case_buttons`), so the usual listeners act on them. Customer words (the examples, their names,
the common terms) go through `mrkdwn.inert`; every text is fitted, and the whole stays within one message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot import sla
from bot.blocks import limits
from bot.blocks.case import _mention_list, author_line, case_buttons, slack_date, status_line
from bot.blocks.mrkdwn import Blocks, clip, inert, platform_label, quote, sentiment_label
from bot.services.surge import Alert, Example

EXCERPT = 280  # characters of a worst example's post: enough to see what it is about, the case has the rest
QUOTE_LIMIT, AUTHOR_ROOM = 700, 400  # as rendered, so five examples and the figures fit one message


def alert_message(alert: Alert, *, notify: Iterable[str] = ()) -> tuple[str, Blocks]:
    """The alert as posted (`notify`: CARE_ESCALATE_TO, mentioned only in the first post) or updated in place."""
    shown = alert.shown
    if alert.ended_at is None:
        headline, fallback = _ongoing(alert)
    else:
        headline, fallback = _ended(alert)
    people = _mention_list(list(notify))
    if people:
        headline += f"\n{people}: a surge has started."
        fallback += f" {people}"
    blocks: Blocks = [limits.section(headline)]
    if alert.ended_at is None:
        blocks.append(
            limits.context(
                f"So far: {shown.get('mentions', 0)} mentions · {shown.get('cases', 0)} new cases · "
                f"{shown.get('answered', 0)} answered · this message is updated while the surge lasts"
            )
        )
    blocks.append(limits.section(_mix(shown)))
    terms = _terms(shown)
    if terms:
        blocks.append(limits.section(terms))
    if alert.examples:
        blocks.append(limits.section(f"*The {len(alert.examples)} most negative:*"))
        for example in alert.examples:
            blocks += _example(example)
    else:
        blocks.append(limits.context("No negative mentions in this surge."))
    return limits.fallback(fallback), limits.cap(blocks)


def _ongoing(alert: Alert) -> tuple[str, str]:
    shown = alert.shown
    rate, peak, backlog = shown.get("rate", 0), shown.get("peak", 0), shown.get("backlog", 0)
    waiting = f" · {backlog} case messages waiting to be posted" if backlog else ""
    headline = (
        f":rotating_light: *Surge in mentions* since {slack_date(alert.started_at)}: "
        f"*{rate}* in the last minute (peak *{peak}* a minute){waiting}"
    )
    return headline, f":rotating_light: Surge: {rate} mentions in the last minute (peak {peak} a minute)"


def _ended(alert: Alert) -> tuple[str, str]:
    shown = alert.shown
    assert alert.ended_at is not None
    lasted = sla.format_duration(alert.ended_at - alert.started_at)
    totals = (
        f"{shown.get('mentions', 0)} mentions, {shown.get('cases', 0)} new cases, "
        f"{shown.get('answered', 0)} answered so far; peak {shown.get('peak', 0)} a minute"
    )
    headline = (
        f":white_check_mark: *The surge is over.* It lasted {lasted} "
        f"({slack_date(alert.started_at)} to {slack_date(alert.ended_at)}): {totals}."
    )
    return headline, f":white_check_mark: The surge is over: it lasted {lasted}, {totals}."


def _mix(shown: dict[str, Any]) -> str:
    negative, neutral, positive = list(shown.get("mix") or [0, 0, 0])
    return (
        f"*Sentiment:* :red_circle: {negative} negative · :white_circle: {neutral} neutral · "
        f":large_green_circle: {positive} positive"
    )


def _terms(shown: dict[str, Any]) -> str:
    """The common words and phrases: customers' words, so inert like any other."""
    terms = " · ".join(f"{inert(str(t))} ({n})" for t, n in shown.get("terms") or [])
    phrases = " · ".join(f"“{inert(str(p))}” ({n})" for p, n in shown.get("phrases") or [])
    lines = [f"*Most common terms:* {terms}" if terms else "", f"*Phrases:* {phrases}" if phrases else ""]
    return limits.fit("\n".join(line for line in lines if line))


def _example(example: Example) -> Blocks:
    """One of the worst: who, where, how bad, the post's opening, the case's state and its buttons."""
    case, mention = example.case, example.mention
    said = quote(inert(clip(mention.text, EXCERPT)), QUOTE_LIMIT)
    head = (
        f"{author_line(case, AUTHOR_ROOM)} · {platform_label(case.platform)} · "
        f"{sentiment_label(mention.sentiment)} · Case #{case.id}"
    )
    return [limits.section(f"{head}\n{said}"), limits.context(status_line(case)), case_buttons(case)]
